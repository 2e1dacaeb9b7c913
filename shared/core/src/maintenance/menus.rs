//! The bot's command menus kept as this version and its desk file want them (`bot::commands`): registered again
//! when what they would be changed (a new command, an edited desk file, other `SUPERVISOR_IDS`), otherwise left
//! alone. Each setMyCommands call is idempotent, so a run killed half-way simply registers them all next time.

use crate::app::App;
use crate::db::settings;

/// The `bot_settings` key of the menus last registered.
const KEY: &str = "command_menus";

/// Registers the menus when they differ from those last registered (`force`: in any case); how many
/// setMyCommands calls it made.
pub async fn keep_command_menus(app: &App, force: bool) -> anyhow::Result<u64> {
    let calls = crate::bot::commands::calls(app);
    let wanted = serde_json::to_string(&calls)?;
    let client = app.db.get().await?;
    if !force && settings::read(&*client, KEY).await?.as_deref() == Some(wanted.as_str()) {
        return Ok(0);
    }
    for call in &calls {
        app.telegram.set_my_commands(call).await?;
    }
    settings::write(&*client, KEY, &wanted).await?;
    tracing::info!(menus = calls.len(), "command menus registered");
    Ok(calls.len() as u64)
}
