-- A lossless relay (issue 13): a reply keeps its target, an edit keeps every version.
--
-- reply_to_id names the dialog message a message replies to (no foreign key: retention deletes old messages in
-- bulk, and a reference into what it deleted is only history); quote_text is the part of it quoted.
-- edit_date is Telegram's edit_date of the version the row holds (the newest one seen; NULL: never edited), so an
-- older edit delivered late never overwrites a newer one.
ALTER TABLE ticket_messages
    ADD COLUMN reply_to_id BIGINT,
    ADD COLUMN quote_text  TEXT,
    ADD COLUMN edit_date   BIGINT;

-- Every version of an edited message as its sender wrote it: the original (edit_date 0, stored at the first edit)
-- and each edit, in the order they reached us (read them ORDER BY edit_date <> 0, id; a redelivered edit is stopped
-- before, by its update id). Deleted with its message.
CREATE TABLE ticket_message_versions (
    id                BIGSERIAL   PRIMARY KEY,
    ticket_message_id BIGINT      NOT NULL REFERENCES ticket_messages (id) ON DELETE CASCADE,
    edit_date         BIGINT      NOT NULL,
    message_text      TEXT,
    caption           TEXT,
    file_unique_id    TEXT,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ix_ticket_message_versions_message ON ticket_message_versions (ticket_message_id, id);
