-- Detached signatures (XAdES for BUREAUTIQUE_XML), one per signature step, in order.
CREATE TABLE document_signatures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE INDEX document_signatures_document ON document_signatures (document_id, id);
