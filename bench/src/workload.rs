//! The replayed workload: whole dialogs through `zabota_core::webhook::handle`, and a proxied-message phase.

use std::sync::Arc;
use std::time::{Duration, Instant};

use zabota_core::App;
use zabota_core::webhook;
use zabota_testkit::app::{config_from, test_env};
use zabota_testkit::{BotApiEmulator, OPERATORS_CHAT_ID, TestDb, TgUser, WEBHOOK_SECRET, updates};

/// The database, the emulator and the app, shared by every phase.
pub struct Setup {
    pub db: TestDb,
    pub telegram: BotApiEmulator,
    pub app: App,
}

impl Setup {
    pub async fn new(pool: usize) -> Setup {
        let telegram = BotApiEmulator::start().await;
        let db = TestDb::new().await;
        let client = db.client().await;
        if let Err(e) = client.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").await {
            eprintln!("bench: pg_stat_statements unavailable ({e}); SQL counts will read 0");
        }
        // The desk's own speed: Telegram's flood limits lifted (the outbox still takes its slots), so no call
        // waits for room.
        let mut env = test_env(&telegram.base_url(), &db.url);
        zabota_testkit::lift_limits(&mut env);
        let config = config_from(&env);
        zabota_testkit::enforce(&telegram, &config.send_limits);
        let app = App::new(config, pool).await.unwrap_or_else(|e| panic!("app: {e}"));
        Setup { db, telegram, app }
    }

    /// (statements, transactions) so far in this database, from pg_stat_statements (updated at once, unlike
    /// pg_stat_database, which busy pooled connections flush late). Explicit transactions are counted by their
    /// COMMIT/ROLLBACK; statements include BEGIN and COMMIT.
    pub async fn counters(&self) -> (i64, i64) {
        let client = self.db.client().await;
        client
            .query_one(
                "SELECT coalesce(sum(calls), 0)::bigint, \
                   coalesce(sum(calls) FILTER (WHERE query ~* '^\\s*(COMMIT|ROLLBACK)'), 0)::bigint \
                 FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                   AND query NOT LIKE '%pg_stat_statements%'",
                &[],
            )
            .await
            .map_or((0, 0), |r| (r.get(0), r.get(1)))
    }
}

/// What the dialog phase measured.
pub struct DialogRun {
    pub latencies_ms: Vec<f64>,
    pub wall: Duration,
    pub statements: i64,
    pub transactions: i64,
    pub api_calls: usize,
}

/// One webhook call, timed; panics on anything but 200 (the bench must not measure failures).
pub async fn post(app: &App, update: serde_json::Value, latencies: &mut Vec<f64>, telegram: &BotApiEmulator) {
    telegram.observe(&update);
    let body = serde_json::to_vec(&update).unwrap_or_default();
    let started = Instant::now();
    let reply = webhook::handle(app, Some(WEBHOOK_SECRET.as_bytes()), &body).await;
    latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    assert_eq!(reply.status, 200, "webhook answered {reply:?}");
}

fn last_with(telegram: &BotApiEmulator, chat: i64, data_prefix: &str, text_part: &str) -> Option<(i64, String)> {
    telegram.received(chat).into_iter().rev().find_map(|m| {
        let data = m.callback_data().into_iter().find(|d| d.starts_with(data_prefix))?;
        m.text.as_deref().is_some_and(|t| t.contains(text_part)).then_some((m.message_id, data))
    })
}

/// Customer `n`'s whole dialog with `operator`: menu, template, phone, claim, 10–30 messages, close.
async fn dialog(setup: &Setup, n: i64, operator: &TgUser, latencies: &mut Vec<f64>) {
    let (app, telegram) = (&setup.app, &setup.telegram);
    let customer = TgUser::customer(n);
    post(app, updates::command(&customer, "/start"), latencies, telegram).await;
    let menu = telegram.received(customer.id).last().map_or(0, |m| m.message_id);
    post(app, updates::callback(&customer, customer.id, menu, "topic:warranty"), latencies, telegram).await;
    let template = telegram.received(customer.id).last().map_or(0, |m| m.message_id);
    post(app, updates::callback(&customer, customer.id, template, "operator:warranty"), latencies, telegram).await;
    let phone = format!("+7916{:07}", n);
    post(app, updates::private_text(&customer, &phone), latencies, telegram).await;
    let claim = claim_card(setup, n, operator, latencies).await;
    let messages = 10 + (n * 7) % 21;
    for i in 0..messages {
        let update = if i % 2 == 0 {
            updates::private_text(&customer, &format!("Сообщение клиента {i}: чайник не включается"))
        } else {
            updates::private_text(operator, &format!("Ответ оператора {i}: проверьте, пожалуйста, розетку"))
        };
        post(app, update, latencies, telegram).await;
    }
    let ticket = claim.trim_start_matches("claim:");
    let Some((summary, close)) = last_with(telegram, operator.id, &format!("close:{ticket}"), "") else {
        panic!("no summary for ticket {ticket}");
    };
    post(app, updates::callback(operator, operator.id, summary, &close), latencies, telegram).await;
}

/// Every operator works through their customers one dialog at a time; operators run concurrently.
pub async fn run_dialogs(setup: &Arc<Setup>, customers: usize, operators: usize) -> anyhow::Result<DialogRun> {
    for j in 0..operators {
        setup.telegram.set_chat_member(OPERATORS_CHAT_ID, TgUser::operator(j as i64 + 1).id, "member");
    }
    let (statements0, transactions0) = setup.counters().await;
    let calls0 = setup.telegram.calls().len();
    let started = Instant::now();
    // Each worker is a task of its own, as concurrent webhook deliveries are: the runtime spreads them over cores.
    let workers = (0..operators).map(|j| {
        let setup = setup.clone();
        tokio::spawn(async move {
            let setup = &*setup;
            let operator = TgUser::operator(j as i64 + 1);
            let mut latencies = Vec::new();
            for n in (j..customers).step_by(operators) {
                dialog(setup, n as i64 + 1, &operator, &mut latencies).await;
                if j == 0 {
                    eprint!("\rbench: dialogs ~{}/{customers}   ", (n + 1).min(customers));
                }
            }
            latencies
        })
    });
    let mut latencies_ms: Vec<f64> = Vec::new();
    for worker in futures::future::join_all(workers).await {
        latencies_ms.extend(worker?);
    }
    let wall = started.elapsed();
    eprintln!("\rbench: {customers} dialogs, {} updates in {:.1} s", latencies_ms.len(), wall.as_secs_f64());
    let (statements, transactions) = setup.counters().await;
    Ok(DialogRun {
        latencies_ms,
        wall,
        statements: statements - statements0,
        transactions: transactions - transactions0,
        api_calls: setup.telegram.calls().len() - calls0,
    })
}

/// Customer numbers of the proxied-message phase start here (their dialogs stay open).
pub const PROXIED_BASE: i64 = 100_000;

/// What one relayed customer message costs.
pub struct Proxied {
    pub per_s: f64,
    pub statements_per_message: f64,
    pub transactions_per_message: f64,
}

/// `dialogs` open dialogs, each customer sending BENCH_PROXIED_PER_DIALOG (200) messages in a row, concurrently.
pub async fn proxied_message_phase(setup: &Arc<Setup>, dialogs: usize) -> anyhow::Result<Proxied> {
    let per_dialog: usize = std::env::var("BENCH_PROXIED_PER_DIALOG").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let base = PROXIED_BASE;
    let mut pairs = Vec::new();
    for j in 0..dialogs {
        let operator = TgUser::operator(j as i64 + 1);
        let mut scratch = Vec::new();
        let customer_n = base + j as i64;
        open_dialog(setup, customer_n, &operator, &mut scratch).await;
        pairs.push((TgUser::customer(customer_n), operator));
    }
    let (statements0, transactions0) = setup.counters().await;
    let started = Instant::now();
    let senders = pairs.into_iter().map(|(customer, _)| {
        let setup = setup.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            for i in 0..per_dialog {
                let update = updates::private_text(&customer, &format!("m{i}"));
                post(&setup.app, update, &mut latencies, &setup.telegram).await;
            }
        })
    });
    for sender in futures::future::join_all(senders).await {
        sender?;
    }
    let wall = started.elapsed().as_secs_f64();
    let (statements, transactions) = setup.counters().await;
    let messages = (dialogs * per_dialog) as f64;
    eprintln!("bench: {messages} proxied messages in {wall:.1} s");
    Ok(Proxied {
        per_s: messages / wall,
        statements_per_message: (statements - statements0) as f64 / messages,
        transactions_per_message: (transactions - transactions0) as f64 / messages,
    })
}

/// `operator` presses «Взять в работу» on customer `n`'s card; returns the button's data ("claim:ID").
async fn claim_card(setup: &Setup, n: i64, operator: &TgUser, latencies: &mut Vec<f64>) -> String {
    let (app, telegram) = (&setup.app, &setup.telegram);
    let Some((card, claim)) = last_with(telegram, OPERATORS_CHAT_ID, "claim:", &format!("@customer{n}\n")) else {
        panic!("no card for customer {n}");
    };
    post(app, updates::callback(operator, OPERATORS_CHAT_ID, card, &claim), latencies, telegram).await;
    claim
}

/// A dialog up to the claim (no close), for the proxied-message phase.
async fn open_dialog(setup: &Setup, n: i64, operator: &TgUser, latencies: &mut Vec<f64>) {
    let (app, telegram) = (&setup.app, &setup.telegram);
    let customer = TgUser::customer(n);
    post(app, updates::command(&customer, "/start"), latencies, telegram).await;
    let menu = telegram.received(customer.id).last().map_or(0, |m| m.message_id);
    post(app, updates::callback(&customer, customer.id, menu, "operator:return"), latencies, telegram).await;
    post(app, updates::private_text(&customer, &format!("+7926{:07}", n % 10_000_000)), latencies, telegram).await;
    claim_card(setup, n, operator, latencies).await;
}
