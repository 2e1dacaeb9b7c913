//! The context a handler works in: the app, the update's transaction, and the outbox calls it queues.

use serde::Serialize;

use crate::app::App;
use crate::db::{DbError, Tx};
use crate::outbox::{self, Call, OnResult};
use crate::telegram::*;

/// A handler's view of the world. Every call to Telegram it decides on goes through here into the outbox.
pub(crate) struct Ctx<'a> {
    pub app: &'a App,
    pub db: &'a Tx,
    calls: Vec<Call>,
    /// Dialog messages with a file to archive after delivery.
    pub archive: Vec<i64>,
}

impl<'a> Ctx<'a> {
    pub fn new(app: &'a App, db: &'a Tx) -> Self {
        Ctx { app, db, calls: Vec::new(), archive: Vec::new() }
    }

    /// The calls decided so far and the messages to archive after delivery; the calls are not written yet.
    pub fn into_effects(self) -> (Vec<Call>, Vec<i64>) {
        (self.calls, self.archive)
    }

    /// Writes the calls decided so far into the transaction; returns the chats to flush after commit.
    pub async fn finish(self) -> Result<Vec<i64>, DbError> {
        outbox::write(self.db, &self.calls).await?;
        Ok(chats_of(&self.calls))
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
        let params = CopyMessage { chat_id: to, from_chat_id, message_id, reply_markup: None };
        self.queue(to, "copyMessage", &params, Some(OnResult::Delivered { ticket_message_id }))
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

    /// answerCallbackQuery with nothing to say: stops the button's spinner.
    pub fn ack(&mut self, query: &CallbackQuery) -> Result<(), DbError> {
        self.answer(query, None, false)
    }

    /// answerCallbackQuery; queued on the presser's chat so it keeps its place in line.
    pub fn answer(&mut self, query: &CallbackQuery, text: Option<String>, show_alert: bool) -> Result<(), DbError> {
        let params = AnswerCallbackQuery { callback_query_id: query.id.clone(), text, show_alert };
        self.queue(query.from.id, "answerCallbackQuery", &params, None)
    }
}

/// The distinct chats of `calls`, in order of first appearance.
pub fn chats_of(calls: &[Call]) -> Vec<i64> {
    let mut chats: Vec<i64> = Vec::new();
    for call in calls {
        if !chats.contains(&call.chat_id) {
            chats.push(call.chat_id);
        }
    }
    chats
}
