-- Failed authentications counted per kind of subject (an account's e-mail, a client IP), shared
-- by every instance; replaces the portal-only login_failures.
CREATE TABLE auth_failures (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    failures BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    PRIMARY KEY (kind, subject)
);
DROP TABLE login_failures;

-- A session is valid only for the credentials it was opened with.
DELETE FROM sessions;
ALTER TABLE sessions ADD COLUMN credentials_version BIGINT NOT NULL DEFAULT 0;

-- Bumped by any change of credentials, authentication type or membership, so that every
-- instance forgets the credentials it verified.
CREATE TABLE auth_epoch (
    id BIGINT PRIMARY KEY NOT NULL,
    n BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, n) VALUES (1, 0);
CREATE FUNCTION bump_auth_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
  RETURN NULL;
END;
$$;
CREATE TRIGGER users_auth_epoch AFTER UPDATE ON users FOR EACH ROW
WHEN (OLD.credentials_version IS DISTINCT FROM NEW.credentials_version
  OR OLD.auth_type IS DISTINCT FROM NEW.auth_type
  OR OLD.password_hash IS DISTINCT FROM NEW.password_hash
  OR OLD.certificate IS DISTINCT FROM NEW.certificate
  OR OLD.email IS DISTINCT FROM NEW.email)
EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER users_delete_auth_epoch AFTER DELETE ON users FOR EACH ROW
EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER memberships_insert_auth_epoch AFTER INSERT ON memberships FOR EACH ROW
EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER memberships_update_auth_epoch AFTER UPDATE ON memberships FOR EACH ROW
WHEN (OLD.is_admin IS DISTINCT FROM NEW.is_admin OR OLD.siren IS DISTINCT FROM NEW.siren)
EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER memberships_delete_auth_epoch AFTER DELETE ON memberships FOR EACH ROW
EXECUTE FUNCTION bump_auth_epoch();
