//! `/stats`: the desk's figures over a period, computed against a history the test builds with known timings,
//! sent to a supervisor as a chart (a valid PNG of the chart's size) and then the figures; refused to others.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use chrono::{Duration, Utc};
use zabota_core::stats::{self, Period, chart};
use zabota_core::texts;
use zabota_testkit::{OPERATORS_CHAT_ID, TestApp, TgUser, spawn_app, updates};

/// A ticket as the history holds it: opened `ago` before now, first claimed, first answered and closed so many
/// seconds after opening (`None`: never), by `operator`, for `reason`, rated `score`; `handed` over to `operator`,
/// who claimed it and first answered so many seconds after opening (else the first claim and reply were theirs).
struct Built {
    customer: i64,
    ago: Duration,
    claimed: Option<i64>,
    replied: Option<i64>,
    closed: Option<(i64, &'static str)>,
    operator: Option<i64>,
    score: Option<i16>,
    handed: Option<(i64, i64)>,
}

async fn build(t: &TestApp, tickets: &[Built]) {
    for (tg_id, name) in [(5001_i64, "olga"), (5002, "ivan")] {
        t.db.execute(&format!("INSERT INTO users (tg_id, username, first_name) VALUES ({tg_id}, '{name}', '{name}')"))
            .await;
    }
    let client = t.db.client().await;
    let now = Utc::now();
    for b in tickets {
        let user: i64 = client
            .query_one(
                "INSERT INTO users (tg_id, first_name) VALUES ($1, 'Клиент') ON CONFLICT (tg_id) DO UPDATE \
                 SET first_name = excluded.first_name RETURNING id",
                &[&b.customer],
            )
            .await
            .unwrap()
            .get(0);
        let created = now - b.ago;
        let at = |s: Option<i64>| s.map(|s| created + Duration::seconds(s));
        let (status, closed_at, reason) = match b.closed {
            Some((s, reason)) => ("CLOSED", at(Some(s)), Some(reason)),
            None if b.operator.is_some() => ("ASSIGNED", None, None),
            None => ("WAITING", None, None),
        };
        let (taken, answered) = match b.handed {
            Some((taken, answered)) => (Some(taken), Some(answered)),
            None => (b.claimed, b.replied),
        };
        let id: i64 = client
            .query_one(
                "INSERT INTO tickets (user_id, topic, phone, status, operator_tg_id, created_at, queued_at, \
                   first_assigned_at, first_reply_at, closed_at, close_reason, assigned_at, operator_reply_at) \
                 VALUES ($1, 'return', '+79161234567', $2, $3, $4, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                &[
                    &user,
                    &status,
                    &b.operator,
                    &created,
                    &at(b.claimed),
                    &at(b.replied),
                    &closed_at,
                    &reason,
                    &at(taken),
                    &at(answered),
                ],
            )
            .await
            .unwrap()
            .get(0);
        if let Some(score) = b.score {
            client
                .execute(
                    "INSERT INTO ticket_ratings (ticket_id, score, operator_tg_id, rated_at) VALUES ($1, $2, $3, $4)",
                    &[&id, &score, &b.operator, &closed_at],
                )
                .await
                .unwrap();
        }
    }
}

fn day(n: i64) -> Duration {
    Duration::days(n)
}

/// The history: two dialogs of @olga, one of @ivan closed by a supervisor, one expired in the queue, one waiting
/// for 10 minutes, one in a dialog now, one @olga answered and handed to @ivan who closed it, and an old one
/// outside the week.
fn history() -> Vec<Built> {
    let b = |customer, ago, claimed, replied, closed, operator, score| Built {
        customer,
        ago,
        claimed,
        replied,
        closed,
        operator,
        score,
        handed: None,
    };
    vec![
        b(1, day(2), Some(60), Some(120), Some((600, "operator")), Some(5001), Some(5)),
        b(2, day(2) - Duration::hours(1), Some(180), Some(240), Some((1200, "operator")), Some(5001), Some(3)),
        b(3, day(1), Some(300), Some(600), Some((1800, "supervisor")), Some(5002), Some(4)),
        b(4, day(1), None, None, Some((3600, "expired")), None, None),
        b(5, Duration::minutes(10), None, None, None, None, None),
        b(6, Duration::minutes(5), Some(60), None, None, Some(5002), None),
        b(7, day(20), Some(30), Some(40), Some((100, "operator")), Some(5001), Some(1)),
        Built {
            handed: Some((1000, 1300)),
            ..b(8, day(3), Some(60), Some(90), Some((2000, "operator")), Some(5002), None)
        },
    ]
}

#[tokio::test]
async fn the_figures_of_a_week_match_the_history() {
    let t = spawn_app().await;
    build(&t, &history()).await;
    let db = t.app.db.get().await.unwrap();
    let f = stats::figures(&*db, Period { days: 7 }, Utc::now(), t.app.config.desk_tz).await.unwrap();
    assert_eq!((f.waiting, f.assigned, f.opened), (1, 1, 7));
    assert!((595.0..700.0).contains(&f.oldest_wait_s.unwrap()), "{:?}", f.oldest_wait_s);
    let closed: Vec<(&str, i64)> = f.closed.iter().map(|(r, n)| (r.as_str(), *n)).collect();
    assert_eq!(closed, [("expired", 1), ("operator", 3), ("supervisor", 1)]);
    // Waits for a claim: 60, 60, 60, 180, 300 s, and the unclaimed: 600 s so far and 3600 s until it expired.
    // Waits for a reply: 90, 120, 240, 600 s, and the unanswered: 300 and 600 s so far, 3600 s until expired.
    // Closes after 600, 1200, 1800, 2000, 3600 s. (The tickets still open add the few ms the test takes.)
    let near = |got: Option<f64>, want: f64| got.is_some_and(|g| (g - want).abs() < 1.0);
    assert!(near(f.claim_median_s, 180.0) && near(f.claim_p90_s, 1800.0), "{f:?}");
    assert!(near(f.reply_median_s, 300.0) && near(f.reply_p90_s, 1800.0), "{f:?}");
    assert_eq!((f.unclaimed, f.unanswered), (2, 3));
    assert!(near(f.close_median_s, 1800.0), "{f:?}");
    assert!(near(f.rating_avg, 4.0) && f.rating_count == 3, "{f:?}");
    type Row<'a> = (&'a str, i64, Option<f64>, Option<f64>, i64);
    let operators: Vec<Row> =
        f.operators.iter().map(|o| (o.handle.as_str(), o.closed, o.reply_median_s, o.rating_avg, o.ratings)).collect();
    // @ivan's first reply on the ticket handed to him is his own, 300 s after his claim, not @olga's 30 s.
    assert_eq!(operators, [("@olga", 2, Some(60.0), Some(4.0), 2), ("@ivan", 2, Some(300.0), Some(4.0), 1)]);
    assert_eq!(f.buckets.len(), 7, "a bucket per day of the week, empty ones too");
    assert_eq!(f.buckets.iter().map(|b| b.opened).sum::<i64>(), 7);
    assert_eq!(f.buckets.iter().map(|b| b.closed).sum::<i64>(), 5);

    let month = stats::figures(&*db, Period { days: 30 }, Utc::now(), t.app.config.desk_tz).await.unwrap();
    assert_eq!((month.opened, month.buckets.len(), month.rating_count), (8, 30, 4));
    let today = stats::figures(&*db, Period { days: 1 }, Utc::now(), t.app.config.desk_tz).await.unwrap();
    assert!(today.buckets.len() <= 25 && !today.buckets.is_empty(), "hours of today: {}", today.buckets.len());
}

#[tokio::test]
async fn a_supervisor_gets_the_chart_then_the_figures() {
    let t = spawn_app().await;
    build(&t, &history()).await;
    let supervisor = TgUser::operator(9);
    t.make_supervisor(supervisor.id);
    t.send(updates::command(&supervisor, "/stats 7d")).await;
    let got = t.telegram.received(supervisor.id);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].method, "sendPhoto");
    let png = t.telegram.uploaded(supervisor.id, got[0].message_id).unwrap();
    if let Ok(path) = std::env::var("STATS_CHART_OUT") {
        std::fs::write(path, &png).unwrap(); // to look at it
    }
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().expect("a valid PNG");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).expect("its pixels decode");
    assert_eq!((frame.width, frame.height), (chart::WIDTH, chart::HEIGHT));
    assert!(pixels.chunks(3).any(|p| p != [255, 255, 255]), "something is drawn");

    let text = got[1].text.clone().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("📊 Статистика за 7 дней ("), "{text}");
    assert_eq!(
        &lines[2..7],
        [
            "За период: открыто 7, закрыто 5 (оператором 3, не дождались 1, руководителем 1).",
            "До взятия в работу: медиана 3 мин, 90% — быстрее 30 мин; не взяты: 2.",
            "До первого ответа оператора: медиана 5 мин, 90% — быстрее 30 мин; без ответа: 3.",
            "До закрытия: медиана 30 мин.",
            "Оценки клиентов: 4.0 из 5 (оценок: 3).",
        ]
    );
    assert!(lines[1].starts_with("Сейчас: в очереди 1 (дольше всех ждёт 10 мин"), "{}", lines[1]);
    assert!(lines[1].ends_with("в работе 1."), "{}", lines[1]);
    assert_eq!(&lines[8..], ["• @olga: 2, 1 мин, 4.0 (2)", "• @ivan: 2, 5 мин, 4.0 (1)"]);

    // In the operators' chat, for today, answered there.
    t.in_operators_chat(&supervisor, "/stats").await;
    let group = t.telegram.received(OPERATORS_CHAT_ID);
    let [photo, figures] = &group[group.len() - 2..] else { unreachable!() };
    assert_eq!(photo.method, "sendPhoto");
    assert!(figures.text.as_deref().unwrap().starts_with("📊 Статистика за сегодня"), "{figures:?}");
    t.send(updates::command(&supervisor, "/stats неделя")).await;
    assert_eq!(t.last(supervisor.id).text.as_deref(), Some(texts::STATS_USAGE));
}

#[tokio::test]
async fn stats_are_refused_to_operators_and_customers() {
    let t = spawn_app().await;
    let operator = TgUser::operator(1);
    t.make_operator(operator.id);
    let customer = TgUser::customer(1);
    for who in [&operator, &customer] {
        t.send(updates::command(who, "/stats 30d")).await;
        assert_eq!(t.last(who.id).text.as_deref(), Some(texts::ONLY_SUPERVISORS));
    }
    t.in_operators_chat(&operator, "/stats").await;
    assert_eq!(t.last(OPERATORS_CHAT_ID).text.as_deref(), Some(texts::ONLY_SUPERVISORS));
    assert!(t.telegram.calls_to("sendPhoto").is_empty());
}
