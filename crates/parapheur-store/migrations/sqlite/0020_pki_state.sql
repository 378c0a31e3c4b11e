-- The internal CA's state lives in the database so that every instance agrees on it (issue 20
-- §2): its key and certificate, the credentials it issued or that were imported, and the log
-- of every certificate it issued. Private keys are PKCS#8 PEM, encrypted with
-- `[signing] pki_passphrase` when one is configured.
CREATE TABLE pki_authority (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  certificate TEXT NOT NULL,
  private_key TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

-- The current credential of each holder. `name` encodes the typed holder (`user-<id>` imported,
-- `user-<id>-<siren>` issued to a user for a subscriber, `seal-<siren>`, `tsa`); `serial` is set
-- when the internal CA issued the certificate (NULL for an imported one, not ours to revoke).
CREATE TABLE pki_credentials (
  name TEXT PRIMARY KEY,
  private_key TEXT NOT NULL,
  chain TEXT NOT NULL,
  serial TEXT,
  updated_at BIGINT NOT NULL
);

-- Every certificate the internal CA issued, kept after its credential is replaced or forgotten.
CREATE TABLE pki_issued (
  serial TEXT PRIMARY KEY,
  credential TEXT NOT NULL,
  certificate TEXT NOT NULL,
  issued_at BIGINT NOT NULL
);
