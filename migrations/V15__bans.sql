-- Bans (issue 15): a supervisor's `/ban N [reason]` bars ticket N's customer from the desk until `/unban USER_ID`.
-- A banned person opens no ticket and reaches no operator; what they send is kept in `banned_messages`, and they
-- get one polite fixed reply a day.
--
-- Keyed by the Telegram id, not `users.id`: retention may forget the person's profile, never their ban. A lifted
-- ban stays as history (who lifted it, when) until retention's floor has passed it.
CREATE TABLE bans (
    id          BIGSERIAL   PRIMARY KEY,
    tg_id       BIGINT      NOT NULL,
    ticket_id   BIGINT,                     -- the ticket `/ban` named (no key: retention deletes tickets)
    reason      TEXT,
    banned_by   BIGINT      NOT NULL,
    banned_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    lifted_by   BIGINT,
    lifted_at   TIMESTAMPTZ,
    replied_at  TIMESTAMPTZ                 -- the last polite reply: at most one a day
);
-- At most one ban in force per person; it is what every update of theirs looks up.
CREATE UNIQUE INDEX ux_bans_in_force ON bans (tg_id) WHERE lifted_at IS NULL;
CREATE INDEX ix_bans_lifted ON bans (lifted_at) WHERE lifted_at IS NOT NULL;

-- What a banned person sent while banned: messages, their edits, button presses and reactions, as they came.
-- Files are kept as Telegram's file ids (their bytes are not archived: a ban is often for abuse, and the archive
-- is for dialogs). Deleted by retention like dialog messages.
CREATE TABLE banned_messages (
    id              BIGSERIAL   PRIMARY KEY,
    ban_id          BIGINT      NOT NULL REFERENCES bans (id) ON DELETE CASCADE,
    tg_id           BIGINT      NOT NULL,
    event           TEXT        NOT NULL,   -- message | edit | press | reaction
    tg_message_id   BIGINT,
    content_type    TEXT,                   -- as ticket_messages.content_type, for messages and edits
    body            TEXT,                   -- the text or caption; a press's data; a reaction's emoji
    file_id         TEXT,
    file_unique_id  TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ix_banned_messages_ban ON banned_messages (ban_id);
CREATE INDEX ix_banned_messages_created ON banned_messages (created_at);
