-- An album bigger than a group's burst moves its pace by every message it sends (issue 15). V16 moved it by
-- the burst's worth only, so an album of 10 with a burst of 3 let the next 17 messages come at the pace, fill
-- the window and stall the chat for most of a minute; now what follows it waits the album's spacings instead.
-- Only the last assignment differs from V16.
CREATE OR REPLACE FUNCTION take_send_slot(
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
        -- bigger than the burst goes when nothing is ahead, and moves the pace by all it sends.
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
        paced_until = CASE WHEN burst < chat_max THEN paced_from + spacing * weight END
    WHERE chat_id = p_chat;
    RETURN 0;
END $$;
