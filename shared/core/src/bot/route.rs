//! Routing: one `match` over the update's kind and, inside each handler, the stored state.

use std::time::Duration;

use super::ProcessError;
use super::ctx::Ctx;
use super::operator::Place;
use super::{bans, desk, files, intake, menu, operator, proxy, ratings, roles};
use crate::db::Tx;
use crate::db::bans::in_force;
use crate::db::tickets::{self, SenderTickets};
use crate::db::users::{self, UserRow};
use crate::domain::{Callback, Command, TicketArg};
use crate::telegram::{CallbackQuery, Message, MessageReactionUpdated, SendMessage, Update, User};
use crate::texts;

/// An update we act on.
pub enum Route<'u> {
    /// A message in a private chat with the bot.
    Private(&'u Message, &'u User),
    /// An edited message in a private chat.
    EditedPrivate(&'u Message, &'u User),
    /// A button press.
    Button(&'u CallbackQuery),
    /// A supervisor's command (`/requeue N`, `/close N`, `/ban N`…) typed in the operators' chat.
    Operators(&'u Message, &'u User, Command<'u>),
    /// A reaction changed on a message of a private chat.
    Reaction(&'u MessageReactionUpdated, &'u User),
}

impl<'u> Route<'u> {
    /// Decides whether an update is ours to handle. Group chatter never is; in the operators' chat
    /// (`operators_chat_id`) only the supervisors' commands are.
    pub fn of(update: &'u Update, operators_chat_id: i64) -> Option<Route<'u>> {
        let private = |m: &'u Message| m.chat.as_ref().is_some_and(|c| c.is_private()) && m.from.is_some();
        if let Some(m) = update.message.as_ref().filter(|m| private(m)) {
            return m.from.as_ref().map(|from| Route::Private(m, from));
        }
        if let Some(m) = update.message.as_ref().filter(|m| m.chat_id() == operators_chat_id)
            && let (Some(from), Some(command)) = (m.from.as_ref(), m.text.as_deref().and_then(Command::parse))
            && (command.is_supervisors() || matches!(command, Command::History(_)))
        {
            return Some(Route::Operators(m, from, command));
        }
        if let Some(m) = update.edited_message.as_ref().filter(|m| private(m)) {
            return m.from.as_ref().map(|from| Route::EditedPrivate(m, from));
        }
        if let Some(r) = update.message_reaction.as_ref().filter(|r| r.chat.is_private()) {
            return r.user.as_ref().map(|from| Route::Reaction(r, from));
        }
        update.callback_query.as_ref().map(Route::Button)
    }

    /// Whose conversation this is: updates of one sender are serialized.
    pub fn sender_id(&self) -> i64 {
        match self {
            Route::Private(_, from) | Route::EditedPrivate(_, from) => from.id,
            Route::Button(query) => query.from.id,
            Route::Operators(_, from, _) | Route::Reaction(_, from) => from.id,
        }
    }

    /// Loads what every handler of this route needs: the sender's row, their tickets and the ban in force against
    /// them, pipelined.
    pub(crate) async fn load(&self, db: &Tx, role_ttl: Duration) -> Result<Loaded<'u>, tokio_postgres::Error> {
        let tickets_of = |id: i64| tickets::lock_tickets_of(db, id, role_ttl);
        Ok(match *self {
            Route::Private(message, from) => {
                let (user, tickets, ban) =
                    tokio::join!(users::upsert_user(db, from), tickets_of(from.id), in_force(db, from.id));
                Loaded::Private { message, user: user?, tickets: tickets?, ban: ban? }
            }
            Route::EditedPrivate(message, from) => {
                let (tickets, ban) = tokio::join!(tickets_of(from.id), in_force(db, from.id));
                Loaded::Edited { message, sender: from.id, tickets: tickets?, ban: ban? }
            }
            Route::Button(query) => {
                let (user, ban) = tokio::join!(users::upsert_user(db, &query.from), in_force(db, query.from.id));
                Loaded::Button { query, user: user?, ban: ban? }
            }
            Route::Operators(message, from, command) => {
                users::upsert_user(db, from).await?;
                Loaded::Operators { chat: message.chat_id(), from, command }
            }
            Route::Reaction(reaction, from) => {
                let (tickets, ban) = tokio::join!(tickets_of(from.id), in_force(db, from.id));
                Loaded::Reaction { reaction, sender: from.id, tickets: tickets?, ban: ban? }
            }
        })
    }
}

/// A route with what its handlers need loaded (`ban`: the id of the ban in force against the sender).
pub(crate) enum Loaded<'u> {
    Private { message: &'u Message, user: UserRow, tickets: SenderTickets, ban: Option<i64> },
    Edited { message: &'u Message, sender: i64, tickets: SenderTickets, ban: Option<i64> },
    Button { query: &'u CallbackQuery, user: UserRow, ban: Option<i64> },
    Operators { chat: i64, from: &'u User, command: Command<'u> },
    Reaction { reaction: &'u MessageReactionUpdated, sender: i64, tickets: SenderTickets, ban: Option<i64> },
}

impl Loaded<'_> {
    pub(crate) async fn dispatch(self, ctx: &mut Ctx<'_>) -> Result<(), ProcessError> {
        match self {
            Loaded::Private { message, user, tickets, ban } => private(ctx, message, &user, tickets, ban).await,
            // A banned person's edits and reactions are kept; an operator's (whoever banned them later) relayed.
            Loaded::Edited { message, sender, tickets, ban: Some(ban) } if tickets.as_operator.is_none() => {
                bans::message(ctx, ban, sender, message, true).await
            }
            Loaded::Edited { message, sender, tickets, .. } => proxy::edited(ctx, message, sender, &tickets).await,
            Loaded::Reaction { reaction, sender, tickets, ban: Some(ban) } if tickets.as_operator.is_none() => {
                bans::reaction(ctx, ban, sender, reaction).await
            }
            Loaded::Reaction { reaction, tickets, .. } => proxy::reaction(ctx, reaction, &tickets).await,
            // A banned person's presses go nowhere; the operators' buttons keep their own checks (a role).
            Loaded::Button { query, ban: Some(ban), .. }
                if !query.data.as_deref().and_then(Callback::parse).is_some_and(Callback::is_operators) =>
            {
                bans::press(ctx, ban, query).await
            }
            Loaded::Button { query, user, .. } => match query.data.as_deref().and_then(Callback::parse) {
                None => Ok(ctx.alert(query, texts::ALERT_STALE)?),
                Some(Callback::Topic(topic)) => menu::topic(ctx, query, &user, topic).await,
                Some(Callback::Understood) => menu::understood(ctx, query).await,
                Some(Callback::Home) => menu::home(ctx, query, &user).await,
                Some(Callback::Operator(topic)) => intake::request_operator(ctx, query, &user, topic).await,
                Some(Callback::PhoneKeep) => intake::keep_phone(ctx, query, &user).await,
                Some(Callback::PhoneOther) => intake::other_phone(ctx, query, &user).await,
                Some(Callback::Claim(ticket_id)) => operator::claim(ctx, query, ticket_id, Place::Card).await,
                Some(Callback::BoardClaim(ticket_id)) => operator::claim(ctx, query, ticket_id, Place::Board).await,
                Some(Callback::Close(ticket_id)) => operator::close(ctx, query, ticket_id).await,
                Some(Callback::EndDialog(ticket_id)) => menu::end_dialog(ctx, query, ticket_id).await,
                Some(Callback::KeepDialog) => menu::keep_dialog(ctx, query).await,
                Some(Callback::Transfer(ticket_id)) => desk::transfer_button(ctx, query, ticket_id).await,
                Some(Callback::CancelTicket(ticket_id)) => intake::cancel_button(ctx, query, ticket_id).await,
                Some(Callback::Rate(ticket_id, score)) => ratings::rate(ctx, query, ticket_id, score).await,
            },
            Loaded::Operators { chat, from, command: Command::History(arg) } => {
                Box::pin(desk::history(ctx, from, chat, arg)).await
            }
            Loaded::Operators { chat, from, command } => desk::supervisor(ctx, from, chat, command).await,
        }
    }
}

/// A private message: the desk's commands, else the relay or the menu. Someone whose dialog as an operator is
/// open is checked first: removed from the operators' chat, they lose it to the queue and nothing is relayed.
/// Then a ban: what a banned person sends is stored and goes nowhere.
async fn private(
    ctx: &mut Ctx<'_>,
    message: &Message,
    user: &UserRow,
    tickets: SenderTickets,
    ban: Option<i64>,
) -> Result<(), ProcessError> {
    let Some(from) = message.from.as_ref() else { return Ok(()) };
    let command = message.text.as_deref().and_then(Command::parse);
    if let Some(ticket) = tickets.as_operator.as_ref() {
        if !roles::role_cached(ctx, user.tg_id, tickets.member).await?.is_operator() {
            return desk::operator_gone(ctx, ticket).await;
        }
        match command {
            Some(Command::Transfer(comment)) => return desk::transfer(ctx, from, ticket, comment).await,
            Some(Command::History(arg)) => return Box::pin(desk::history(ctx, from, user.tg_id, arg)).await,
            Some(Command::Close(TicketArg::Missing)) => return operator::close_own(ctx, ticket).await,
            // `/close N`, `/requeue N`, `/ban N`… well formed; anything else (`/close 3 дня`) is for the customer.
            Some(command) if command.is_complete_supervisors() => {
                return desk::supervisor(ctx, from, user.tg_id, command).await;
            }
            Some(command) if command.is_supervisors() => {
                return proxy::private_message(ctx, user, tickets, message).await;
            }
            _ => {}
        }
    }
    if let Some(ban) = ban {
        return bans::message(ctx, ban, user.tg_id, message, false).await;
    }
    // A customer's open ticket: their texts are theirs, whatever they start with (only /start and /cancel act).
    let customer = tickets.as_customer.is_some();
    match command {
        Some(Command::Start) => menu::start_command(ctx, user, &tickets).await,
        Some(Command::Cancel) if intake::cancel(ctx, &tickets).await? => Ok(()),
        Some(Command::Transfer(_) | Command::Close(TicketArg::Missing))
            if !customer && tickets.as_operator.is_none() && roles::role(ctx, user.tg_id).await?.is_operator() =>
        {
            Ok(ctx.send(SendMessage::new(user.tg_id, texts::NO_DIALOG_TO_HAND_OVER))?)
        }
        // Only operators have /history: anyone else's is an ordinary message (the menu, or their dialog's).
        Some(Command::History(arg)) if !customer && roles::role(ctx, user.tg_id).await?.is_operator() => {
            Box::pin(desk::history(ctx, from, user.tg_id, arg)).await
        }
        Some(command) if command.is_supervisors() && !customer => {
            desk::supervisor(ctx, from, user.tg_id, command).await
        }
        _ => match message.text.as_deref().filter(|t| t.starts_with("/file")) {
            Some(text) if files::command(ctx, user, text).await? => Ok(()),
            _ => proxy::private_message(ctx, user, tickets, message).await,
        },
    }
}
