-- Albums travel as albums (issue 13): the parts of a media group share media_group_id in history, and their copy
-- to the other side is one pending copyMessages call per album and chat (group_key), which each part joins until
-- it is sent.
ALTER TABLE ticket_messages ADD COLUMN media_group_id TEXT;
ALTER TABLE outbox ADD COLUMN group_key TEXT;
CREATE UNIQUE INDEX ux_outbox_pending_group ON outbox (chat_id, group_key)
    WHERE status = 'pending' AND group_key IS NOT NULL;
