#!/usr/bin/env python3
"""pyhanko_sign.py PDF P12 PASSWORD [N]: pyHanko's in-process PAdES B-B signing time of PDF with
the PKCS#12 key, in its fastest configuration we know (signer loaded once, no timestamp, no
revocation data, in-memory output, a new visible field). Prints signatures/s."""
import io, sys, time
from pyhanko.sign import signers, fields
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

pdf = open(sys.argv[1], "rb").read()
signer = signers.SimpleSigner.load_pkcs12(sys.argv[2], passphrase=sys.argv[3].encode())
n = int(sys.argv[4]) if len(sys.argv) > 4 else 30
meta = signers.PdfSignatureMetadata(field_name="Sig1", subfilter=fields.SigSeedSubFilter.PADES)
spec = fields.SigFieldSpec(sig_field_name="Sig1", box=(50, 600, 300, 680))

def once():
    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    fields.append_signature_field(w, spec)
    out = io.BytesIO()
    signers.sign_pdf(w, meta, signer=signer, output=out)
    return out

once()  # warm-up
t = time.perf_counter()
for _ in range(n):
    once()
dt = time.perf_counter() - t
print(f"signatures_per_s={n / dt:.1f} ms_per_signature={1000 * dt / n:.2f}")
