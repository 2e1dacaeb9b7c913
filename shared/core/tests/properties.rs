//! Property tests over untrusted input: Telegram updates, typed phone numbers and button callback data.
//! `make test` runs a few hundred cases of each; `make fuzz` runs each for FUZZ_SECONDS (default 180)
//! and prints how many executions it made.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use zabota_core::domain::phone::Phone;
use zabota_core::domain::{Callback, Topic};
use zabota_core::telegram::Update;
use zabota_core::webhook;
use zabota_testkit::{TgUser, WEBHOOK_SECRET, spawn_app, updates};

/// Runs `test` over `strategy`: 256 cases, or for FUZZ_SECONDS with fresh random seeds, counting executions.
fn check<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let seconds: u64 = std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let config = |cases| Config { cases, failure_persistence: None, ..Config::default() };
    if seconds == 0 {
        TestRunner::new(config(256)).run(&strategy, &test).unwrap_or_else(|e| panic!("{name}: {e}"));
        return;
    }
    let started = Instant::now();
    let mut executions: u64 = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        // A new runner, a new random seed.
        TestRunner::new(config(10_000)).run(&strategy, &test).unwrap_or_else(|e| panic!("{name}: {e}"));
        executions += 10_000;
    }
    eprintln!("fuzz {name}: {executions} executions in {:.0} s, no failure", started.elapsed().as_secs_f64());
}

// ---- Updates ----------------------------------------------------------------------------------------------------

const KEYS: &[&str] = &[
    "update_id",
    "message",
    "edited_message",
    "callback_query",
    "message_id",
    "chat",
    "from",
    "id",
    "type",
    "text",
    "caption",
    "data",
    "photo",
    "document",
    "video",
    "voice",
    "audio",
    "sticker",
    "animation",
    "video_note",
    "contact",
    "phone_number",
    "user_id",
    "file_id",
    "file_unique_id",
    "file_size",
    "width",
    "height",
    "duration",
    "is_bot",
    "first_name",
    "username",
    "date",
    "entities",
    "length",
    "mime_type",
    "file_name",
    "location",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        prop_oneof![Just("private"), Just("group"), Just("supergroup"), Just("claim:1"), Just("topic:return")]
            .prop_map(|s| json!(s)),
        ".{0,40}".prop_map(Value::String),
    ]
}

/// JSON shaped like updates: known keys, any values, nested.
fn update_like() -> impl Strategy<Value = Value> {
    let tree = leaf().prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8)
                .prop_map(|fields| Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    });
    (any::<i64>(), prop::sample::select(&["message", "edited_message", "callback_query", "poll"][..]), tree)
        .prop_map(|(id, kind, body)| json!({ "update_id": id, kind: body }))
}

/// Real updates (text, command, callback, photo, contact, document, edit, group) with a few of their values
/// replaced by anything or removed: close to what parses, so the parsed paths are exercised too.
fn mutated_update() -> impl Strategy<Value = Value> {
    let user = TgUser::customer(1);
    let templates = vec![
        updates::private_text(&user, "привет"),
        updates::command(&user, "/start"),
        updates::callback(&user, user.id, 7, "claim:3"),
        updates::private_message(
            &user,
            json!({ "photo": [{ "file_id": "a", "file_unique_id": "b", "width": 1, "height": 1 }], "caption": "c" }),
        ),
        updates::private_message(
            &user,
            json!({ "contact": { "phone_number": "+79161234567", "first_name": "И", "user_id": user.id } }),
        ),
        updates::private_message(
            &user,
            json!({ "document": { "file_id": "d", "file_unique_id": "e", "file_name": "x.pdf", "mime_type": "application/pdf", "file_size": 10 } }),
        ),
        updates::edited_text(&user, 5, "правка"),
        updates::group_text(-100, &user, "чат"),
    ];
    let mutation = (any::<prop::sample::Index>(), prop::option::of(leaf()));
    (prop::sample::select(templates), prop::collection::vec(mutation, 0..4)).prop_map(|(mut update, mutations)| {
        for (at, value) in mutations {
            let mut paths = Vec::new();
            collect_paths(&update, String::new(), &mut paths);
            let path = at.get(&paths).clone();
            set_path(&mut update, &path, value);
        }
        update
    })
}

fn collect_paths(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| collect_paths(v, format!("{at}/{k}"), out)),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| collect_paths(v, format!("{at}/{i}"), out)),
        _ => {}
    }
}

/// Replaces the value at a JSON pointer, or removes it (`None`).
fn set_path(root: &mut Value, path: &str, value: Option<Value>) {
    let Some((parent, key)) = path.rsplit_once('/') else { return };
    match (root.pointer_mut(parent), value) {
        (Some(Value::Object(map)), Some(v)) => _ = map.insert(key.to_owned(), v),
        (Some(Value::Object(map)), None) => _ = map.remove(key),
        (Some(Value::Array(items)), v) => {
            if let Ok(i) = key.parse::<usize>()
                && i < items.len()
            {
                match v {
                    Some(v) => items[i] = v,
                    None => _ = items.remove(i),
                }
            }
        }
        _ => {}
    }
}

fn inspect(update: &Update) {
    let _ = update.kind();
    for message in [&update.message, &update.edited_message].into_iter().flatten() {
        let _ = (message.content(), message.chat_id());
    }
    if let Some(query) = &update.callback_query {
        let _ = query.data.as_deref().map(Callback::parse);
    }
}

#[test]
fn any_update_shaped_json_parses_or_is_refused_without_panicking() {
    check("update json", update_like(), |value| {
        if let Ok(update) = serde_json::from_value::<Update>(value.clone()) {
            inspect(&update);
            // What parsed from bytes parses the same from the value (the webhook parses bytes).
            let bytes = serde_json::to_vec(&value).unwrap();
            prop_assert!(serde_json::from_slice::<Update>(&bytes).is_ok());
        }
        Ok(())
    });
}

#[test]
fn mutated_real_updates_parse_or_are_refused_without_panicking() {
    check("mutated update", mutated_update(), |value| {
        if let Ok(update) = serde_json::from_value::<Update>(value) {
            inspect(&update);
        }
        Ok(())
    });
}

#[test]
fn mutated_updates_through_the_webhook_are_answered_200_and_never_break_the_flow() {
    // The whole path, database and Bot API emulator included: a 500 here would be an update that fails on
    // every redelivery (as U+0000 in a text once did).
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let t = runtime.block_on(spawn_app());
    check("mutated update via webhook", mutated_update(), |mut value| {
        value["update_id"] = json!(updates::next_update_id());
        t.telegram.observe(&value);
        let body = serde_json::to_vec(&value).unwrap();
        let reply = runtime.block_on(webhook::handle(&t.app, Some(WEBHOOK_SECRET.as_bytes()), &body));
        prop_assert_eq!(reply.status, 200, "{}", value);
        Ok(())
    });
}

#[test]
fn any_bytes_parse_or_are_refused_without_panicking() {
    check("update bytes", prop::collection::vec(any::<u8>(), 0..512), |bytes| {
        if let Ok(update) = serde_json::from_slice::<Update>(&bytes) {
            inspect(&update);
        }
        Ok(())
    });
}

// ---- Phone numbers ----------------------------------------------------------------------------------------------

fn typed_phone() -> impl Strategy<Value = String> {
    prop_oneof![
        "[+]?[0-9 ()\\-.]{0,24}",
        "(\\+7|8|7)[ -]?\\(?9[0-9]{2}\\)?[ -]?[0-9]{3}[ -]?[0-9]{2}[ -]?[0-9]{2}",
        "\\+[1-9][0-9]{6,14}",
        ".{0,40}",
    ]
}

fn region() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["RU", "KZ", "BY", "US", "GB", "DE", "IN", "XX", "", "ru"][..])
}

#[test]
fn a_valid_phone_is_canonical_e164_and_never_logged_in_full() {
    check("phone", (typed_phone(), region()), |(input, region)| {
        let typed = Phone::parse(&input, region);
        let shared = Phone::from_contact(&input, region);
        for phone in [typed, shared].into_iter().flatten() {
            let e164 = phone.as_e164();
            prop_assert!(e164.starts_with('+') && e164.len() <= 16, "{e164}");
            prop_assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()), "{e164}");
            // Canonical: parsing the result again gives the same number, typed or shared.
            prop_assert_eq!(Phone::parse(e164, region), Ok(phone.clone()));
            prop_assert_eq!(Phone::from_contact(e164, region), Ok(phone.clone()));
            prop_assert_eq!(Phone::parse(&phone.display(), region), Ok(phone.clone()));
            let masked = phone.masked();
            prop_assert!(!masked.contains(&e164[1..]), "{masked} shows {e164}");
            let digits = e164.len() - 1;
            prop_assert!(masked.matches(char::is_numeric).count() + 3 <= digits, "{masked} hides 3 digits");
        }
        Ok(())
    });
}

// ---- Callback data ----------------------------------------------------------------------------------------------

fn callback() -> impl Strategy<Value = Callback> {
    let topic = prop::sample::select(&[Topic::Warranty, Topic::Return, Topic::Other][..]);
    prop_oneof![
        topic.clone().prop_map(Callback::Topic),
        topic.prop_map(Callback::Operator),
        Just(Callback::Understood),
        Just(Callback::Home),
        Just(Callback::PhoneKeep),
        Just(Callback::PhoneOther),
        (1..=i64::MAX).prop_map(Callback::Claim),
        (1..=i64::MAX).prop_map(Callback::Close),
    ]
}

#[test]
fn every_button_round_trips_within_telegrams_64_bytes() {
    check("callback encode", callback(), |button| {
        let data = button.encode();
        prop_assert!(data.len() <= 64, "{data}");
        prop_assert_eq!(Callback::parse(&data), Some(button));
        Ok(())
    });
}

#[test]
fn forged_callback_data_is_refused_or_means_a_real_button() {
    let data = prop_oneof![
        ".{0,70}",
        "(claim|close|topic|operator|phone):[-+0-9a-z]{0,22}",
        "(ok|home|claim:0|claim:-1|close:99999999999999999999)",
    ];
    check("callback parse", data, |data| {
        if let Some(button) = Callback::parse(&data) {
            prop_assert_eq!(Callback::parse(&button.encode()), Some(button));
            if let Callback::Claim(id) | Callback::Close(id) = button {
                prop_assert!(id > 0);
            }
        }
        Ok(())
    });
}
