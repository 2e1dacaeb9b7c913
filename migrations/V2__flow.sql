-- The support flow: remember the operator's summary message (its «Завершить диалог» button is removed on close),
-- and find a customer's open ticket and an operator's active ticket without scanning.
ALTER TABLE tickets ADD COLUMN operator_message_id BIGINT;
CREATE INDEX ix_ticket_messages_undelivered ON ticket_messages (ticket_id, id)
    WHERE delivered_message_id IS NULL AND sender_type = 'USER';
