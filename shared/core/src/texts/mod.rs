//! Every user-visible string and button label, in one place, Russian, as in the seed; except the start menu's
//! topics, template answers and texts, which the desk file sets (`crate::desk`, the shipped `desk.toml`).

use crate::domain::{CloseReason, ContentKind};

mod bans;
mod board;
mod desk;
mod files;
mod history;
mod ratings;
mod stats;
pub use bans::*;
pub use board::*;
pub use desk::*;
pub(crate) use files::*;
pub use history::*;
pub use ratings::*;
pub use stats::*;

/// Operators' card button.
pub(crate) const BTN_CLAIM: &str = "Взять в работу";
/// Operator's button to end the dialog.
pub(crate) const BTN_CLOSE: &str = "Завершить диалог";

/// The ticket was created.
pub fn queued(ticket_id: i64) -> String {
    format!(
        "Спасибо! Ваша заявка #{ticket_id} принята, вы в очереди. Оператор подключится в ближайшее время — \
         пока можете описать вопрос здесь, он увидит все сообщения. Передумали — отправьте /cancel."
    )
}
/// /start during a dialog: the customer is asked before it ends.
pub fn ask_end_dialog(ticket_id: i64) -> String {
    format!("У вас идёт диалог с оператором по обращению #{ticket_id}. Завершить его и вернуться в меню?")
}
/// Button: keep the dialog going.
pub(crate) const BTN_KEEP_DIALOG: &str = "Продолжить диалог";
/// The customer kept the dialog.
pub const DIALOG_KEPT: &str = "Хорошо, продолжаем: оператор на связи, просто напишите сообщение.";
/// To a customer who withdrew a waiting request or ended their dialog.
pub fn cancelled_customer(ticket_id: i64) -> String {
    format!("Обращение #{ticket_id} закрыто по вашей просьбе. Если понадобится помощь, нажмите «В начало».")
}
/// Asked for an operator again while a ticket is open.
pub fn already_open(ticket_id: i64) -> String {
    format!("У вас уже есть открытая заявка #{ticket_id}. Оператор ответит здесь — просто напишите сообщение.")
}
/// Free text outside any dialog.
pub const USE_MENU: &str = "Выберите тему обращения в меню:";
/// Sent to the customer when an operator takes the ticket.
pub const OPERATOR_CONNECTED: &str = "Оператор подключился";
/// Sent to the customer when the dialog ends.
pub const OPERATOR_DISCONNECTED: &str = "Оператор отключился";

/// The card in the operators' chat.
pub fn card(ticket_id: i64, name: &str, username: Option<&str>, phone: &str, topic: &str, earlier: i64) -> String {
    let username = username.map_or_else(|| "—".to_owned(), |u| format!("@{u}"));
    format!(
        "Новый клиент #{ticket_id}\nИмя: {name}\nUsername: {username}\nТелефон: {phone}\nТема: {topic}\n\
         Прежних обращений: {earlier}"
    )
}
/// The card after a claim: who took it.
pub fn card_taken(card_text: &str, operator: &str) -> String {
    format!("{card_text}\n\n✅ Взял в работу: {operator}")
}
/// The operator's summary after a claim.
pub fn summary(card_text: &str, previous: &str, backlog: usize, replayed: usize) -> String {
    let backlog = match backlog {
        0 => "Клиент пока ничего не написал.".to_owned(),
        n if n == replayed => format!("Сообщения клиента, пока он ждал ({n}), — ниже."),
        n => format!(
            "Пока клиент ждал, он написал {n} сообщений: более ранние — кратко одним списком, последние {replayed} — \
             ниже целиком."
        ),
    };
    format!(
        "Вы взяли заявку в работу.\n\n{card_text}\n\n{previous}\n\n{backlog}\nВсё, что вы напишете здесь, получит клиент. \
         Файлы из архива: /files N, где N — номер заявки. Передать диалог коллеге: /transfer с комментарием \
         или кнопка ниже; завершить: /close или кнопка ниже."
    )
}
/// `/file ID` when Telegram refused the upload.
pub(crate) fn file_not_sent(id: i64, reason: &str) -> String {
    format!("Не удалось отправить файл #{id}: Telegram ответил «{reason}».")
}
/// The header of the list of a customer's earlier messages that are not replayed one by one at a claim.
pub fn earlier_messages(count: usize) -> String {
    format!("Ранние сообщения клиента ({count}), кратко:")
}
/// A line of that list: the text (shortened) or the kind of content.
pub(crate) fn earlier_line(text: Option<&str>, content: ContentKind) -> String {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) if text.chars().count() > 300 => format!("• {}…", text.chars().take(300).collect::<String>()),
        Some(text) => format!("• {text}"),
        None => format!("• [{}]", kind_name(content)),
    }
}
/// What a message is, as operators read it in lists and transcripts.
pub(crate) fn kind_name(content: ContentKind) -> &'static str {
    match content {
        ContentKind::Text => "текст",
        ContentKind::Photo => "фото",
        ContentKind::Animation => "GIF",
        ContentKind::Document => "файл",
        ContentKind::Video => "видео",
        ContentKind::Voice => "голосовое",
        ContentKind::Audio => "аудио",
        ContentKind::Sticker => "стикер",
        ContentKind::VideoNote => "видеосообщение",
        ContentKind::Contact => "контакт",
        ContentKind::Venue => "место",
        ContentKind::Location => "геопозиция",
        ContentKind::Other => "сообщение",
    }
}
/// The end of that list when it is longer than fits.
pub(crate) fn earlier_more(count: usize) -> String {
    format!("…и ещё {count}. Файлы заявки: /files N.")
}
/// To someone who left (or was removed from) the operators' chat and still has a dialog or presses its buttons.
pub const NOT_AN_OPERATOR_ANY_MORE: &str =
    "Вы больше не в чате операторов, поэтому сообщение не передано клиенту. Обратитесь к старшему смены.";
/// Alert: claim by a non-member.
pub const ALERT_NOT_OPERATOR: &str = "Брать заявки могут только участники чата операторов.";
/// Alert: the ticket is taken.
pub fn alert_taken(ticket_id: i64) -> String {
    format!("Заявку #{ticket_id} уже взял другой оператор.")
}
/// Alert: the ticket is closed.
pub fn alert_closed(ticket_id: i64) -> String {
    format!("Заявка #{ticket_id} уже закрыта.")
}
/// Alert: the operator already has an active dialog.
pub fn alert_busy(active: i64) -> String {
    format!("У вас уже есть активный диалог #{active}. Завершите его, чтобы взять новую заявку.")
}
/// Alert: the operator never started a private chat with the bot.
pub const ALERT_START_BOT_FIRST: &str = "Бот не может написать вам первым: откройте личный чат с ботом, \
    отправьте /start и нажмите «Взять в работу» ещё раз.";
/// Toast: claim succeeded.
pub fn claimed(ticket_id: i64) -> String {
    format!("Заявка #{ticket_id} ваша. Диалог — в личном чате с ботом.")
}
/// Alert: stale or unknown button.
pub const ALERT_STALE: &str = "Эта кнопка устарела.";
/// Alert: only the assigned operator may close.
pub const ALERT_NOT_YOURS: &str = "Завершить диалог может только оператор, который его ведёт.";
/// Operator's confirmation of a close.
pub fn closed_for_operator(ticket_id: i64) -> String {
    format!("Диалог по заявке #{ticket_id} завершён.")
}
/// Operator writes with no active dialog.
pub const NO_ACTIVE_DIALOG: &str = "У вас нет активного диалога. Возьмите заявку в чате операторов — \
    кнопка «Взять в работу» на карточке клиента.";
/// The customer blocked the bot.
pub fn customer_blocked(ticket_id: i64) -> String {
    format!("Клиент заблокировал бота — заявка #{ticket_id} закрыта.")
}
/// An edit of a message that was never part of a dialog.
pub const EDIT_NOT_DELIVERED: &str =
    "Это сообщение не было частью диалога, поэтому его изменение не доставлено — напишите новое сообщение.";
/// An edit of a message whose dialog has ended.
pub const EDIT_AFTER_CLOSE: &str = "Диалог, в котором было это сообщение, уже завершён — изменение не доставлено.";
/// Some parts of an album the sender sent did not reach the other side (Telegram skipped them).
pub fn album_parts_lost(missing: usize, parts: usize) -> String {
    format!("Из альбома ({parts}) не удалось переслать частей: {missing}. Отправьте их, пожалуйста, ещё раз.")
}
/// A message kind that cannot be relayed.
pub const UNSUPPORTED_CONTENT: &str = "Этот тип сообщения не удалось переслать. Отправьте текст, фото или файл.";
/// A relayed message that could not be delivered within a day (Telegram kept refusing or was unreachable).
pub const NOT_DELIVERED: &str =
    "Одно из ваших сообщений не удалось доставить: Telegram долго не принимал его. Пожалуйста, отправьте его ещё раз.";
/// What the sender of a relayed message given up is told: Telegram refused that kind of message, or kept failing.
pub(crate) fn copy_not_delivered(refused: bool) -> &'static str {
    if refused { UNSUPPORTED_CONTENT } else { NOT_DELIVERED }
}
/// What the operator is told when their dialog ends, by why it ended.
pub fn dialog_closed_for_operator(ticket_id: i64, reason: CloseReason) -> String {
    match reason {
        CloseReason::Operator => closed_for_operator(ticket_id),
        CloseReason::Idle => idle_closed_operator(ticket_id),
        CloseReason::CustomerBlocked => customer_blocked(ticket_id),
        CloseReason::Expired => format!("Заявка #{ticket_id} закрыта: клиент не дождался ответа."),
        CloseReason::Cancelled => format!("Клиент завершил обращение #{ticket_id}."),
        CloseReason::Supervisor => format!("Руководитель смены закрыл диалог по заявке #{ticket_id}."),
        CloseReason::Banned => {
            format!("Руководитель смены заблокировал клиента, диалог по заявке #{ticket_id} закрыт.")
        }
    }
}
/// An update that could not be handled at all (parked for the team to look at).
pub const UPDATE_FAILED: &str =
    "Не получилось обработать это действие. Попробуйте ещё раз чуть позже или напишите иначе — мы уже разбираемся.";
/// Idle warning to the customer.
pub fn idle_warning_customer(minutes: i64) -> String {
    format!("Диалог давно без сообщений и закроется через {minutes} мин. Если вопрос остался — просто напишите.")
}
/// Idle warning to the operator.
pub fn idle_warning_operator(ticket_id: i64, minutes: i64) -> String {
    format!("Диалог по заявке #{ticket_id} без сообщений и закроется через {minutes} мин.")
}
/// The operator is told why the dialog ended.
pub fn idle_closed_operator(ticket_id: i64) -> String {
    format!("Диалог по заявке #{ticket_id} закрыт автоматически: долго не было сообщений.")
}
/// Header of a reminder card.
pub fn waiting_reminder(minutes: i64) -> String {
    format!("⏰ Клиент ждёт уже {minutes} мин.")
}
/// Header of the last reminder card a ticket gets.
pub fn waiting_reminder_last(minutes: i64) -> String {
    format!(
        "⏰ Клиент ждёт уже {minutes} мин. Это последнее напоминание: руководители смены, возьмите заявку в работу."
    )
}
/// A waiting ticket's card after the customer blocked the bot.
pub fn card_closed_blocked(ticket_id: i64) -> String {
    format!("Заявка #{ticket_id} закрыта: клиент заблокировал бота.")
}
/// A card of a ticket closed for a reason this version does not know.
pub fn card_closed_plain(ticket_id: i64) -> String {
    format!("Заявка #{ticket_id} закрыта.")
}
/// A card that invites no claim any more because its ticket was closed, by why.
pub fn card_closed(ticket_id: i64, reason: CloseReason) -> String {
    match reason {
        CloseReason::CustomerBlocked => card_closed_blocked(ticket_id),
        CloseReason::Operator => format!("Заявка #{ticket_id} закрыта оператором."),
        CloseReason::Idle => format!("Заявка #{ticket_id} закрыта: долго не было сообщений."),
        CloseReason::Expired => format!("Заявка #{ticket_id} закрыта: её так никто и не взял, клиенту сообщили."),
        CloseReason::Cancelled => format!("Заявка #{ticket_id} отменена клиентом."),
        CloseReason::Supervisor => format!("Заявка #{ticket_id} закрыта руководителем смены."),
        CloseReason::Banned => format!("Заявка #{ticket_id} закрыта: руководитель смены заблокировал клиента."),
    }
}
/// To a customer whose request waited too long and was closed.
pub fn expired_customer(ticket_id: i64) -> String {
    format!(
        "К сожалению, операторы так и не успели ответить на обращение #{ticket_id}, и оно закрыто. \
         Если вопрос остался, нажмите «В начало» и обратитесь снова — мы постараемся ответить быстрее."
    )
}
/// The card of a claimed ticket that went back to the queue (a fresh card follows).
pub fn card_requeued(ticket_id: i64) -> String {
    format!("Заявка #{ticket_id} снова в очереди: оператор недоступен.")
}
