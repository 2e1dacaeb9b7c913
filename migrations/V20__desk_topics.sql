-- Topics come from the desk file (desk.toml, DESK_CONFIG): a ticket's topic is any id the file gives, and one
-- removed from the file later still displays (by its id) and closes normally. V1 allowed only the three shipped;
-- the new check is what a topic id is (domain::Topic::parse).
ALTER TABLE tickets DROP CONSTRAINT tickets_topic_check;
ALTER TABLE tickets ADD CONSTRAINT tickets_topic_id CHECK (topic ~ '^[a-z0-9_]{1,64}$');
