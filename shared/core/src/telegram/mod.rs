//! Telegram Bot API: types we read, requests we send, and the client that sends them.

mod client;
mod error;
pub mod requests;
pub mod types;

pub use client::{RetryPolicy, TelegramClient};
pub use error::TelegramError;
pub use requests::*;
pub use types::*;
