-- CONTRACT §8: a provisioned circuit may open its documents to the whole subscriber.
ALTER TABLE circuits ADD COLUMN visibility TEXT NOT NULL DEFAULT 'members';

-- The agents of a document as users, so that "who may read it" is one indexed lookup.
CREATE TABLE document_agents (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (document_id, user_id)
);
CREATE INDEX document_agents_user ON document_agents (user_id);
INSERT INTO document_agents (document_id, user_id)
SELECT DISTINCT d.id, u.id FROM documents d, json_each(d.agents) j
JOIN users u ON u.email = LOWER(j.value);

-- CONTRACT §9: `all` steps wait for every member; `acted_at` records who has acted.
ALTER TABLE document_steps ADD COLUMN rule TEXT NOT NULL DEFAULT 'any';
ALTER TABLE document_step_members ADD COLUMN acted_at INTEGER;

-- CONTRACT §10: one absence period per user, with the delegate acting for them.
CREATE TABLE absences (
    user_id INTEGER PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    from_day TEXT NOT NULL,
    until_day TEXT NOT NULL,
    delegate_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    updated_at INTEGER NOT NULL
);
CREATE INDEX absences_delegate ON absences (delegate_id);
