-- Batch signing from the portal: one row per selected document, signed in order by a
-- `batch_sign` job; `outcome` is NULL until the document's turn has come.
CREATE TABLE batch_items (
    batch_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    document_id INTEGER NOT NULL,
    filename TEXT NOT NULL,
    outcome TEXT,
    signed INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (batch_id, position)
);
