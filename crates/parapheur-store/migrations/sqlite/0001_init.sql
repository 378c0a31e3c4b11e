CREATE TABLE subscribers (
    siren TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    auth_type TEXT NOT NULL,
    password_hash TEXT,
    certificate TEXT,
    credentials_version INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE memberships (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    siren TEXT NOT NULL REFERENCES subscribers(siren) ON DELETE CASCADE,
    is_admin INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, siren)
);

CREATE TABLE group_members (
    siren TEXT NOT NULL REFERENCES subscribers(siren) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (siren, group_name, user_id)
);

CREATE TABLE circuits (
    siren TEXT NOT NULL REFERENCES subscribers(siren) ON DELETE CASCADE,
    id TEXT NOT NULL,
    circuit_type TEXT NOT NULL,
    formats TEXT NOT NULL,
    metadata_required INTEGER NOT NULL DEFAULT 0,
    steps TEXT NOT NULL,
    depositors TEXT NOT NULL,
    PRIMARY KEY (siren, id)
);

CREATE TABLE documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    siren TEXT NOT NULL REFERENCES subscribers(siren),
    circuit_id TEXT,
    circuit_type TEXT NOT NULL,
    label TEXT NOT NULL,
    filename TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    depositor_id INTEGER NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    current_step INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    acted INTEGER NOT NULL DEFAULT 0,
    metadata_required INTEGER NOT NULL DEFAULT 0,
    comment TEXT NOT NULL,
    email_to TEXT NOT NULL,
    email_cc TEXT NOT NULL,
    agents TEXT NOT NULL,
    pictograms TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- The FAST rule: circuit / label / file name is unique (on-demand circuits have no id).
CREATE UNIQUE INDEX documents_triplet ON documents (siren, circuit_id, label, filename);
CREATE INDEX documents_siren_status ON documents (siren, status);

CREATE TABLE document_steps (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (document_id, idx)
);

CREATE TABLE document_step_members (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (document_id, idx, user_id)
);
CREATE INDEX document_step_members_user ON document_step_members (user_id);

CREATE TABLE annexes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX annexes_document ON annexes (document_id);

CREATE TABLE document_metadata (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (document_id, name)
);

CREATE TABLE history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    at_ms INTEGER NOT NULL,
    user_id INTEGER REFERENCES users(id),
    user_fullname TEXT NOT NULL,
    state_name TEXT NOT NULL,
    comment TEXT
);
CREATE INDEX history_document ON history (document_id, id);
