-- Telegram's flood limits as budgets every execution shares (issue 15): the outbox takes a slot before each call
-- and defers the call to when one frees up, instead of meeting a 429 after the fact.
--
-- Per chat: the moments of the sends still inside the chat's window (oldest first), and after a 429 a shrunk
-- budget for a while (the call that met the 429 waits its retry_after, and the chat's queue behind it). Only the
-- chat's flusher touches its row, under the chat's outbox lock, so the row lock held until that flusher commits
-- costs nobody a wait.
CREATE TABLE send_windows (
    chat_id       BIGINT        PRIMARY KEY,
    sent_at       TIMESTAMPTZ[] NOT NULL DEFAULT '{}',
    shrunk_until  TIMESTAMPTZ
);

-- The bot as a whole: one row per message it may send within its window. A send takes rows last used a window
-- ago or more, FOR UPDATE SKIP LOCKED, and keeps them locked until its transaction ends: concurrent senders take
-- other rows and never wait for each other, and no window holds more sends than there are rows.
CREATE TABLE bot_send_slots (
    slot     INTEGER     PRIMARY KEY,
    sent_at  TIMESTAMPTZ NOT NULL DEFAULT '-infinity'
);
INSERT INTO bot_send_slots (slot) SELECT generate_series(0, 29);

-- Takes room for `p_weight` messages to `p_chat` now, within the chat's budget (`p_chat_max` per `p_chat_per`
-- seconds, halved while shrunk) and the bot's (`p_bot_max` per `p_bot_per`). Returns 0 when taken, else the
-- seconds until there would be room (nothing is taken then). Call it in the transaction that makes the call,
-- holding the chat's outbox lock.
CREATE FUNCTION take_send_slot(
    p_chat BIGINT, p_weight INTEGER,
    p_chat_max INTEGER, p_chat_per DOUBLE PRECISION,
    p_bot_max INTEGER, p_bot_per DOUBLE PRECISION
) RETURNS DOUBLE PRECISION LANGUAGE plpgsql AS $$
DECLARE
    t           TIMESTAMPTZ := clock_timestamp();
    w           send_windows%ROWTYPE;
    chat_max    INTEGER;
    weight      INTEGER;
    kept        TIMESTAMPTZ[];
    slots       INTEGER[];
    next_free   TIMESTAMPTZ;
BEGIN
    -- Creates the row or locks it, in one statement (a prune between two would leave nothing to lock).
    INSERT INTO send_windows (chat_id) VALUES (p_chat)
    ON CONFLICT (chat_id) DO UPDATE SET chat_id = EXCLUDED.chat_id RETURNING * INTO w;
    chat_max := CASE WHEN w.shrunk_until > t THEN greatest(1, p_chat_max / 2) ELSE p_chat_max END;
    -- A call bigger than the whole budget (an album of 10 to a chat allowed 3) goes when the window is empty.
    weight := least(p_weight, chat_max);
    kept := ARRAY(SELECT s FROM unnest(w.sent_at) s WHERE s > t - make_interval(secs => p_chat_per) ORDER BY s);
    IF cardinality(kept) + weight > chat_max THEN
        RETURN greatest(extract(epoch FROM kept[cardinality(kept) + weight - chat_max]
                                + make_interval(secs => p_chat_per) - t), 0.001);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM bot_send_slots WHERE slot = p_bot_max - 1) THEN
        INSERT INTO bot_send_slots (slot) SELECT generate_series(0, p_bot_max - 1) ON CONFLICT DO NOTHING;
    END IF;
    slots := ARRAY(SELECT slot FROM bot_send_slots
                   WHERE slot < p_bot_max AND sent_at <= t - make_interval(secs => p_bot_per)
                   ORDER BY sent_at, slot LIMIT least(p_weight, p_bot_max) FOR UPDATE SKIP LOCKED);
    IF cardinality(slots) < least(p_weight, p_bot_max) THEN
        -- Slots in use by other senders right now (locked) free up when they commit: a moment.
        SELECT coalesce(min(sent_at) FILTER (WHERE sent_at > '-infinity'), t) INTO next_free
        FROM bot_send_slots WHERE slot < p_bot_max;
        RETURN greatest(extract(epoch FROM next_free + make_interval(secs => p_bot_per) - t), 0.05);
    END IF;
    UPDATE bot_send_slots SET sent_at = t WHERE slot = ANY (slots);
    UPDATE send_windows SET sent_at = kept || array_fill(t, ARRAY[p_weight]) WHERE chat_id = p_chat;
    RETURN 0;
END $$;

-- Inside a chat's budget some calls go first: answers to button presses (the button spins until then), then
-- dialog messages and the rest, then the operators' chat's cards and their edits (in their order), then
-- reminders. Calls of one priority keep their order.
ALTER TABLE outbox ADD COLUMN priority SMALLINT NOT NULL DEFAULT 1;
DROP INDEX ix_outbox_pending;
CREATE INDEX ix_outbox_pending ON outbox (chat_id, priority, id) WHERE status = 'pending';

-- How many messages a call counts for: each one sent, copied, forwarded or edited; 0 for the rest (answers to
-- presses, reactions, deletions, pins, reads). The same rule as `outbox::weight`.
CREATE FUNCTION send_weight(p_method TEXT, p_params JSONB) RETURNS INTEGER LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_method IN ('copyMessages', 'forwardMessages')
            THEN greatest(coalesce(jsonb_array_length(p_params -> 'message_ids'), 1), 1)
        WHEN p_method = 'sendMediaGroup' THEN greatest(coalesce(jsonb_array_length(p_params -> 'media'), 1), 1)
        WHEN p_method = 'sendChatAction' THEN 0
        WHEN p_method IN ('copyMessage', 'forwardMessage') OR p_method LIKE 'send%' OR p_method LIKE 'editMessage%'
            THEN 1
        ELSE 0
    END
$$;

-- Takes the chat's outbox lock if it is free (re-entrant: a no-op after the waiting lock) and room for the head
-- call of its queue, pipelined before the head is read (no round trip of its own). One row: whether the lock is
-- ours; then, when room was asked for (`p_take`) and the head is due and counts for messages, its id, the
-- messages counted and the wait (0: room taken; else the head is held back that long, no attempt counted).
CREATE FUNCTION take_head_slot(
    p_chat BIGINT, p_take BOOLEAN,
    p_chat_max INTEGER, p_chat_per DOUBLE PRECISION, p_bot_max INTEGER, p_bot_per DOUBLE PRECISION
) RETURNS TABLE (locked BOOLEAN, outbox_id BIGINT, weight INTEGER, wait DOUBLE PRECISION) LANGUAGE plpgsql AS $$
DECLARE
    h RECORD;
BEGIN
    locked := pg_try_advisory_xact_lock(hashtextextended('outbox:' || p_chat::text, 0));
    IF NOT locked OR NOT p_take THEN
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT o.id, o.method, o.params, o.not_before INTO h FROM outbox o
    WHERE o.chat_id = p_chat AND o.status = 'pending' ORDER BY o.priority, o.id LIMIT 1;
    IF NOT FOUND OR h.not_before > now() THEN
        RETURN NEXT;
        RETURN;
    END IF;
    weight := send_weight(h.method, h.params);
    IF weight = 0 THEN
        weight := NULL;
        RETURN NEXT;
        RETURN;
    END IF;
    outbox_id := h.id;
    wait := take_send_slot(p_chat, weight, p_chat_max, p_chat_per, p_bot_max, p_bot_per);
    IF wait > 0 THEN
        UPDATE outbox SET not_before = greatest(not_before, clock_timestamp() + make_interval(secs => wait))
        WHERE id = h.id;
    END IF;
    RETURN NEXT;
END $$;
