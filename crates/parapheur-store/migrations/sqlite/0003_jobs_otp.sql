-- The durable job queue: every e-mail and SMS is enqueued in the transaction of the change
-- that causes it, then delivered (with retries) by a worker.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    run_at INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX jobs_due ON jobs (status, run_at);

-- Links for people without an account (OTP signing page, download of a signed document).
-- Only a SHA-256 of the token is stored.
CREATE TABLE access_links (
    token_hash TEXT PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL,
    siren TEXT NOT NULL,
    document_ids TEXT NOT NULL,
    referer TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- The OTP signer of each OTPSignature step (ordinal = index among the circuit's OTP steps).
CREATE TABLE otp_signers (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    phone TEXT NOT NULL,
    email TEXT NOT NULL,
    PRIMARY KEY (document_id, ordinal)
);

-- One-time codes sent for an OTP link (hash only).
CREATE TABLE otp_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    link_hash TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX otp_codes_link ON otp_codes (link_hash, id);

-- Every code sent, per document (the hourly limit).
CREATE TABLE otp_sends (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    at_ms INTEGER NOT NULL
);
CREATE INDEX otp_sends_document ON otp_sends (document_id, at_ms);
