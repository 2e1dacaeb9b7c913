//! Routing: one `match` over the update's kind and, inside each handler, the stored state.

use super::ProcessError;
use super::ctx::Ctx;
use super::{files, intake, menu, operator, proxy};
use crate::db::Tx;
use crate::db::tickets::{self, SenderTickets};
use crate::db::users::{self, UserRow};
use crate::domain::Callback;
use crate::telegram::{CallbackQuery, Message, Update, User};
use crate::texts;

/// An update we act on.
pub enum Route<'u> {
    /// A message in a private chat with the bot.
    Private(&'u Message, &'u User),
    /// An edited message in a private chat.
    EditedPrivate(&'u Message, &'u User),
    /// A button press.
    Button(&'u CallbackQuery),
}

impl<'u> Route<'u> {
    /// Decides whether an update is ours to handle. Group chatter (the operators' chat included) never is.
    pub fn of(update: &'u Update) -> Option<Route<'u>> {
        let private = |m: &'u Message| m.chat.as_ref().is_some_and(|c| c.is_private()) && m.from.is_some();
        if let Some(m) = update.message.as_ref().filter(|m| private(m)) {
            return m.from.as_ref().map(|from| Route::Private(m, from));
        }
        if let Some(m) = update.edited_message.as_ref().filter(|m| private(m)) {
            return m.from.as_ref().map(|from| Route::EditedPrivate(m, from));
        }
        update.callback_query.as_ref().map(Route::Button)
    }

    /// Whose conversation this is: updates of one sender are serialized.
    pub fn sender_id(&self) -> i64 {
        match self {
            Route::Private(_, from) | Route::EditedPrivate(_, from) => from.id,
            Route::Button(query) => query.from.id,
        }
    }

    /// Loads what every handler of this route needs: the sender's row and their tickets, pipelined.
    pub(crate) async fn load(&self, db: &Tx) -> Result<Loaded<'u>, tokio_postgres::Error> {
        let tickets_of = |id: i64| tickets::lock_tickets_of(db, id);
        Ok(match *self {
            Route::Private(message, from) => {
                let (user, tickets) = tokio::join!(users::upsert_user(db, from), tickets_of(from.id));
                Loaded::Private { message, user: user?, tickets: tickets? }
            }
            Route::EditedPrivate(_, from) => Loaded::Edited { sender: from.id, tickets: tickets_of(from.id).await? },
            Route::Button(query) => Loaded::Button { query, user: users::upsert_user(db, &query.from).await? },
        })
    }
}

/// A route with what its handlers need loaded.
pub(crate) enum Loaded<'u> {
    Private { message: &'u Message, user: UserRow, tickets: SenderTickets },
    Edited { sender: i64, tickets: SenderTickets },
    Button { query: &'u CallbackQuery, user: UserRow },
}

impl Loaded<'_> {
    pub(crate) async fn dispatch(self, ctx: &mut Ctx<'_>) -> Result<(), ProcessError> {
        match self {
            Loaded::Private { message, user, tickets } => {
                if is_start(message) {
                    menu::start_command(ctx, &user, &tickets).await
                } else if is_command(message, "/cancel") && intake::cancel(ctx, &tickets).await? {
                    Ok(())
                } else if let Some(text) = message.text.as_deref().filter(|t| t.starts_with("/file"))
                    && files::command(ctx, &user, text).await?
                {
                    Ok(())
                } else {
                    proxy::private_message(ctx, &user, tickets, message).await
                }
            }
            Loaded::Edited { sender, tickets } => proxy::edited(ctx, sender, &tickets).await,
            Loaded::Button { query, user } => match query.data.as_deref().and_then(Callback::parse) {
                None => Ok(ctx.alert(query, texts::ALERT_STALE)?),
                Some(Callback::Topic(topic)) => menu::topic(ctx, query, topic).await,
                Some(Callback::Understood) => menu::understood(ctx, query).await,
                Some(Callback::Home) => menu::home(ctx, query, &user).await,
                Some(Callback::Operator(topic)) => intake::request_operator(ctx, query, &user, topic).await,
                Some(Callback::PhoneKeep) => intake::keep_phone(ctx, query, &user).await,
                Some(Callback::PhoneOther) => intake::other_phone(ctx, query, &user).await,
                Some(Callback::Claim(ticket_id)) => operator::claim(ctx, query, ticket_id).await,
                Some(Callback::Close(ticket_id)) => operator::close(ctx, query, ticket_id).await,
                Some(Callback::EndDialog(ticket_id)) => menu::end_dialog(ctx, query, ticket_id).await,
                Some(Callback::KeepDialog) => menu::keep_dialog(ctx, query).await,
            },
        }
    }
}

/// `/start`, `/start payload` or `/start@bot`.
fn is_start(message: &Message) -> bool {
    is_command(message, "/start")
}

/// The message is `command`, with or without arguments or the bot's @name.
fn is_command(message: &Message, command: &str) -> bool {
    message.text.as_deref().is_some_and(|t| {
        let first = t.split_whitespace().next().unwrap_or_default();
        first == command || first.strip_prefix(command).is_some_and(|rest| rest.starts_with('@'))
    })
}
