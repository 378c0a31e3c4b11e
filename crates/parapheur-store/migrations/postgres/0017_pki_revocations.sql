-- Certificates the internal CA revoked (issue 20): its CRL lists them, every instance agrees.
CREATE TABLE pki_revocations (
    serial TEXT PRIMARY KEY NOT NULL,
    revoked_at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    user_id BIGINT,
    siren TEXT
);
