-- Every card a ticket has had in the operators' chat (the first, reminders, the ones posted when it went back to
-- the queue), so that each of them is updated when the ticket is claimed, expires or is closed: no stale card keeps
-- a working «Взять в работу». No foreign key to tickets: recording a card happens with the outbox's `sent` mark,
-- which must never wait for a ticket's row lock; retention deletes a ticket's cards with the ticket.
CREATE TABLE ticket_cards (
    chat_id     BIGINT      NOT NULL,
    message_id  BIGINT      NOT NULL,
    ticket_id   BIGINT      NOT NULL,
    posted_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    settled_at  TIMESTAMPTZ,                  -- when it stopped inviting a claim
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX ix_ticket_cards_open ON ticket_cards (ticket_id) WHERE settled_at IS NULL;
CREATE INDEX ix_ticket_cards_ticket ON ticket_cards (ticket_id);

INSERT INTO ticket_cards (chat_id, message_id, ticket_id, settled_at)
SELECT card_chat_id, card_message_id, id, CASE WHEN status = 'WAITING' THEN NULL ELSE now() END
FROM tickets WHERE card_chat_id IS NOT NULL AND card_message_id IS NOT NULL
ON CONFLICT DO NOTHING;
