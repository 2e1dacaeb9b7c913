//! `queue_boards` and `queue_board_shown`: the board listing waiting tickets in the operators' chat while its flood
//! budget cannot carry a card per ticket, which tickets it lists, and what its message last showed.

use chrono::{DateTime, Utc};

use super::Sql;
use crate::config::SendLimits;
use crate::domain::Topic;

const ACTIVE: &str = "SELECT id FROM queue_boards WHERE chat_id = $1 AND active FOR UPDATE";
/// The chat's active board, row-locked: tickets join and leave it under this lock.
pub(crate) async fn lock_active(db: &impl Sql, chat_id: i64) -> Result<Option<i64>, tokio_postgres::Error> {
    db.query_opt(ACTIVE, &[&chat_id]).await?.map(|r| r.try_get(0)).transpose()
}

const LOCK: &str = "SELECT true FROM queue_boards WHERE id = $1 AND active FOR UPDATE";
/// Locks board `board_id`; false when it is no longer active.
pub(crate) async fn lock(db: &impl Sql, board_id: i64) -> Result<bool, tokio_postgres::Error> {
    Ok(db.query_opt(LOCK, &[&board_id]).await?.is_some())
}

const OPEN: &str =
    "INSERT INTO queue_boards (chat_id) VALUES ($1) ON CONFLICT (chat_id) WHERE active DO NOTHING RETURNING id";
/// Opens a board in the chat; `None` when another update opened one first (lock it with [`lock_active`]).
pub(crate) async fn open(db: &impl Sql, chat_id: i64) -> Result<Option<i64>, tokio_postgres::Error> {
    db.query_opt(OPEN, &[&chat_id]).await?.map(|r| r.try_get(0)).transpose()
}

/// Messages the chat sent within its window, those waiting in its outbox, and the edits the cards it posted within
/// the window will need when their tickets are claimed; and whether its budget is shrunk.
const BUDGET_USE: &str = "SELECT \
      (SELECT count(*) FROM send_windows w, unnest(w.sent_at) s \
        WHERE w.chat_id = $1 AND s > now() - make_interval(secs => $2)) \
      + (SELECT count(*) + count(*) FILTER (WHERE on_result ->> 'kind' = 'card') FROM outbox \
          WHERE chat_id = $1 AND status = 'pending') \
      + (SELECT count(*) FROM ticket_cards c WHERE c.chat_id = $1 AND c.settled_at IS NULL \
          AND c.posted_at > now() - make_interval(secs => $2)), \
      coalesce((SELECT shrunk_until > now() FROM send_windows WHERE chat_id = $1), false)";
/// Whether the chat's flood budget can still carry `cost` more messages within its window, counting what it sent
/// in the window, what waits in its outbox and the claims' edits its recent cards will need (the budget halved
/// while a 429 shrank it).
pub(crate) async fn budget_carries(
    db: &impl Sql,
    chat_id: i64,
    cost: i64,
    limits: &SendLimits,
) -> Result<bool, tokio_postgres::Error> {
    let limit = limits.for_chat(chat_id);
    let row = db.query_one(BUDGET_USE, &[&chat_id, &limit.per.as_secs_f64()]).await?;
    let (used, shrunk): (i64, bool) = (row.try_get(0)?, row.try_get(1)?);
    let max = i64::from(limit.messages);
    let max = if shrunk { (max / 2).max(1) } else { max };
    Ok(used + cost <= max)
}

const ANNOUNCE_LOCK: &str =
    "SELECT true FROM pg_advisory_xact_lock(hashtextextended('announce:' || $1::bigint::text, 0))";
/// Where a new waiting ticket is announced, decided one ticket at a time per chat (concurrent storms would each
/// see the budget free): the chat's announce lock, then its active board (row-locked) and whether its budget
/// carries `cost` more messages, in one round trip.
pub(crate) async fn lock_for_announce(
    db: &impl Sql,
    chat_id: i64,
    cost: i64,
    limits: &SendLimits,
) -> Result<(Option<i64>, bool), tokio_postgres::Error> {
    let params: super::Params<'_> = &[&chat_id];
    let (locked, active, carries) = tokio::join!(
        db.query(ANNOUNCE_LOCK, params),
        lock_active(db, chat_id),
        budget_carries(db, chat_id, cost, limits)
    );
    locked?;
    Ok((active?, carries?))
}

/// What the chat can send right now: the messages in its (padded) window, how long until its pace lets the next
/// go (zero when it is not ahead), and its pending calls other than cards that count in its budget (they go first
/// or in their turn).
const ROOM_NOW: &str = "SELECT \
      (SELECT count(*) FROM send_windows w, unnest(w.sent_at) s \
        WHERE w.chat_id = $1 AND s > now() - make_interval(secs => $2)), \
      coalesce((SELECT greatest(extract(epoch FROM paced_until - now()), 0) FROM send_windows WHERE chat_id = $1), 0)::float8, \
      (SELECT count(*) FROM outbox WHERE chat_id = $1 AND status = 'pending' \
        AND coalesce(on_result ->> 'kind', '') <> 'card' AND send_weight(method, params) > 0)";
/// Cancels the operators' chat's cards not sent yet beyond the oldest `$3` (those its budget lets go right away)
/// and lists their tickets, still waiting, on the new board `$2` (locked by the caller): they were announced
/// nowhere yet, and the board's post, drawn as it is sent, shows them at once instead of after the cards' paced
/// turns. A ticket with a card kept or posted before keeps its cards (its one live place). Run under the chat's
/// outbox lock, so no card is on its way meanwhile.
const ADOPT_UNSENT_CARDS: &str = "WITH unsent AS ( \
      SELECT id, (on_result ->> 'ticket_id')::bigint AS ticket_id, row_number() OVER (ORDER BY priority, id) AS n \
      FROM outbox WHERE chat_id = $1 AND status = 'pending' AND on_result ->> 'kind' = 'card'), \
    kept AS (SELECT ticket_id FROM unsent WHERE n <= $3), \
    adopted AS ( \
      UPDATE outbox o SET status = 'cancelled', last_error = 'its ticket went on the queue board before it was sent' \
      FROM unsent u WHERE o.id = u.id AND o.status = 'pending' AND u.ticket_id NOT IN (SELECT ticket_id FROM kept) \
        AND NOT EXISTS (SELECT 1 FROM ticket_cards c WHERE c.ticket_id = u.ticket_id AND c.chat_id = $1) \
      RETURNING u.ticket_id) \
    UPDATE tickets SET board_id = $2 WHERE id IN (SELECT ticket_id FROM adopted) AND status = 'WAITING'";
const LOCK_CHAT_OUTBOX: &str =
    "SELECT true FROM pg_advisory_xact_lock(hashtextextended('outbox:' || $1::bigint::text, 0))";
/// A board opens in `chat_id`: its tickets whose cards its budget cannot send right away join it (see
/// [`ADOPT_UNSENT_CARDS`]); the board's own post takes the next room. Returns how many joined.
pub(crate) async fn adopt_unsent_cards(
    db: &impl Sql,
    chat_id: i64,
    board_id: i64,
    limits: &SendLimits,
) -> Result<u64, tokio_postgres::Error> {
    // The chat's flusher waits for nothing this transaction holds (it skips a locked board); once it is between
    // two calls, no card is on its way, and what the chat sent is what it shows.
    db.query(LOCK_CHAT_OUTBOX, &[&chat_id]).await?;
    let rate = limits.for_chat(chat_id);
    let row = db.query_one(ROOM_NOW, &[&chat_id, &SendLimits::padded(rate).as_secs_f64()]).await?;
    let (in_window, paced_for, other): (i64, f64, i64) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    let window_room = i64::from(rate.messages) - in_window;
    let burst_room = match limits.spacing(chat_id) {
        Some(spacing) => i64::from(limits.burst(chat_id)) - (paced_for / spacing.as_secs_f64()).ceil() as i64,
        None => window_room,
    };
    // The board's post goes first of what is left.
    let keep = (window_room.min(burst_room) - other - 1).max(0);
    db.execute(ADOPT_UNSENT_CARDS, &[&chat_id, &board_id, &keep]).await
}

const CANCEL_UNSENT_CARDS_OF: &str = "UPDATE outbox SET status = 'cancelled', \
      last_error = 'its ticket went on the queue board before it was sent' \
    WHERE chat_id = $1 AND status = 'pending' AND on_result ->> 'kind' = 'card' \
      AND (on_result ->> 'ticket_id')::bigint = $2";
/// Cancels ticket `ticket_id`'s cards to `chat_id` not sent yet (it moves to the board: they would invite claims
/// that claim nothing), under the chat's outbox lock (none is on its way meanwhile).
pub(crate) async fn cancel_unsent_cards_of(
    db: &impl Sql,
    chat_id: i64,
    ticket_id: i64,
) -> Result<u64, tokio_postgres::Error> {
    db.query(LOCK_CHAT_OUTBOX, &[&chat_id]).await?;
    db.execute(CANCEL_UNSENT_CARDS_OF, &[&chat_id, &ticket_id]).await
}

const JOIN: &str = "UPDATE tickets SET board_id = $2 WHERE id = $1";
/// Lists waiting ticket `ticket_id` on board `board_id` (locked by the caller): from now on its one live place.
pub(crate) async fn join(db: &impl Sql, ticket_id: i64, board_id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(JOIN, &[&ticket_id, &board_id]).await?;
    Ok(())
}

const BOARD_OF: &str = "SELECT t.board_id FROM tickets t JOIN queue_boards b ON b.id = t.board_id \
     WHERE t.id = $1 AND b.active";
/// The active board ticket `ticket_id` is (or, until this transaction, was) listed on; `None` when its place is its
/// cards. A ticket back in the queue after a dialog is on no board until it is announced again.
pub(crate) async fn board_of(db: &impl Sql, ticket_id: i64) -> Result<Option<i64>, tokio_postgres::Error> {
    db.query_opt(BOARD_OF, &[&ticket_id]).await?.map(|r| r.try_get(0)).transpose()
}

const BUMP: &str = "UPDATE queue_boards SET version = version + 1 WHERE id = $1 AND active";
const WAITING_ON: &str = "SELECT (SELECT count(*) FROM tickets WHERE board_id = $1 AND status = 'WAITING'), \
      EXISTS (SELECT 1 FROM outbox o WHERE o.status = 'pending' AND o.on_result ->> 'kind' = 'board_refresh' \
        AND (o.on_result ->> 'board_id')::bigint = $1)";
const DRAIN: &str = "UPDATE queue_boards SET active = false, closed_at = now(), version = version + 1 WHERE id = $1";

/// What a change did to a board.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Change {
    /// No ticket waits on it any more: it was closed.
    pub drained: bool,
    /// A refresh of it is pending already: its drawing will show this change (see [`SHOWN`]), so none is queued.
    pub refresh_pending: bool,
}

/// Board `board_id` changed (a ticket joined or left it): its version moves, under its row lock. When no ticket
/// waits on it any more it is closed (drained).
pub(crate) async fn changed(db: &impl Sql, board_id: i64) -> Result<Change, tokio_postgres::Error> {
    if db.execute(BUMP, &[&board_id]).await? == 0 {
        return Ok(Change::default());
    }
    // Read in a statement of its own, after the lock: it sees every join and leave committed before, and a
    // drawing that settled (cancelled) the pending refreshes before this change locked the board.
    let row = db.query_one(WAITING_ON, &[&board_id]).await?;
    let (waiting, refresh_pending): (i64, bool) = (row.try_get(0)?, row.try_get(1)?);
    if waiting > 0 {
        return Ok(Change { drained: false, refresh_pending });
    }
    db.execute(DRAIN, &[&board_id]).await?;
    Ok(Change { drained: true, refresh_pending })
}

/// A waiting ticket as the board lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Listed {
    /// Shown as #id.
    pub id: i64,
    /// The customer's name.
    pub name: String,
    /// What they asked about.
    pub topic: Topic,
    /// Since when they wait.
    pub queued_at: DateTime<Utc>,
}

/// A board as its message is drawn, read by the operators' chat flusher when it sends the board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Drawn {
    /// Still listing tickets (else drained).
    pub active: bool,
    /// The version this drawing shows.
    pub version: i64,
    /// Its message, once posted.
    pub message_id: Option<i64>,
    /// The oldest waiting tickets, at most the limit asked.
    pub listed: Vec<Listed>,
    /// How many tickets wait on it in all.
    pub waiting: i64,
    /// Recently taken from it: (ticket, operator's handle).
    pub taken: Vec<(i64, String)>,
    /// The database's clock as it was read.
    pub now: DateTime<Utc>,
    /// The refreshes pending as it was read: their changes committed before, so this drawing shows them.
    pub covers: Vec<i64>,
}

const DRAW_BOARD: &str = "SELECT b.active, b.version, s.message_id, now(), ARRAY(SELECT o.id FROM outbox o \
       WHERE o.status = 'pending' AND o.on_result ->> 'kind' = 'board_refresh' \
         AND (o.on_result ->> 'board_id')::bigint = b.id) \
     FROM queue_boards b LEFT JOIN queue_board_shown s ON s.board_id = b.id WHERE b.id = $1";
const DRAW_LISTED: &str = "SELECT t.id, u.first_name, u.last_name, t.topic, t.queued_at, count(*) OVER () \
     FROM tickets t JOIN users u ON u.id = t.user_id \
     WHERE t.board_id = $1 AND t.status = 'WAITING' ORDER BY t.queued_at, t.id LIMIT $2";
const DRAW_TAKEN: &str = "SELECT t.id, o.username, coalesce(o.first_name, ''), t.operator_tg_id FROM tickets t \
     LEFT JOIN users o ON o.tg_id = t.operator_tg_id \
     WHERE t.board_id = $1 AND t.status = 'ASSIGNED' AND t.assigned_at > now() - interval '10 minutes' \
     ORDER BY t.assigned_at DESC LIMIT $2";
/// Reads board `board_id` as its message should show it now: the `rows` oldest waiting tickets and the `taken`
/// last claimed ones. `None` for a board that no longer exists.
pub(crate) async fn draw(
    db: &impl Sql,
    board_id: i64,
    rows: i64,
    taken: i64,
) -> Result<Option<Drawn>, tokio_postgres::Error> {
    let Some(board) = db.query_opt(DRAW_BOARD, &[&board_id]).await? else { return Ok(None) };
    let listed = db.query(DRAW_LISTED, &[&board_id, &rows]).await?;
    let recent = db.query(DRAW_TAKEN, &[&board_id, &taken]).await?;
    let waiting = listed.first().map(|r| r.try_get::<_, i64>(5)).transpose()?.unwrap_or(0);
    let listed = listed
        .iter()
        .map(|r| {
            let (first, last): (String, Option<String>) = (r.try_get(1)?, r.try_get(2)?);
            let name = match last.filter(|l| !l.is_empty()) {
                Some(last) => format!("{first} {last}"),
                None => first,
            };
            Ok(Listed { id: r.try_get(0)?, name, topic: r.try_get(3)?, queued_at: r.try_get(4)? })
        })
        .collect::<Result<_, tokio_postgres::Error>>()?;
    let taken = recent
        .iter()
        .map(|r| {
            let handle = super::users::handle(r.try_get::<_, Option<&str>>(1)?, r.try_get(2)?, r.try_get::<_, i64>(3)?);
            Ok((r.try_get(0)?, handle))
        })
        .collect::<Result<_, tokio_postgres::Error>>()?;
    Ok(Some(Drawn {
        active: board.try_get(0)?,
        version: board.try_get(1)?,
        message_id: board.try_get(2)?,
        listed,
        waiting,
        taken,
        now: board.try_get(3)?,
        covers: board.try_get(4)?,
    }))
}

/// Records what board `$1`'s message (`$2`) shows now (version `$3`), and settles the refreshes that drawing
/// covered (`$4`: pending as it was read, so their changes are on it): cancelled, when the board is still at the
/// version drawn and no change holds its row. Otherwise a change came after the drawing, or is being made now: it
/// saw a refresh pending (this one, or those covered) and queued none, so those stay pending, or when there are
/// none, one is queued again here, which that change's update sends once it commits (see
/// `board::join`). A change that locks the board after this settled waits for this commit and sees nothing
/// pending. Written only by the operators' chat flusher, under the chat's outbox lock: it waits for no update.
const SHOWN: &str = "WITH board AS (SELECT version FROM queue_boards WHERE id = $1 FOR UPDATE SKIP LOCKED), \
    settled AS (SELECT coalesce((SELECT version = $3 FROM board), false) AS yes), \
    shown AS ( \
      INSERT INTO queue_board_shown (board_id, message_id, shown_version) VALUES ($1, $2, $3) \
      ON CONFLICT (board_id) DO UPDATE SET message_id = EXCLUDED.message_id, \
        shown_version = greatest(queue_board_shown.shown_version, EXCLUDED.shown_version), shown_at = now()), \
    covered AS ( \
      UPDATE outbox SET status = 'cancelled', last_error = 'covered by a later drawing of the board' \
      WHERE id = ANY($4) AND status = 'pending' AND (SELECT yes FROM settled)) \
    INSERT INTO outbox (chat_id, method, params, on_result, priority) \
    SELECT b.chat_id, 'editMessageText', jsonb_build_object('chat_id', b.chat_id), \
      jsonb_build_object('kind', 'board_refresh', 'board_id', b.id), 2 \
    FROM queue_boards b WHERE b.id = $1 AND cardinality($4::bigint[]) = 0 AND NOT (SELECT yes FROM settled)";
/// See [`SHOWN`]; pipelined with the call's `sent` mark. Returns the refreshes queued again (0 or 1).
pub(crate) async fn shown(
    db: &impl Sql,
    board_id: i64,
    message_id: i64,
    version: i64,
    covers: &[i64],
) -> Result<u64, tokio_postgres::Error> {
    db.execute(SHOWN, &[&board_id, &message_id, &version, &covers]).await
}

/// Queues a refresh of every active board whose message was last drawn more than `every` ago (its waiting times
/// move on), or was never recorded (its post given up: the refresh posts it), and has none pending; returns the
/// chats affected.
const CATCH_UP: &str = "INSERT INTO outbox (chat_id, method, params, on_result, priority) \
    SELECT b.chat_id, 'editMessageText', jsonb_build_object('chat_id', b.chat_id), \
      jsonb_build_object('kind', 'board_refresh', 'board_id', b.id), 2 \
    FROM queue_boards b LEFT JOIN queue_board_shown s ON s.board_id = b.id \
    WHERE b.active AND (s.board_id IS NULL OR s.shown_at < now() - make_interval(secs => $1)) AND NOT EXISTS ( \
      SELECT 1 FROM outbox o WHERE o.status = 'pending' AND o.on_result ->> 'kind' = 'board_refresh' \
        AND (o.on_result ->> 'board_id')::bigint = b.id) \
    RETURNING chat_id";
/// See [`CATCH_UP`].
pub(crate) async fn catch_up(db: &impl Sql, every: std::time::Duration) -> Result<Vec<i64>, tokio_postgres::Error> {
    let rows = db.query(CATCH_UP, &[&every.as_secs_f64()]).await?;
    let mut chats: Vec<i64> = rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
    chats.dedup();
    Ok(chats)
}

const PRESSED: &str = "SELECT b.id, b.active FROM queue_board_shown s JOIN queue_boards b ON b.id = s.board_id \
     WHERE b.chat_id = $1 AND s.message_id = $2";
/// The board whose message is (`chat_id`, `message_id`), and whether it is active; `None` when that message is
/// no board we know (yet: its `sent` mark may be on its way).
pub(crate) async fn pressed(
    db: &impl Sql,
    chat_id: i64,
    message_id: i64,
) -> Result<Option<(i64, bool)>, tokio_postgres::Error> {
    let row = db.query_opt(PRESSED, &[&chat_id, &message_id]).await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

const MESSAGE_OF: &str = "SELECT message_id FROM queue_board_shown WHERE board_id = $1";
/// Board `board_id`'s message, once its post was recorded.
pub(crate) async fn message_of(db: &impl Sql, board_id: i64) -> Result<Option<i64>, tokio_postgres::Error> {
    db.query_opt(MESSAGE_OF, &[&board_id]).await?.map(|r| r.try_get(0)).transpose()
}

const FORGET_MESSAGE: &str = "DELETE FROM queue_board_shown WHERE board_id = $1";
/// Forgets board `board_id`'s message (deleted in the chat): its next refresh posts it again.
pub(crate) async fn forget_message(db: &impl Sql, board_id: i64) -> Result<(), tokio_postgres::Error> {
    db.execute(FORGET_MESSAGE, &[&board_id]).await?;
    Ok(())
}

/// Forgets boards closed more than `days` days ago (tickets keep their `board_id` as history).
const PRUNE: &str = "WITH gone AS (DELETE FROM queue_boards WHERE closed_at < now() - make_interval(days => $1) \
      RETURNING id) \
    DELETE FROM queue_board_shown WHERE board_id IN (SELECT id FROM gone)";
/// See [`PRUNE`].
pub(crate) async fn prune(db: &impl Sql, days: i32) -> Result<u64, tokio_postgres::Error> {
    db.execute(PRUNE, &[&days]).await
}

/// The statements every pooled connection prepares when it opens (see `db::prepare_statements`): those of updates
/// and of the operators' chat's flusher.
pub(super) const PREPARED: &[&str] = &[
    ANNOUNCE_LOCK,
    ACTIVE,
    LOCK,
    OPEN,
    ROOM_NOW,
    ADOPT_UNSENT_CARDS,
    LOCK_CHAT_OUTBOX,
    CANCEL_UNSENT_CARDS_OF,
    BUDGET_USE,
    JOIN,
    BOARD_OF,
    BUMP,
    WAITING_ON,
    DRAIN,
    DRAW_BOARD,
    DRAW_LISTED,
    DRAW_TAKEN,
    SHOWN,
    PRESSED,
    MESSAGE_OF,
];
