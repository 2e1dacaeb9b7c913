//! The bot's command menus kept as this version and its desk file want them (`bot::commands`): registered again
//! when what they would be changed (a new command, an edited desk file, other `SUPERVISOR_IDS`), otherwise left
//! alone; a menu the desk no longer has (a language dropped, a supervisor removed) is deleted, so none stays
//! behind with old texts. Each call is idempotent, so a run killed half-way simply makes them all next time.

use crate::app::App;
use crate::db::settings;
use crate::telegram::SetMyCommands;

/// The `bot_settings` key of the menus last registered.
const KEY: &str = "command_menus";

/// Registers the menus when they differ from those last registered (`force`: in any case); how many calls it
/// made. A transient failure (429, 5xx, the network) fails the job and records nothing, so the next run does it
/// all again; Telegram refusing one menu for good (a supervisor's private chat it cannot see, because they never
/// started the bot) is logged and the others still go.
pub async fn keep_command_menus(app: &App, force: bool) -> anyhow::Result<u64> {
    let calls = crate::bot::commands::calls(app);
    let wanted = serde_json::to_string(&calls)?;
    let client = app.db.get().await?;
    let last = settings::read(&*client, KEY).await?;
    if !force && last.as_deref() == Some(wanted.as_str()) {
        return Ok(0);
    }
    let before: Vec<SetMyCommands> =
        last.as_deref().and_then(|json| serde_json::from_str(json).ok()).unwrap_or_default();
    let kept = |old: &SetMyCommands| calls.iter().any(|c| c.scope == old.scope && c.language_code == old.language_code);
    let mut made = 0;
    for old in before.iter().filter(|old| !kept(old)) {
        match app.telegram.delete_my_commands(&old.scope, &old.language_code).await {
            Ok(_) => made += 1,
            Err(e) if e.is_transient() => return Err(e.into()),
            Err(e) => {
                tracing::warn!(scope = ?old.scope, language = old.language_code, error = %e, "old command menu not deleted")
            }
        }
    }
    for call in &calls {
        match app.telegram.set_my_commands(call).await {
            Ok(_) => made += 1,
            Err(e) if e.is_transient() => return Err(e.into()),
            Err(e) => {
                tracing::warn!(scope = ?call.scope, language = call.language_code, error = %e, "command menu refused")
            }
        }
    }
    settings::write(&*client, KEY, &wanted).await?;
    tracing::info!(calls = made, "command menus registered");
    Ok(made)
}
