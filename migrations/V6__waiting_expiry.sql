-- A clean queue: reminders are counted (at most WAITING_REMINDER_MAX per ticket), and a ticket still waiting after
-- WAITING_EXPIRE_AFTER is closed with close_reason 'expired'. Close reasons stay free text in the schema; the code
-- reads them back strictly (an unknown one is an error).
ALTER TABLE tickets ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;
