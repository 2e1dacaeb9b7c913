-- The current operator's first reply since their claim: what /stats counts as an operator's first reply.
-- tickets.first_reply_at is the ticket's first (the customer's wait), which after a hand-over belongs to an
-- earlier operator. Every claim clears it; the relay sets it with first_reply_at, in the same statement.
ALTER TABLE tickets ADD COLUMN operator_reply_at TIMESTAMPTZ;
UPDATE tickets t SET operator_reply_at = m.first
  FROM (SELECT m.ticket_id, min(m.created_at) AS first
          FROM ticket_messages m JOIN tickets o ON o.id = m.ticket_id
         WHERE m.sender_type = 'OPERATOR' AND m.sender_tg_id = o.operator_tg_id AND m.created_at >= o.assigned_at
         GROUP BY m.ticket_id) m
 WHERE m.ticket_id = t.id;
