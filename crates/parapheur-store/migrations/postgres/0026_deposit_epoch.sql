-- Bumped by any change of what a deposit reads besides the document itself: circuits, the
-- subscriber's name, users (address, digest choice), memberships and absences. Each instance
-- caches those reads (issue 22) and forgets them when the epoch moves, whoever made the change
-- (another instance, a command-line provisioning, an operator's SQL).
CREATE TABLE deposit_epoch (
    id BIGINT PRIMARY KEY NOT NULL,
    n BIGINT NOT NULL
);
INSERT INTO deposit_epoch (id, n) VALUES (1, 0);
CREATE FUNCTION bump_deposit_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
  RETURN NULL;
END;
$$;
CREATE TRIGGER circuits_deposit_epoch AFTER INSERT OR UPDATE OR DELETE ON circuits
FOR EACH STATEMENT EXECUTE FUNCTION bump_deposit_epoch();
CREATE TRIGGER subscribers_deposit_epoch AFTER INSERT OR UPDATE OR DELETE ON subscribers
FOR EACH STATEMENT EXECUTE FUNCTION bump_deposit_epoch();
CREATE TRIGGER memberships_deposit_epoch AFTER INSERT OR UPDATE OR DELETE ON memberships
FOR EACH STATEMENT EXECUTE FUNCTION bump_deposit_epoch();
CREATE TRIGGER absences_deposit_epoch AFTER INSERT OR UPDATE OR DELETE ON absences
FOR EACH STATEMENT EXECUTE FUNCTION bump_deposit_epoch();
CREATE TRIGGER users_insert_deposit_epoch AFTER INSERT OR DELETE ON users
FOR EACH STATEMENT EXECUTE FUNCTION bump_deposit_epoch();
CREATE TRIGGER users_update_deposit_epoch AFTER UPDATE ON users FOR EACH ROW
WHEN (OLD.email IS DISTINCT FROM NEW.email OR OLD.daily_digest IS DISTINCT FROM NEW.daily_digest)
EXECUTE FUNCTION bump_deposit_epoch();
