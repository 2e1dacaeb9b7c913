//! The bot's command menus (setMyCommands), per scope and language, kept in one place: what customers see in a
//! private chat, what members and administrators of the operators' chat see there, and what the supervisors of
//! `SUPERVISOR_IDS` see in their private chats. A command that joins the desk joins a list here; its description
//! is a desk-file text (`command_*`), so every language the desk file has gets its menu. The maintenance job
//! `command_menus` registers them whenever they change; `zabota set-commands` does it at once.

use crate::app::App;
use crate::desk::Text;
use crate::telegram::{BotCommand, BotCommandScope, SetMyCommands};

/// A menu: each command (without the slash) and the text describing it.
type Menu = &'static [(&'static str, Text)];

/// Everyone's private chat. Operators are not known ahead (being one is being in the operators' chat), so theirs
/// shows this too; what they type there is in the README's commands table.
const PRIVATE: Menu = &[("start", Text::CommandStart), ("cancel", Text::CommandCancel)];
/// The operators' chat, for its members.
const OPERATORS_CHAT: Menu = &[("history", Text::CommandHistory)];
/// The operators' chat, for its administrators: the supervisors.
const SUPERVISORS_CHAT: Menu = &[
    ("history", Text::CommandHistory),
    ("stats", Text::CommandStats),
    ("requeue", Text::CommandRequeue),
    ("close", Text::CommandClose),
    ("ban", Text::CommandBan),
    ("unban", Text::CommandUnban),
    ("bans", Text::CommandBans),
];
/// The private chat of a supervisor listed in `SUPERVISOR_IDS`.
const SUPERVISOR_PRIVATE: Menu = &[
    ("start", Text::CommandStart),
    ("history", Text::CommandHistory),
    ("files", Text::CommandFiles),
    ("transfer", Text::CommandTransfer),
    ("close", Text::CommandClose),
    ("stats", Text::CommandStats),
    ("requeue", Text::CommandRequeue),
    ("ban", Text::CommandBan),
    ("unban", Text::CommandUnban),
    ("bans", Text::CommandBans),
];

/// Every menu of this desk, and where it shows.
fn menus(app: &App) -> Vec<(BotCommandScope, Menu)> {
    let chat = app.config.operators_chat_id;
    let mut menus = vec![
        (BotCommandScope::AllPrivateChats, PRIVATE),
        (BotCommandScope::Chat { chat_id: chat }, OPERATORS_CHAT),
        (BotCommandScope::ChatAdministrators { chat_id: chat }, SUPERVISORS_CHAT),
    ];
    let mut supervisors = app.config.supervisor_ids.to_vec();
    supervisors.sort_unstable();
    menus.extend(supervisors.into_iter().map(|id| (BotCommandScope::Chat { chat_id: id }, SUPERVISOR_PRIVATE)));
    menus
}

/// Every setMyCommands call that registers the menus: each menu in each of the desk's languages (the default one
/// with no language code, so it also serves every language the desk does not have).
pub fn calls(app: &App) -> Vec<SetMyCommands> {
    let desk = &app.desk;
    let mut calls = Vec::new();
    for (scope, menu) in menus(app) {
        for language in desk.languages() {
            let commands = menu
                .iter()
                .map(|(command, text)| BotCommand {
                    command: (*command).to_owned(),
                    description: crate::desk::render(desk.text_in(language, *text), &[]),
                })
                .collect();
            let language_code = if language == desk.language() { String::new() } else { language.to_owned() };
            calls.push(SetMyCommands { commands, scope: scope.clone(), language_code });
        }
    }
    calls
}
