//! Telegram's flood limits as the outbox keeps them: `TELEGRAM_GROUP_LIMIT`, `TELEGRAM_CHAT_LIMIT` and
//! `TELEGRAM_BOT_LIMIT`, each "N/DURATION" (N messages sent or edited within any DURATION), and
//! `TELEGRAM_GROUP_BURST`: how many messages a group gets back to back before the rest of its budget is spread
//! evenly over the window.

use std::time::Duration;

use super::ConfigError;
use super::parse::invalid;

/// At most `messages` within any `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Messages allowed in the window.
    pub messages: u32,
    /// The window.
    pub per: Duration,
}

/// The budgets the outbox sends within, shared by every execution through PostgreSQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendLimits {
    /// Per group or channel (Telegram: about 20 a minute; sends and edits alike).
    pub group: Rate,
    /// Per private chat (about one a second, short bursts allowed).
    pub private: Rate,
    /// The bot as a whole (about 30 a second).
    pub bot: Rate,
    /// Messages a group gets back to back; after them, its messages are spaced evenly (see [`Self::spacing`]), so
    /// a busy operators' chat gets a message every few seconds instead of its minute's budget in one second and
    /// then nothing for the rest of the minute. The group's limit N: bursts, its window only.
    pub group_burst: u32,
}

impl SendLimits {
    /// Telegram's figures: 20/60s per group, 5/5s per private chat, 30/1s per bot; a group's messages 3 back to
    /// back, then spaced.
    pub const TELEGRAM: SendLimits = SendLimits {
        group: Rate { messages: 20, per: Duration::from_secs(60) },
        private: Rate { messages: 5, per: Duration::from_secs(5) },
        bot: Rate { messages: 30, per: Duration::from_secs(1) },
        group_burst: 3,
    };

    /// How many messages `chat_id` may get back to back: a group's burst; a private chat its whole window.
    pub fn burst(&self, chat_id: i64) -> u32 {
        let rate = self.for_chat(chat_id);
        if chat_id < 0 { self.group_burst.min(rate.messages) } else { rate.messages }
    }

    /// The even spacing of `chat_id`'s messages after its burst, when it has one (groups): its padded window
    /// over the messages left after the burst, plus one, so that the burst and the spaced messages that follow
    /// never put more than N into one window.
    pub fn spacing(&self, chat_id: i64) -> Option<Duration> {
        let rate = self.for_chat(chat_id);
        let burst = self.burst(chat_id);
        (burst < rate.messages).then(|| Self::padded(rate) / (rate.messages - burst + 1))
    }

    /// The budget of `chat_id`: a group's when negative, a private chat's otherwise.
    pub fn for_chat(&self, chat_id: i64) -> Rate {
        if chat_id < 0 { self.group } else { self.private }
    }

    /// The window the outbox keeps to for `rate`: a tenth longer, and at least 250 ms longer, so that calls
    /// reaching Telegram later than they were counted (network jitter, a slow machine) still fall outside the
    /// window there.
    pub fn padded(rate: Rate) -> Duration {
        rate.per + (rate.per / 10).max(Duration::from_millis(250))
    }

    /// Reads the three variables through `get`; Telegram's figures where unset.
    pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<SendLimits, ConfigError> {
        let defaults = SendLimits::TELEGRAM;
        Ok(SendLimits {
            group: rate("TELEGRAM_GROUP_LIMIT", get("TELEGRAM_GROUP_LIMIT"), defaults.group)?,
            private: rate("TELEGRAM_CHAT_LIMIT", get("TELEGRAM_CHAT_LIMIT"), defaults.private)?,
            bot: rate("TELEGRAM_BOT_LIMIT", get("TELEGRAM_BOT_LIMIT"), defaults.bot)?,
            group_burst: burst(get("TELEGRAM_GROUP_BURST"), defaults.group_burst)?,
        })
    }
}

/// "N/DURATION", e.g. "20/60s" or "20/1m": 1 to 1000 messages within 10 ms to an hour.
fn rate(name: &'static str, value: Option<String>, default: Rate) -> Result<Rate, ConfigError> {
    const HINT: &str = "Use N/DURATION: N messages (1 to 1000) within any DURATION (10ms to 1h), e.g. 20/60s";
    let Some(raw) = value else { return Ok(default) };
    let (count, per) = raw.split_once('/').ok_or_else(|| invalid(name, format!("{raw:?} has no '/'"), HINT))?;
    let messages: u32 = count.trim().parse().map_err(|_| invalid(name, format!("{count:?} is not a count"), HINT))?;
    let per = humantime::parse_duration(per.trim()).map_err(|e| invalid(name, format!("{raw:?}: {e}"), HINT))?;
    if !(1..=1000).contains(&messages) || per < Duration::from_millis(10) || per > Duration::from_secs(3600) {
        return Err(invalid(name, format!("{raw:?} is out of range"), HINT));
    }
    Ok(Rate { messages, per })
}

/// "B": 1 to 1000 messages back to back.
fn burst(value: Option<String>, default: u32) -> Result<u32, ConfigError> {
    const NAME: &str = "TELEGRAM_GROUP_BURST";
    const HINT: &str = "Use a count of messages (1 to 1000); the group limit's N sends in bursts";
    let Some(raw) = value else { return Ok(default) };
    match raw.trim().parse::<u32>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(invalid(NAME, format!("{raw:?} is not a count from 1 to 1000"), HINT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_a_count_per_window_with_telegrams_figures_by_default() {
        let none = |_: &str| None;
        assert_eq!(SendLimits::from_lookup(&none).unwrap(), SendLimits::TELEGRAM);
        let set = |name: &str| (name == "TELEGRAM_GROUP_LIMIT").then(|| "15/1m".to_owned());
        let limits = SendLimits::from_lookup(&set).unwrap();
        assert_eq!(limits.group, Rate { messages: 15, per: Duration::from_secs(60) });
        assert_eq!(limits.for_chat(-1), limits.group);
        assert_eq!(limits.for_chat(7), SendLimits::TELEGRAM.private);
        for bad in ["20", "0/60s", "20/0s", "x/60s", "20/2h"] {
            let get = |name: &str| (name == "TELEGRAM_BOT_LIMIT").then(|| bad.to_owned());
            let error = SendLimits::from_lookup(&get).unwrap_err().to_string();
            assert!(error.contains("TELEGRAM_BOT_LIMIT"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_group_gets_its_burst_then_messages_spaced_so_no_window_holds_more_than_its_limit() {
        let limits = SendLimits::TELEGRAM;
        assert_eq!(limits.burst(-100), 3);
        // 66 s (the padded minute) over 18: the 3 of a burst and 17 spaced messages fit any 66 s.
        assert_eq!(limits.spacing(-100), Some(Duration::from_secs(66) / 18));
        assert_eq!(limits.burst(7), 5, "a private chat keeps its window only");
        assert_eq!(limits.spacing(7), None);
        let bursts = |name: &str| (name == "TELEGRAM_GROUP_BURST").then(|| "20".to_owned());
        let bursts = SendLimits::from_lookup(&bursts).unwrap();
        assert_eq!(bursts.spacing(-100), None, "a burst of the whole limit: the window only");
        for bad in ["0", "x", "1001"] {
            let get = |name: &str| (name == "TELEGRAM_GROUP_BURST").then(|| bad.to_owned());
            let error = SendLimits::from_lookup(&get).unwrap_err().to_string();
            assert!(error.contains("TELEGRAM_GROUP_BURST"), "{bad}: {error}");
        }
    }
}
