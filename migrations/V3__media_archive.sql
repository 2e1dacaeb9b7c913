-- Media archive: retries of a failed archive (with backoff), and finding an already archived copy of a file.
ALTER TABLE message_attachments ADD COLUMN archive_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE message_attachments ADD COLUMN archive_not_before TIMESTAMPTZ NOT NULL DEFAULT now();
CREATE INDEX ix_message_attachments_stored_unique ON message_attachments (file_unique_id) WHERE archive_status = 'stored';
