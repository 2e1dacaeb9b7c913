-- Insight: satisfaction ratings, the first claim and first reply of every ticket (what /stats measures), and the
-- indexes /stats, /history and the export read.

-- One rating per ticket, by its customer, after a dialog an operator or a supervisor closed. The comment is the
-- customer's next message, if they write one soon after rating.
CREATE TABLE ticket_ratings (
    ticket_id       BIGINT      PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    score           SMALLINT    NOT NULL CHECK (score BETWEEN 1 AND 5),
    operator_tg_id  BIGINT,                 -- who handled the dialog (the operator told of the rating)
    comment         TEXT,
    rated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    commented_at    TIMESTAMPTZ
);
CREATE INDEX ix_ticket_ratings_rated ON ticket_ratings (rated_at);

-- When the ticket was first claimed and first answered by an operator: kept through hand-overs (assigned_at is
-- the latest claim's), so time to claim and time to first reply are the customer's.
ALTER TABLE tickets ADD COLUMN first_assigned_at TIMESTAMPTZ;
ALTER TABLE tickets ADD COLUMN first_reply_at TIMESTAMPTZ;
UPDATE tickets SET first_assigned_at = assigned_at WHERE assigned_at IS NOT NULL;
UPDATE tickets t SET first_reply_at = m.first
  FROM (SELECT ticket_id, min(created_at) AS first FROM ticket_messages WHERE sender_type = 'OPERATOR'
        GROUP BY ticket_id) m
 WHERE m.ticket_id = t.id;

-- /stats reads a period's tickets by when they were opened (closed ones by ix_tickets_closed_at); /history
-- finds a customer's tickets by their id, phone or username.
CREATE INDEX ix_tickets_created ON tickets (created_at);
CREATE INDEX ix_tickets_phone ON tickets (phone);
CREATE INDEX ix_users_username ON users (lower(username));
