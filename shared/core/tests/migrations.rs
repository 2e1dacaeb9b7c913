//! The migration runner and the schema's guarantees, against a real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure with its message

use zabota_core::db;
use zabota_testkit::TestDb;

fn migration_files() -> i64 {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations");
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".sql"))
        .count() as i64
}

#[tokio::test]
async fn migrating_an_up_to_date_database_is_a_no_op() {
    let test_db = TestDb::new().await; // already migrated once
    let mut client = test_db.client().await;
    assert!(db::migrate(&mut client).await.unwrap().is_empty());
    assert_eq!(test_db.count("refinery_schema_history").await, migration_files());
}

#[tokio::test]
async fn two_runners_at_once_on_a_fresh_database_do_not_clash() {
    let test_db = TestDb::new().await;
    let client = test_db.client().await;
    client.batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public").await.unwrap();
    let (mut a, mut b) = (test_db.client().await, test_db.client().await);
    let (ra, rb) = tokio::join!(db::migrate(&mut a), db::migrate(&mut b));
    let applied = (ra.unwrap().len() + rb.unwrap().len()) as i64;
    assert_eq!(applied, migration_files(), "each migration is applied exactly once, by one of the runners");
    assert_eq!(test_db.count("refinery_schema_history").await, migration_files());
    assert_eq!(test_db.count("pg_tables WHERE tablename = 'tickets'").await, 1);
}

async fn user(client: &tokio_postgres::Client, tg_id: i64) -> i64 {
    client.query_one("INSERT INTO users (tg_id) VALUES ($1) RETURNING id", &[&tg_id]).await.unwrap().get(0)
}

#[tokio::test]
async fn a_customer_can_have_only_one_open_ticket() {
    let test_db = TestDb::new().await;
    let client = test_db.client().await;
    let id = user(&client, 1001).await;
    let insert = "INSERT INTO tickets (user_id, topic, phone) VALUES ($1, 'warranty', '+79161234567')";
    client.execute(insert, &[&id]).await.unwrap();
    let second = client.execute(insert, &[&id]).await.unwrap_err();
    assert!(
        second.to_string().contains("ux_tickets_user_open") || format!("{second:?}").contains("ux_tickets_user_open")
    );
    client.execute("UPDATE tickets SET status = 'CLOSED', closed_at = now()", &[]).await.unwrap();
    client.execute(insert, &[&id]).await.unwrap();
}

#[tokio::test]
async fn an_operator_can_hold_only_one_assigned_ticket() {
    let test_db = TestDb::new().await;
    let client = test_db.client().await;
    for tg in [1001, 1002] {
        let id = user(&client, tg).await;
        client
            .execute("INSERT INTO tickets (user_id, topic, phone) VALUES ($1, 'return', '+79161234567')", &[&id])
            .await
            .unwrap();
    }
    let claim = "UPDATE tickets SET status = 'ASSIGNED', operator_tg_id = 5001, assigned_at = now() \
                 WHERE id = (SELECT min(id) FROM tickets WHERE status = 'WAITING')";
    assert_eq!(client.execute(claim, &[]).await.unwrap(), 1);
    let err = client.execute(claim, &[]).await.unwrap_err();
    assert!(format!("{err:?}").contains("ux_tickets_operator_assigned"), "{err:?}");
}

#[tokio::test]
async fn the_seed_tables_and_history_index_exist() {
    let test_db = TestDb::new().await;
    for table in ["users", "tickets", "ticket_messages", "message_attachments", "processed_updates", "outbox"] {
        assert_eq!(test_db.count(&format!("pg_tables WHERE tablename = '{table}'")).await, 1, "{table}");
    }
    assert_eq!(test_db.count("pg_indexes WHERE indexname = 'ix_ticket_messages_ticket_created'").await, 1);
}
