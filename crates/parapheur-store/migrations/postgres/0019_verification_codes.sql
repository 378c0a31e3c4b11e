-- The verification code of a document (issue 20 §3): printed on its stamp and its fiche de
-- circulation, it opens `GET /verifier/{code}` without an account. Made on first use.
CREATE TABLE verification_codes (
    code TEXT PRIMARY KEY NOT NULL,
    document_id BIGINT NOT NULL UNIQUE REFERENCES documents(id) ON DELETE CASCADE
);
