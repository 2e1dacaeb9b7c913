//! The operator desk's texts: hand-overs, supervisors' commands, the queue position.

use super::{alert_closed, card_requeued, kind_name};
use crate::domain::{ContentKind, HandoverKind};

/// Button under an operator's summary: hand the dialog to a colleague.
pub(crate) const BTN_TRANSFER: &str = "Передать коллеге";
/// Button under a waiting customer's queue position.
pub(crate) const BTN_CANCEL_TICKET: &str = "Отменить обращение";
/// To the customer whose dialog goes to another operator (it is not over).
pub fn passing_on_customer(ticket_id: i64) -> String {
    format!(
        "Передаём ваш вопрос по обращению #{ticket_id} коллеге — он подключится и увидит всю переписку. \
         Диалог не завершён: можете писать сюда."
    )
}
/// To the operator who handed their dialog over.
pub fn transferred_operator(ticket_id: i64) -> String {
    format!("Диалог по заявке #{ticket_id} передан в очередь: его возьмёт коллега. Можно брать новую заявку.")
}
/// To the operator whose dialog a supervisor took back to the queue.
pub fn requeued_operator(ticket_id: i64, by: &str) -> String {
    format!(
        "Руководитель смены {by} вернул диалог по заявке #{ticket_id} в очередь. Ваши сообщения клиенту больше \
         не передаются."
    )
}
/// To an operator removed from the operators' chat whose dialog went back to the queue.
pub fn operator_gone(ticket_id: i64) -> String {
    format!(
        "Вы больше не в чате операторов, поэтому сообщение не передано клиенту, а диалог по заявке #{ticket_id} \
         возвращён в очередь. Обратитесь к старшему смены."
    )
}
/// The header of the fresh card of a ticket handed over, by how.
pub fn card_handover_header(kind: HandoverKind, operator: &str, by: &str, comment: Option<&str>) -> String {
    let line = match kind {
        HandoverKind::Transferred => format!("🔁 Передана коллеге: {by}"),
        HandoverKind::Requeued => format!("🔁 Возвращена в очередь от {operator} руководителем смены {by}"),
        HandoverKind::OperatorGone => format!("🔁 Снова в очереди: {operator} больше не в чате операторов"),
        HandoverKind::OperatorBlocked => format!("🔁 Снова в очереди: {operator} заблокировал бота"),
    };
    match comment {
        Some(comment) => format!("{line}\nКомментарий: {comment}"),
        None => line,
    }
}
/// The old card of a ticket handed over (a fresh card follows).
pub fn card_handed_over(ticket_id: i64, kind: HandoverKind, by: &str) -> String {
    match kind {
        HandoverKind::Transferred => format!("Заявка #{ticket_id} передана коллеге ({by}) — новая карточка ниже."),
        HandoverKind::Requeued => {
            format!("Заявка #{ticket_id} возвращена в очередь руководителем смены {by} — новая карточка ниже.")
        }
        HandoverKind::OperatorGone | HandoverKind::OperatorBlocked => card_requeued(ticket_id),
    }
}
/// Header of the dialog so far, for the operator who takes a ticket over.
pub fn story_header(ticket_id: i64, count: usize) -> String {
    format!("История обращения #{ticket_id} до вас ({count}):")
}
/// A line of that story.
pub(crate) fn story_line(at: &str, who: &str, customer: bool, text: Option<&str>, content: ContentKind) -> String {
    let side = if customer { format!("Клиент {who}") } else { format!("Оператор {who}") };
    let body = match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) if content == ContentKind::Text => text.to_owned(),
        Some(caption) => format!("[{}, копия ниже] {caption}", kind_name(content)),
        None => format!("[{}, копия ниже]", kind_name(content)),
    };
    format!("{at} {side}: {body}")
}
/// Only supervisors may use a command.
pub const ONLY_SUPERVISORS: &str =
    "Эта команда — для руководителей смены (администраторов чата операторов). Ничего не изменилось.";
/// Only operators may use a command.
pub const ONLY_OPERATORS: &str = "Эта команда — для операторов (участников чата операторов).";
/// A supervisor's command without a ticket number.
pub const SUPERVISOR_USAGE: &str = "Укажите номер заявки: /requeue N — вернуть в очередь, /close N — закрыть, \
     /ban N [причина] — заблокировать клиента.";
/// `/transfer` or `/close` with no dialog.
pub const NO_DIALOG_TO_HAND_OVER: &str = "У вас нет активного диалога — передавать или завершать нечего.";
/// A supervisor's command about a ticket that does not exist.
pub fn no_such_ticket(ticket_id: i64) -> String {
    format!("Заявки #{ticket_id} нет.")
}
/// `/requeue N` of a ticket nobody works on.
pub fn not_in_work(ticket_id: i64, waiting: bool) -> String {
    if waiting { format!("Заявка #{ticket_id} и так в очереди.") } else { alert_closed(ticket_id) }
}
/// The supervisor's confirmation of `/requeue N`.
pub fn requeued_done(ticket_id: i64) -> String {
    format!(
        "Заявка #{ticket_id} возвращена в очередь; оператор и клиент предупреждены, новая карточка — в чате операторов."
    )
}
/// The supervisor's confirmation of `/close N`.
pub fn closed_done(ticket_id: i64) -> String {
    format!("Заявка #{ticket_id} закрыта; клиент и оператор предупреждены.")
}
/// To a waiting customer whose request a supervisor closed.
pub fn closed_by_supervisor_customer(ticket_id: i64) -> String {
    format!("Обращение #{ticket_id} закрыто. Если вопрос остался, нажмите «В начало» и обратитесь снова.")
}
/// The customer's place in the queue, and when operators are back if they are not working now.
pub fn queue_position(position: i64, back_at: Option<&str>) -> String {
    let place = format!("Ваше место в очереди: {position}.");
    match back_at {
        Some(when) => format!(
            "{place} Сейчас нерабочее время: операторы вернутся {when}. Заявка сохранена — можно описать вопрос здесь."
        ),
        None => place,
    }
}
/// Alert: «Отменить обращение» once an operator has the ticket.
pub const ALERT_ALREADY_IN_DIALOG: &str =
    "Оператор уже подключился. Чтобы завершить диалог, отправьте /start и нажмите «Завершить диалог».";
/// When operators are back, as the customer reads it: «в понедельник, 07.12 в 09:00».
pub fn back_at(weekday: chrono::Weekday, date: &str, time: &str) -> String {
    use chrono::Weekday::*;
    let day = match weekday {
        Mon => "в понедельник",
        Tue => "во вторник",
        Wed => "в среду",
        Thu => "в четверг",
        Fri => "в пятницу",
        Sat => "в субботу",
        Sun => "в воскресенье",
    };
    format!("{day}, {date} в {time}")
}
/// Alert: a press on a card of a waiting ticket that a newer card replaced.
pub fn alert_newer_card(ticket_id: i64) -> String {
    format!(
        "Эта карточка устарела: заявка #{ticket_id} ждёт в очереди — нажмите «Взять в работу» на её новой карточке."
    )
}
