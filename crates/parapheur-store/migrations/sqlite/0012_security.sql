-- Failed authentications counted per kind of subject (an account's e-mail, a client IP), shared
-- by every instance; replaces the portal-only login_failures.
CREATE TABLE auth_failures (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    failures INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    PRIMARY KEY (kind, subject)
);
DROP TABLE login_failures;

-- A session is valid only for the credentials it was opened with.
DELETE FROM sessions;
ALTER TABLE sessions ADD COLUMN credentials_version INTEGER NOT NULL DEFAULT 0;

-- Bumped by any change of credentials, authentication type or membership, so that every
-- instance forgets the credentials it verified.
CREATE TABLE auth_epoch (
    id INTEGER PRIMARY KEY NOT NULL,
    n INTEGER NOT NULL
);
INSERT INTO auth_epoch (id, n) VALUES (1, 0);
CREATE TRIGGER users_auth_epoch AFTER UPDATE ON users
WHEN OLD.credentials_version IS NOT NEW.credentials_version
  OR OLD.auth_type IS NOT NEW.auth_type
  OR OLD.password_hash IS NOT NEW.password_hash
  OR OLD.certificate IS NOT NEW.certificate
  OR OLD.email IS NOT NEW.email
BEGIN
  UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER users_delete_auth_epoch AFTER DELETE ON users
BEGIN
  UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER memberships_insert_auth_epoch AFTER INSERT ON memberships
BEGIN
  UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER memberships_update_auth_epoch AFTER UPDATE ON memberships
WHEN OLD.is_admin IS NOT NEW.is_admin OR OLD.siren IS NOT NEW.siren
BEGIN
  UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER memberships_delete_auth_epoch AFTER DELETE ON memberships
BEGIN
  UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
END;
