-- An edit no longer touches its ticket_messages row (an update there would lock the row that a copy's `sent` mark
-- must record its delivery on, and that mark never waits): the row keeps the original as first stored, and
-- ticket_message_versions holds each edit (the newest by edit_date, then id, is the message as it reads now).
-- The original's copy in the versions (edit_date 0) and the row's own edit_date are no longer needed.
DELETE FROM ticket_message_versions WHERE edit_date = 0;
ALTER TABLE ticket_messages DROP COLUMN edit_date;
CREATE INDEX ix_ticket_message_versions_newest ON ticket_message_versions (ticket_message_id, edit_date DESC, id DESC);
DROP INDEX ix_ticket_message_versions_message;
