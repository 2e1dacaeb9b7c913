//! The ticket storm of the storm test (`zabota_testkit::storm`): 200 customers ask for an operator within one
//! minute while 10 operators claim and answer, with Telegram's flood limits enforced in a tenth of their time.
//! Reports the tickets per minute the storm brought and how soon the operators' chat showed each (its card, or a
//! drawing of the queue board that counts it), the 429s met (target 0) and the private chats' latency meanwhile.

use std::time::Duration;

use serde_json::{Value, json};
use zabota_testkit::storm::{self, MINUTE, SCALE, Storm};

const CUSTOMERS: i64 = 200;
const OPERATORS: i64 = 10;

/// Plays the storm on a desk of its own and reports it.
pub async fn run() -> Value {
    let t = storm::spawn_app().await;
    let played = storm::play(&t, CUSTOMERS, OPERATORS).await;
    let offered = played.first_offered(&t);
    let announced = played.announce_delays(&t).await;
    let at = |p: f64| announced.get(((announced.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied();
    let emulated = |d: Duration| d.div_f64(SCALE).as_secs_f64();
    let in_first_minute = offered.values().filter(|d| **d < MINUTE).count();
    let all_offered = offered.values().max().copied().unwrap_or_default();
    let cards = Storm::cards(&t);
    let gaps = played.backlogged_gaps(&t);
    let ms = |d: Duration| (d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
    json!({
        "customers": CUSTOMERS,
        "operators": OPERATORS,
        "phone_steps_emulated_s": emulated(played.phone_steps_took),
        "tickets_per_minute": CUSTOMERS as f64 * 60.0 / emulated(played.phone_steps_took).max(1.0),
        "tickets_announced": announced.len(),
        "announced_after_emulated_s": { "p50": at(0.5).map(emulated), "p99": at(0.99).map(emulated),
                                        "max": at(1.0).map(emulated) },
        "tickets_offered_to_claim": offered.len(),
        "offered_to_claim_in_first_minute": in_first_minute,
        "all_offered_to_claim_within_emulated_s": emulated(all_offered),
        "cards": cards,
        "over_limit_429": t.telegram.over_limit_calls().len(),
        "operators_chat_messages": Storm::group_sends(&t).len(),
        "operators_chat_max_gap_with_backlog_emulated_s": gaps.last().map(|d| emulated(*d)),
        "operators_chat_backlog_max": played.group_backlog_max,
        "refused_presses": played.refused,
        "private_latency_ms": { "p50": ms(played.latency(0.5)), "p99": ms(played.latency(0.99)),
                                "max": ms(played.latency(1.0)) },
    })
}
