//! `zabota`: the whole bot on one machine — poll | serve | sandbox | migrate | maintain | export | set-webhook |
//! delete-webhook.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use zabota_core::config::{DatabaseConfig, LogFormat};
use zabota_core::telegram::{SetWebhook, allowed_updates};
use zabota_core::{App, Config, db, maintenance, telemetry};
use zabota_local::{poll, serve, shutdown_signal, spawn_background};

#[derive(Parser)]
#[command(name = "zabota", version, about = "Zabota («Служба Заботы»): Telegram support desk, run locally")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending database migrations.
    Migrate,
    /// Try the desk without Telegram: the real bot on a built-in Bot API server, with a web page showing a
    /// customer, the operators' group and two operators. Uses a database of its own beside DATABASE_URL.
    Sandbox {
        /// Address of the page (loopback by default: the page has no login).
        #[arg(long, default_value = "127.0.0.1:8080", env = "SANDBOX_LISTEN")]
        listen: SocketAddr,
    },
    /// Write tickets opened in a period as JSON Lines (one ticket per line, with its messages, edits, files'
    /// archive keys and rating) to stdout, streamed: for compliance requests and analytics.
    Export {
        /// From this day (YYYY-MM-DD, midnight UTC) or instant (RFC 3339), inclusive.
        #[arg(long, value_parser = zabota_local::export::parse_time)]
        since: chrono::DateTime<chrono::Utc>,
        /// Up to this day or instant, exclusive (default: now).
        #[arg(long, value_parser = zabota_local::export::parse_time)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        /// Only this ticket (if it was opened in the period).
        #[arg(long)]
        ticket: Option<i64>,
    },
    /// Check a desk file (topics, templates, texts): every problem with its line; exits non-zero on any. Without
    /// FILE, the one DESK_CONFIG names, else the built-in desk.toml.
    CheckDesk {
        /// The desk file to check: a path, or s3://bucket/key.
        file: Option<std::path::PathBuf>,
    },
    #[command(flatten)]
    App(AppCommand),
}

/// The commands that run the bot (or talk to Telegram as it), so they need the whole configuration; `migrate`
/// needs only the database settings.
#[derive(Subcommand)]
enum AppCommand {
    /// Run the bot with long polling, plus the maintenance jobs every few minutes.
    Poll,
    /// Run an HTTP webhook endpoint (POST / or /webhook), plus the maintenance jobs.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "LISTEN_ADDR")]
        listen: SocketAddr,
    },
    /// Run the maintenance jobs once and print what each did.
    Maintain,
    /// Point Telegram at a webhook URL, with WEBHOOK_SECRET as the secret token.
    SetWebhook {
        /// Public HTTPS URL of the webhook (the Lambda Function URL, or your server).
        url: String,
        /// Drop updates Telegram has queued so far.
        #[arg(long)]
        drop_pending: bool,
        /// Concurrent connections Telegram may open (1-100); the default is the template's WebhookConcurrency
        /// default, so Telegram never opens more connections than the webhook function may run at once.
        #[arg(long, default_value_t = 20)]
        max_connections: u32,
    },
    /// Register the command menus (customers', the operators' chat's, supervisors') with Telegram now, in every
    /// language of the desk file. The maintenance jobs also do it whenever they change.
    SetCommands,
    /// Remove the webhook (needed before `poll`).
    DeleteWebhook {
        /// Drop updates Telegram has queued so far.
        #[arg(long)]
        drop_pending: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    // .env first: the options that read the environment (SANDBOX_LISTEN, LISTEN_ADDR) see it too.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("error: .env cannot be read: {e}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Migrate => migrate().await,
        Command::Export { since, until, ticket } => zabota_local::export::run(since, until, ticket).await,
        Command::CheckDesk { file } => return check_desk(file).await,
        Command::Sandbox { listen } => {
            // The desk's own lines, not every maintenance run (each 15 s here); RUST_LOG=info shows everything.
            telemetry::init_with_default(LogFormat::Pretty, "warn,zabota_local=info");
            sandbox(listen).await
        }
        Command::App(command) => match Config::from_env() {
            Ok(config) => {
                telemetry::init(config.log_format);
                run(command, config).await
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "zabota failed");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `zabota check-desk [FILE]`: 0 when the file is valid, 1 with every problem on stderr, 2 when `DESK_CONFIG` is
/// not a place a desk file can be.
async fn check_desk(file: Option<std::path::PathBuf>) -> ExitCode {
    use zabota_core::desk::DeskSource;
    let env = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    // FILE may be an S3 object too: checking the uploaded file before the deploy that reads it.
    let named = file.map(|f| f.to_string_lossy().into_owned()).or_else(|| env("DESK_CONFIG"));
    let source = match DeskSource::parse(named.as_deref(), env("S3_ENDPOINT").as_deref()) {
        Ok(source) => source,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match source.load().await {
        Ok(desk) => {
            println!(
                "{}: valid ({} topics; languages: {})",
                source.name(),
                desk.topics().len(),
                desk.languages().join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Needs only the database settings, so deploy steps can run it without the bot token.
async fn migrate() -> anyhow::Result<()> {
    let config = DatabaseConfig::from_env()?;
    let mut client = db::connect(&config).await.context("connecting to the database")?;
    let applied = db::migrate(&mut client).await?;
    if applied.is_empty() {
        println!("database is up to date");
    } else {
        println!("applied: {}", applied.join(", "));
    }
    Ok(())
}

/// Runs the sandbox until Ctrl-C.
async fn sandbox(listen: SocketAddr) -> anyhow::Result<()> {
    let env = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let running = zabota_local::sandbox::start(env, listen).await?;
    tracing::info!(url = running.url(), "sandbox is up");
    println!();
    println!("  Песочница «Службы Заботы»: {}", running.url());
    println!("  The real desk on a built-in Bot API server: nothing reaches Telegram. Ctrl-C stops it.");
    println!();
    shutdown_signal().await;
    Ok(())
}

async fn run(command: AppCommand, config: Config) -> anyhow::Result<()> {
    match command {
        AppCommand::Poll => {
            let mut app = App::new(config, 4).await?;
            // Updates come one after another, in order: the outbox loop sends albums, nothing waits for an update.
            app.concurrent_updates = false;
            let me = app.telegram.get_me().await.context("checking BOT_TOKEN with getMe")?;
            tracing::info!(bot = me.username.as_deref().unwrap_or_default(), "bot is up");
            let background = spawn_background(&app);
            poll::run(&app, shutdown_signal()).await;
            background.iter().for_each(|task| task.abort());
        }
        AppCommand::Serve { listen } => {
            anyhow::ensure!(
                config.webhook_secret.is_some(),
                "WEBHOOK_SECRET is not set: `serve` refuses every call without it (generate one with `openssl rand -hex 32`)"
            );
            let app = App::new(config, 16).await?;
            let background = spawn_background(&app);
            serve::run(app, listen, shutdown_signal()).await.context("webhook server")?;
            background.iter().for_each(|task| task.abort());
        }
        AppCommand::Maintain => {
            let app = App::new(config, 2).await?;
            let reports = maintenance::run_now(&app).await;
            println!("{}", serde_json::to_string_pretty(&reports)?);
            // The figures the maintenance Lambda writes as EMF: the desk's gauges, and what this run met.
            let client = app.db.get().await.context("reading the desk's gauges")?;
            let gauges = zabota_core::metrics::Gauges::read(&client).await?;
            print!("{}", gauges.prometheus());
            print!("{}", zabota_core::metrics::counters::Snapshot::now().prometheus());
            anyhow::ensure!(reports.iter().all(|r| r.error.is_none()), "some maintenance jobs failed");
        }
        AppCommand::SetWebhook { url, drop_pending, max_connections } => {
            set_webhook(config, url, drop_pending, max_connections).await?;
        }
        AppCommand::SetCommands => {
            let app = App::new(config, 1).await?;
            let calls = maintenance::keep_command_menus(&app, true).await.context("setMyCommands")?;
            println!("command menus registered ({calls} setMyCommands calls)");
        }
        AppCommand::DeleteWebhook { drop_pending } => {
            let app = App::new(config, 1).await?;
            app.telegram.delete_webhook(drop_pending).await.context("deleteWebhook")?;
            println!("webhook removed; `zabota poll` can run now");
        }
    }
    Ok(())
}

/// Registers `url` with Telegram, with WEBHOOK_SECRET as the secret token it must send with every update.
async fn set_webhook(config: Config, url: String, drop_pending: bool, max_connections: u32) -> anyhow::Result<()> {
    let secret = config
        .webhook_secret
        .as_ref()
        .context("WEBHOOK_SECRET is not set; Telegram must send it with every update")?
        .expose_secret()
        .to_owned();
    let app = App::new(config, 1).await?;
    let params = SetWebhook {
        url: url.clone(),
        secret_token: Some(secret),
        allowed_updates: allowed_updates(),
        max_connections: Some(max_connections),
        drop_pending_updates: drop_pending,
    };
    app.telegram.set_webhook(&params).await.context("setWebhook")?;
    println!("webhook set to {url}");
    Ok(())
}
