//! Statements are prepared by the pool: every connection prepares, as it opens, each statement that an update,
//! the outbox or the archive pipelines, so none of them is prepared on first use (where a statement still to be
//! prepared would be overtaken by those sent after it, and could even run after the COMMIT sent with it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use zabota_core::db;
use zabota_core::domain::Topic;
use zabota_core::texts;
use zabota_testkit::{TestApp, spawn_app, updates};

/// The statement cache of every connection in `t`'s pool, taken all at once so each is looked at.
async fn cache_sizes(t: &TestApp) -> Vec<usize> {
    let open = t.app.db.status().size;
    let mut held = Vec::new();
    for _ in 0..open {
        held.push(t.app.db.get().await.unwrap());
    }
    held.iter().map(|c| c.statement_cache.size()).collect()
}

#[tokio::test]
async fn a_whole_dialog_prepares_nothing_beyond_what_the_pool_prepared() {
    let t = spawn_app().await;
    let dialog = t.open_dialog(1, Topic::Return).await;
    t.send(updates::private_text(&dialog.customer, "Здравствуйте")).await;
    t.send(updates::private_text(&dialog.operator, "Добрый день")).await;
    // A redelivery stops at the update's record; the close ends the dialog.
    t.redeliver().await;
    t.press(&dialog.operator, &format!("close:{}", dialog.ticket)).await;
    assert_eq!(t.telegram.texts(dialog.customer.id).iter().rev().nth(1).unwrap(), texts::OPERATOR_DISCONNECTED);
    // The customer rates it, and comments.
    t.press(&dialog.customer, &format!("rate:{}:5", dialog.ticket)).await;
    t.send(updates::private_text(&dialog.customer, "Спасибо!")).await;
    assert_eq!(t.last(dialog.customer.id).text.as_deref(), Some(texts::COMMENT_THANKS));

    let sizes = cache_sizes(&t).await;
    assert!(!sizes.is_empty(), "the dialog used pooled connections");
    // Had the path prepared anything itself, a cache would hold more than the pool prepared.
    for size in sizes {
        assert_eq!(size, db::prepared_count(), "statements in a connection's cache");
    }
}
