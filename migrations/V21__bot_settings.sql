-- What the bot last told Telegram about itself, so a maintenance run says it again only when it changed: today
-- the command menus (key 'command_menus': every setMyCommands call, as JSON).
CREATE TABLE bot_settings (
    key         TEXT        PRIMARY KEY,
    value       TEXT        NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
