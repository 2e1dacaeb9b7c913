//! `ticket_cards`: every card a ticket has had in the operators' chat, and whether it still invites a claim. The
//! customer's place in the queue (with «Отменить обращение») is kept there too, in the customer's chat: it is
//! settled with the cards, its button removed instead of its text edited.

use super::Sql;

const SETTLE: &str = "UPDATE ticket_cards SET settled_at = now() WHERE ticket_id = $1 AND settled_at IS NULL \
     RETURNING chat_id, message_id";
const ADD_SETTLED: &str = "INSERT INTO ticket_cards (chat_id, message_id, ticket_id, settled_at) \
     VALUES ($1, $2, $3, now()) \
     ON CONFLICT (chat_id, message_id) DO UPDATE SET settled_at = coalesce(ticket_cards.settled_at, now())";

/// Marks every card of ticket `ticket_id` that still invites a claim as settled; returns them (chat, message), to
/// be edited in the same transaction.
pub(crate) async fn settle(db: &impl Sql, ticket_id: i64) -> Result<Vec<(i64, i64)>, tokio_postgres::Error> {
    let rows = db.query(SETTLE, &[&ticket_id]).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Records a card of ticket `ticket_id` seen in a button press (its `sent` mark may not have recorded it yet), as
/// settled.
pub(crate) async fn add_settled(
    db: &impl Sql,
    (chat_id, message_id): (i64, i64),
    ticket_id: i64,
) -> Result<(), tokio_postgres::Error> {
    db.execute(ADD_SETTLED, &[&chat_id, &message_id, &ticket_id]).await?;
    Ok(())
}

const SETTLE_ONE: &str = "INSERT INTO ticket_cards (chat_id, message_id, ticket_id, settled_at) \
     VALUES ($1, $2, $3, now()) \
     ON CONFLICT (chat_id, message_id) DO UPDATE SET settled_at = now() WHERE ticket_cards.settled_at IS NULL \
     RETURNING true";
/// Settles one message of ticket `ticket_id` seen in a button press (recording it if its `sent` mark did not yet);
/// false when it was settled already (its button was removed, or is being removed, by whoever settled it).
pub(crate) async fn settle_one(
    db: &impl Sql,
    (chat_id, message_id): (i64, i64),
    ticket_id: i64,
) -> Result<bool, tokio_postgres::Error> {
    Ok(db.query_opt(SETTLE_ONE, &[&chat_id, &message_id, &ticket_id]).await?.is_some())
}

const SETTLED: &str =
    "SELECT settled_at IS NOT NULL FROM ticket_cards WHERE chat_id = $1 AND message_id = $2 AND ticket_id = $3";
/// Whether a card of ticket `ticket_id` stopped inviting a claim (it was taken, handed over or closed since);
/// `None` for a card not recorded (yet): its `sent` mark may still be on its way.
pub(crate) async fn is_settled(
    db: &impl Sql,
    (chat_id, message_id): (i64, i64),
    ticket_id: i64,
) -> Result<Option<bool>, tokio_postgres::Error> {
    let row = db.query_opt(SETTLED, &[&chat_id, &message_id, &ticket_id]).await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// The statements every pooled connection prepares when it opens (see `db::prepare_statements`).
pub(super) const PREPARED: &[&str] = &[SETTLE, ADD_SETTLED, SETTLE_ONE, SETTLED];
