//! Keyboards: which buttons each message carries.

use crate::desk::{Desk, Text};
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

/// The desk's topics, one per row (the shipped desk: Гарантия / Возврат / Другой вопрос).
pub fn menu(desk: &Desk) -> ReplyMarkup {
    let rows = desk.topics().iter().map(|t| vec![(desk.label(t), Callback::Topic(t.id))]).collect();
    ReplyMarkup::Inline(inline(rows))
}

/// Понятно / Обратиться к оператору under a template answer.
pub fn template(desk: &Desk, topic: Topic) -> ReplyMarkup {
    ReplyMarkup::Inline(inline(vec![
        vec![(desk.text(Text::ButtonUnderstood), Callback::Understood)],
        vec![(desk.text(Text::ButtonContactOperator), Callback::Operator(topic))],
    ]))
}

/// Да / Нет under «Связаться с оператором?» for `topic`.
pub fn yes_no(desk: &Desk, topic: Topic) -> ReplyMarkup {
    ReplyMarkup::Inline(inline(vec![vec![
        (desk.text(Text::ButtonYes), Callback::Operator(topic)),
        (desk.text(Text::ButtonNo), Callback::Home),
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
