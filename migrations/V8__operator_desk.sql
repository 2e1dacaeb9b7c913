-- The operator desk: supervisors, hand-overs and the queue position.

-- Whether getChatMember last said "administrator" or "creator" of the operators' chat: such members are
-- supervisors (as are the ids in SUPERVISOR_IDS, which are never stored).
ALTER TABLE operator_checks ADD COLUMN is_admin BOOLEAN NOT NULL DEFAULT false;

-- Every time a ticket left an operator without being closed: handed to a colleague (/transfer, «Передать коллеге»),
-- taken back by a supervisor (/requeue N), or its operator left the operators' chat or blocked the bot. The next
-- operator is shown who had it; the insight reports count hand-overs.
CREATE TABLE ticket_handovers (
    id                BIGSERIAL   PRIMARY KEY,
    ticket_id         BIGINT      NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind              TEXT        NOT NULL,
    operator_tg_id    BIGINT      NOT NULL,   -- who had the ticket
    by_tg_id          BIGINT,                 -- who handed it over (the operator, or a supervisor)
    comment           TEXT,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ix_ticket_handovers_ticket ON ticket_handovers (ticket_id);
