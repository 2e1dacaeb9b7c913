//! The sandbox page in real browsers: headless Chromium through chromedriver and headless Firefox through
//! geckodriver (both started by `infra/with-test-services.sh`), two windows as two operators, through the seed's
//! checklist by clicks alone. A failing step leaves a screenshot of each window and says where.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use zabota_local::sandbox;
use zabota_testkit::TestDb;

/// A 4×4 PNG, attached from the page as the customer's photo.
const PHOTO: [u8; 73] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x02, 0x00, 0x00, 0x00, 0x26, 0x93, 0x09, 0x29, 0x00, 0x00, 0x00, 0x10, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x78, 0xe0, 0x60, 0x00, 0x47, 0x0c, 0xc4, 0x71, 0x00, 0x2d, 0x52, 0x15, 0x01,
    0x89, 0xfc, 0x15, 0x2d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];
const WAIT: Duration = Duration::from_secs(20);
const CUSTOMER: &str = "//section[@id='customer-pane']";
const GROUP: &str = "//section[@id='group-pane']";

#[derive(Clone, Copy, Debug)]
enum Engine {
    Chromium,
    Firefox,
}

impl Engine {
    /// The two WebDriver servers for the two windows (chromedriver serves both; geckodriver one session each), or
    /// a failure that says how to get them (never a skip).
    fn webdrivers(self) -> [String; 2] {
        let (var, error, how) = match self {
            Engine::Chromium => (
                "TEST_WEBDRIVER_URL",
                "TEST_WEBDRIVER_ERROR",
                "starts chromedriver (installing Debian's chromium and chromium-driver when missing), or start one \
                 yourself and set TEST_WEBDRIVER_URL=http://127.0.0.1:PORT",
            ),
            Engine::Firefox => (
                "TEST_FIREFOX_WEBDRIVER_URLS",
                "TEST_FIREFOX_ERROR",
                "starts two geckodrivers (installing Debian's firefox-esr and `cargo install geckodriver` when \
                 missing), or start two yourself and set TEST_FIREFOX_WEBDRIVER_URLS='http://127.0.0.1:P1 \
                 http://127.0.0.1:P2'",
            ),
        };
        let urls: Vec<String> = std::env::var(var).unwrap_or_default().split_whitespace().map(str::to_owned).collect();
        match urls.as_slice() {
            [one] => [one.clone(), one.clone()],
            [one, two, ..] => [one.clone(), two.clone()],
            [] => panic!(
                "no WebDriver server for the {self:?} test ({}). Run the tests through `make test` or \
                 infra/with-test-services.sh, which {how}",
                std::env::var(error).unwrap_or_else(|_| format!("{var} is not set"))
            ),
        }
    }

    /// A headless window of its own (a session: its own cookies and page state).
    async fn window(self, webdriver: &str) -> Client {
        let capabilities = match self {
            Engine::Chromium => json!({
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                             "--window-size=1440,900", "--lang=ru-RU"],
                },
            }),
            Engine::Firefox => json!({
                "browserName": "firefox",
                "moz:firefoxOptions": {
                    "args": ["-headless", "-width", "1440", "-height", "900"],
                    "prefs": { "intl.accept_languages": "ru-RU" },
                },
            }),
        };
        let capabilities = capabilities.as_object().cloned().unwrap_or_default();
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector).capabilities(capabilities).connect(webdriver).await.unwrap_or_else(|e| {
            panic!(
                "{self:?} did not start through the WebDriver server at {webdriver}: {e}. Is the browser installed \
                 (Debian's chromium or firefox-esr), and does its driver match its version?"
            )
        })
    }
}

/// Waits until `xpath` matches (the last match: the newest message's button, say) and returns it.
async fn find(client: &Client, xpath: &str) -> anyhow::Result<Element> {
    let last = format!("({xpath})[last()]");
    client
        .wait()
        .at_most(WAIT)
        .every(Duration::from_millis(100))
        .for_element(Locator::XPath(&last))
        .await
        .with_context(|| format!("nothing on the page matches {xpath}"))
}

/// The button labelled `label` in `pane` (the newest one), once it is there.
async fn button(client: &Client, pane: &str, label: &str) -> anyhow::Result<Element> {
    find(client, &format!("{pane}//button[normalize-space()='{label}']")).await
}

async fn click(client: &Client, pane: &str, label: &str) -> anyhow::Result<()> {
    button(client, pane, label).await?.click().await.with_context(|| format!("clicking «{label}»"))
}

/// Waits until a message in `pane` says `text` (in part).
async fn sees(client: &Client, pane: &str, text: &str) -> anyhow::Result<()> {
    find(client, &format!("{pane}//div[contains(@class,'messages')]//div[contains(., '{text}')]")).await.map(|_| ())
}

/// Types `text` into `pane`'s composer and presses its send button.
async fn say(client: &Client, pane: &str, text: &str) -> anyhow::Result<()> {
    let input = find(client, &format!("{pane}//div[@class='composer']//input[@type='text']")).await?;
    input.send_keys(text).await?;
    find(client, &format!("{pane}//button[contains(@class,'send')]")).await?.click().await?;
    Ok(())
}

/// Polls `script` (which returns a boolean) until it is true.
async fn until_true(client: &Client, what: &str, script: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if client.execute(script, vec![]).await?.as_bool() == Some(true) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{what}: still not so after {WAIT:?}")
}

async fn checklist(running: &sandbox::Running, olga: &Client, dmitry: &Client) -> anyhow::Result<()> {
    let page = running.url();
    olga.goto(&page).await?;
    dmitry.goto(&format!("{page}?as=7002")).await?;
    for window in [olga, dmitry] {
        find(window, "//body[@data-ready='true']").await?;
        find(window, "//*[contains(., 'ничего не уходит в Telegram')]").await?;
    }

    // The customer: /start, Гарантия, Обратиться к оператору, shares the contact from the reply keyboard.
    say(olga, CUSTOMER, "/start").await?;
    click(olga, CUSTOMER, "Гарантия").await?;
    click(olga, CUSTOMER, "Обратиться к оператору").await?;
    click(olga, CUSTOMER, "📱 Отправить мой номер").await?;
    sees(olga, CUSTOMER, "+7 916 555-10-01").await?;

    // The card reaches the group in both windows; both operators press «Взять в работу» at once.
    let (first, second) =
        tokio::try_join!(button(olga, GROUP, "Взять в работу"), button(dmitry, GROUP, "Взять в работу"))?;
    let (a, b) = tokio::join!(first.click(), second.click());
    // A click that lands after the other press re-drew the card finds its button gone ("stale element"): no
    // second press, which the checks below allow for.
    let pressed = |result: Result<(), fantoccini::error::CmdError>, who: &str| match result {
        Err(e) if e.to_string().contains("stale element") => {
            eprintln!("{who}'s click came after the card was re-drawn: no second press");
            Ok(())
        }
        other => other.with_context(|| format!("{who}'s press")),
    };
    pressed(a, "Ольга")?;
    pressed(b, "Дмитрий")?;
    // The loser is told at once, in a toast that goes away after a few seconds: look for it in both windows now.
    // On a loaded machine one click can land after the first press took the card and its button went: then
    // there was no second press (nothing to be told), which the desk's answers show.
    let toast = "//div[@id='toasts']//*[contains(., 'уже взял другой оператор')]";
    let told_olga = tokio::select! {
        found = find(olga, toast) => found.map(|_| Some(true)),
        found = find(dmitry, toast) => found.map(|_| Some(false)),
    };
    let told_olga = match told_olga {
        Ok(told) => told,
        Err(error) => {
            let taken = running.sandbox.telegram.callback_answers();
            let loser_answered = taken.iter().any(|a| a.text.as_deref().is_some_and(|t| t.contains("уже взял")));
            anyhow::ensure!(!loser_answered, "the loser was answered but never saw it: {error:#}");
            eprintln!("the second click came after the card was taken: no race this time");
            None
        }
    };

    // Exactly one won: one operator's chat has the dialog, the other's stays empty and was told why.
    until_true(
        olga,
        "the card loses its button",
        "return ![...document.querySelectorAll('#group-pane button')]\
        .some(b => b.textContent.trim() === 'Взять в работу')",
    )
    .await?;
    let telegram = &running.sandbox.telegram;
    let deadline = Instant::now() + WAIT;
    let (olga_won, dmitry_won) = loop {
        let won = (!telegram.received(7001).is_empty(), !telegram.received(7002).is_empty());
        if won.0 || won.1 || Instant::now() > deadline {
            break won;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    anyhow::ensure!(
        olga_won != dmitry_won,
        "exactly one operator gets the dialog (Ольга {olga_won}, Дмитрий {dmitry_won})"
    );
    let (winner, winner_pane, loser_id) = if olga_won {
        (olga, "//section[@id='operator-pane-1']", 7002)
    } else {
        (dmitry, "//section[@id='operator-pane-2']", 7001)
    };
    anyhow::ensure!(
        told_olga != Some(olga_won),
        "the toast went to the loser (Ольга told: {told_olga:?}, won: {olga_won})"
    );
    sees(winner, winner_pane, "+7 916 555-10-01").await?;
    anyhow::ensure!(telegram.received(loser_id).is_empty(), "the loser's chat stays empty");

    // The dialog, both ways, a photo attached from the page included.
    say(olga, CUSTOMER, "Чайник не включается").await?;
    sees(winner, winner_pane, "Чайник не включается").await?;
    say(winner, winner_pane, "Пришлите, пожалуйста, фото наклейки").await?;
    sees(olga, CUSTOMER, "Пришлите, пожалуйста, фото наклейки").await?;
    let path = std::env::temp_dir().join(format!("zabota-sandbox-photo-{}.png", std::process::id()));
    std::fs::write(&path, PHOTO)?;
    let file_input = find(olga, &format!("{CUSTOMER}//input[@type='file']")).await?;
    file_input.send_keys(&path.to_string_lossy()).await.context("attaching the photo")?;
    let pane_css = if olga_won { "#operator-pane-1" } else { "#operator-pane-2" };
    until_true(
        winner,
        "the photo shows in the operator's chat",
        &format!("return [...document.querySelectorAll('{pane_css} .messages img')].some(i => i.complete && i.naturalWidth === 4)"),
    )
    .await?;
    let _ = std::fs::remove_file(&path);

    // «Завершить диалог»: the customer sees «Оператор отключился» with «В начало».
    click(winner, winner_pane, "Завершить диалог").await?;
    sees(olga, CUSTOMER, "Оператор отключился").await?;
    button(olga, CUSTOMER, "В начало").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_seed_checklist_by_clicks_in_chromium() {
    play_the_checklist(Engine::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_seed_checklist_by_clicks_in_firefox() {
    play_the_checklist(Engine::Firefox).await;
}

async fn play_the_checklist(engine: Engine) {
    let [first, second] = engine.webdrivers();
    let db = TestDb::ending_in("_sandbox").await;
    let url = db.url.clone();
    let env = move |name: &str| matches!(name, "DATABASE_URL" | "SANDBOX_DATABASE_URL").then(|| url.clone());
    let running = sandbox::start(env, "127.0.0.1:0".parse().unwrap()).await.expect("the sandbox starts");
    let olga = engine.window(&first).await;
    let dmitry = engine.window(&second).await;

    let result = checklist(&running, &olga, &dmitry).await;
    if let Err(error) = &result {
        let folder = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let mut shots = Vec::new();
        for (name, window) in [("olga", &olga), ("dmitry", &dmitry)] {
            if let Ok(png) = window.screenshot().await {
                let path = folder.join(format!("sandbox-browser-failure-{engine:?}-{name}.png"));
                if std::fs::write(&path, png).is_ok() {
                    shots.push(path.display().to_string());
                }
            }
        }
        let _ = olga.clone().close().await;
        let _ = dmitry.clone().close().await;
        panic!("{engine:?}: {error:#}\nscreenshots: {}", shots.join(", "));
    }
    olga.close().await.unwrap();
    dmitry.close().await.unwrap();
}
