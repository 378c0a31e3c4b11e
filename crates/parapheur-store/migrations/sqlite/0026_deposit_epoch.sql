-- Bumped by any change of what a deposit reads besides the document itself: circuits, the
-- subscriber's name, users (address, digest choice), memberships and absences. Each instance
-- caches those reads (issue 22) and forgets them when the epoch moves, whoever made the change
-- (another process on the same file, a command-line provisioning, an operator's SQL).
CREATE TABLE deposit_epoch (
    id INTEGER PRIMARY KEY NOT NULL,
    n INTEGER NOT NULL
);
INSERT INTO deposit_epoch (id, n) VALUES (1, 0);
CREATE TRIGGER circuits_insert_deposit_epoch AFTER INSERT ON circuits
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER circuits_update_deposit_epoch AFTER UPDATE ON circuits
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER circuits_delete_deposit_epoch AFTER DELETE ON circuits
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER subscribers_insert_deposit_epoch AFTER INSERT ON subscribers
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER subscribers_update_deposit_epoch AFTER UPDATE ON subscribers
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER subscribers_delete_deposit_epoch AFTER DELETE ON subscribers
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER memberships_insert_deposit_epoch AFTER INSERT ON memberships
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER memberships_update_deposit_epoch AFTER UPDATE ON memberships
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER memberships_delete_deposit_epoch AFTER DELETE ON memberships
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER absences_insert_deposit_epoch AFTER INSERT ON absences
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER absences_update_deposit_epoch AFTER UPDATE ON absences
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER absences_delete_deposit_epoch AFTER DELETE ON absences
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER users_insert_deposit_epoch AFTER INSERT ON users
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER users_delete_deposit_epoch AFTER DELETE ON users
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER users_update_deposit_epoch AFTER UPDATE ON users
WHEN OLD.email IS NOT NEW.email OR OLD.daily_digest IS NOT NEW.daily_digest
BEGIN
  UPDATE deposit_epoch SET n = n + 1 WHERE id = 1;
END;
