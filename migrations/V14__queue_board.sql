-- The queue board (issue 15): while the operators' chat cannot carry one card per new ticket within its flood
-- budget, new tickets are listed on one pinned message instead, edited in place, each with «Взять #N». A waiting
-- ticket is claimable from exactly one place: its cards (board_id NULL) or the active board it joined.

-- Boards, one active per chat at a time. Only updates touch a board's row (joining, leaving, draining), under its
-- row lock; what the chat shows of it is `queue_board_shown`, which only the chat's outbox flusher writes, so a
-- `sent` mark never waits for an update's lock.
CREATE TABLE queue_boards (
    id          BIGSERIAL   PRIMARY KEY,
    chat_id     BIGINT      NOT NULL,
    active      BOOLEAN     NOT NULL DEFAULT true,
    version     BIGINT      NOT NULL DEFAULT 1,   -- moves on every change of what the board lists
    opened_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    closed_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX ux_queue_boards_active ON queue_boards (chat_id) WHERE active;

-- What the board's message shows: where it is and which version it last showed.
CREATE TABLE queue_board_shown (
    board_id       BIGINT      PRIMARY KEY,
    message_id     BIGINT      NOT NULL,
    shown_version  BIGINT      NOT NULL,
    shown_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ix_queue_board_shown_message ON queue_board_shown (message_id);

-- The board a waiting ticket was listed on (kept after it leaves the queue, as history); NULL: its cards.
ALTER TABLE tickets ADD COLUMN board_id BIGINT;
CREATE INDEX ix_tickets_on_board ON tickets (board_id, queued_at, id) WHERE board_id IS NOT NULL;

-- The pending refreshes of a board. Each change queues one in its own transaction; the flusher draws the board
-- when it sends one and cancels every other it saw, since the drawing covers their changes.
CREATE INDEX ix_outbox_board_refresh ON outbox (((on_result ->> 'board_id')::bigint))
    WHERE status = 'pending' AND on_result ->> 'kind' = 'board_refresh';
