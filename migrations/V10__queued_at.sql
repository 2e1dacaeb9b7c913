-- A ticket handed back to the queue (a transfer, a requeue, an operator gone) waits afresh: its reminders and its
-- expiry count from when it last joined the queue, not from when it was opened.
ALTER TABLE tickets ADD COLUMN queued_at TIMESTAMPTZ NOT NULL DEFAULT now();
UPDATE tickets SET queued_at = created_at WHERE status <> 'CLOSED';
