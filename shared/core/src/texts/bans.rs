//! Bans: the supervisors' `/ban N [reason]`, `/unban USER_ID` and `/bans`, and the one reply a banned person gets.

/// What a banned person is told, at most once a day, whatever they send or press.
pub const BANNED_REPLY: &str = "К сожалению, мы не можем принять ваше обращение в этом чате. \
     Если вы считаете, что это ошибка, свяжитесь с нами, пожалуйста, другим способом.";
/// `/ban` without a ticket number.
pub const BAN_USAGE: &str = "Укажите номер заявки клиента: /ban N [причина]. Снять блокировку — /unban USER_ID, \
     список блокировок — /bans.";
/// `/unban` without a Telegram id.
pub const UNBAN_USAGE: &str = "Укажите Telegram id пользователя: /unban USER_ID (он есть в списке /bans).";
/// `/bans` with none in force.
pub const NO_BANS: &str = "Заблокированных клиентов нет.";

/// The supervisor's confirmation of `/ban N`; `closed` is the customer's open ticket that was closed.
pub fn ban_done(ticket_id: i64, who: &str, tg_id: i64, closed: Option<i64>) -> String {
    let closed = match closed {
        Some(id) => format!(" Открытая заявка #{id} закрыта."),
        None => String::new(),
    };
    format!(
        "Клиент заявки #{ticket_id} ({who}, id {tg_id}) заблокирован: новые обращения не открываются, операторам \
         ничего не приходит, раз в день он получает вежливый отказ.{closed} Снять блокировку: /unban {tg_id}"
    )
}
/// `/ban N` for a customer banned already.
pub fn already_banned(ticket_id: i64, tg_id: i64) -> String {
    format!("Клиент заявки #{ticket_id} (id {tg_id}) уже заблокирован. Список — /bans.")
}
/// `/ban N` for someone at the desk.
pub fn cannot_ban_staff(ticket_id: i64) -> String {
    format!(
        "Клиент заявки #{ticket_id} — сотрудник (участник чата операторов), его заблокировать нельзя. \
         Сначала исключите его из чата операторов."
    )
}
/// `/unban USER_ID` done.
pub fn unbanned(tg_id: i64) -> String {
    format!("Пользователь {tg_id} разблокирован: он снова может обратиться в поддержку.")
}
/// `/unban USER_ID` for someone not banned.
pub fn not_banned(tg_id: i64) -> String {
    format!("Пользователь {tg_id} не заблокирован.")
}
/// The head of `/bans`.
pub fn bans_header(total: i64) -> String {
    format!("Заблокированы ({total}), сначала новые:")
}
/// One line of `/bans`.
pub fn ban_line(
    tg_id: i64,
    who: &str,
    since: &str,
    ticket_id: Option<i64>,
    reason: Option<&str>,
    stored: i64,
) -> String {
    let mut line = format!("• {tg_id} — {who}, с {since}");
    if let Some(ticket_id) = ticket_id {
        line.push_str(&format!(", заявка #{ticket_id}"));
    }
    if let Some(reason) = reason {
        line.push_str(&format!(". Причина: {reason}"));
    }
    if stored > 0 {
        line.push_str(&format!(". Писал с тех пор: {stored}"));
    }
    line
}
/// The tail of `/bans` when not all fit.
pub fn bans_more(hidden: i64) -> String {
    format!("…и ещё {hidden}.")
}
/// A banned person whose profile retention has forgotten.
pub const BANNED_UNKNOWN: &str = "профиль удалён по сроку хранения";
