//! `users`: everyone who writes to the bot, with their phone and where they are in the dialog.

use super::{Sql, pg_text, pg_text_opt};

use crate::domain::DialogState;
use crate::telegram::User;

/// A stored user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UserRow {
    /// `users.id`, what tickets refer to.
    pub id: i64,
    /// Telegram id (also their private chat id).
    pub tg_id: i64,
    /// E.164 phone, once validated.
    pub phone: Option<String>,
    /// Where they are in the conversation with the bot.
    pub state: DialogState,
    /// Their first name, as this update's profile gives it (for texts that greet them by name).
    pub first_name: String,
}

/// The statement of [`upsert_user`]. The row is rewritten only when the profile changed: most updates come from
/// people already known, and rewriting their row on every message would only make dead tuples.
pub(crate) const UPSERT: &str = "WITH up AS (\
      INSERT INTO users (tg_id, username, first_name, last_name, language_code) VALUES ($1, $2, $3, $4, $5) \
      ON CONFLICT (tg_id) DO UPDATE SET username = EXCLUDED.username, first_name = EXCLUDED.first_name, \
        last_name = EXCLUDED.last_name, language_code = EXCLUDED.language_code, updated_at = now() \
      WHERE (users.username, users.first_name, users.last_name, users.language_code) IS DISTINCT FROM \
        (EXCLUDED.username, EXCLUDED.first_name, EXCLUDED.last_name, EXCLUDED.language_code) \
      RETURNING id, tg_id, phone, dialog_state, dialog_topic) \
    SELECT * FROM up UNION ALL \
    SELECT id, tg_id, phone, dialog_state, dialog_topic FROM users WHERE tg_id = $1 AND NOT EXISTS (SELECT FROM up)";

/// The conversation lock (see [`lock_conversation`]); retention takes the same key before it forgets someone.
pub(crate) const LOCK_CONVERSATION: &str =
    "SELECT pg_advisory_xact_lock(hashtextextended('conv:' || $1::bigint::text, 0))";

/// Serializes the updates of one conversation (one sender) until the transaction ends.
pub(crate) async fn lock_conversation(db: &impl Sql, sender_id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(LOCK_CONVERSATION, &[&sender_id]).await?;
    Ok(())
}

/// Inserts or refreshes the user's Telegram profile; returns the row. Runs under the sender's conversation lock.
pub(crate) async fn upsert_user(db: &impl Sql, user: &User) -> Result<UserRow, tokio_postgres::Error> {
    let row = db
        .query_one(
            UPSERT,
            &[
                &user.id,
                &pg_text_opt(user.username.as_deref()),
                &pg_text(&user.first_name),
                &pg_text_opt(user.last_name.as_deref()),
                &pg_text_opt(user.language_code.as_deref()),
            ],
        )
        .await?;
    let (step, topic) = (row.try_get(3)?, row.try_get(4)?);
    let state = DialogState::from_columns(step, topic).unwrap_or_else(|| {
        // A phone step without its topic cannot be resumed: the customer starts from the menu again.
        tracing::warn!(user = user.id, %step, "dialog state without its topic; back to the menu");
        DialogState::Menu
    });
    let first_name = user.first_name.clone();
    Ok(UserRow { id: row.try_get(0)?, tg_id: row.try_get(1)?, phone: row.try_get(2)?, state, first_name })
}

const SET_STATE: &str = "UPDATE users SET dialog_state = $2, dialog_topic = $3, updated_at = now() WHERE id = $1";
/// Moves the user to another dialog state.
pub(crate) async fn set_dialog_state(
    db: &impl Sql,
    user_id: i64,
    state: DialogState,
) -> Result<(), tokio_postgres::Error> {
    let (state, topic) = state.to_columns();
    db.execute(SET_STATE, &[&user_id, &state, &topic]).await?;
    Ok(())
}

const SET_PHONE: &str =
    "UPDATE users SET phone = $2, dialog_state = 'menu', dialog_topic = NULL, updated_at = now() WHERE id = $1";
/// Stores a validated phone number and returns the user to the menu state.
pub(crate) async fn set_phone(db: &impl Sql, user_id: i64, e164: &str) -> Result<(), tokio_postgres::Error> {
    db.execute(SET_PHONE, &[&user_id, &e164]).await?;
    Ok(())
}

/// How a user is shown to operators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Profile {
    /// As Telegram gave it (may be empty, never absent).
    pub first_name: String,
    /// As Telegram gave it, when set.
    pub last_name: Option<String>,
    /// @username without the @.
    pub username: Option<String>,
}

impl Profile {
    /// "First Last".
    pub(crate) fn full_name(&self) -> String {
        match &self.last_name {
            Some(last) if !last.is_empty() => format!("{} {last}", self.first_name),
            _ => self.first_name.clone(),
        }
    }
}

const PROFILE: &str = "SELECT first_name, last_name, username FROM users WHERE id = $1";
/// The user's profile.
pub(crate) async fn profile(db: &impl Sql, user_id: i64) -> Result<Profile, tokio_postgres::Error> {
    let row = db.query_one(PROFILE, &[&user_id]).await?;
    Ok(Profile { first_name: row.try_get(0)?, last_name: row.try_get(1)?, username: row.try_get(2)? })
}

/// How operators see a person in one word: `@username`, else the first name, else the Telegram id.
pub(crate) fn handle(username: Option<&str>, first_name: &str, tg_id: i64) -> String {
    match (username.filter(|u| !u.is_empty()), first_name.trim()) {
        (Some(username), _) => format!("@{username}"),
        (None, "") => tg_id.to_string(),
        (None, name) => name.to_owned(),
    }
}

const HANDLE: &str = "SELECT username, first_name FROM users WHERE tg_id = $1";
/// [`handle`] of the user with Telegram id `tg_id` (their id when we never saw them).
pub(crate) async fn handle_of(db: &impl Sql, tg_id: i64) -> Result<String, tokio_postgres::Error> {
    let Some(row) = db.query_opt(HANDLE, &[&tg_id]).await? else { return Ok(tg_id.to_string()) };
    Ok(handle(row.try_get::<_, Option<&str>>(0)?, row.try_get(1)?, tg_id))
}

const HANDLES: &str = "SELECT tg_id, username, first_name FROM users WHERE tg_id = ANY($1)";
/// [`handle`] of each of `tg_ids` that we know.
pub(crate) async fn handles_of(db: &impl Sql, tg_ids: &[i64]) -> Result<Vec<(i64, String)>, tokio_postgres::Error> {
    let rows = db.query(HANDLES, &[&tg_ids]).await?;
    rows.iter()
        .map(|r| {
            let tg_id: i64 = r.try_get(0)?;
            Ok((tg_id, handle(r.try_get::<_, Option<&str>>(1)?, r.try_get(2)?, tg_id)))
        })
        .collect()
}

/// The statements every pooled connection prepares when it opens (see `db::prepare_statements`).
pub(super) const PREPARED: &[&str] = &[LOCK_CONVERSATION, UPSERT, SET_STATE, SET_PHONE, PROFILE, HANDLE];
