//! Keyboards: which buttons each message carries.

use crate::domain::{Callback, Topic};
use crate::telegram::{InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup, ReplyMarkup};
use crate::texts;

fn inline(rows: Vec<Vec<(&str, Callback)>>) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup {
        inline_keyboard: rows
            .into_iter()
            .map(|row| row.into_iter().map(|(label, cb)| InlineKeyboardButton::callback(label, &cb.encode())).collect())
            .collect(),
    }
}

/// Гарантия / Возврат / Другой вопрос.
pub fn menu() -> ReplyMarkup {
    ReplyMarkup::Inline(inline(vec![
        vec![(texts::BTN_WARRANTY, Callback::Topic(Topic::Warranty))],
        vec![(texts::BTN_RETURN, Callback::Topic(Topic::Return))],
        vec![(texts::BTN_OTHER, Callback::Topic(Topic::Other))],
    ]))
}

/// Понятно / Обратиться к оператору under a template answer.
pub fn template(topic: Topic) -> ReplyMarkup {
    ReplyMarkup::Inline(inline(vec![
        vec![(texts::BTN_UNDERSTOOD, Callback::Understood)],
        vec![(texts::BTN_CONTACT_OPERATOR, Callback::Operator(topic))],
    ]))
}

/// Да / Нет under «Связаться с оператором?».
pub fn yes_no() -> ReplyMarkup {
    ReplyMarkup::Inline(inline(vec![vec![
        (texts::BTN_YES, Callback::Operator(Topic::Other)),
        (texts::BTN_NO, Callback::Home),
    ]]))
}

/// Share-my-contact reply keyboard; the user may also type a number.
pub fn share_phone() -> ReplyMarkup {
    ReplyMarkup::Keyboard(ReplyKeyboardMarkup {
        keyboard: vec![vec![KeyboardButton { text: texts::BTN_SHARE_PHONE.into(), request_contact: true }]],
        resize_keyboard: true,
        one_time_keyboard: true,
    })
}

/// Keep the known number, or type another.
pub fn confirm_phone() -> ReplyMarkup {
    ReplyMarkup::Inline(inline(vec![vec![
        (texts::BTN_PHONE_KEEP, Callback::PhoneKeep),
        (texts::BTN_PHONE_OTHER, Callback::PhoneOther),
    ]]))
}

/// В начало.
pub fn home() -> ReplyMarkup {
    ReplyMarkup::Inline(inline(vec![vec![(texts::BTN_HOME, Callback::Home)]]))
}

/// Взять в работу on a card.
pub fn claim(ticket_id: i64) -> ReplyMarkup {
    ReplyMarkup::Inline(inline(vec![vec![(texts::BTN_CLAIM, Callback::Claim(ticket_id))]]))
}

/// «Завершить диалог» / «Продолжить диалог», for a customer who sent /start during a dialog.
pub fn end_or_keep(ticket_id: i64) -> ReplyMarkup {
    ReplyMarkup::Inline(inline(vec![vec![
        (texts::BTN_CLOSE, Callback::EndDialog(ticket_id)),
        (texts::BTN_KEEP_DIALOG, Callback::KeepDialog),
    ]]))
}

/// «Завершить диалог» / «Передать коллеге» under an operator's summary.
pub fn summary(ticket_id: i64) -> ReplyMarkup {
    ReplyMarkup::Inline(inline(vec![
        vec![(texts::BTN_CLOSE, Callback::Close(ticket_id))],
        vec![(texts::BTN_TRANSFER, Callback::Transfer(ticket_id))],
    ]))
}

/// «Отменить обращение» under a waiting customer's place in the queue.
pub fn cancel_ticket(ticket_id: i64) -> ReplyMarkup {
    ReplyMarkup::Inline(inline(vec![vec![(texts::BTN_CANCEL_TICKET, Callback::CancelTicket(ticket_id))]]))
}

/// 1–5 under the request for a rating of ticket `ticket_id`'s dialog.
pub fn rating(ticket_id: i64) -> ReplyMarkup {
    let labels = ["1", "2", "3", "4", "5"];
    ReplyMarkup::Inline(inline(vec![
        labels.iter().zip(1u8..).map(|(label, score)| (*label, Callback::Rate(ticket_id, score))).collect(),
    ]))
}
