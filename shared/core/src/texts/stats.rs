//! The texts of `/stats`, part of [`crate::texts`].

use crate::domain::CloseReason;

/// `/stats` with an argument it does not know.
pub const STATS_USAGE: &str =
    "Статистика: /stats — за сегодня, /stats 7d — за 7 дней, /stats 30d — за 30 дней (не больше 90).";
/// The figures could not be computed (a defect, logged).
pub(crate) const STATS_FAILED: &str =
    "Не удалось посчитать статистику: ошибка на стороне бота. Подробности — в журнале.";
/// The chart's title.
pub(crate) fn chart_title(period: &str) -> String {
    format!("Обращения {period}")
}
/// The chart's legend: opened.
pub(crate) const CHART_OPENED: &str = "открыто";
/// The chart's legend: closed.
pub(crate) const CHART_CLOSED: &str = "закрыто";
/// The chart's lower panel.
pub(crate) const CHART_WAIT: &str = "Медиана ожидания оператора, мин";
/// The chart's caption.
pub(crate) fn chart_caption(period: &str) -> String {
    format!("Открытые и закрытые обращения и медиана ожидания {period}")
}
/// The period as the header says it.
pub(crate) fn stats_period(days: u32, from: &str, to: &str) -> String {
    match days {
        1 => format!("за сегодня, {to}"),
        n => format!("за {n} {} ({from}–{to})", days_word(n)),
    }
}
/// «день», «дня», «дней».
fn days_word(n: u32) -> &'static str {
    match (n % 10, n % 100) {
        (1, m) if m != 11 => "день",
        (2..=4, m) if !(12..=14).contains(&m) => "дня",
        _ => "дней",
    }
}
/// A duration as a person reads it: «45 с», «12 мин», «3 ч 5 мин», «2 дн 3 ч».
pub(crate) fn duration(seconds: Option<f64>) -> String {
    let Some(s) = seconds.filter(|s| s.is_finite() && *s >= 0.0) else { return "—".to_owned() };
    // Whole seconds: the figures are medians, a fraction means nothing to a reader.
    let s = format!("{s:.0}").parse::<u64>().unwrap_or(0);
    match s {
        0..60 => format!("{s} с"),
        60..3600 => format!("{} мин", s / 60),
        3600..86_400 => format!("{} ч {} мин", s / 3600, s % 3600 / 60),
        _ => format!("{} дн {} ч", s / 86_400, s % 86_400 / 3600),
    }
}
/// The header.
pub(crate) fn stats_header(period: &str, zone: &str) -> String {
    format!("📊 Статистика {period} (время — {zone})")
}
/// What is waiting and in work now.
pub(crate) fn stats_now(waiting: i64, oldest: &str, assigned: i64) -> String {
    match waiting {
        0 => format!("Сейчас: в очереди никого, в работе {assigned}."),
        _ => format!("Сейчас: в очереди {waiting} (дольше всех ждёт {oldest}), в работе {assigned}."),
    }
}
/// A close reason in the period's count.
pub(crate) fn reason_counted(reason: Option<CloseReason>) -> &'static str {
    match reason {
        Some(CloseReason::Operator) => "оператором",
        Some(CloseReason::Supervisor) => "руководителем",
        Some(CloseReason::Idle) => "без сообщений",
        Some(CloseReason::Expired) => "не дождались",
        Some(CloseReason::Cancelled) => "отменено клиентом",
        Some(CloseReason::CustomerBlocked) => "клиент заблокировал бота",
        Some(CloseReason::Banned) => "бан",
        None => "прочее",
    }
}
/// Opened and closed in the period (`reasons`: «оператором 5, …»).
pub(crate) fn stats_period_counts(opened: i64, closed: i64, reasons: &str) -> String {
    match closed {
        0 => format!("За период: открыто {opened}, закрыто 0."),
        _ => format!("За период: открыто {opened}, закрыто {closed} ({reasons})."),
    }
}
/// Time to claim (a ticket never claimed counts until it closed, or until now), and how many were not claimed.
pub(crate) fn stats_claim(median: &str, p90: &str, unclaimed: i64) -> String {
    match unclaimed {
        0 => format!("До взятия в работу: медиана {median}, 90% — быстрее {p90}."),
        n => format!("До взятия в работу: медиана {median}, 90% — быстрее {p90}; не взяты: {n}."),
    }
}
/// Time to the first operator's reply, counted the same way, and how many got none.
pub(crate) fn stats_reply(median: &str, p90: &str, unanswered: i64) -> String {
    match unanswered {
        0 => format!("До первого ответа оператора: медиана {median}, 90% — быстрее {p90}."),
        n => format!("До первого ответа оператора: медиана {median}, 90% — быстрее {p90}; без ответа: {n}."),
    }
}
/// Time to close.
pub(crate) fn stats_close(median: &str) -> String {
    format!("До закрытия: медиана {median}.")
}
/// Ratings.
pub(crate) fn stats_ratings(average: Option<f64>, count: i64) -> String {
    match average {
        Some(avg) if count > 0 => format!("Оценки клиентов: {avg:.1} из 5 (оценок: {count})."),
        _ => "Оценок за период нет.".to_owned(),
    }
}
/// The operators' part's header.
pub(crate) const STATS_OPERATORS: &str = "Операторы (закрыто, медиана первого ответа, средняя оценка):";
/// An operator's line.
pub(crate) fn stats_operator(handle: &str, closed: i64, reply: &str, rating: Option<f64>, ratings: i64) -> String {
    let rating = match rating {
        Some(avg) if ratings > 0 => format!("{avg:.1} ({ratings})"),
        _ => "—".to_owned(),
    };
    format!("• {handle}: {closed}, {reply}, {rating}")
}
/// No operator closed anything in the period.
pub(crate) const STATS_NO_OPERATORS: &str = "Операторы за период ничего не закрыли.";
