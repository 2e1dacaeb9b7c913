//! Sending what the outbox holds, within a time budget and fairly between chats: each chat gets a turn of at most
//! [`FLUSH_TURN`] calls, then goes to the back of the line, so one long backlog cannot hold up other chats (or,
//! in a maintenance run, the jobs after the redelivery). A 403 triggers the blocked-chat handling, a copy given
//! up tells its sender; the chats those touch are sent to in the same pass. A chat whose next call waits for
//! room in a flood budget steps out of the line until then, and is taken up again if that is before the deadline
//! (nothing is held while the line waits for it).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::app::App;
use crate::db::DbError;
use crate::outbox::{self, ChatFlush, Stop};

/// How long an update's invocation may spend sending after its own transaction (the webhook Lambda has 25 s in
/// all). What is left then stays in the outbox for the periodic redelivery.
pub const DELIVERY_BUDGET: Duration = Duration::from_secs(10);
/// Calls one chat gets in a row before the next chat's turn.
pub const FLUSH_TURN: u64 = 20;
/// Chats the redelivery takes per pass.
const DUE_CHATS: i64 = 500;
/// Follow-ups (blocked-chat handling, "not delivered" notices) one delivery may start.
const FOLLOW_UPS: u32 = 16;
/// How long a redelivery that waits for what comes due ([`Due::ByDeadline`]) goes on with the chats it found
/// before it looks again: chats that came due meanwhile (a webhook's leftovers) get their turn within seconds,
/// not after the longest wait of the first look.
const ROUND: Duration = Duration::from_secs(5);
/// How long such a redelivery waits before it looks again when it could send nothing to a chat that was due (busy
/// with another sender, or its call failing); one whose call was due later looks again when that comes.
const IDLE_LOOK: Duration = Duration::from_secs(1);
/// A paced call is due a moment after the wait its budget named (its `not_before` was set after that was read).
const PACE_MARGIN: Duration = Duration::from_millis(30);
/// The longest an update's delivery waits for room in a budget (nothing held meanwhile; a webhook's HTTP request
/// stays open, and Telegram delivers at most 40 at once): a private chat's burst, not a busy group's pace or its
/// full minute, which the redelivery sends (the scheduled Lambda's waits for them). In `poll`, where updates come
/// one after another, it never waits.
const UPDATE_PACE_WAIT: Duration = Duration::from_millis(1500);

/// After an update's own transaction sent (or tried) the head of `chat`: sends the rest and the follow-ups.
pub(crate) async fn follow_up(app: &App, chat: i64, flush: ChatFlush, deadline: Instant) {
    let again = flush.calls_left().then_some(chat);
    let mut line = Line::of(again, FOLLOW_UPS).for_updates(app);
    if let Stop::Paced(wait) = flush.stop {
        line.pace(chat, wait);
    }
    line.after(app, chat, flush, deadline).await;
    line.drain(app, deadline).await;
}

/// Sends the outbox of `chats` within [`DELIVERY_BUDGET`] (see [`deliver_until`]).
pub async fn deliver(app: &App, chats: Vec<i64>) {
    deliver_until(app, chats, Instant::now() + DELIVERY_BUDGET).await;
}

/// Sends the outbox of `chats`, in order per chat and in turns between chats, until every queue is empty, waits
/// for a retry, or `deadline` passes. Failures are logged and left pending for the periodic redelivery.
pub async fn deliver_until(app: &App, chats: Vec<i64>, deadline: Instant) {
    Line::of(chats, FOLLOW_UPS).for_updates(app).drain(app, deadline).await;
}

/// Sends every chat's due outbox calls within [`DELIVERY_BUDGET`] (see [`deliver_due_until`]); what is not due
/// yet waits for the next time.
pub async fn deliver_due(app: &App) -> Result<u64, DbError> {
    deliver_due_until(app, Instant::now() + DELIVERY_BUDGET, Due::Now).await
}

/// Which calls the redelivery takes up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// Those due now (a loop that comes back in seconds).
    Now,
    /// Those due before the deadline too (held back for room in a budget, deferred for a retry): it waits for
    /// them. The scheduled Lambda, which comes back only a minute later: a busy operators' chat gets its paced
    /// messages meanwhile, not one minute's burst a minute.
    ByDeadline,
}

/// The periodic redelivery: sends the due calls of every chat whose queue head is due (those waiting longest
/// first; with [`Due::ByDeadline`] also those due before `deadline`, waited for, in rounds of [`ROUND`]), in
/// turns, until none is due or `deadline` passes. Returns the calls sent.
pub async fn deliver_due_until(app: &App, deadline: Instant, due: Due) -> Result<u64, DbError> {
    // Blocked chats whose handling was lost (a failure, a process that died, too many at once) come first.
    let mut line = Line::of([], 0);
    let blocked = crate::db::outbox::unhandled_blocked_chats(&app.db.get().await?, DUE_CHATS).await?;
    for chat in blocked {
        if Instant::now() >= deadline {
            break;
        }
        match super::blocked::chat_blocked(app, chat, deadline).await {
            Ok(handled) => handled.chats_left().into_iter().for_each(|c| line.push(c)),
            Err(e) => tracing::error!(chat_id = chat, error = %e, "could not handle a blocked chat"),
        }
    }
    let mut sent = line.drain(app, deadline).await;
    while Instant::now() < deadline {
        let within = match due {
            Due::Now => Duration::ZERO,
            Due::ByDeadline => deadline.saturating_duration_since(Instant::now()),
        };
        let looked = Instant::now();
        let chats = crate::db::outbox::due_chats(&app.db.get().await?, DUE_CHATS, within).await?;
        if chats.is_empty() {
            break;
        }
        // When the next look is worth it if this round sends nothing: soon for a due chat that could not be sent
        // (busy, failing), else when the first wait found is over (at most a round away).
        let next_look = if chats.iter().any(|(_, wait)| wait.is_zero()) {
            looked + IDLE_LOOK
        } else {
            looked + chats.iter().map(|(_, wait)| *wait).min().unwrap_or(IDLE_LOOK).min(ROUND)
        };
        let mut line = Line::of([], FOLLOW_UPS);
        if due == Due::ByDeadline {
            line.round_end = Some(Instant::now() + ROUND);
        }
        for (chat, wait) in chats {
            if wait.is_zero() { line.push(chat) } else { line.pace(chat, wait) }
        }
        let round = line.drain(app, deadline).await;
        sent += round;
        if round == 0 {
            // Nothing could be sent (chats busy with other senders, or failing, or what was found is due after
            // this round): the next run tries again, or, waiting for what comes due, the next look.
            match due {
                Due::Now => break,
                Due::ByDeadline => tokio::time::sleep_until(deadline.min(next_look).into()).await,
            }
        }
    }
    Ok(sent)
}

/// Chats waiting for their turn, and chats waiting for room in a flood budget (with when it comes).
struct Line {
    queue: VecDeque<i64>,
    paced: Vec<(Instant, i64)>,
    /// The longest wait for room worth waiting for; longer ones are left to the redelivery.
    max_pace: Duration,
    /// When the line stops taking up chats (a redelivery's round; then it looks for due chats again).
    round_end: Option<Instant>,
    follow_ups: u32,
}

impl Line {
    /// `chats` in line, each once, with `follow_ups` follow-ups allowed.
    fn of(chats: impl IntoIterator<Item = i64>, follow_ups: u32) -> Line {
        let mut line =
            Line { queue: VecDeque::new(), paced: Vec::new(), max_pace: Duration::MAX, round_end: None, follow_ups };
        chats.into_iter().for_each(|chat| line.push(chat));
        line
    }

    /// A line for an update's (or a job's) own calls: it waits for room at most [`UPDATE_PACE_WAIT`], and not at
    /// all when updates are handled one after another.
    fn for_updates(mut self, app: &App) -> Line {
        self.max_pace = if app.concurrent_updates { UPDATE_PACE_WAIT } else { Duration::ZERO };
        self
    }

    /// `chat`'s next call has room in `wait`: it steps out of the line until then, if that is worth waiting for.
    fn pace(&mut self, chat: i64, wait: Duration) {
        if wait <= self.max_pace && !self.paced.iter().any(|(_, c)| *c == chat) {
            self.paced.push((Instant::now() + wait + PACE_MARGIN, chat));
        }
    }

    fn push(&mut self, chat: i64) {
        if !self.queue.contains(&chat) {
            self.queue.push_back(chat);
        }
    }

    /// The next chat to flush: the head of the line, or else the paced chat whose room comes first, once it
    /// has come; `None` when the line is empty or that is past `deadline` (those chats wait for the redelivery)
    /// or the round's end (the next look finds them again).
    async fn next(&mut self, deadline: Instant) -> Option<i64> {
        let end = self.round_end.map_or(deadline, |end| end.min(deadline));
        if self.round_end.is_some_and(|end| Instant::now() >= end) {
            return None;
        }
        if let Some(chat) = self.queue.pop_front() {
            return Some(chat);
        }
        let (index, (at, chat)) = self.paced.iter().copied().enumerate().min_by_key(|(_, (at, _))| *at)?;
        if at >= end {
            tracing::debug!(chats = self.paced.len(), "paced calls left for the redelivery");
            self.paced.clear();
            return None;
        }
        self.paced.swap_remove(index);
        tokio::time::sleep_until(at.into()).await;
        Some(chat)
    }

    /// Gives each chat its turn until all are done or `deadline` passes; returns the calls sent.
    async fn drain(&mut self, app: &App, deadline: Instant) -> u64 {
        let mut sent = 0;
        while let Some(chat) = self.next(deadline).await {
            match Box::pin(outbox::flush_chat(app, chat, deadline, FLUSH_TURN)).await {
                Ok(flush) => {
                    sent += flush.sent;
                    let stop = flush.stop;
                    if stop == Stop::Turn {
                        self.push(chat);
                    }
                    if let Stop::Paced(wait) = stop {
                        self.pace(chat, wait);
                    }
                    self.after(app, chat, flush, deadline).await;
                    if stop == Stop::Budget {
                        tracing::info!(chats_left = self.queue.len() + 1, "delivery budget spent; the rest waits");
                        return sent;
                    }
                }
                Err(e) => tracing::warn!(chat_id = chat, error = %e, "outbox not sent now; it stays pending"),
            }
        }
        sent
    }

    /// A chat's flush told other chats something, or met a 403: their calls join the line.
    async fn after(&mut self, app: &App, chat: i64, flush: ChatFlush, deadline: Instant) {
        if self.follow_ups == 0 {
            return;
        }
        if !flush.notified.is_empty() {
            self.follow_ups = self.follow_ups.saturating_sub(1);
            flush.notified.into_iter().filter(|c| *c != chat).for_each(|c| self.push(c));
        }
        if flush.stop == Stop::Forbidden {
            self.follow_ups = self.follow_ups.saturating_sub(1);
            match super::blocked::chat_blocked(app, chat, deadline).await {
                Ok(handled) => handled.chats_left().into_iter().filter(|c| *c != chat).for_each(|c| self.push(c)),
                Err(e) => tracing::error!(chat_id = chat, error = %e, "could not handle a blocked chat"),
            }
        }
    }
}
