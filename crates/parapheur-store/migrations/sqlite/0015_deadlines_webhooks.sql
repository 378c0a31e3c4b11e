-- CONTRACT §11: the deadline of a document (a day, YYYY-MM-DD) and a circuit's default.
ALTER TABLE documents ADD COLUMN deadline TEXT;
ALTER TABLE circuits ADD COLUMN deadline_days INTEGER;

-- Reminders sent: one row per document, step, kind ('before' / 'after') and offset in days, so
-- that each is sent once whichever instance sees it due first.
CREATE TABLE reminders_sent (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    step_idx INTEGER NOT NULL,
    kind TEXT NOT NULL,
    offset_days INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (document_id, step_idx, kind, offset_days)
);

-- A user's choice: one e-mail per document (0) or a daily digest (1), and the digests sent.
CREATE TABLE digests_sent (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    PRIMARY KEY (user_id, day)
);
ALTER TABLE users ADD COLUMN daily_digest INTEGER NOT NULL DEFAULT 0;

-- Webhook endpoints of a subscriber and the deliveries of their events (Standard Webhooks).
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    siren TEXT NOT NULL REFERENCES subscribers(siren) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    UNIQUE (siren, url)
);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    msg_id TEXT NOT NULL UNIQUE,
    webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    document_id INTEGER,
    -- The history entry the event tells (its body is built from it when first sent).
    history_id INTEGER,
    event TEXT NOT NULL,
    body TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, document_id, status, id);
CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (webhook_id, id);
