//! What each kind of update costs, measured one update at a time with nothing else running: SQL statements,
//! transactions, database round trips (through a counting proxy) and Bot API calls. A relayed message's round
//! trips are split at its Bot API call (the call is held for a moment and the trips counted meanwhile).

use std::time::Duration;

use serde_json::{Value, json};
use zabota_core::App;
use zabota_testkit::app::{config_from, test_env};
use zabota_testkit::{Fault, OPERATORS_CHAT_ID, TgUser, updates};

use crate::proxy::CountingProxy;
use crate::workload::{self, Setup};

#[derive(Clone, Copy, Default)]
struct Snapshot {
    statements: i64,
    transactions: i64,
    trips: u64,
    calls: usize,
}

async fn snapshot(setup: &Setup, proxy: &CountingProxy) -> Snapshot {
    let (statements, transactions) = setup.counters().await;
    Snapshot { statements, transactions, trips: proxy.round_trips(), calls: setup.telegram.calls().len() }
}

fn delta(before: Snapshot, after: Snapshot) -> Value {
    json!({
        "sql_statements": after.statements - before.statements,
        "transactions": after.transactions - before.transactions,
        "round_trips": after.trips - before.trips,
        "bot_api_calls": after.calls - before.calls,
    })
}

async fn post(app: &App, setup: &Setup, update: Value) {
    workload::post(app, update, &mut Vec::new(), &setup.telegram).await;
}

fn last_message(setup: &Setup, chat: i64) -> i64 {
    setup.telegram.received(chat).last().map_or(0, |m| m.message_id)
}

/// One dialog, update by update; each step's cost when `measure`.
async fn dialog(app: &App, setup: &Setup, proxy: &CountingProxy, n: i64, measure: bool) -> Value {
    let customer = TgUser::customer(n);
    let operator = TgUser::operator(n);
    setup.telegram.set_chat_member(OPERATORS_CHAT_ID, operator.id, "member");
    let mut costs = serde_json::Map::new();
    let steps: [&str; 9] = [
        "start",
        "menu_button",
        "contact_operator_button",
        "phone",
        "claim",
        "customer_message",
        "operator_message",
        "album_of_10",
        "close",
    ];
    for step in steps {
        if step == "album_of_10" {
            let before = snapshot(setup, proxy).await;
            let latency = album(app, setup, &customer, n).await;
            let mut cost = delta(before, snapshot(setup, proxy).await);
            cost["ms_from_last_part_to_delivery"] = json!(latency);
            costs.insert(step.to_owned(), cost);
            continue;
        }
        let update = match step {
            "start" => updates::command(&customer, "/start"),
            "menu_button" => {
                updates::callback(&customer, customer.id, last_message(setup, customer.id), "topic:warranty")
            }
            "contact_operator_button" => {
                updates::callback(&customer, customer.id, last_message(setup, customer.id), "operator:warranty")
            }
            "phone" => updates::private_text(&customer, &format!("+7916{:07}", n % 10_000_000)),
            "claim" => {
                let card = setup.telegram.received(OPERATORS_CHAT_ID).pop().unwrap_or_else(|| panic!("no card"));
                let data = card.callback_data().into_iter().next().unwrap_or_default();
                let mut press = updates::callback(&operator, OPERATORS_CHAT_ID, card.message_id, &data);
                press["callback_query"]["message"]["text"] = json!(card.text);
                press
            }
            "customer_message" => updates::private_text(&customer, "Чайник не включается"),
            "operator_message" => updates::private_text(&operator, "Проверьте, пожалуйста, розетку"),
            _ => {
                let summary =
                    setup.telegram.received(operator.id).into_iter().rev().find(|m| m.inline_keyboard().is_some());
                let summary = summary.unwrap_or_else(|| panic!("no summary"));
                let data = summary.callback_data().into_iter().next().unwrap_or_default();
                updates::callback(&operator, operator.id, summary.message_id, &data)
            }
        };
        let before = snapshot(setup, proxy).await;
        if step == "customer_message" && measure {
            // Hold the copyMessage call and count the trips made before it.
            setup.telegram.fail_next("copyMessage", Fault::Delay(Duration::from_millis(300)), 1);
            let probe = async {
                tokio::time::sleep(Duration::from_millis(150)).await;
                proxy.round_trips()
            };
            let ((), at_call) = tokio::join!(post(app, setup, update), probe);
            let after = snapshot(setup, proxy).await;
            let mut cost = delta(before, after);
            cost["round_trips_before_bot_api_call"] = json!(at_call - before.trips);
            cost["round_trips_after_bot_api_call"] = json!(after.trips - at_call);
            costs.insert(step.to_owned(), cost);
            continue;
        }
        post(app, setup, update).await;
        let after = snapshot(setup, proxy).await;
        costs.insert(step.to_owned(), delta(before, after));
    }
    Value::Object(costs)
}

/// A 10-part album from `customer`, its parts posted at once; how long after its last part was stored the album
/// went out (ALBUM_WAIT by design, plus the flush), in ms.
async fn album(app: &App, setup: &Setup, customer: &TgUser, n: i64) -> f64 {
    let group = format!("bench{n}");
    let parts = updates::album(customer, &group, 10, Some("Фото чека"));
    let copies = setup.telegram.calls_to("copyMessages").len();
    let watch = async {
        let stored = format!("ticket_messages WHERE media_group_id = '{group}'");
        while setup.db.count(&stored).await < 10 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let last_part = std::time::Instant::now();
        while setup.telegram.calls_to("copyMessages").len() == copies {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        last_part.elapsed().as_secs_f64() * 1000.0
    };
    let posts = futures::future::join_all(parts.into_iter().map(|part| post(app, setup, part)));
    let ((), latency) = tokio::join!(
        async {
            posts.await;
        },
        watch
    );
    latency
}

/// "host:port" of a postgres:// URL.
fn host_port(url: &str) -> Option<&str> {
    let rest = url.split_once('@')?.1;
    Some(rest.split_once('/').map_or(rest, |(hp, _)| hp))
}

/// Per update kind: a warm-up dialog (statements get prepared on the one pooled connection), then a measured one.
pub async fn per_kind(setup: &Setup) -> anyhow::Result<Value> {
    let upstream = host_port(&setup.db.url).ok_or_else(|| anyhow::anyhow!("no host in the database URL"))?;
    let proxy = CountingProxy::start(upstream.to_owned()).await?;
    let url = setup.db.url.replacen(upstream, &proxy.addr.to_string(), 1);
    // As on Lambda: one connection.
    let mut env = test_env(&setup.telegram.base_url(), &url);
    zabota_testkit::lift_limits(&mut env);
    let app = App::new(config_from(&env), 1).await?;
    dialog(&app, setup, &proxy, 700_001, false).await;
    Ok(dialog(&app, setup, &proxy, 700_002, true).await)
}
