//! Telegram's flood limits, as the emulator enforces them: messages sent or edited per chat and per bot within a
//! sliding window. A call over a limit is answered 429 "Too Many Requests: retry after N" with `retry_after`, like
//! api.telegram.org, and does not count. Telegram documents the figures only roughly ("about 20 messages per
//! minute in a group, about one per second in a private chat with short bursts, about 30 per second overall");
//! the defaults here are those figures, and tests that play a storm scale the windows down on both sides.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::methods::{int_param, json_param};

/// At most `messages` within any `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Messages allowed in the window.
    pub messages: u32,
    /// The window's length.
    pub per: Duration,
}

/// The three limits: per group (or channel), per private chat, per bot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// A group, supergroup or channel (a negative chat id).
    pub group: Window,
    /// A private chat (a positive chat id).
    pub private: Window,
    /// The bot as a whole, every chat together.
    pub bot: Window,
}

impl Limits {
    /// Telegram's figures: 20 a minute per group, 8 in any 5 seconds per private chat (about one a second, short
    /// bursts allowed), 30 a second per bot.
    pub const TELEGRAM: Limits = Limits {
        group: Window { messages: 20, per: Duration::from_secs(60) },
        private: Window { messages: 8, per: Duration::from_secs(5) },
        bot: Window { messages: 30, per: Duration::from_secs(1) },
    };

    /// The same counts with every window `factor` times as long (0.01: a minute passes in 0.6 s).
    pub fn scaled(self, factor: f64) -> Limits {
        let scale = |w: Window| Window { messages: w.messages, per: w.per.mul_f64(factor) };
        Limits { group: scale(self.group), private: scale(self.private), bot: scale(self.bot) }
    }

    fn for_chat(&self, chat_id: i64) -> Window {
        if chat_id < 0 { self.group } else { self.private }
    }
}

/// The chat a call sends or edits a message in, and how many messages it counts for; `None` for calls that are
/// not messages (reads, answers to callback queries, chat actions, reactions, deletions).
pub(crate) fn counted(method: &str, params: &Value) -> Option<(i64, u32)> {
    let many = |key: &str| json_param(params, key).and_then(|v| v.as_array().map(Vec::len)).unwrap_or(1).max(1);
    let weight = match method {
        "copymessages" | "forwardmessages" => many("message_ids"),
        "sendmediagroup" => many("media"),
        "sendchataction" => return None,
        m if m.starts_with("send") || m.starts_with("editmessage") => 1,
        "copymessage" | "forwardmessage" => 1,
        _ => return None,
    };
    // An inline message (no chat) is counted against no chat here.
    let chat = int_param(params, "chat_id")?;
    Some((chat, u32::try_from(weight).unwrap_or(u32::MAX)))
}

/// The sends of the last window, per chat and for the bot.
#[derive(Default)]
pub(crate) struct Meter {
    chats: HashMap<i64, VecDeque<Instant>>,
    bot: VecDeque<Instant>,
}

impl Meter {
    /// Counts `weight` messages to `chat` now if both its window and the bot's have room; otherwise the whole
    /// seconds until they would (at least 1, as Telegram says it).
    pub(crate) fn admit(&mut self, limits: &Limits, chat: i64, weight: u32, now: Instant) -> Result<(), u64> {
        let window = limits.for_chat(chat);
        let sends = self.chats.entry(chat).or_default();
        let wait = room(sends, window, weight, now).max(room(&mut self.bot, limits.bot, weight, now));
        if !wait.is_zero() {
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        for _ in 0..weight {
            sends.push_back(now);
            self.bot.push_back(now);
        }
        Ok(())
    }

    /// Chats with sends remembered.
    pub(crate) fn len(&self) -> usize {
        self.chats.len()
    }

    /// Forgets chats with nothing in their window.
    pub(crate) fn prune(&mut self, limits: &Limits, now: Instant) {
        self.chats.retain(|chat, sends| {
            let per = limits.for_chat(*chat).per;
            sends.back().is_some_and(|last| now.duration_since(*last) < per)
        });
    }
}

/// How long until `weight` more fit in `window` (zero: now), forgetting sends that left it.
fn room(sends: &mut VecDeque<Instant>, window: Window, weight: u32, now: Instant) -> Duration {
    while sends.front().is_some_and(|first| now.duration_since(*first) >= window.per) {
        sends.pop_front();
    }
    let allowed = window.messages as usize;
    let weight = weight as usize;
    if sends.len() + weight <= allowed {
        return Duration::ZERO;
    }
    if weight > allowed {
        // Bigger than the whole window (an album of 10 to a private chat): it goes when the window is empty.
        return sends.back().map_or(Duration::ZERO, |last| (*last + window.per).saturating_duration_since(now));
    }
    // The send that must leave the window for `weight` more to fit.
    let leaving = sends.len() + weight - allowed - 1;
    sends.get(leaving).map_or(Duration::ZERO, |at| (*at + window.per).saturating_duration_since(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_takes_twenty_a_minute_and_says_when_the_next_fits() {
        let mut meter = Meter::default();
        let start = Instant::now();
        for n in 0..20 {
            assert_eq!(meter.admit(&Limits::TELEGRAM, -100, 1, start + Duration::from_secs(n)), Ok(()));
        }
        assert_eq!(meter.admit(&Limits::TELEGRAM, -100, 1, start + Duration::from_secs(20)), Err(40));
        assert_eq!(meter.admit(&Limits::TELEGRAM, 42, 1, start + Duration::from_secs(20)), Ok(()), "a private chat");
        assert_eq!(meter.admit(&Limits::TELEGRAM, -100, 1, start + Duration::from_secs(60)), Ok(()));
    }

    #[test]
    fn the_bot_takes_thirty_a_second_across_chats() {
        let mut meter = Meter::default();
        let now = Instant::now();
        for chat in 1..=30 {
            assert_eq!(meter.admit(&Limits::TELEGRAM, chat, 1, now), Ok(()));
        }
        assert_eq!(meter.admit(&Limits::TELEGRAM, 31, 1, now), Err(1));
        assert_eq!(meter.admit(&Limits::TELEGRAM, 31, 1, now + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn an_album_counts_each_part() {
        let mut meter = Meter::default();
        let now = Instant::now();
        assert_eq!(meter.admit(&Limits::TELEGRAM, 7, 8, now), Ok(()));
        assert_eq!(meter.admit(&Limits::TELEGRAM, 7, 1, now), Err(5));
        let params = serde_json::json!({ "chat_id": 7, "message_ids": [1, 2, 3] });
        assert_eq!(counted("copymessages", &params), Some((7, 3)));
        assert_eq!(counted("answercallbackquery", &params), None);
        assert_eq!(counted("editmessagetext", &params), Some((7, 1)));
    }
}
