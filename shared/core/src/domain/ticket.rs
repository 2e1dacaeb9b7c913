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
        /// The customer withdrew the request while it waited (`/cancel`).
        Cancelled = "cancelled",
    }
}
