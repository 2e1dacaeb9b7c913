//! Zabota test harness (dev only): the Bot API emulator (`zabota-botapi`) on loopback, a fresh PostgreSQL database
//! per test, `spawn_app()` that wires a real `App` to both, and the desk's verbs on it (`TestApp::open_dialog`).

pub mod app;
pub mod aws;
pub mod cluster;
pub mod desk;
pub mod lambda;
pub mod pg;
pub mod shipped;
pub mod storm;

pub use app::{
    MediaFolder, OPERATORS_CHAT_ID, TIME_SCALE, TestApp, WEBHOOK_SECRET, enforce, lift_limits, scaled_limits,
    spawn_app, spawn_app_on, spawn_app_with, spawn_app_with_media_folder, spawn_app_without_limits,
};
pub use aws::{aws_endpoint, create_bucket, s3_client, s3_media_store};
pub use cluster::Cluster;
pub use desk::{Dialog, PHONE, claim_press};
pub use lambda::{FunctionProcess, InvocationError, LambdaRuntimeEmulator};
pub use pg::{TestDb, hold_lock};
/// The Bot API emulator, now the product crate `zabota-botapi` (the sandbox runs on it too).
pub use zabota_botapi as emulator;
pub use zabota_botapi::updates::{self, TgUser};
pub use zabota_botapi::*;
