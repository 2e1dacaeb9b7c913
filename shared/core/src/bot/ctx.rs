//! The context a handler or job works in: the app, its transaction, and the outbox calls it queues. Every one of
//! them ends the same way: [`Ctx::commit`] writes the calls with the transaction, and [`Deliveries::deliver`]
//! sends them once the connection is back. An update's context ([`Ctx::for_update`]) sends the head of a single
//! destination's queue inside its transaction, so a relayed message costs one transaction; a job's never holds
//! its locks across a Bot API call.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::delivery;
use crate::app::App;
use crate::db::{DbError, Tx};
use crate::outbox::{self, Call, ChatFlush, OnResult};
use crate::telegram::*;

/// A handler's view of the world. The calls to Telegram it decides on go through here into the outbox (the few it
/// needs an answer to before deciding, such as getChatMember or a claim's summary, it makes itself).
pub(crate) struct Ctx<'a> {
    pub app: &'a App,
    tx: Tx,
    /// Whether the head of a single destination's queue is sent inside the transaction.
    send_head: bool,
    calls: Vec<Call>,
    /// Dialog messages with a file to archive after delivery.
    archive: Vec<i64>,
    /// Albums this handler added a part to: the chat, and when (from the part's commit) the album's copy is due.
    albums: Vec<(i64, Duration)>,
    /// Chats to flush after the commit though this handler queued nothing for them.
    flush: Vec<i64>,
    /// When the handler's own calls inside the transaction (an upload) must have ended: an update's deadline.
    deadline: Instant,
}

/// What a committed handler left to send, and the files to archive after that. Holds no connection.
#[must_use = "the calls are committed but not sent until `deliver`"]
pub(crate) struct Deliveries {
    sent: Sent,
    archive: Vec<i64>,
    albums: Vec<(i64, Duration)>,
}

/// How long a job's own calls inside its transaction may take.
const JOB_CALL_BUDGET: Duration = Duration::from_secs(60);

/// How long an album's copy waits after its latest part for the next one (Telegram sends an album's parts back
/// to back, as separate updates)…
pub const ALBUM_WAIT: Duration = Duration::from_secs(1);
/// …and at most after its first part.
pub const ALBUM_MAX_WAIT: Duration = Duration::from_secs(3);

enum Sent {
    /// The only destination's head call went out inside the transaction; how that flush ended.
    Head(i64, ChatFlush),
    /// Chats with calls, all still queued.
    Queued(Vec<i64>),
}

impl<'a> Ctx<'a> {
    /// An update's context on `tx`, which it owns from now on: with one destination, [`Ctx::commit`] sends the head
    /// of its queue inside the transaction (the update's locks are held for that one call).
    /// Its own calls (an upload) end by `deadline`.
    pub fn for_update(app: &'a App, tx: Tx, deadline: Instant) -> Self {
        Ctx {
            app,
            tx,
            send_head: true,
            calls: Vec::new(),
            archive: Vec::new(),
            albums: Vec::new(),
            flush: Vec::new(),
            deadline,
        }
    }

    /// A job's context on a new transaction: [`Ctx::commit`] only writes and commits.
    pub async fn begin(app: &'a App) -> Result<Ctx<'a>, DbError> {
        let tx = Tx::begin(&app.db).await?;
        Ok(Ctx {
            app,
            tx,
            send_head: false,
            calls: Vec::new(),
            archive: Vec::new(),
            albums: Vec::new(),
            flush: Vec::new(),
            deadline: Instant::now() + JOB_CALL_BUDGET,
        })
    }

    /// When a call the handler makes itself inside the transaction (an upload) must have ended.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The transaction.
    pub fn db(&self) -> &Tx {
        &self.tx
    }

    /// Flushes `chat`'s queue after the commit, as if this handler had queued a call for it (a call queued by
    /// another that this handler's change relies on).
    pub(crate) fn flush_after(&mut self, chat: i64) {
        if !self.flush.contains(&chat) {
            self.flush.push(chat);
        }
    }

    /// Archives the file of dialog message `id` once the handler's calls are delivered.
    pub fn archive_after_delivery(&mut self, id: i64) {
        self.archive.push(id);
    }

    /// Writes the calls queued so far and commits. In an update's context with one destination and time left, the
    /// head of its queue is sent inside the transaction (recorded with the COMMIT; see
    /// [`outbox::write_and_flush`]); otherwise everything waits for [`Deliveries::deliver`].
    pub async fn commit(self, deadline: Instant) -> Result<Deliveries, DbError> {
        let Ctx { app, tx, send_head, calls, archive, albums, flush, .. } = self;
        let in_time = Instant::now() < deadline;
        let mut chats = chats_of(&calls);
        for chat in flush {
            if !chats.contains(&chat) {
                chats.push(chat);
            }
        }
        let sent = match chats.as_slice() {
            [chat] if send_head && in_time => {
                Sent::Head(*chat, outbox::write_and_flush(app, tx, *chat, &calls, deadline).await?)
            }
            chats => {
                outbox::write_and_commit(&tx, &calls).await?;
                Sent::Queued(chats.to_vec())
            }
        };
        Ok(Deliveries { sent, archive, albums })
    }

    /// Message `message_id` of `from`, a part of album `group`, joins the album's copy to `to`: one copyMessages
    /// call per album, sent [`ALBUM_WAIT`] after its latest part (at most [`ALBUM_MAX_WAIT`] after its first).
    pub async fn album_part(&mut self, to: i64, from: i64, message_id: i64, group: &str) -> Result<(), DbError> {
        let part = (to, from, message_id);
        let due = outbox::add_album_part(&self.tx, part, group, ALBUM_WAIT, ALBUM_MAX_WAIT).await?;
        self.albums.push((to, due));
        Ok(())
    }

    /// Rolls the transaction back; nothing queued is written.
    pub async fn rollback(self) {
        self.tx.rollback().await;
    }

    /// Queues a call (no I/O: the calls are written when the handler's transaction ends).
    fn queue(
        &mut self,
        chat: i64,
        method: &'static str,
        params: &impl Serialize,
        on_result: Option<OnResult>,
    ) -> Result<(), DbError> {
        self.calls.push(Call::new(chat, method, params, on_result)?);
        Ok(())
    }

    /// The call queued last is a reminder: in its chat's queue it goes after everything else.
    pub(crate) fn last_is_reminder(&mut self) {
        if let Some(call) = self.calls.last_mut() {
            call.priority = crate::outbox::Priority::Reminder;
        }
    }

    /// sendMessage.
    pub fn send(&mut self, message: SendMessage) -> Result<(), DbError> {
        self.queue(message.chat_id, "sendMessage", &message, None)
    }

    /// sendMessage whose result is recorded.
    pub fn send_tracked(&mut self, message: SendMessage, on_result: OnResult) -> Result<(), DbError> {
        self.queue(message.chat_id, "sendMessage", &message, Some(on_result))
    }

    /// copyMessage, recording where it was delivered.
    pub fn copy(&mut self, to: i64, from_chat_id: i64, message_id: i64, ticket_message_id: i64) -> Result<(), DbError> {
        self.copy_replying(to, from_chat_id, message_id, ticket_message_id, None)
    }

    /// copyMessage as a reply (`reply`), recording where it was delivered.
    pub fn copy_replying(
        &mut self,
        to: i64,
        from_chat_id: i64,
        message_id: i64,
        ticket_message_id: i64,
        reply: Option<ReplyParameters>,
    ) -> Result<(), DbError> {
        let params = CopyMessage { chat_id: to, from_chat_id, message_id, reply_markup: None, reply_parameters: reply };
        self.queue(to, "copyMessage", &params, Some(OnResult::Delivered { ticket_message_id }))
    }

    /// copyMessages of the parts `message_ids` (ascending) of an album in `from_chat_id`, all known already (at a
    /// claim): sent at once, recording where each part landed.
    pub fn copy_album(&mut self, to: i64, from_chat_id: i64, message_ids: &[i64]) -> Result<(), DbError> {
        let params = serde_json::json!({ "chat_id": to, "from_chat_id": from_chat_id, "message_ids": message_ids });
        self.queue(to, "copyMessages", &params, Some(OnResult::Album))
    }

    /// A call whose result is recorded as `on_result` says (the queue board's calls, drawn as they are sent).
    pub(crate) fn call_tracked(
        &mut self,
        chat_id: i64,
        method: &'static str,
        params: &impl serde::Serialize,
        on_result: OnResult,
    ) -> Result<(), DbError> {
        self.queue(chat_id, method, params, Some(on_result))
    }

    /// Whether a call recording `on_result` is queued already.
    pub(crate) fn queues(&self, on_result: OnResult) -> bool {
        self.calls.iter().any(|c| c.on_result == Some(on_result))
    }

    /// Any other Bot API call about a message in `chat_id` (a relayed edit, a mirrored reaction).
    pub fn call(&mut self, chat_id: i64, method: &'static str, params: &impl serde::Serialize) -> Result<(), DbError> {
        self.queue(chat_id, method, params, None)
    }

    /// copyMessage of a dialog message delivered before (the story for an operator taking a ticket over): where
    /// this copy lands is not recorded, the message keeps its first delivery.
    pub fn copy_again(&mut self, to: i64, from_chat_id: i64, message_id: i64) -> Result<(), DbError> {
        let params = CopyMessage { chat_id: to, from_chat_id, message_id, reply_markup: None, reply_parameters: None };
        self.queue(to, "copyMessage", &params, None)
    }

    /// editMessageText.
    pub fn edit_text(&mut self, params: EditMessageText) -> Result<(), DbError> {
        self.queue(params.chat_id, "editMessageText", &params, None)
    }

    /// editMessageReplyMarkup with no markup: removes the buttons.
    pub fn remove_buttons(&mut self, chat_id: i64, message_id: i64) -> Result<(), DbError> {
        let params = EditMessageReplyMarkup { chat_id, message_id, reply_markup: None };
        self.queue(chat_id, "editMessageReplyMarkup", &params, None)
    }

    /// answerCallbackQuery with an alert the presser must dismiss.
    pub fn alert(&mut self, query: &CallbackQuery, text: impl Into<String>) -> Result<(), DbError> {
        self.answer(query, Some(text.into()), true)
    }

    /// answerCallbackQuery with a short notice at the top of the presser's chat.
    pub fn notice(&mut self, query: &CallbackQuery, text: impl Into<String>) -> Result<(), DbError> {
        self.answer(query, Some(text.into()), false)
    }

    /// answerCallbackQuery with nothing to say: stops the button's spinner.
    pub fn ack(&mut self, query: &CallbackQuery) -> Result<(), DbError> {
        self.answer(query, None, false)
    }

    /// answerCallbackQuery; queued on the presser's chat so it keeps its place in line.
    fn answer(&mut self, query: &CallbackQuery, text: Option<String>, show_alert: bool) -> Result<(), DbError> {
        let params = AnswerCallbackQuery { callback_query_id: query.id.clone(), text, show_alert };
        self.queue(query.from.id, "answerCallbackQuery", &params, None)
    }
}

impl Deliveries {
    /// Sends what the handler committed (its chats in turns, then the follow-ups: blocked chats, "not delivered"
    /// notices) until `deadline`, then archives its files. What is left stays in the outbox for the redelivery.
    pub async fn deliver(self, app: &App, deadline: Instant) {
        match self.sent {
            Sent::Head(chat, flush) => delivery::follow_up(app, chat, flush, deadline).await,
            Sent::Queued(chats) => delivery::deliver_until(app, chats, deadline).await,
        }
        if app.concurrent_updates {
            // Updates are handled at once (a webhook): this part's handler waits for the album and sends it, unless
            // a later part pushed it further (that part's handler sends it then). Nothing waits past the deadline.
            for (chat, due_in) in self.albums {
                let wait = due_in + Duration::from_millis(50);
                if Instant::now() + wait < deadline {
                    tokio::time::sleep(wait).await;
                    delivery::deliver_until(app, vec![chat], deadline).await;
                }
            }
        }
        if app.media.is_enabled()
            && !self.archive.is_empty()
            && let Err(e) = crate::media::archive::archive_messages(app, &self.archive).await
        {
            // Committed and delivered; the maintenance job retries what is still pending.
            tracing::warn!(error = format!("{e:#}"), "archiving deferred");
        }
    }

    /// The chats with calls still to send, for a delivery already under way to take into its line. A 403 met
    /// inside the transaction is handled by the redelivery (it is recorded in `blocked_chats`).
    pub fn chats_left(self) -> Vec<i64> {
        debug_assert!(self.archive.is_empty() && self.albums.is_empty(), "a job has no files nor albums");
        match self.sent {
            Sent::Head(chat, flush) => {
                let again = flush.calls_left().then_some(chat);
                again.into_iter().chain(flush.notified).collect()
            }
            Sent::Queued(chats) => chats,
        }
    }
}

/// The distinct chats of `calls`, in order of first appearance.
fn chats_of(calls: &[Call]) -> Vec<i64> {
    let mut chats: Vec<i64> = Vec::new();
    for call in calls {
        if !chats.contains(&call.chat_id) {
            chats.push(call.chat_id);
        }
    }
    chats
}
