//! A Monday-morning storm (issue 15), played by the storm test (which asserts on it) and by `make bench` (which
//! reports its figures): customers ask for an operator within one minute while operators claim from the cards
//! and the queue board and answer, with Telegram's three flood limits enforced by the emulator in a tenth of their
//! time (an emulated minute is 6 s), and the scheduled Lambda running once an emulated minute.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a harness: a panic is a failure with its message

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::StreamExt;
use zabota_botapi::{CallbackAnswer, Limits, RecordedCall, Window};
use zabota_core::domain::Topic;
use zabota_core::maintenance::{Due, run_all_until};
use zabota_core::texts;

use crate::updates::{self, TgUser};
use crate::{OPERATORS_CHAT_ID, PHONE, TestApp, spawn_app_with};

/// Telegram's windows, a tenth as long: a group's minute is 6 s.
pub const SCALE: f64 = 0.1;
/// A minute, emulated (the scheduled Lambda's period).
pub const MINUTE: Duration = Duration::from_secs(6);
/// Updates Telegram delivers to a webhook at once (its default `max_connections`).
pub const WEBHOOK_CONNECTIONS: usize = 40;
/// Dialog messages each side sends per ticket.
pub const SAID: usize = 2;

/// A desk for the storm. The emulator enforces Telegram's figures in a tenth of their time, the bot's 30 a second
/// as 300 in any second (the same rate: the desk pads every window by at least 250 ms against late calls, which
/// would make a 100 ms window a third as wide and the storm three times slower than it is). The desk keeps them
/// with room to spare: a tenth fewer per group and for the bot, 6 of a private chat's 8, so a loaded machine's
/// late calls cannot fake a 429.
pub async fn spawn_app() -> TestApp {
    let t = spawn_app_with(|env| {
        env.insert("TELEGRAM_GROUP_LIMIT".into(), "18/6000ms".into());
        env.insert("TELEGRAM_CHAT_LIMIT".into(), "6/500ms".into());
        env.insert("TELEGRAM_BOT_LIMIT".into(), "270/1000ms".into());
    })
    .await;
    let bot = Window { messages: 300, per: Duration::from_secs(1) };
    t.telegram.set_limits(Some(Limits { bot, ..Limits::TELEGRAM.scaled(SCALE) }));
    t
}

/// What a storm did, as it was played (what the chats received is in the emulator).
pub struct Storm {
    /// Customers who asked for an operator.
    pub customers: i64,
    /// When the first phone step was sent.
    pub started: Instant,
    /// How long the phone steps took to be answered, all of them (real time).
    pub phone_steps_took: Duration,
    /// When each customer's phone step was answered (its ticket was queued and announced by then): by customer.
    pub queued: HashMap<i64, Instant>,
    /// The tickets each operator took, in order (operator `n` at index `n - 1`).
    pub taken: Vec<Vec<i64>>,
    /// Presses answered without a claim (taken by a colleague meanwhile, or moved to the board).
    pub refused: i64,
    /// The longest the operators' chat's outbox got (pending calls), as probed.
    pub group_backlog_max: i64,
    /// The operators' chat's pending calls as probed every 100 ms: (when, how many).
    pub backlog_seen: Vec<(Instant, i64)>,
    /// How long each dialog message took from its update arriving to reaching the other side, sorted.
    pub latencies: Vec<Duration>,
}

impl Storm {
    /// The `p`-th fraction (0..=1) of the dialog messages' latencies.
    pub fn latency(&self, p: f64) -> Duration {
        let n = self.latencies.len();
        if n == 0 {
            return Duration::ZERO;
        }
        self.latencies[((n as f64 * p).ceil() as usize).clamp(1, n) - 1]
    }

    /// When the operators' chat got each message (what counts in its flood budget), in order.
    pub fn group_sends(t: &TestApp) -> Vec<Instant> {
        t.telegram.calls().iter().filter(|c| in_group_budget(c)).map(|c| c.at).collect()
    }

    /// The gaps between the operators' chat's messages while it had calls waiting all along (each probe between
    /// the two saw some), sorted.
    pub fn backlogged_gaps(&self, t: &TestApp) -> Vec<Duration> {
        let backlogged = |from: Instant, to: Instant| {
            let mut seen = self.backlog_seen.iter().filter(|(at, _)| *at > from && *at < to).peekable();
            seen.peek().is_some() && seen.all(|(_, n)| *n > 0)
        };
        let sends = Storm::group_sends(t);
        let mut gaps: Vec<Duration> =
            sends.windows(2).filter(|w| backlogged(w[0], w[1])).map(|w| w[1] - w[0]).collect();
        gaps.sort_unstable();
        gaps
    }

    /// The cards the operators' chat got (the rest of the tickets went on the board).
    pub fn cards(t: &TestApp) -> usize {
        let calls = t.telegram.calls_to("sendMessage");
        let card = |c: &&RecordedCall| {
            c.params["chat_id"] == OPERATORS_CHAT_ID
                && c.params["text"].as_str().is_some_and(|x| x.starts_with("Новый клиент #"))
        };
        calls.iter().filter(card).count()
    }

    /// How long after its phone step was answered each ticket was first shown in the operators' chat: its card,
    /// or, for a ticket that joined the board, the first drawing of the board after it did (which counts it, and
    /// lists it if it is among the oldest); sorted. (That every ticket was listed or carded is [`first_offered`].)
    ///
    /// [`first_offered`]: Storm::first_offered
    pub async fn announce_delays(&self, t: &TestApp) -> Vec<Duration> {
        let rows = t
            .db
            .rows("SELECT t.id, u.tg_id, t.board_id IS NOT NULL FROM tickets t JOIN users u ON u.id = t.user_id", &[])
            .await;
        let calls: Vec<RecordedCall> = t.telegram.calls().into_iter().filter(in_group_budget).collect();
        let mut delays = Vec::new();
        for row in rows {
            let (ticket, customer, boarded): (i64, i64, bool) = (row.get(0), row.get(1), row.get(2));
            let Some(queued) = self.queued.get(&customer).copied() else { continue };
            let card = format!("Новый клиент #{ticket}\n");
            let shown = calls.iter().find(|c| {
                let text = c.params["text"].as_str().unwrap_or_default();
                text.starts_with(&card) || (boarded && c.at >= queued && text.starts_with("📋"))
            });
            if let Some(shown) = shown {
                delays.push(shown.at.saturating_duration_since(queued));
            }
        }
        delays.sort_unstable();
        delays
    }

    /// When, after the storm's start, each ticket was first offered to claim in the operators' chat (its card, or
    /// its line on the board), by ticket.
    pub fn first_offered(&self, t: &TestApp) -> HashMap<i64, Duration> {
        let mut first = HashMap::new();
        for call in t.telegram.calls().iter().filter(|c| in_group_budget(c)) {
            let Some(text) = call.params["text"].as_str() else { continue };
            let since = call.at.saturating_duration_since(self.started);
            for ticket in offered_in(text) {
                first.entry(ticket).or_insert(since);
            }
        }
        first
    }
}

/// The tickets a card's or a board's text offers.
fn offered_in(text: &str) -> Vec<i64> {
    let number = |s: &str| s.split(|c: char| !c.is_ascii_digit()).next().and_then(|n| n.parse().ok());
    if let Some(rest) = text.strip_prefix("Новый клиент #") {
        return number(rest).into_iter().collect();
    }
    if text.starts_with("📋") {
        return text
            .lines()
            .filter_map(|l| l.strip_prefix('#'))
            .filter(|l| l.contains(" · "))
            .filter_map(number)
            .collect();
    }
    Vec::new()
}

/// A call the operators' chat's flood budget counted (what the emulator counts), answered.
fn in_group_budget(c: &RecordedCall) -> bool {
    let m = c.method.as_str();
    c.params["chat_id"] == OPERATORS_CHAT_ID
        && c.status == 200
        && (m.starts_with("send") && m != "sendChatAction"
            || m.starts_with("edit")
            || m.starts_with("copy")
            || m.starts_with("forward"))
}

/// Plays the storm: `customers` at the phone step send it within the minute, through at most
/// [`WEBHOOK_CONNECTIONS`] concurrent updates, while `operators` take tickets until none waits, each holding a
/// dialog of [`SAID`] messages a side and closing it; the scheduled Lambda runs once an emulated minute. Ends
/// when every ticket is closed (5 minutes at most), with what the budgets held back still in the outbox.
pub async fn play(t: &TestApp, customers: i64, operators: i64) -> Storm {
    let people: Vec<TgUser> = (1..=customers).map(TgUser::customer).collect();
    for n in 1..=operators {
        t.make_operator(TgUser::operator(n).id);
    }
    // Everyone is at the phone step: the storm is the minute in which they all send it.
    futures_util::stream::iter(&people)
        .for_each_concurrent(WEBHOOK_CONNECTIONS / 2, |c| t.ask_for_operator(c, Topic::Other))
        .await;
    let by_id: HashMap<i64, TgUser> = people.iter().map(|c| (c.id, c.clone())).collect();

    let (storm_over, all_done) = (AtomicBool::new(false), AtomicBool::new(false));
    let (latencies, refused, group_backlog) = (Latencies::default(), AtomicI64::new(0), AtomicI64::new(0));
    let started = Instant::now();
    let queued = Mutex::new(HashMap::new());
    let storm = async {
        futures_util::stream::iter(&people)
            .for_each_concurrent(WEBHOOK_CONNECTIONS, |c| {
                let queued = &queued;
                async move {
                    t.send(updates::private_text(c, PHONE)).await;
                    queued.lock().unwrap().insert(c.id, Instant::now());
                }
            })
            .await;
        storm_over.store(true, Ordering::SeqCst);
        started.elapsed()
    };
    let shifts = async {
        let shifts = (1..=operators).map(|n| operator_shift(t, n, &by_id, &storm_over, &latencies, &refused));
        let taken = futures_util::future::join_all(shifts).await;
        all_done.store(true, Ordering::SeqCst);
        taken
    };
    // The scheduled Lambda, once an emulated minute, its redelivery waiting for what comes due for about 50 s of
    // it (half its run's deadline).
    let maintenance = async {
        while !all_done.load(Ordering::SeqCst) {
            let run = Instant::now();
            run_all_until(&t.app, Utc::now(), run + MINUTE.mul_f64(100.0 / 60.0), Due::ByDeadline).await;
            tokio::time::sleep_until((run + MINUTE).into()).await;
        }
    };
    let backlog_seen = Mutex::new(Vec::<(Instant, i64)>::new());
    let probe = async {
        while !all_done.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let pending =
                t.db.count(&format!("outbox WHERE chat_id = {OPERATORS_CHAT_ID} AND status = 'pending'")).await;
            group_backlog.fetch_max(pending, Ordering::Relaxed);
            backlog_seen.lock().unwrap().push((Instant::now(), pending));
        }
    };
    let (phone_steps_took, taken, (), ()) =
        tokio::time::timeout(Duration::from_secs(300), async { tokio::join!(storm, shifts, maintenance, probe) })
            .await
            .expect("the storm is over within 5 minutes");
    let mut latencies = latencies.0.into_inner().unwrap();
    latencies.sort_unstable();
    Storm {
        customers,
        started,
        phone_steps_took,
        queued: queued.into_inner().unwrap(),
        taken,
        refused: refused.load(Ordering::Relaxed),
        group_backlog_max: group_backlog.load(Ordering::Relaxed),
        backlog_seen: backlog_seen.into_inner().unwrap(),
        latencies,
    }
}

/// What the operators' chat offers to claim right now: (ticket, the message its button is on, a board's?).
pub fn offers(t: &TestApp) -> Vec<(i64, i64, bool)> {
    let mut offers = Vec::new();
    for message in t.telegram.received(OPERATORS_CHAT_ID) {
        for data in message.callback_data() {
            if let Some(id) = data.strip_prefix("claim:").and_then(|id| id.parse().ok()) {
                offers.push((id, message.message_id, false));
            }
            if let Some(id) = data.strip_prefix("board:").and_then(|id| id.parse().ok()) {
                offers.push((id, message.message_id, true));
            }
        }
    }
    offers
}

/// `operator` presses the button of `offer`.
async fn press(t: &TestApp, operator: &TgUser, (ticket, message_id, board): (i64, i64, bool)) -> CallbackAnswer {
    let data = if board { format!("board:{ticket}") } else { format!("claim:{ticket}") };
    t.answer_to(updates::callback(operator, OPERATORS_CHAT_ID, message_id, &data)).await
}

/// Whether `chat` has received `text`.
fn has(t: &TestApp, chat: i64, text: &str) -> bool {
    t.telegram.texts(chat).iter().any(|x| x == text)
}

/// Time each dialog message took from its update arriving to reaching the other side.
#[derive(Default)]
struct Latencies(Mutex<Vec<Duration>>);

/// `from` says `text`; returns once it has reached `to` (its update's own flush sends it, or a concurrent flusher
/// of that chat that held the chat's lock), noting how long that took.
async fn say(t: &TestApp, from: &TgUser, to: i64, text: &str, latencies: &Latencies) {
    let started = Instant::now();
    t.send(updates::private_text(from, text)).await;
    while !has(t, to, text) {
        assert!(started.elapsed() < Duration::from_secs(60), "{text:?} never reached chat {to}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    latencies.0.lock().unwrap().push(started.elapsed());
}

/// Operator `n` takes tickets until none waits, and holds a short dialog on each; returns the tickets in the
/// order taken.
async fn operator_shift(
    t: &TestApp,
    n: i64,
    customers: &HashMap<i64, TgUser>,
    storm_over: &AtomicBool,
    latencies: &Latencies,
    refused: &AtomicI64,
) -> Vec<i64> {
    let operator = TgUser::operator(n);
    let mut taken = Vec::new();
    loop {
        let offers = offers(t);
        if offers.is_empty() {
            if storm_over.load(Ordering::SeqCst) && t.db.count("tickets WHERE status = 'WAITING'").await == 0 {
                return taken;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        // Each operator goes for a different line of what the chat shows.
        let offer = offers[(n as usize) % offers.len()];
        let ticket = offer.0;
        if press(t, &operator, offer).await.text != Some(texts::claimed(ticket)) {
            // Taken by a colleague, or on the board now: the chat shows it so soon.
            refused.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(30)).await;
            continue;
        }
        let customer_id: i64 =
            t.db.row("SELECT u.tg_id FROM tickets t JOIN users u ON u.id = t.user_id WHERE t.id = $1", &[&ticket])
                .await
                .get(0);
        let customer = &customers[&customer_id];
        for i in 1..=SAID {
            say(t, customer, operator.id, &format!("c{ticket}-{i}"), latencies).await;
            say(t, &operator, customer.id, &format!("o{ticket}-{i}"), latencies).await;
        }
        t.press(&operator, &format!("close:{ticket}")).await;
        taken.push(ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::offered_in;

    #[test]
    fn cards_and_board_lines_name_the_tickets_they_offer() {
        assert_eq!(offered_in("Новый клиент #12\nИван"), [12]);
        let board = "📋 Очередь: ждут оператора — 3\nтекст\n\n#4 · Иван · Другой вопрос · 1 мин\n#7 · Ольга · Гарантия · 2 мин\n\
                     …и ещё 1\n\nВзяли: #2 — @anna";
        assert_eq!(offered_in(board), [4, 7]);
        assert!(offered_in("Вы взяли заявку в работу. #5").is_empty());
    }
}
