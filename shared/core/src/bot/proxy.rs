//! The relay: while a ticket is ASSIGNED, every private message is copied between the customer and the operator.
//! While it is WAITING, the customer's messages are stored and delivered at the claim.

use super::ProcessError;
use super::ctx::Ctx;
use super::{intake, keyboards};
use crate::db::edits;
use crate::db::messages::{self, Sender};
use crate::db::tickets::{self, SenderTickets, Status};
use crate::db::users::UserRow;
use crate::domain::ContentKind;
use crate::domain::DialogState;
use crate::telegram::{
    EditMessageCaption, EditMessageMedia, EditMessageText, InputMedia, Message, MessageReactionUpdated,
    ReplyParameters, SendMessage, SetMessageReaction,
};
use crate::texts;

/// Any private message that is not one of the desk's commands (see `route`).
pub async fn private_message(
    ctx: &mut Ctx<'_>,
    user: &UserRow,
    tickets: SenderTickets,
    message: &Message,
) -> Result<(), ProcessError> {
    if let Some(ticket) = tickets.as_operator {
        // The sender's role was checked by the route (someone removed from the operators' chat lost the dialog).
        let to = Some(ticket.customer_tg_id);
        return store_and_copy(ctx, ticket.id, Sender::Operator, user.tg_id, to, message).await;
    }
    if let Some(ticket) = tickets.as_customer {
        let operator = match (ticket.status, ticket.operator_tg_id) {
            (Status::Assigned, Some(operator)) => Some(operator),
            _ => None,
        };
        return store_and_copy(ctx, ticket.id, Sender::User, user.tg_id, operator, message).await;
    }
    match user.state {
        DialogState::AwaitingPhone(topic) | DialogState::ConfirmPhone(topic) => {
            intake::phone_input(ctx, user, topic, message).await
        }
        DialogState::Menu => {
            if super::ratings::comment(ctx, user, message).await? {
                return Ok(());
            }
            let reply = if super::roles::role(ctx, user.tg_id).await?.is_operator() {
                SendMessage::new(user.tg_id, texts::NO_ACTIVE_DIALOG)
            } else {
                SendMessage::new(user.tg_id, texts::USE_MENU).with_markup(keyboards::menu(&ctx.app.desk))
            };
            ctx.send(reply)?;
            Ok(())
        }
    }
}

/// Stores a dialog message of ticket `ticket_id` and, when someone is on the other side (`to`), notes the ticket's
/// activity in the same round trip and copies the message to them. A redelivered message is stored once and
/// copied once.
async fn store_and_copy(
    ctx: &mut Ctx<'_>,
    ticket_id: i64,
    sender: Sender,
    from: i64,
    to: Option<i64>,
    message: &Message,
) -> Result<(), ProcessError> {
    let db = ctx.db();
    let touch = async {
        match to {
            Some(_) => tickets::touch(db, ticket_id, sender == Sender::Operator).await,
            None => Ok(()),
        }
    };
    let flood_limit = ctx.app.config.flood_messages_per_minute;
    let count_recent = async {
        match sender {
            // Counted after the insert (pipelined behind it), so this message is among them.
            Sender::User if flood_limit > 0 => messages::from_customer_last_minute(db, ticket_id).await.map(Some),
            _ => Ok(None),
        }
    };
    let (stored, touched, recent) =
        tokio::join!(messages::insert_message(db, ticket_id, sender, from, message), touch, count_recent);
    touched?;
    let Some(stored) = stored? else { return Ok(()) };
    if recent? == Some(i64::from(flood_limit) + 1) {
        // Told once, as the burst goes over the limit; every message is still stored and delivered, paced.
        tracing::info!(ticket = ticket_id, "customer writes faster than the flood limit; told to slow down");
        ctx.send(SendMessage::new(from, texts::FLOOD_SLOW_DOWN))?;
    }
    note_file(ctx, stored.id, message);
    if let Some(to) = to {
        let reply = stored.reply_target(to).map(|message_id| ReplyParameters {
            message_id,
            allow_sending_without_reply: true,
            quote: message.quote.as_ref().map(|q| q.text.clone()),
            quote_position: message.quote.as_ref().map(|q| q.position),
        });
        match message.media_group_id.as_deref() {
            // A part of an album travels with the album (a reply keeps to the album as a whole).
            Some(group) => ctx.album_part(to, from, message.message_id, group).await?,
            None => ctx.copy_replying(to, from, message.message_id, stored.id, reply)?,
        }
    }
    Ok(())
}

/// Remembers a stored message with a file, to archive it after delivery.
fn note_file(ctx: &mut Ctx<'_>, id: i64, message: &Message) {
    if message.content().file.is_some() {
        ctx.archive_after_delivery(id);
    }
}

/// How long after a message was sent an edit of it may come before the message itself (concurrent deliveries):
/// such an edit is delivered again until its message is here.
const EDIT_BEFORE_ORIGINAL: i64 = 60;

/// An edited dialog message: every version is kept; the newest one is shown on its copy (its text, caption or
/// media edited) while the dialog it was delivered in is live. An edit after the dialog ended, or of something
/// that was never part of one, is answered with a note that it cannot be delivered.
pub async fn edited(
    ctx: &mut Ctx<'_>,
    message: &Message,
    sender: i64,
    tickets: &SenderTickets,
) -> Result<(), ProcessError> {
    let in_dialog = tickets.as_operator.is_some() || tickets.as_customer.is_some();
    let Some(stored) = edits::to_edit(ctx.db(), message.chat_id(), message.message_id).await? else {
        let overtaken = ctx.app.concurrent_updates
            && message.date >= chrono::Utc::now().timestamp() - EDIT_BEFORE_ORIGINAL
            // A command is never stored as a dialog message.
            && !message.text.as_deref().is_some_and(|t| t.starts_with('/'));
        if in_dialog && overtaken {
            // Its message may be on its way (deliveries run concurrently): wait for it rather than lose the edit.
            return Err(ProcessError::NotYet("an edit of a message not stored yet"));
        }
        if in_dialog {
            ctx.send(SendMessage::new(sender, texts::EDIT_NOT_DELIVERED))?;
        }
        return Ok(());
    };
    let edit_date = message.edit_date.unwrap_or(message.date);
    let newest = edits::add_version(ctx.db(), stored.id, edit_date, message).await?;
    let file = message.content().file;
    let new_file = file.as_ref().filter(|f| Some(&f.file_unique_id) != stored.file_unique_id.as_ref());
    if new_file.is_some() {
        edits::add_attachment(ctx.db(), stored.id, message).await?;
        note_file(ctx, stored.id, message);
    }
    tracing::info!(ticket = stored.ticket_id, newest, "dialog message edited");
    if stored.status == Status::Closed {
        ctx.send(SendMessage::new(sender, texts::EDIT_AFTER_CLOSE))?;
        return Ok(());
    }
    // The other side of the dialog now: a copy made for someone who no longer has the ticket is left as it was
    // (the next operator reads the newest version in the story).
    let counterpart = match (stored.sender, stored.status) {
        (Sender::Operator, _) => Some(stored.customer),
        (Sender::User, Status::Assigned) => stored.operator,
        (Sender::User, _) => None,
    };
    let known = stored.delivered.filter(|(chat, id)| Some(*chat) == counterpart && *id > 0);
    let Some((chat_id, message_id)) = known else {
        if stored.delivered.is_none()
            && counterpart.is_some()
            && !edits::copy_pending(ctx.db(), stored.id, message.chat_id(), message.message_id).await?
        {
            // Its copy was given up (the sender was told then): there is nothing to edit.
            ctx.send(SendMessage::new(sender, texts::EDIT_NOT_DELIVERED))?;
        }
        // Otherwise its copy is still on its way (it shows the newest version), or it waits for the next operator.
        return Ok(());
    };
    if !newest {
        return Ok(());
    }
    relay_edit(ctx, chat_id, message_id, message, new_file.is_some())?;
    Ok(())
}

/// Edits the copy `message_id` in `chat_id` to show `message`: its text, its caption, or (`new_file`) its media.
fn relay_edit(
    ctx: &mut Ctx<'_>,
    chat_id: i64,
    message_id: i64,
    message: &Message,
    new_file: bool,
) -> Result<(), crate::db::DbError> {
    if let Some(text) = &message.text {
        let edit = EditMessageText {
            chat_id,
            message_id,
            text: text.clone(),
            entities: message.entities.clone(),
            reply_markup: None,
        };
        return ctx.edit_text(edit);
    }
    let content = message.content();
    let media_kind = match content.kind {
        ContentKind::Photo => Some("photo"),
        ContentKind::Video => Some("video"),
        ContentKind::Animation => Some("animation"),
        ContentKind::Audio => Some("audio"),
        ContentKind::Document => Some("document"),
        _ => None,
    };
    if new_file && let (Some(kind), Some(file)) = (media_kind, content.file) {
        let media = InputMedia {
            kind: kind.to_owned(),
            media: file.file_id,
            caption: message.caption.clone(),
            caption_entities: message.caption_entities.clone(),
        };
        return ctx.call(chat_id, "editMessageMedia", &EditMessageMedia { chat_id, message_id, media });
    }
    let edit = EditMessageCaption {
        chat_id,
        message_id,
        caption: message.caption.clone(),
        caption_entities: message.caption_entities.clone(),
    };
    ctx.call(chat_id, "editMessageCaption", &edit)
}

/// A reaction on a message of a live dialog is mirrored on its counterpart in the other chat (a bot shows one
/// reaction: the first emoji; none removes it). Reactions elsewhere, and custom or paid ones, are not mirrored.
pub async fn reaction(
    ctx: &mut Ctx<'_>,
    reaction: &MessageReactionUpdated,
    tickets: &SenderTickets,
) -> Result<(), ProcessError> {
    let ticket = tickets.as_operator.as_ref().or(tickets.as_customer.as_ref()).filter(|t| t.status == Status::Assigned);
    let Some(ticket) = ticket else { return Ok(()) };
    let Some(operator) = ticket.operator_tg_id else { return Ok(()) };
    let chat = reaction.chat.id;
    let other = if chat == operator { ticket.customer_tg_id } else { operator };
    let Some(pair) = messages::pair_of(ctx.db(), ticket.id, chat, reaction.message_id).await? else {
        return Ok(());
    };
    let Some(message_id) = pair.counterpart_in(other) else { return Ok(()) };
    let emoji: Vec<serde_json::Value> = reaction
        .new_reaction
        .iter()
        .filter(|r| r.get("type").and_then(|t| t.as_str()) == Some("emoji"))
        .take(1)
        .cloned()
        .collect();
    if emoji.is_empty() && !reaction.new_reaction.is_empty() {
        tracing::info!(ticket = ticket.id, "a custom or paid reaction is not mirrored");
        return Ok(());
    }
    ctx.call(other, "setMessageReaction", &SetMessageReaction { chat_id: other, message_id, reaction: emoji })?;
    Ok(())
}
