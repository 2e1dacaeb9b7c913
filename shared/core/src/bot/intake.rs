//! Intake: from «Обратиться к оператору» to a ticket in the queue (its card is posted by [`super::card`]).

use chrono::Datelike;

use super::ProcessError;
use super::ctx::Ctx;
use super::keyboards;
use crate::db::cards;
use crate::db::tickets::{self, SenderTickets, Status};
use crate::db::users::{self, UserRow};
use crate::desk::{self, Text};
use crate::domain::phone::Phone;
use crate::domain::{CloseReason, DialogState, Topic};
use crate::outbox::OnResult;
use crate::telegram::{CallbackQuery, Message, ReplyMarkup, SendMessage};
use crate::texts;

/// «Обратиться к оператору» / «Да»: ask for the phone (or confirm the known one), unless a ticket is open.
pub async fn request_operator(
    ctx: &mut Ctx<'_>,
    query: &CallbackQuery,
    user: &UserRow,
    topic: Topic,
) -> Result<(), ProcessError> {
    if ctx.app.desk.topic(topic).is_none() {
        tracing::info!(topic = %topic, "a topic the desk file no longer has was asked for");
        return Ok(ctx.alert(query, texts::ALERT_STALE)?);
    }
    ctx.ack(query)?;
    if let Some(open) = tickets::lock_open_ticket_of_customer(ctx.db(), user.tg_id).await? {
        ctx.send(SendMessage::new(user.tg_id, texts::already_open(open.id)))?;
        return Ok(());
    }
    let known = user.phone.as_deref().and_then(|p| Phone::parse(p, &ctx.app.config.default_region).ok());
    match known {
        Some(phone) => {
            users::set_dialog_state(ctx.db(), user.id, DialogState::ConfirmPhone(topic)).await?;
            let desk = &ctx.app.desk;
            let text = desk::render(desk.text(Text::ConfirmPhone), &[("phone", &phone.display())]);
            ctx.send(SendMessage::new(user.tg_id, text).with_markup(keyboards::confirm_phone(desk)))?;
        }
        None => ask_phone(ctx, user, topic).await?,
    }
    Ok(())
}

async fn ask_phone(ctx: &mut Ctx<'_>, user: &UserRow, topic: Topic) -> Result<(), ProcessError> {
    users::set_dialog_state(ctx.db(), user.id, DialogState::AwaitingPhone(topic)).await?;
    let desk = &ctx.app.desk;
    let ask = SendMessage::new(user.tg_id, desk::render(desk.text(Text::AskPhone), &[]));
    ctx.send(ask.with_markup(keyboards::share_phone(desk)))?;
    Ok(())
}

/// «Да, этот номер»: the ticket is created with the phone we have.
pub async fn keep_phone(ctx: &mut Ctx<'_>, query: &CallbackQuery, user: &UserRow) -> Result<(), ProcessError> {
    ctx.ack(query)?;
    let (DialogState::ConfirmPhone(topic), Some(phone)) = (user.state, user.phone.as_deref()) else {
        // A stale confirmation (already used, or the menu was reset): show the menu.
        return super::menu::start(ctx, user).await;
    };
    let phone = phone.to_owned();
    create_ticket(ctx, user, topic, &phone).await
}

/// «Другой номер»: ask for a new one.
pub async fn other_phone(ctx: &mut Ctx<'_>, query: &CallbackQuery, user: &UserRow) -> Result<(), ProcessError> {
    ctx.ack(query)?;
    match user.state {
        DialogState::ConfirmPhone(topic) | DialogState::AwaitingPhone(topic) => ask_phone(ctx, user, topic).await,
        DialogState::Menu => super::menu::start(ctx, user).await,
    }
}

/// A message while we wait for a phone: a typed number or the user's own shared contact creates the ticket;
/// anything else gets a reply saying what is expected.
pub async fn phone_input(
    ctx: &mut Ctx<'_>,
    user: &UserRow,
    topic: Topic,
    message: &Message,
) -> Result<(), ProcessError> {
    let region = ctx.app.config.default_region.clone();
    let reply = match (&message.contact, message.text.as_deref()) {
        (Some(contact), _) if contact.user_id == Some(user.tg_id) => {
            match Phone::from_contact(&contact.phone_number, &region) {
                Ok(phone) => return create_ticket(ctx, user, topic, phone.as_e164()).await,
                Err(_) => Text::PhoneInvalid,
            }
        }
        (Some(_), _) => Text::ContactNotOwn,
        (None, Some(text)) => match Phone::parse(text, &region) {
            Ok(phone) => return create_ticket(ctx, user, topic, phone.as_e164()).await,
            Err(e) => {
                tracing::info!(user = user.tg_id, reason = %e, "typed phone refused");
                Text::PhoneInvalid
            }
        },
        (None, None) => Text::PhoneExpected,
    };
    let desk = &ctx.app.desk;
    let button = desk::render(desk.text(Text::ButtonSharePhone), &[]);
    let reply = desk::render(desk.text(reply), &[("button", &button)]);
    ctx.send(SendMessage::new(user.tg_id, reply).with_markup(keyboards::share_phone(desk)))?;
    Ok(())
}

/// `/cancel` from a customer whose request is still waiting: it is closed as cancelled (its cards say so) and they
/// get «В начало». False when there is nothing waiting to cancel: in a dialog `/cancel` is a message like any other.
pub(crate) async fn cancel(ctx: &mut Ctx<'_>, tickets: &SenderTickets) -> Result<bool, ProcessError> {
    let Some(ticket) = tickets.as_customer.as_ref().filter(|t| t.status == Status::Waiting) else { return Ok(false) };
    tracing::info!(ticket = ticket.id, "customer cancelled a waiting ticket");
    super::lifecycle::close(ctx, ticket, CloseReason::Cancelled, None).await?;
    Ok(true)
}

/// Tells `customer` where waiting ticket `ticket_id` is in the queue (and when operators are back, outside working
/// hours), with «Отменить обращение»; the message is recorded with the ticket's cards, so that its button goes
/// when the ticket leaves the queue.
pub(crate) async fn post_position(ctx: &mut Ctx<'_>, customer: i64, ticket_id: i64) -> Result<(), ProcessError> {
    let position = tickets::queue_position(ctx.db(), ticket_id).await?;
    let back_at = operators_back_at(ctx);
    ctx.send_tracked(
        SendMessage::new(customer, texts::queue_position(position, back_at.as_deref()))
            .with_markup(keyboards::cancel_ticket(ticket_id)),
        OnResult::Prompt { ticket_id },
    )?;
    Ok(())
}

/// When operators are back, for the customer, if `WORKING_HOURS` says they are off now.
fn operators_back_at(ctx: &Ctx<'_>) -> Option<String> {
    let opening = ctx.app.config.working_hours.as_ref()?.next_opening(chrono::Utc::now())?;
    Some(texts::back_at(opening.weekday(), &opening.format("%d.%m").to_string(), &opening.format("%H:%M").to_string()))
}

/// «Отменить обращение» under the customer's place in the queue: their waiting ticket is closed as cancelled. Once
/// an operator has it, or it is closed, the press is answered and nothing changes.
pub(crate) async fn cancel_button(
    ctx: &mut Ctx<'_>,
    query: &CallbackQuery,
    ticket_id: i64,
) -> Result<(), ProcessError> {
    let ticket = tickets::lock_ticket(ctx.db(), ticket_id).await?;
    let Some(ticket) = ticket.filter(|t| t.customer_tg_id == query.from.id) else {
        return Ok(ctx.alert(query, texts::ALERT_STALE)?);
    };
    if let Some(pressed) = query.message.as_ref() {
        // Settled here, so that the close below does not remove its button a second time; one settled already
        // (the ticket left the queue) lost its button then.
        if cards::settle_one(ctx.db(), (pressed.chat_id(), pressed.message_id), ticket_id).await? {
            ctx.remove_buttons(pressed.chat_id(), pressed.message_id)?;
        }
    }
    match ticket.status {
        Status::Waiting => {
            tracing::info!(ticket = ticket.id, "customer cancelled a waiting ticket");
            super::lifecycle::close(ctx, &ticket, CloseReason::Cancelled, None).await?;
            Ok(ctx.ack(query)?)
        }
        Status::Assigned => Ok(ctx.alert(query, texts::ALERT_ALREADY_IN_DIALOG)?),
        Status::Closed => Ok(ctx.alert(query, texts::alert_closed(ticket_id))?),
    }
}

async fn create_ticket(ctx: &mut Ctx<'_>, user: &UserRow, topic: Topic, e164: &str) -> Result<(), ProcessError> {
    users::set_phone(ctx.db(), user.id, e164).await?;
    let max = ctx.app.config.max_tickets_per_day;
    // One open already: the insert below says so (that answer goes first).
    if max > 0 && matches!(tickets::opened_today(ctx.db(), user.id).await?, (n, false) if n >= i64::from(max)) {
        // A cancel-and-reopen loop (or a very busy day): no ticket, no card; the customer is told why.
        tracing::info!(user = user.id, "ticket refused: too many within a day");
        let told =
            SendMessage::new(user.tg_id, texts::too_many_tickets(max)).with_markup(ReplyMarkup::remove_keyboard());
        ctx.send(told)?;
        return Ok(());
    }
    let Some(ticket_id) = tickets::insert_ticket(ctx.db(), user.id, topic, e164).await? else {
        let open = tickets::lock_open_ticket_of_customer(ctx.db(), user.tg_id).await?.map_or(0, |t| t.id);
        ctx.send(SendMessage::new(user.tg_id, texts::already_open(open)).with_markup(ReplyMarkup::remove_keyboard()))?;
        return Ok(());
    };
    ctx.send(SendMessage::new(user.tg_id, texts::queued(ticket_id)).with_markup(ReplyMarkup::remove_keyboard()))?;
    // A message carries one keyboard: the one above removes the phone button, this one offers to cancel.
    post_position(ctx, user.tg_id, ticket_id).await?;
    if let Some(ticket) = tickets::lock_ticket(ctx.db(), ticket_id).await? {
        super::board::announce(ctx, &ticket, None).await?;
    }
    Ok(())
}
