-- Zabota schema, version 1: customers, tickets, their history, attachments, and the plumbing
-- that makes each update take effect once (processed_updates) and Bot API calls survive failures (outbox).

CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    tg_id          BIGINT      NOT NULL UNIQUE,
    username       TEXT,
    first_name     TEXT        NOT NULL DEFAULT '',
    last_name      TEXT,
    language_code  TEXT,
    phone          TEXT,                       -- E.164, set only after validation
    -- Where the customer is in the dialog with the bot; all conversation state lives here, none in memory.
    dialog_state   TEXT        NOT NULL DEFAULT 'menu',
    dialog_topic   TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE tickets (
    id                BIGSERIAL PRIMARY KEY,
    user_id           BIGINT      NOT NULL REFERENCES users (id),
    topic             TEXT        NOT NULL CHECK (topic IN ('warranty', 'return', 'other')),
    phone             TEXT        NOT NULL,
    status            TEXT        NOT NULL DEFAULT 'WAITING' CHECK (status IN ('WAITING', 'ASSIGNED', 'CLOSED')),
    operator_tg_id    BIGINT,
    card_chat_id      BIGINT,                  -- the «Новый клиент» card in the operators chat
    card_message_id   BIGINT,
    close_reason      TEXT,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    assigned_at       TIMESTAMPTZ,
    closed_at         TIMESTAMPTZ,
    last_activity_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    idle_warned_at    TIMESTAMPTZ,
    reminded_at       TIMESTAMPTZ,
    CHECK (status <> 'ASSIGNED' OR (operator_tg_id IS NOT NULL AND assigned_at IS NOT NULL)),
    CHECK (status <> 'CLOSED' OR closed_at IS NOT NULL)
);
-- One active dialog per operator (the seed's partial unique index).
CREATE UNIQUE INDEX ux_tickets_operator_assigned ON tickets (operator_tg_id) WHERE status = 'ASSIGNED';
-- At most one open ticket per customer.
CREATE UNIQUE INDEX ux_tickets_user_open ON tickets (user_id) WHERE status <> 'CLOSED';
CREATE INDEX ix_tickets_status_created ON tickets (status, created_at);
CREATE INDEX ix_tickets_closed_at ON tickets (closed_at) WHERE status = 'CLOSED';

CREATE TABLE ticket_messages (
    id                    BIGSERIAL PRIMARY KEY,
    ticket_id             BIGINT      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    sender_type           TEXT        NOT NULL CHECK (sender_type IN ('USER', 'OPERATOR')),
    sender_tg_id          BIGINT      NOT NULL,
    content_type          TEXT        NOT NULL,
    message_text          TEXT,
    caption               TEXT,
    source_chat_id        BIGINT      NOT NULL,  -- where it was written
    source_message_id     BIGINT      NOT NULL,
    delivered_chat_id     BIGINT,                -- where the bot copied it
    delivered_message_id  BIGINT,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (source_chat_id, source_message_id)
);
CREATE INDEX ix_ticket_messages_ticket_created ON ticket_messages (ticket_id, created_at);
CREATE INDEX ix_ticket_messages_created ON ticket_messages (created_at);

CREATE TABLE message_attachments (
    id              BIGSERIAL PRIMARY KEY,
    message_id      BIGINT      NOT NULL REFERENCES ticket_messages (id) ON DELETE CASCADE,
    kind            TEXT        NOT NULL,      -- photo, document, video, voice, audio, sticker, animation, video_note
    file_id         TEXT        NOT NULL,
    file_unique_id  TEXT        NOT NULL,
    mime_type       TEXT,
    size            BIGINT,
    width           INTEGER,
    height          INTEGER,
    duration        INTEGER,
    file_name       TEXT,
    storage_key     TEXT,                      -- key in S3 or under MEDIA_ROOT; never the bytes
    archive_status  TEXT        NOT NULL DEFAULT 'pending'
                    CHECK (archive_status IN ('pending', 'stored', 'skipped', 'failed')),
    archive_error   TEXT,
    archived_at     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ix_message_attachments_message ON message_attachments (message_id);
CREATE INDEX ix_message_attachments_unique ON message_attachments (file_unique_id);
CREATE INDEX ix_message_attachments_pending ON message_attachments (created_at) WHERE archive_status = 'pending';

-- Each update takes effect once: its id is inserted in the same transaction as its effects.
CREATE TABLE processed_updates (
    update_id     BIGINT      PRIMARY KEY,
    kind          TEXT        NOT NULL,
    processed_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ix_processed_updates_processed_at ON processed_updates (processed_at);

-- Bot API calls decided by an update, written in its transaction and sent after commit, in order per chat.
CREATE TABLE outbox (
    id          BIGSERIAL PRIMARY KEY,
    chat_id     BIGINT      NOT NULL,          -- ordering key
    method      TEXT        NOT NULL,
    params      JSONB       NOT NULL,
    on_result   JSONB,                         -- what to record from the reply (e.g. a delivered message id)
    status      TEXT        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts    INTEGER     NOT NULL DEFAULT 0,
    not_before  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error  TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at     TIMESTAMPTZ
);
CREATE INDEX ix_outbox_pending ON outbox (chat_id, id) WHERE status = 'pending';
CREATE INDEX ix_outbox_created ON outbox (created_at);
