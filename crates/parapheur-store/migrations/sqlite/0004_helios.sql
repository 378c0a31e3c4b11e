-- PES file names (NomFic) deposited by each subscriber: a name is accepted once.
CREATE TABLE pes_files (
    siren TEXT NOT NULL,
    nomfic TEXT NOT NULL,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    PRIMARY KEY (siren, nomfic)
);

-- The transmission of a signed PES to Helios through a transmitter.
CREATE TABLE transmissions (
    document_id INTEGER PRIMARY KEY NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    transmitter TEXT NOT NULL,
    remote_id TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Return flows: Helios acknowledgements (linked to their document), PES Retour and Chorus files.
CREATE TABLE return_flows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    siren TEXT NOT NULL REFERENCES subscribers(siren),
    kind TEXT NOT NULL,
    document_id INTEGER REFERENCES documents(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    fetched_at INTEGER
);
CREATE INDEX return_flows_remaining ON return_flows (siren, kind, fetched_at);
CREATE INDEX return_flows_document ON return_flows (document_id);
