//! A ticket's life: its status, who wrote each of its messages, and why it was closed.

text_enum! {
    /// Where a ticket is (`tickets.status`).
    pub enum Status {
        /// In the queue, its card inviting a claim.
        Waiting = "WAITING",
        /// In a dialog with the operator who claimed it.
        Assigned = "ASSIGNED",
        /// Over; kept for the history until retention.
        Closed = "CLOSED",
    }
}

text_enum! {
    /// Who wrote a dialog message (`ticket_messages.sender_type`).
    pub enum Sender {
        /// The customer.
        User = "USER",
        /// The operator.
        Operator = "OPERATOR",
    }
}

text_enum! {
    /// Why a ticket was closed (`tickets.close_reason`).
    pub enum CloseReason {
        /// The operator pressed «Завершить диалог».
        Operator = "operator",
        /// Nobody wrote for `TICKET_IDLE_CLOSE_AFTER` after the warning.
        Idle = "idle",
        /// The customer blocked the bot: nothing can reach them any more.
        CustomerBlocked = "customer_blocked",
        /// Nobody claimed it within `WAITING_EXPIRE_AFTER`.
        Expired = "expired",
        /// The customer withdrew the request while it waited (`/cancel`, «Отменить обращение») or ended the
        /// dialog themselves.
        Cancelled = "cancelled",
        /// A supervisor closed it (`/close N`).
        Supervisor = "supervisor",
        /// A supervisor banned its customer (`/ban N`).
        Banned = "banned",
    }
}

impl CloseReason {
    /// A dialog that ended this way (an operator or a supervisor closed it) asks its customer for a rating; one
    /// that was cancelled, expired, idle, blocked or banned does not.
    pub fn invites_rating(self) -> bool {
        matches!(self, CloseReason::Operator | CloseReason::Supervisor)
    }
}

text_enum! {
    /// How a ticket left its operator without being closed (`ticket_handovers.kind`).
    pub enum HandoverKind {
        /// The operator handed it to a colleague (`/transfer`, «Передать коллеге»).
        Transferred = "transferred",
        /// A supervisor took it back to the queue (`/requeue N`).
        Requeued = "requeued",
        /// The operator is no longer in the operators' chat.
        OperatorGone = "operator_gone",
        /// The operator blocked the bot: nothing reaches them.
        OperatorBlocked = "operator_blocked",
    }
}

text_enum! {
    /// What someone is at the desk, as the operators' chat (and `SUPERVISOR_IDS`) says.
    pub enum Role {
        /// Not in the operators' chat.
        Outsider = "outsider",
        /// A member of the operators' chat.
        Operator = "operator",
        /// An administrator or the creator of the operators' chat, or listed in `SUPERVISOR_IDS`.
        Supervisor = "supervisor",
    }
}

impl Role {
    /// Operators and supervisors may claim, relay and use the operators' commands.
    pub fn is_operator(self) -> bool {
        self != Role::Outsider
    }

    /// Supervisors may also requeue and close anyone's ticket.
    pub fn is_supervisor(self) -> bool {
        self == Role::Supervisor
    }
}

text_enum! {
    /// What a banned person did (`banned_messages.event`).
    pub enum BannedEvent {
        /// A new message.
        Message = "message",
        /// An edit of one of their messages.
        Edit = "edit",
        /// A button press.
        Press = "press",
        /// A reaction changed on a message.
        Reaction = "reaction",
    }
}

impl BannedEvent {
    /// Whether this may earn the day's polite reply: what they send and press does; their edits and reactions
    /// change nothing they could expect an answer to.
    pub fn answerable(self) -> bool {
        matches!(self, BannedEvent::Message | BannedEvent::Press)
    }
}
