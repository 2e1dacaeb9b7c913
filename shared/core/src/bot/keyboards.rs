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
    let labels: Vec<(String, Callback)> =
        desk.topics().iter().map(|t| (plain(desk.label(t)), Callback::Topic(t.id))).collect();
    let rows = labels.iter().map(|(label, callback)| vec![(label.as_str(), *callback)]).collect();
    ReplyMarkup::Inline(inline(rows))
}

/// A desk-file text without placeholders as shown (`{{` and `}}` are braces).
fn plain(text: &str) -> String {
    crate::desk::render(text, &[])
}

/// Понятно / Обратиться к оператору under a template answer.
pub fn template(desk: &Desk, topic: Topic) -> ReplyMarkup {
    let understood = plain(desk.text(Text::ButtonUnderstood));
    let contact = plain(desk.text(Text::ButtonContactOperator));
    ReplyMarkup::Inline(inline(vec![
        vec![(understood.as_str(), Callback::Understood)],
        vec![(contact.as_str(), Callback::Operator(topic))],
    ]))
}

/// Да / Нет under «Связаться с оператором?» for `topic`.
pub fn yes_no(desk: &Desk, topic: Topic) -> ReplyMarkup {
    let (yes, no) = (plain(desk.text(Text::ButtonYes)), plain(desk.text(Text::ButtonNo)));
    ReplyMarkup::Inline(inline(vec![vec![(yes.as_str(), Callback::Operator(topic)), (no.as_str(), Callback::Home)]]))
}

/// Share-my-contact reply keyboard; the user may also type a number.
pub fn share_phone(desk: &Desk) -> ReplyMarkup {
    ReplyMarkup::Keyboard(ReplyKeyboardMarkup {
        keyboard: vec![vec![KeyboardButton { text: plain(desk.text(Text::ButtonSharePhone)), request_contact: true }]],
        resize_keyboard: true,
        one_time_keyboard: true,
    })
}

/// Keep the known number, or type another.
pub fn confirm_phone(desk: &Desk) -> ReplyMarkup {
    let (keep, other) = (plain(desk.text(Text::ButtonPhoneKeep)), plain(desk.text(Text::ButtonPhoneOther)));
    ReplyMarkup::Inline(inline(vec![vec![
        (keep.as_str(), Callback::PhoneKeep),
        (other.as_str(), Callback::PhoneOther),
    ]]))
}

/// В начало.
pub fn home(desk: &Desk) -> ReplyMarkup {
    let home = plain(desk.text(Text::ButtonHome));
    ReplyMarkup::Inline(inline(vec![vec![(home.as_str(), Callback::Home)]]))
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
