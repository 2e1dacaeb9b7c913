//! The queue board's texts (what operators see while tickets are listed on one pinned message instead of cards),
//! and what a customer who floods the desk is told.

use chrono::{DateTime, Utc};

/// A board button.
pub fn btn_board_claim(ticket_id: i64) -> String {
    format!("Взять #{ticket_id}")
}

/// How long a ticket has waited, in words.
fn waited(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    match (now - since).num_minutes() {
        m if m < 1 => "только что".to_owned(),
        m if m < 60 => format!("ждёт {m} мин"),
        m => format!("ждёт {} ч {} мин", m / 60, m % 60),
    }
}

/// Names are cut to this many characters on the board.
const NAME_CHARS: usize = 32;

/// One line of the board: number, name, topic and waiting time.
pub fn board_line(ticket_id: i64, name: &str, topic: &str, since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let mut short: String = name.chars().take(NAME_CHARS).collect();
    if name.chars().count() > NAME_CHARS {
        short.push('…');
    }
    format!("#{ticket_id} · {short} · {topic} · {}", waited(since, now))
}

/// The board's text while tickets wait on it: `lines` are the oldest, `waiting` counts them all, `taken` are the
/// last claims made from it (ticket, operator).
pub fn board(lines: &[String], waiting: i64, taken: &[(i64, String)]) -> String {
    let mut text = format!(
        "📋 Очередь: ждут оператора — {waiting}\nНовых заявок больше, чем Telegram позволяет показать карточками, \
         поэтому они собраны здесь. Нажмите «Взять #N», чтобы взять заявку в работу.\n"
    );
    for line in lines {
        text.push('\n');
        text.push_str(line);
    }
    let hidden = waiting - lines.len() as i64;
    if hidden > 0 {
        text.push_str(&format!("\n…и ещё {hidden} — появятся здесь, когда разберут верхние."));
    }
    if !taken.is_empty() {
        let taken: Vec<String> = taken
            .iter()
            .map(|(id, who)| format!("#{id} — {}", who.chars().take(NAME_CHARS).collect::<String>()))
            .collect();
        text.push_str(&format!("\n\n✅ Взяли: {}", taken.join(", ")));
    }
    text
}

/// The board once its queue drained: cards are back.
pub const BOARD_DRAINED: &str = "📋 Очередь разобрана: все заявки с этой доски взяты или закрыты. \
     Новые заявки снова приходят карточками.";

/// Alert: a press on a board that no longer lists tickets.
pub const ALERT_STALE_BOARD: &str =
    "Эта доска очереди устарела: ожидающие заявки — на закреплённой доске или в карточках.";

/// A card of a waiting ticket that moved to the board (its reminder was due while the board was in use).
pub fn card_moved_to_board(ticket_id: i64) -> String {
    format!("Заявка #{ticket_id} ждёт на доске очереди (закреплена в чате) — берите её там.")
}

/// To a customer who writes faster than the desk may relay (told once per burst).
pub const FLOOD_SLOW_DOWN: &str = "Вы пишете очень быстро 🙂 Все сообщения сохранены и дойдут до оператора по \
     порядку — просто Telegram не даёт пересылать их чаще. Можно собрать мысль в одно сообщение.";

/// To a customer who opened as many tickets within a day as the desk allows.
pub fn too_many_tickets(max: u32) -> String {
    format!(
        "За последние сутки вы обращались к нам уже {max} раз — это наш предел. Новое обращение можно будет \
         создать позже; если вопрос срочный, напишите его подробно в следующем обращении."
    )
}
