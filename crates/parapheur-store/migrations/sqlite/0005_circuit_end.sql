-- Earlier main files of a document, kept when it is replaced.
CREATE TABLE document_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    replaced_at INTEGER NOT NULL
);
CREATE INDEX document_versions_document ON document_versions (document_id, id);

-- Comments of members, agents and the depositor.
CREATE TABLE comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    user_id INTEGER REFERENCES users(id),
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX comments_document ON comments (document_id, id);

-- Deposits into the electronic vault by archive steps.
CREATE TABLE archives (
    document_id INTEGER PRIMARY KEY NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    location TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    archived_at INTEGER NOT NULL
);

-- When the retention purge removed the content (history and fiche remain).
ALTER TABLE documents ADD COLUMN purged_at INTEGER;
