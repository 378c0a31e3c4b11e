"""A local fake of the S²LOW Helios API for the tests: HTTPS requiring a client certificate
signed by CA, the three endpoints the connector uses, with S²LOW's answer formats.

- POST /modules/helios/api/helios_importer_fichier.php (multipart part `enveloppe`):
  <import><id>N</id><resultat>OK</resultat><message>..</message></import>, or KO when the
  file's NomFic contains REFUSE (as S²LOW answers a duplicate).
- GET /modules/helios/api/helios_transac_get_status.php?transaction=N: status 1 (posté), then
  3 (transmis), then 4 (acquittement reçu) on successive calls; -1 for a NomFic with ERREUR.
- GET /modules/helios/helios_download_acquit.php?id=N: a PES_Acquit.
- GET /modules/helios/api/helios_get_list.php: the PES Retour files not read yet
  (<liste><resultat>OK</resultat><pes_retour><id/><nom/><date/></pes_retour>...</liste>): one for
  SIRET 20000000100017 (subscriber 200000001 of the tests), one for an unknown SIRET;
  helios_get_retour.php?id=N gives the file, helios_change_status.php?id=N marks it read.
Every request is logged to LOG (JSON lines: method, path, client certificate subject, basic auth).

usage: s2low_fake.py PORT CERT KEY CA LOG
"""
import base64
import email
import email.policy
import json
import re
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

port, cert, key, ca, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
lock = threading.Lock()
transactions = {}  # id -> {"nomfic", "polls"}


def pes_retour(siret, nomfic):
    return ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<PES_Retour><Enveloppe><Parametres>'
            f'<Version V="2"/><TypFic V="PESRETOUR"/><NomFic V="{nomfic}"/></Parametres></Enveloppe>'
            f'<EnTetePES><DteStr V="2026-11-27"/><IdPost V="012345"/><IdColl V="{siret}"/></EnTetePES>'
            '<PES_DepenseRetour><EnTetePES/></PES_DepenseRetour></PES_Retour>\n').encode("latin-1")


retours = {  # id -> (name, bytes); `read` holds those marked read
    "1": ("PES_RETOUR_A_20261127.xml", pes_retour("20000000100017", "PES_RETOUR_A_20261127")),
    "2": ("PES_RETOUR_INCONNU.xml", pes_retour("99999999900011", "PES_RETOUR_INCONNU")),
}
read = set()


def xml(root, fields, encoding="ISO-8859-1"):
    body = "".join(f"<{k}>{v}</{k}>" for k, v in fields)
    return f'<?xml version="1.0" encoding="{encoding}"?>\n<{root}>{body}</{root}>\n'.encode(
        "latin-1" if encoding == "ISO-8859-1" else "utf-8")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def record(self, extra=None):
        peer = self.connection.getpeercert() or {}
        subject = ",".join(f"{k}={v}" for rdn in peer.get("subject", ()) for k, v in rdn)
        auth = self.headers.get("Authorization", "")
        user = ""
        if auth.startswith("Basic "):
            user = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
        entry = {"method": self.command, "path": self.path, "client": subject, "user": user}
        entry.update(extra or {})
        with lock, open(log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def reply(self, body, ctype="text/xml"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        msg = email.message_from_bytes(
            b"Content-Type: " + self.headers.get("Content-Type", "").encode() + b"\r\n\r\n" + raw,
            policy=email.policy.HTTP)
        parts = {p.get_param("name", header="content-disposition"): p for p in msg.iter_parts()} \
            if msg.is_multipart() else {}
        if urlparse(self.path).path != "/modules/helios/api/helios_importer_fichier.php":
            self.send_error(404)
            return
        env = parts.get("enveloppe")
        if env is None:
            self.record({"error": "no enveloppe"})
            self.reply(xml("import", [("id", ""), ("resultat", "KO"), ("message", "Aucune enveloppe trouvée")]))
            return
        content = env.get_payload(decode=True) or b""
        m = re.search(rb'NomFic V="([^"]*)"', content)
        nomfic = m.group(1).decode("latin-1") if m else ""
        self.record({"filename": env.get_filename(), "nomfic": nomfic, "signed": b"SignatureValue" in content})
        if "REFUSE" in nomfic:
            self.reply(xml("import", [("id", ""), ("resultat", "KO"),
                                      ("message", "doublon détecté. Ce fichier a déjà été posté.")]))
            return
        with lock:
            tid = str(1000 + len(transactions))
            transactions[tid] = {"nomfic": nomfic, "polls": 0}
        self.reply(xml("import", [("id", tid), ("resultat", "OK"), ("message", "Téléchargement du fichier réussi.")]))

    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        self.record()
        if u.path == "/modules/helios/api/helios_transac_get_status.php":
            tid = (q.get("transaction") or [""])[0]
            with lock:
                t = transactions.get(tid)
                if t is not None:
                    t["polls"] += 1
            if t is None:
                self.reply(xml("transaction", [("id", tid), ("resultat", "KO"), ("status", ""),
                                               ("message", "Numéro de transaction invalide")]))
                return
            if "ERREUR" in t["nomfic"]:
                status, message = "-1", "Fichier refusé par Helios"
            else:
                status = {1: "1", 2: "3"}.get(t["polls"], "4")
                message = "Fichier bien reçu par la plate-forme S2low"
            self.reply(xml("transaction", [("id", tid), ("resultat", "OK"), ("status", status),
                                           ("message", message)]))
        elif u.path == "/modules/helios/helios_download_acquit.php":
            tid = (q.get("id") or [""])[0]
            t = transactions.get(tid)
            if t is None:
                self.send_response(302)
                self.send_header("Location", "/")
                self.end_headers()
                return
            self.reply((
                '<?xml version="1.0" encoding="ISO-8859-1"?>\n<PES_ACQUIT><Enveloppe><Parametres>'
                f'<NomFic V="ACQUIT_{t["nomfic"]}"/></Parametres></Enveloppe><ACQUIT><ElementACQUIT>'
                f'<NomFic V="{t["nomfic"]}"/><EtatAck V="1"/><LibelleAck V="S2LOW fake"/>'
                '</ElementACQUIT></ACQUIT></PES_ACQUIT>\n').encode("latin-1"))
        elif u.path == "/modules/helios/api/helios_get_list.php":
            with lock:
                unread = [(i, n) for i, (n, _) in sorted(retours.items()) if i not in read]
            items = "".join(f"<pes_retour><id>{i}</id><nom>{n}</nom><date>2026-11-27</date></pes_retour>"
                            for i, n in unread)
            self.reply(('<?xml version="1.0" encoding="ISO-8859-1"?>\n<liste><idColl>42</idColl>'
                        '<dateDemande>2026-11-27</dateDemande><resultat>OK</resultat><message></message>'
                        f'{items}</liste>\n').encode("latin-1"))
        elif u.path == "/modules/helios/api/helios_get_retour.php":
            rid = (q.get("id") or [""])[0]
            if rid not in retours:
                self.send_error(404)
                return
            self.reply(retours[rid][1])
        elif u.path == "/modules/helios/api/helios_change_status.php":
            rid = (q.get("id") or [""])[0]
            with lock:
                read.add(rid)
            self.reply(xml("change", [("id", rid), ("resultat", "OK"), ("message", "")]))
        else:
            self.send_error(404)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.verify_mode = ssl.CERT_REQUIRED
ctx.load_verify_locations(ca)
server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
