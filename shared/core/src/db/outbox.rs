//! `outbox`: the Bot API calls waiting to be made, per chat in order, with the chat's lock, the head of its queue,
//! and what is recorded when a call succeeds, fails or is cancelled. The sending itself is `crate::outbox`.

use super::{Params, Sql, Tx};
use crate::config::SendLimits;
use crate::outbox::{Call, MAX_AGE, OnResult};

const INSERT_CALLS: &str = "INSERT INTO outbox (chat_id, method, params, on_result, priority) \
    SELECT c, m, p, r, q FROM unnest($1::bigint[], $2::text[], $3::jsonb[], $4::jsonb[], $5::smallint[]) \
      WITH ORDINALITY AS v(c, m, p, r, q, n) \
    ORDER BY n";
const LOCK_CHAT: &str = "SELECT true FROM pg_advisory_xact_lock(hashtextextended('outbox:' || $1::bigint::text, 0))";
/// The head of a chat's queue: the next call and the one after it (to know whether more is waiting).
const HEAD: &str = "SELECT id, method, params, on_result, not_before <= now(), attempts, \
    created_at < now() - make_interval(secs => $2) \
    FROM outbox WHERE chat_id = $1 AND status = 'pending' ORDER BY priority, id LIMIT 2";
const MARK_SENT: &str = "UPDATE outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1 WHERE id = $1";
/// What a call delivered, stored with its `sent` mark. The rows are skipped, not waited for, when an update holds
/// them: nothing may make the `sent` mark wait for a lock (a lock timeout would roll it back and the call would
/// be made again).
const SET_DELIVERED: &str = "UPDATE ticket_messages SET delivered_chat_id = $2, delivered_message_id = $3 \
    WHERE id = (SELECT id FROM ticket_messages WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED)";
/// A card is also recorded among the ticket's cards (no lock to wait for: `ticket_cards` has no foreign key). One
/// whose ticket stopped waiting while it was on its way is left unsettled: the `stale_cards` job settles it.
const SET_CARD: &str = "WITH card AS (INSERT INTO ticket_cards (chat_id, message_id, ticket_id) VALUES ($2, $3, $1) \
      ON CONFLICT DO NOTHING) \
    UPDATE tickets SET card_chat_id = $2, card_message_id = $3 \
    WHERE id = (SELECT id FROM tickets WHERE id = $1 FOR UPDATE SKIP LOCKED)";

/// The customer's place in the queue joins the ticket's cards (it too loses its button when the ticket leaves the
/// queue).
const SET_PROMPT: &str =
    "INSERT INTO ticket_cards (chat_id, message_id, ticket_id) VALUES ($2, $3, $1) ON CONFLICT DO NOTHING";
/// Room for the head call in the flood budgets, taken in the round trip that locks the chat and reads its head.
const TAKE_HEAD: &str = "SELECT locked, outbox_id, weight, wait FROM take_head_slot($1, $2, $3, $4, $5, $6, $7)";
/// A call that must wait for room in a flood budget: not before then, and no attempt counted.
const PACE: &str = "UPDATE outbox SET not_before = greatest(not_before, clock_timestamp() + make_interval(secs => $2)) \
    WHERE id = $1 AND status = 'pending'";
const DEFER: &str = "UPDATE outbox SET attempts = attempts + 1, last_error = $2, \
    not_before = now() + make_interval(secs => $3) WHERE id = $1 AND status = 'pending'";
const GIVE_UP: &str = "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $2 \
    WHERE id = $1 AND status = 'pending'";
const FAIL_REST: &str =
    "UPDATE outbox SET status = 'failed', last_error = $2 WHERE chat_id = $1 AND status = 'pending'";
/// A 403 is remembered with the failed calls, so its handling (closing or requeueing tickets) cannot be lost.
const NOTE_BLOCKED: &str = "INSERT INTO blocked_chats (chat_id) VALUES ($1) \
    ON CONFLICT (chat_id) DO UPDATE SET blocked_at = now(), handled_at = NULL";
/// Copies of a ticket's customer messages still waiting for its operator; cancelled when the ticket is closed or
/// given back to the queue (they stay undelivered, so the next claim replays them).
const CANCEL_COPIES: &str = "UPDATE outbox o SET status = 'cancelled', last_error = $2 \
    FROM tickets t JOIN users u ON u.id = t.user_id \
    WHERE t.id = $1 AND o.chat_id = t.operator_tg_id AND o.status = 'pending' AND ( \
      (o.method = 'copyMessage' AND o.on_result ->> 'kind' = 'delivered' \
        AND (o.on_result ->> 'ticket_message_id')::bigint IN ( \
          SELECT id FROM ticket_messages WHERE ticket_id = $1 AND sender_type = 'USER')) \
      OR (o.method = 'copyMessages' AND o.on_result ->> 'kind' = 'album' \
        AND (o.params ->> 'from_chat_id')::bigint = u.tg_id))";

/// How a flusher takes a chat's lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChatLock {
    /// Waits for it (bounded by `lock_timeout`): a flusher of its own, after a commit.
    Wait,
    /// Takes it only if free: an update's transaction, which must not wait behind another flusher.
    Try,
}

/// Writes `calls` in the caller's transaction, in order, in one statement.
pub(crate) async fn write(db: &impl Sql, calls: &[Call]) -> Result<(), tokio_postgres::Error> {
    if calls.is_empty() {
        return Ok(());
    }
    let chats: Vec<i64> = calls.iter().map(|c| c.chat_id).collect();
    let methods: Vec<&str> = calls.iter().map(|c| c.method).collect();
    let params: Vec<&serde_json::Value> = calls.iter().map(|c| &c.params).collect();
    let results: Vec<Option<serde_json::Value>> =
        calls.iter().map(|c| c.on_result.and_then(|r| serde_json::to_value(r).ok())).collect();
    let priorities: Vec<i16> = calls.iter().map(|c| c.priority as i16).collect();
    db.execute(INSERT_CALLS, &[&chats, &methods, &params, &results, &priorities]).await?;
    Ok(())
}

/// Writes `calls` and commits `tx`, in one round trip.
pub(crate) async fn write_and_commit(tx: &Tx, calls: &[Call]) -> Result<(), tokio_postgres::Error> {
    tx.commit_after(async { write(tx.client(), calls).await }).await
}

/// Cancels the copies of ticket `ticket_id`'s customer messages still pending for its operator; returns how many.
/// Call it in the transaction that closes or requeues the ticket, before the operator is unset.
pub(crate) async fn cancel_copies_to_operator(
    db: &impl Sql,
    ticket_id: i64,
    why: &str,
) -> Result<u64, tokio_postgres::Error> {
    db.execute(CANCEL_COPIES, &[&ticket_id, &why]).await
}

/// Locks the chat and reads the head of its queue (the next call and whether another waits), pipelined after
/// writing `calls`. `None` when the lock was not free.
/// `take`: also take room in the flood budgets for the head (not when the caller will stop before sending it).
pub(crate) async fn lock_head(
    tx: &Tx,
    chat_id: i64,
    lock: ChatLock,
    calls: &[Call],
    limits: &SendLimits,
    take: bool,
) -> Result<Option<Vec<Pending>>, tokio_postgres::Error> {
    let max_age = MAX_AGE.as_secs() as f64;
    let super::budgets::SlotArgs { chat_max, chat_per, burst, bot_max, bot_per } =
        super::budgets::SlotArgs::of(limits, chat_id);
    let (lock_params, head_params): (Params<'_>, Params<'_>) = (&[&chat_id], &[&chat_id, &max_age]);
    let slot_params: Params<'_> = &[&chat_id, &take, &chat_max, &chat_per, &burst, &bot_max, &bot_per];
    // In order: the calls, the lock (waited for, or tried inside take_head_slot), the room, then the head, read
    // under the lock.
    let wait_for_lock = async {
        match lock {
            ChatLock::Wait => tx.query(LOCK_CHAT, lock_params).await.map(drop),
            ChatLock::Try => Ok(()),
        }
    };
    let (written, waited, slot, rows) =
        tokio::join!(write(tx, calls), wait_for_lock, tx.query(TAKE_HEAD, slot_params), tx.query(HEAD, head_params));
    written?;
    waited?;
    let (slot, rows) = (slot?, rows?);
    let Some(slot) = slot.first() else { return Ok(None) };
    if !slot.try_get::<_, bool>(0)? {
        return Ok(None);
    }
    let slot = match slot.try_get::<_, Option<i64>>(1)? {
        Some(outbox_id) => {
            let wait: f64 = slot.try_get(3)?;
            let weight: i32 = slot.try_get(2)?;
            Some(Slot {
                outbox_id,
                weight: u32::try_from(weight).unwrap_or(0),
                wait: (wait > 0.0).then(|| std::time::Duration::from_secs_f64(wait)),
            })
        }
        None => None,
    };
    let mut pending: Vec<Pending> = rows.iter().map(Pending::from_row).collect::<Result<_, _>>()?;
    if let Some(head) = pending.first_mut() {
        head.slot = slot.filter(|s| s.outbox_id == head.id);
    }
    Ok(Some(pending))
}

/// Room the head call got in the flood budgets as its chat was locked (see `take_head_slot`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    outbox_id: i64,
    /// Messages counted.
    pub(crate) weight: u32,
    /// `None`: room taken; else the call was held back this long.
    pub(crate) wait: Option<std::time::Duration>,
}

/// A pending call as read from the queue.
pub(crate) struct Pending {
    pub(crate) id: i64,
    pub(crate) method: String,
    pub(crate) params: serde_json::Value,
    on_result: Option<OnResult>,
    /// Its `not_before` has come.
    pub(crate) due: bool,
    pub(crate) attempts: i32,
    /// Older than [`MAX_AGE`]: a failure gives it up.
    pub(crate) too_old: bool,
    /// Room taken for it as the chat was locked, if it was the head then.
    pub(crate) slot: Option<Slot>,
    /// A queue board's call as drawn to be sent.
    pub(crate) drawn: Option<crate::bot::board::BoardDrawing>,
}

impl Pending {
    /// A dialog message (or album) copied to the other side, not a copy made again for the story of a ticket
    /// taken over: its sender is told when it cannot be delivered.
    pub(crate) fn is_relayed_copy(&self) -> bool {
        matches!(self.on_result, Some(OnResult::Delivered { .. } | OnResult::Album))
    }

    /// The queue board's call this is, drawn when it is sent.
    pub(crate) fn board_call(&self) -> Option<OnResult> {
        self.on_result.filter(|r| {
            matches!(
                r,
                OnResult::BoardPost { .. }
                    | OnResult::BoardRefresh { .. }
                    | OnResult::BoardPin { .. }
                    | OnResult::BoardUnpin { .. }
            )
        })
    }

    fn from_row(row: &tokio_postgres::Row) -> Result<Pending, tokio_postgres::Error> {
        let id = row.try_get(0)?;
        let on_result = row.try_get::<_, Option<serde_json::Value>>(3)?.and_then(|v| {
            serde_json::from_value::<OnResult>(v)
                .inspect_err(|e| {
                    // Written by another version: the call is still made (never held back), its result not recorded.
                    tracing::error!(outbox_id = id, error = %e, "outbox on_result not understood; result not recorded");
                })
                .ok()
        });
        Ok(Pending {
            id,
            method: row.try_get(1)?,
            params: row.try_get(2)?,
            on_result,
            due: row.try_get(4)?,
            attempts: row.try_get(5)?,
            too_old: row.try_get(6)?,
            slot: None,
            drawn: None,
        })
    }
}

/// Marks the call sent and stores what its result says (where a copy landed, a card's message id), pipelined.
pub(crate) async fn record_sent(
    client: &deadpool_postgres::ClientWrapper,
    pending: &Pending,
    chat_id: i64,
    result: &serde_json::Value,
) -> Result<(), tokio_postgres::Error> {
    let message_id = result.get("message_id").and_then(serde_json::Value::as_i64);
    let extra = async {
        match (pending.on_result, message_id) {
            (Some(OnResult::Delivered { ticket_message_id }), Some(message_id)) => {
                Sql::execute(client, SET_DELIVERED, &[&ticket_message_id, &chat_id, &message_id]).await
            }
            (Some(OnResult::Card { ticket_id }), Some(message_id)) => {
                Sql::execute(client, SET_CARD, &[&ticket_id, &chat_id, &message_id]).await
            }
            (Some(OnResult::Album), _) => super::albums::record(client, &pending.params, chat_id, result).await,
            (Some(OnResult::Prompt { ticket_id }), Some(message_id)) => {
                Sql::execute(client, SET_PROMPT, &[&ticket_id, &chat_id, &message_id]).await
            }
            (Some(OnResult::BoardPost { .. } | OnResult::BoardRefresh { .. }), _) => match &pending.drawn {
                Some(drawn) => match message_id.or(drawn.message_id) {
                    Some(message_id) => {
                        super::boards::shown(client, drawn.board_id, message_id, drawn.version, &drawn.covers).await
                    }
                    None => Ok(0),
                },
                None => Ok(0),
            },
            _ => Ok(0),
        }
    };
    let sent_params: Params<'_> = &[&pending.id];
    let (sent, extra) = tokio::join!(Sql::execute(client, MARK_SENT, sent_params), extra);
    sent?;
    extra?;
    Ok(())
}

/// Defers a call that failed transiently by `wait_s` seconds.
pub(crate) async fn defer(db: &impl Sql, id: i64, error: &str, wait_s: u64) -> Result<(), tokio_postgres::Error> {
    db.execute(DEFER, &[&id, &error, &(wait_s as f64)]).await?;
    Ok(())
}

/// Holds a call back by `wait` (no room in a flood budget): not a failure, no attempt counted.
pub(crate) async fn pace(db: &impl Sql, id: i64, wait: std::time::Duration) -> Result<(), tokio_postgres::Error> {
    db.execute(PACE, &[&id, &wait.as_secs_f64()]).await?;
    Ok(())
}

const CANCEL: &str = "UPDATE outbox SET status = 'cancelled', last_error = $2 WHERE id = $1 AND status = 'pending'";
/// Cancels a call that has nothing left to do.
pub(crate) async fn cancel(db: &impl Sql, id: i64, why: &str) -> Result<(), tokio_postgres::Error> {
    db.execute(CANCEL, &[&id, &why]).await?;
    Ok(())
}

/// Gives a call up.
pub(crate) async fn give_up(db: &impl Sql, id: i64, error: &str) -> Result<(), tokio_postgres::Error> {
    db.execute(GIVE_UP, &[&id, &error]).await?;
    Ok(())
}

/// A chat Telegram refuses (403): the rest of its queue fails, and the chat is noted for the blocked-chat
/// handling. Returns the calls failed.
pub(crate) async fn fail_blocked_chat(db: &impl Sql, chat_id: i64, error: &str) -> Result<u64, tokio_postgres::Error> {
    let failed = db.execute(FAIL_REST, &[&chat_id, &error]).await?;
    db.execute(NOTE_BLOCKED, &[&chat_id]).await?;
    Ok(failed)
}

const DUE_CHATS: &str = "SELECT chat_id, greatest(extract(epoch FROM not_before - now()), 0)::float8 \
     FROM (SELECT DISTINCT ON (chat_id) chat_id, id, not_before FROM outbox \
       WHERE status = 'pending' ORDER BY chat_id, priority, id) head \
     WHERE not_before <= now() + make_interval(secs => $2) ORDER BY not_before, id LIMIT $1";
const UNHANDLED_BLOCKED: &str =
    "SELECT chat_id FROM blocked_chats WHERE handled_at IS NULL ORDER BY blocked_at LIMIT $1";

/// Chats whose next call is due within `within`, for the periodic redelivery, with how long until it is (zero:
/// due now): those waiting longest first.
pub(crate) async fn due_chats(
    db: &impl Sql,
    limit: i64,
    within: std::time::Duration,
) -> Result<Vec<(i64, std::time::Duration)>, tokio_postgres::Error> {
    let rows = db.query(DUE_CHATS, &[&limit, &within.as_secs_f64()]).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, std::time::Duration::from_secs_f64(r.try_get::<_, f64>(1)?)))).collect()
}

/// Blocked chats whose handling has not been done yet (it failed, or the process died before it).
pub(crate) async fn unhandled_blocked_chats(db: &impl Sql, limit: i64) -> Result<Vec<i64>, tokio_postgres::Error> {
    db.query(UNHANDLED_BLOCKED, &[&limit]).await?.iter().map(|r| r.try_get(0)).collect()
}

const BLOCKED_HANDLED: &str = "UPDATE blocked_chats SET handled_at = now() WHERE chat_id = $1";
/// Forgets blocked chats handled more than a week ago.
pub(crate) async fn prune_handled_blocked(db: &impl Sql) -> Result<u64, tokio_postgres::Error> {
    db.execute("DELETE FROM blocked_chats WHERE handled_at < now() - interval '7 days'", &[]).await
}

/// Marks a blocked chat handled, in the transaction that handled it.
pub(crate) async fn blocked_chat_handled(db: &impl Sql, chat_id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(BLOCKED_HANDLED, &[&chat_id]).await?;
    Ok(())
}

/// The statements every pooled connection prepares when it opens (see `db::prepare_statements`).
pub(super) const PREPARED: &[&str] = &[
    INSERT_CALLS,
    TAKE_HEAD,
    LOCK_CHAT,
    HEAD,
    MARK_SENT,
    SET_DELIVERED,
    SET_CARD,
    SET_PROMPT,
    DEFER,
    PACE,
    GIVE_UP,
    CANCEL,
    FAIL_REST,
    NOTE_BLOCKED,
    CANCEL_COPIES,
    BLOCKED_HANDLED,
    DUE_CHATS,
    UNHANDLED_BLOCKED,
];
