-- A group's budget spent evenly (issue 15): its minute of 20 messages used to go out in one second (a storm's card
-- edits and board redraws) and then nothing for the rest of the minute, leaving the queue board stale. Now a
-- group gets a short burst back to back, then one message every window / (N - burst + 1): the generic cell rate
-- algorithm, whose one state is the moment the chat's next message is "due" at that pace (`paced_until`). With
-- the burst it never lets more than N into any window, so the sliding window stays the judge it was.
ALTER TABLE send_windows ADD COLUMN paced_until TIMESTAMPTZ;

-- As `take_send_slot` of V13, and `p_burst`: when less than the chat's budget, the messages after a burst of
-- `p_burst` are spaced evenly. The six-argument functions of V13 stay for executions of the previous release
-- while a deploy rolls over (they keep the window only); a later migration drops them.
CREATE FUNCTION take_send_slot(
    p_chat BIGINT, p_weight INTEGER,
    p_chat_max INTEGER, p_chat_per DOUBLE PRECISION, p_burst INTEGER,
    p_bot_max INTEGER, p_bot_per DOUBLE PRECISION
) RETURNS DOUBLE PRECISION LANGUAGE plpgsql AS $$
DECLARE
    t           TIMESTAMPTZ := clock_timestamp();
    w           send_windows%ROWTYPE;
    chat_max    INTEGER;
    weight      INTEGER;
    burst       INTEGER;
    spacing     INTERVAL;
    paced_from  TIMESTAMPTZ;
    paced_wait  DOUBLE PRECISION := 0;
    window_wait DOUBLE PRECISION := 0;
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
        window_wait := greatest(extract(epoch FROM kept[cardinality(kept) + weight - chat_max]
                                        + make_interval(secs => p_chat_per) - t), 0.001);
    END IF;
    burst := least(greatest(p_burst, 1), chat_max);
    IF burst < chat_max THEN
        -- Room when, at the pace, the messages already ahead plus this call's fit into the burst; a call
        -- bigger than the burst goes when nothing is ahead.
        spacing := make_interval(secs => p_chat_per / (chat_max - burst + 1));
        paced_from := greatest(coalesce(w.paced_until, t), t);
        paced_wait := greatest(extract(epoch FROM paced_from + spacing * least(weight, burst) - spacing * burst - t), 0);
        IF paced_wait > 0 THEN
            paced_wait := greatest(paced_wait, 0.001);
        END IF;
    END IF;
    IF window_wait > 0 OR paced_wait > 0 THEN
        RETURN greatest(window_wait, paced_wait);
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
    UPDATE send_windows SET sent_at = kept || array_fill(t, ARRAY[p_weight]),
        paced_until = CASE WHEN burst < chat_max THEN paced_from + spacing * least(weight, burst) END
    WHERE chat_id = p_chat;
    RETURN 0;
END $$;

-- As `take_head_slot` of V13, taking room with `p_burst` (see `take_send_slot` above).
CREATE FUNCTION take_head_slot(
    p_chat BIGINT, p_take BOOLEAN,
    p_chat_max INTEGER, p_chat_per DOUBLE PRECISION, p_burst INTEGER, p_bot_max INTEGER, p_bot_per DOUBLE PRECISION
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
    wait := take_send_slot(p_chat, weight, p_chat_max, p_chat_per, p_burst, p_bot_max, p_bot_per);
    IF wait > 0 THEN
        UPDATE outbox SET not_before = greatest(not_before, clock_timestamp() + make_interval(secs => wait))
        WHERE id = h.id;
    END IF;
    RETURN NEXT;
END $$;
