-- Retention of archived media without a race against the archiver, and forgetting customers.
--
-- An object lives as long as the youngest attachment row that names it (storage_key, whatever its status: a
-- pending row with a key is an upload in flight). When retention deletes the last such row it queues the key here,
-- in the same transaction; the object is deleted later under the key's advisory lock, after a re-check that no row
-- names it again, and only then is the queue row removed. A run killed anywhere leaves the row to be retried.
CREATE TABLE media_deletions (
    storage_key  TEXT        PRIMARY KEY,
    queued_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts     INTEGER     NOT NULL DEFAULT 0,
    not_before   TIMESTAMPTZ NOT NULL DEFAULT now(),   -- backoff after a failed delete
    last_error   TEXT
);
CREATE INDEX ix_media_deletions_due ON media_deletions (not_before, queued_at);

-- "Does any row still name this key?" is asked for every key retention touches.
CREATE INDEX ix_message_attachments_storage_key ON message_attachments (storage_key) WHERE storage_key IS NOT NULL;
-- Tickets of a customer: which users have nothing left, and the foreign-key check when a users row is deleted.
CREATE INDEX ix_tickets_user ON tickets (user_id);
