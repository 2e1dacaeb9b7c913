//! Zabota core: everything that is not a process shell. Configuration, Bot API client, database,
//! update processing and the webhook logic shared by the Lambda functions and the local `zabota` binary.

pub mod app;
pub mod bot;
pub mod config;
pub mod db;
pub mod deadline;
pub mod desk;
pub mod domain;
pub mod history;
pub mod maintenance;
pub mod media;
pub mod metrics;
pub mod outbox;
pub mod secrets;
pub mod stats;
pub mod telegram;
pub mod telemetry;
pub mod texts;
pub mod webhook;

pub use app::App;
pub use config::Config;
