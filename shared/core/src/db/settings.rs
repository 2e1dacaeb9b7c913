//! `bot_settings`: what the bot last told Telegram about itself (its command menus), by key.

use super::Sql;

const READ: &str = "SELECT value FROM bot_settings WHERE key = $1";
/// The value last recorded under `key`.
pub(crate) async fn read(db: &impl Sql, key: &str) -> Result<Option<String>, tokio_postgres::Error> {
    db.query_opt(READ, &[&key]).await?.map(|row| row.try_get(0)).transpose()
}

const WRITE: &str = "INSERT INTO bot_settings (key, value) VALUES ($1, $2) \
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()";
/// Records `value` under `key`.
pub(crate) async fn write(db: &impl Sql, key: &str, value: &str) -> Result<(), tokio_postgres::Error> {
    db.execute(WRITE, &[&key, &value]).await?;
    Ok(())
}
