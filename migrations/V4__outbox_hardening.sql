-- Hardening: outbox calls can be cancelled (a closed or requeued ticket's copies to its operator), and updates
-- that keep failing are counted and, past a limit, parked in a dead-letter table instead of being redelivered
-- forever.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'sent', 'failed', 'cancelled'));

-- Failed attempts of updates not processed yet (kept outside the update's rolled-back transaction).
CREATE TABLE update_failures (
    update_id        BIGINT      PRIMARY KEY,
    attempts         INTEGER     NOT NULL DEFAULT 1,
    last_error       TEXT        NOT NULL,
    first_failed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_failed_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Updates given up on: a permanent failure, or too many failed attempts. The update itself is kept for
-- inspection and replay; retention removes it with the processed update ids.
CREATE TABLE dead_letters (
    update_id   BIGINT      PRIMARY KEY,
    kind        TEXT        NOT NULL,
    attempts    INTEGER     NOT NULL,
    error       TEXT        NOT NULL,
    body        JSONB,
    parked_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ix_dead_letters_parked_at ON dead_letters (parked_at);

-- Membership of the operators' chat, as getChatMember last said: an operator removed from the chat can no longer
-- relay, close or fetch files. Checked again when older than a minute.
CREATE TABLE operator_checks (
    tg_id       BIGINT      PRIMARY KEY,
    is_member   BOOLEAN     NOT NULL,
    checked_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Chats Telegram answered 403 for: their tickets are closed or requeued by the bot. Recorded with the failed
-- calls, handled right after, and retried by the maintenance run until `handled_at` is set.
CREATE TABLE blocked_chats (
    chat_id     BIGINT      PRIMARY KEY,
    blocked_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    handled_at  TIMESTAMPTZ
);
CREATE INDEX ix_blocked_chats_unhandled ON blocked_chats (blocked_at) WHERE handled_at IS NULL;
