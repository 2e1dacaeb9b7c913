//! The texts of a customer's history (on cards, summaries, `/history`) and of the transcript, part of
//! [`crate::texts`].

use crate::domain::{CloseReason, ContentKind, Status};

/// How a past ticket ended (or where it is), in a few words.
pub(crate) fn outcome_short(status: Status, reason: Option<CloseReason>) -> &'static str {
    match (status, reason) {
        (Status::Waiting, _) => "в очереди",
        (Status::Assigned, _) => "в работе",
        (Status::Closed, Some(CloseReason::Operator)) => "закрыта оператором",
        (Status::Closed, Some(CloseReason::Idle)) => "закрыта: долго не было сообщений",
        (Status::Closed, Some(CloseReason::CustomerBlocked)) => "клиент заблокировал бота",
        (Status::Closed, Some(CloseReason::Expired)) => "не дождалась оператора",
        (Status::Closed, Some(CloseReason::Cancelled)) => "отменена клиентом",
        (Status::Closed, Some(CloseReason::Supervisor)) => "закрыта руководителем смены",
        (Status::Closed, Some(CloseReason::Banned)) => "клиент заблокирован",
        (Status::Closed, None) => "закрыта",
    }
}

/// A past ticket in one line: `#12 03.11.2026 — Возврат, @olga, закрыта оператором, оценка 5`.
pub(crate) fn past_ticket_line(
    id: i64,
    date: &str,
    topic: &str,
    operator: Option<&str>,
    status: Status,
    reason: Option<CloseReason>,
    score: Option<i16>,
) -> String {
    let operator = operator.unwrap_or("без оператора");
    let outcome = outcome_short(status, reason);
    let rating = score.map_or_else(String::new, |s| format!(", оценка {s}"));
    format!("#{id} {date} — {topic}, {operator}, {outcome}{rating}")
}

/// The card's history of a returning customer, under «Прежних обращений: N»: the last few, one line each.
pub(crate) fn card_history(lines: &[String]) -> String {
    lines.iter().map(|l| format!("\n• {l}")).collect()
}

/// A first-time customer, on the claim's summary.
pub const FIRST_CONTACT: &str = "Это первое обращение клиента.";
/// The previous ticket's last messages, on the claim's summary: the header.
pub(crate) fn previous_header(ticket_id: i64, date: &str, shown: usize) -> String {
    match shown {
        0 => format!("Прошлое обращение #{ticket_id} ({date}): сообщений не было."),
        _ => format!("Прошлое обращение #{ticket_id} ({date}), последние сообщения:"),
    }
}
/// One of those messages.
pub(crate) fn previous_line(at: &str, customer: bool, text: Option<&str>, content: ContentKind) -> String {
    let side = if customer { "Клиент" } else { "Оператор" };
    let body = match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) if content == ContentKind::Text => text.to_owned(),
        Some(caption) => format!("[{}] {caption}", super::kind_name(content)),
        None => format!("[{}]", super::kind_name(content)),
    };
    format!("{at} {side}: {body}")
}

/// How to use `/history`.
pub const HISTORY_USAGE: &str = "История: /history N — переписка по заявке #N файлом; /history +79161234567, \
    /history @username или /history ID — все обращения клиента.";
/// `/history` found nobody.
pub fn history_nobody(what: &str) -> String {
    format!("Клиент {what} не найден.")
}
/// `/history` of a customer: the header.
pub(crate) fn history_header(handle: &str, tg_id: i64, total: i64) -> String {
    format!("Обращения клиента {handle} (ID {tg_id}), всего {total}:")
}
/// `/history` of a customer with no ticket.
pub(crate) fn history_none(handle: &str, tg_id: i64) -> String {
    format!("У клиента {handle} (ID {tg_id}) обращений нет.")
}
/// More tickets than the list shows.
pub(crate) fn history_more(more: i64) -> String {
    format!("…и ещё {more}, более ранних. Переписка по заявке: /history N.")
}
/// The transcript document's caption.
pub(crate) fn transcript_caption(ticket_id: i64, messages: usize) -> String {
    format!("Переписка по заявке #{ticket_id}: сообщений — {messages}.")
}
/// The transcript of a ticket that does not exist (or is past retention).
pub fn transcript_missing(ticket_id: i64) -> String {
    format!("Заявки #{ticket_id} нет: номер неверный или её история уже удалена по сроку хранения.")
}
/// The transcript could not be sent.
pub(crate) fn transcript_not_sent(ticket_id: i64, telegram_said: &str) -> String {
    format!("Не удалось отправить переписку по заявке #{ticket_id}: Telegram ответил «{telegram_said}».")
}

/// A ticket's record that does not read back (a defect, logged).
pub(crate) fn transcript_unreadable(ticket_id: i64) -> String {
    format!(
        "Не удалось собрать переписку по заявке #{ticket_id}: запись заявки не читается. Подробности — в журнале бота."
    )
}

/// The transcript's title.
pub(crate) fn transcript_title(ticket_id: i64) -> String {
    format!("Заявка #{ticket_id} — переписка")
}
/// The transcript's customer line.
pub(crate) fn transcript_customer(name: &str, username: Option<&str>, tg_id: i64, phone: &str) -> String {
    let username = username.map_or_else(String::new, |u| format!("@{u}, "));
    format!("Клиент: {name} ({username}ID {tg_id}), телефон {phone}")
}
/// The transcript's topic line.
pub(crate) fn transcript_topic(topic: &str) -> String {
    format!("Тема: {topic}")
}
/// A time in the transcript's head: opened, taken, first reply, closed.
pub(crate) fn transcript_time(what: TranscriptTime, at: &str) -> String {
    let label = match what {
        TranscriptTime::Opened => "Открыта",
        TranscriptTime::Taken => "Впервые взята в работу",
        TranscriptTime::FirstReply => "Первый ответ оператора",
        TranscriptTime::Closed => "Закрыта",
    };
    format!("{label}: {at}")
}
/// Which time [`transcript_time`] shows.
#[derive(Clone, Copy, Debug)]
pub(crate) enum TranscriptTime {
    Opened,
    Taken,
    FirstReply,
    Closed,
}
/// The transcript's status line.
pub(crate) fn transcript_status(outcome: &str, operator: Option<&str>) -> String {
    match operator {
        Some(operator) => format!("Итог: {outcome}; оператор {operator}"),
        None => format!("Итог: {outcome}"),
    }
}
/// The transcript's rating line.
pub(crate) fn transcript_rating(score: i16, comment: Option<&str>) -> String {
    match comment {
        Some(comment) => format!("Оценка клиента: {score} из 5 — «{comment}»"),
        None => format!("Оценка клиента: {score} из 5"),
    }
}
/// A hand-over in the transcript.
pub(crate) fn transcript_handover(at: &str, kind: &str, operator: &str, comment: Option<&str>) -> String {
    let kind = match kind {
        "transferred" => "передана коллеге",
        "requeued" => "возвращена в очередь руководителем",
        "operator_gone" => "оператор вышел из чата операторов",
        "operator_blocked" => "оператор заблокировал бота",
        other => other,
    };
    let comment = comment.map_or_else(String::new, |c| format!(" — «{c}»"));
    format!("{at} — {kind} (был у {operator}){comment}")
}
/// The head of the transcript's message list.
pub(crate) fn transcript_messages(count: usize) -> String {
    format!("Сообщения ({count}):")
}
/// A message's first line in the transcript.
pub(crate) fn transcript_message(at: &str, customer: bool, who: &str, kind: &str, body: Option<&str>) -> String {
    let side = if customer { "Клиент".to_owned() } else { format!("Оператор {who}") };
    let kind = if kind == "текст" { String::new() } else { format!("[{kind}] ") };
    format!("[{at}] {side}: {kind}{}", body.unwrap_or(""))
}
/// Under a message: it was never delivered to the other side.
pub(crate) const TRANSCRIPT_UNDELIVERED: &str = "    (не доставлено другой стороне)";
/// Under a message: what it replied to.
pub(crate) fn transcript_reply(to: i64) -> String {
    format!("    в ответ на сообщение {to}")
}
/// Under a message: an edit.
pub(crate) fn transcript_edit(at: &str, body: &str) -> String {
    format!("    изменено {at}: {body}")
}
/// Under a message: a file, and where the archive keeps it.
pub(crate) fn transcript_file(
    id: i64,
    kind: &str,
    name: Option<&str>,
    size: Option<i64>,
    key: Option<&str>,
    status: &str,
) -> String {
    let name = name.map_or_else(String::new, |n| format!(" «{n}»"));
    let size = size.map_or_else(String::new, |s| format!(", {} КБ", (s + 1023) / 1024));
    let place = match key {
        Some(key) => format!("архив: {key}"),
        None => format!("в архиве нет ({status})"),
    };
    format!("    файл {id}: {kind}{name}{size} — {place}; прислать: /file {id}")
}
/// The transcript's file name.
pub(crate) fn transcript_file_name(ticket_id: i64) -> String {
    format!("zabota-ticket-{ticket_id}.txt")
}
