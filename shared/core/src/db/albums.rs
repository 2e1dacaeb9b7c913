//! Albums in the outbox: each part joins its album's one pending copyMessages call, the call is closed to further
//! parts when it is sent, and its answer records where each part landed.

use super::outbox::{Pending, write};
use super::{Params, Sql, Tx};
use crate::outbox::Call;

/// Where each part of an album landed, in order (`$3` the parts' ids in their chat `$1`, `$4` their copies' in
/// `$2`). Rows an update holds are skipped, as for a single copy.
const SET_ALBUM_DELIVERED: &str = "UPDATE ticket_messages m SET delivered_chat_id = $2, delivered_message_id = r.copy \
    FROM unnest($3::bigint[], $4::bigint[]) AS r(part, copy) \
    WHERE m.id IN (SELECT id FROM ticket_messages WHERE source_chat_id = $1 AND source_message_id = ANY($3) \
      FOR NO KEY UPDATE SKIP LOCKED) AND m.source_message_id = r.part";
/// A part of an album joins its pending copyMessages call to chat `$1` (or starts one): the ids stay in ascending
/// order, and the call waits `$5` seconds after this part, at most `$6` after the first.
const ALBUM_PART: &str = "INSERT INTO outbox (chat_id, method, params, on_result, group_key, not_before) \
    VALUES ($1, 'copyMessages', jsonb_build_object('chat_id', $1::bigint, 'from_chat_id', $2::bigint, \
      'message_ids', jsonb_build_array($3::bigint)), '{\"kind\": \"album\"}'::jsonb, $4, \
      clock_timestamp() + make_interval(secs => $5)) \
    ON CONFLICT (chat_id, group_key) WHERE status = 'pending' AND group_key IS NOT NULL DO UPDATE SET \
      params = jsonb_set(outbox.params, '{message_ids}', (SELECT jsonb_agg(DISTINCT part ORDER BY part) FROM ( \
        SELECT jsonb_array_elements(outbox.params -> 'message_ids') AS part UNION SELECT to_jsonb($3::bigint)) parts)), \
      not_before = least(greatest(outbox.not_before, clock_timestamp() + make_interval(secs => $5)), \
        outbox.created_at + make_interval(secs => $6)) \
    RETURNING greatest(extract(epoch FROM not_before - clock_timestamp()), 0)::float8";
/// An album about to be sent stops taking parts (a later one starts an album of its own), and is sent with the
/// parts it has now. Skipped while a part's transaction holds it.
const CLOSE_ALBUM: &str = "UPDATE outbox SET group_key = NULL WHERE id = \
    (SELECT id FROM outbox WHERE id = $1 AND status = 'pending' FOR UPDATE SKIP LOCKED) RETURNING params";

/// A part `message_id` (in `from`) of album `group` joins its copy to `to`; returns how long until the album goes
/// out, by the database's clock: `wait` after this part, at most `max_wait` after its first.
pub(crate) async fn add_album_part(
    db: &impl Sql,
    (to, from, message_id): (i64, i64, i64),
    group: &str,
    wait: std::time::Duration,
    max_wait: std::time::Duration,
) -> Result<std::time::Duration, tokio_postgres::Error> {
    let params: Params<'_> = &[&to, &from, &message_id, &group, &wait.as_secs_f64(), &max_wait.as_secs_f64()];
    let left: f64 = db.query_one(ALBUM_PART, params).await?.try_get(0)?;
    Ok(std::time::Duration::try_from_secs_f64(left).unwrap_or_default())
}

/// `pending` as it is to be sent: an album (copyMessages) is closed to further parts first, with the parts it has
/// now. `None` when a part is joining it at this moment (it is sent once that part's wait is over).
pub(crate) async fn close_album(tx: &Tx, mut pending: Pending) -> Result<Option<Pending>, tokio_postgres::Error> {
    if pending.method != "copyMessages" {
        return Ok(Some(pending));
    }
    let Some(row) = tx.query_opt(CLOSE_ALBUM, &[&pending.id]).await? else { return Ok(None) };
    pending.params = row.try_get(0)?;
    Ok(Some(pending))
}

/// Records where each part of an album `params` sent to `chat_id` landed (`result`, copyMessages' answer).
pub(super) async fn record(
    client: &deadpool_postgres::ClientWrapper,
    params: &serde_json::Value,
    chat_id: i64,
    result: &serde_json::Value,
) -> Result<u64, tokio_postgres::Error> {
    let parts = id_list(params.get("message_ids"));
    let copies = id_list(Some(result));
    let from = params.get("from_chat_id").and_then(serde_json::Value::as_i64).unwrap_or(0);
    // copyMessages skips a part it cannot copy and does not say which: when some are missing, every
    // part counts as delivered, to a copy we do not know (message id 0), so none is replayed twice and
    // no reply, edit or reaction lands on the wrong photo.
    let copies = if copies.len() == parts.len() {
        copies
    } else {
        tracing::warn!(parts = parts.len(), copied = copies.len(), "album copied in part");
        // Its sender is told how many parts did not arrive (sent with their chat's next flush).
        let missing = parts.len() - copies.len();
        let notice = crate::telegram::SendMessage::new(from, crate::texts::album_parts_lost(missing, parts.len()));
        let call = Call::new(from, "sendMessage", &notice, None).map_err(|_| ());
        if let Ok(call) = call {
            write(client, &[call]).await?;
        }
        vec![0; parts.len()]
    };
    let values: Params<'_> = &[&from, &chat_id, &parts, &copies];
    Sql::execute(client, SET_ALBUM_DELIVERED, values).await
}

/// The ids of a JSON list of ids or of `{"message_id": …}` objects (copyMessages' answer).
fn id_list(value: Option<&serde_json::Value>) -> Vec<i64> {
    let items = value.and_then(serde_json::Value::as_array).map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .filter_map(|v| v.as_i64().or_else(|| v.get("message_id").and_then(serde_json::Value::as_i64)))
        .collect()
}

/// The statements every pooled connection prepares when it opens (see `db::prepare_statements`).
pub(super) const PREPARED: &[&str] = &[SET_ALBUM_DELIVERED, ALBUM_PART, CLOSE_ALBUM];
