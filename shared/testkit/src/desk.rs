//! `TestApp` verbs for whole actions at the desk: a customer asking for an operator, a ticket in the queue, a
//! claim, a dialog in progress; and a ticket's status read back as the core's own type (strictly: a value
//! `Status` does not know fails the test).

use serde_json::Value;
use zabota_core::bot::Outcome;
use zabota_core::db::tickets::Status;
use zabota_core::domain::Topic;

use crate::app::{OPERATORS_CHAT_ID, TestApp};
use crate::emulator::updates::{self, TgUser};
use crate::emulator::{CallbackAnswer, Received};

/// The number [`TestApp::queue_ticket`] types (stored as `+79161234567`).
pub const PHONE: &str = "+7 916 123-45-67";

/// A customer in an assigned dialog with an operator, as [`TestApp::open_dialog`] leaves them.
#[derive(Clone, Debug)]
pub struct Dialog {
    /// The customer; their private chat has the relayed messages of the operator.
    pub customer: TgUser,
    /// The operator, a member of the operators' chat; their private chat starts with the summary.
    pub operator: TgUser,
    /// The ticket, ASSIGNED to the operator.
    pub ticket: i64,
    /// The ticket's card as it was posted, with «Взять в работу» (pressing it again is a stale or taken claim).
    pub card: Received,
}

/// `operator`'s press on «Взять в работу» under `card`, as Telegram sends it (with the card's text).
pub fn claim_press(operator: &TgUser, ticket: i64, card: &Received) -> Value {
    let mut press = updates::callback(operator, OPERATORS_CHAT_ID, card.message_id, &format!("claim:{ticket}"));
    press["callback_query"]["message"]["text"] = serde_json::json!(card.text);
    press
}

impl TestApp {
    /// Makes `user_id` a member of the operators' chat.
    pub fn make_operator(&self, user_id: i64) {
        self.telegram.set_chat_member(OPERATORS_CHAT_ID, user_id, "member");
    }

    /// Makes `user_id` an administrator of the operators' chat: a supervisor.
    pub fn make_supervisor(&self, user_id: i64) {
        self.telegram.set_chat_member(OPERATORS_CHAT_ID, user_id, "administrator");
    }

    /// `user_id` leaves the operators' chat (`status`: "left" or "kicked"), and what the desk remembers of
    /// everyone's role is older than its time to live, as if that time had passed.
    pub async fn remove_operator(&self, user_id: i64, status: &str) {
        self.telegram.set_chat_member(OPERATORS_CHAT_ID, user_id, status);
        self.db.execute("UPDATE operator_checks SET checked_at = checked_at - interval '1 day'").await;
    }

    /// The newest card of `ticket` that still invites a claim.
    pub fn newest_live_card(&self, ticket: i64) -> Received {
        let claim = format!("claim:{ticket}");
        let mut cards = self.telegram.received(OPERATORS_CHAT_ID).into_iter();
        cards.rfind(|m| m.callback_data().contains(&claim)).unwrap_or_else(|| panic!("no live card of #{ticket}"))
    }

    /// `user` types `text` in the operators' chat.
    pub async fn in_operators_chat(&self, user: &TgUser, text: &str) -> Outcome {
        self.send(updates::group_text(OPERATORS_CHAT_ID, user, text)).await
    }

    /// `user` presses `data` under the last message of their private chat; returns the one answer to the press.
    pub async fn press(&self, user: &TgUser, data: &str) -> CallbackAnswer {
        let message_id = self.last(user.id).message_id;
        self.answer_to(updates::callback(user, user.id, message_id, data)).await
    }

    /// /start, the `topic` button, then «Обратиться к оператору» («Да» for «Другой вопрос»): the customer is asked
    /// for a phone, or to confirm the one we know. Every press is answered silently.
    pub async fn ask_for_operator(&self, customer: &TgUser, topic: Topic) {
        let topic = topic.as_str();
        self.send(updates::command(customer, "/start")).await;
        for data in [format!("topic:{topic}"), format!("operator:{topic}")] {
            let answer = self.press(customer, &data).await;
            assert_eq!((answer.text, answer.show_alert), (None, false), "{data}");
        }
    }

    /// [`Self::ask_for_operator`], then the phone ([`PHONE`]): returns the new ticket's id and its card.
    pub async fn queue_ticket(&self, customer: &TgUser, topic: Topic) -> (i64, Received) {
        self.ask_for_operator(customer, topic).await;
        self.send(updates::private_text(customer, PHONE)).await;
        let card = self.last(OPERATORS_CHAT_ID);
        let id = card.callback_data()[0]
            .strip_prefix("claim:")
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("the card's button claims a ticket: {card:#?}"));
        (id, card)
    }

    /// `operator` presses «Взять в работу» on `card`; returns the answer to the press.
    pub async fn claim(&self, operator: &TgUser, ticket: i64, card: &Received) -> CallbackAnswer {
        self.answer_to(claim_press(operator, ticket, card)).await
    }

    /// Customer `n` and operator `n` in a dialog about `topic` (see [`Self::open_dialog_between`]).
    pub async fn open_dialog(&self, n: i64, topic: Topic) -> Dialog {
        self.open_dialog_between(TgUser::customer(n), TgUser::operator(n), topic).await
    }

    /// `customer` queues a ticket about `topic`; `operator`, made a member of the operators' chat, claims it.
    pub async fn open_dialog_between(&self, customer: TgUser, operator: TgUser, topic: Topic) -> Dialog {
        let (ticket, card) = self.queue_ticket(&customer, topic).await;
        self.make_operator(operator.id);
        self.claim(&operator, ticket, &card).await;
        assert_eq!(self.ticket_status(ticket).await, (Status::Assigned, Some(operator.id)), "ticket {ticket}");
        Dialog { customer, operator, ticket, card }
    }

    /// A dialog about a warranty between customer `n` and operator `n`, closed by the operator and rated, with
    /// something of each kind history keeps: the customer's «Чайник не греет», edited to «Чайник совсем не
    /// греет», a photo captioned «Вот чек», the operator's «Принесите его в сервис», the rating 4 and the
    /// comment «Быстро ответили».
    pub async fn closed_dialog_with_history(&self, n: i64) -> Dialog {
        let d = self.open_dialog(n, Topic::Warranty).await;
        let said = updates::private_text(&d.customer, "Чайник не греет");
        let said_id = said["message"]["message_id"].as_i64().unwrap_or_default();
        self.send(said).await;
        self.send(updates::edited_text(&d.customer, said_id, "Чайник совсем не греет")).await;
        self.send(updates::photo(&d.customer, "photo1", Some("Вот чек"))).await;
        self.send(updates::private_text(&d.operator, "Принесите его в сервис")).await;
        self.press(&d.operator, &format!("close:{}", d.ticket)).await;
        self.press(&d.customer, &format!("rate:{}:4", d.ticket)).await;
        self.send(updates::private_text(&d.customer, "Быстро ответили")).await;
        d
    }

    /// Customers `1..=n`, each in a dialog about `topic` with the operator of the same number.
    pub async fn open_dialogs(&self, n: i64, topic: Topic) -> Vec<Dialog> {
        let mut all = Vec::new();
        for i in 1..=n {
            all.push(self.open_dialog(i, topic).await);
        }
        all
    }

    /// A ticket's status and operator.
    pub async fn ticket_status(&self, ticket: i64) -> (Status, Option<i64>) {
        let row = self
            .db
            .client()
            .await
            .query_one("SELECT status, operator_tg_id FROM tickets WHERE id = $1", &[&ticket])
            .await
            .unwrap_or_else(|e| panic!("ticket {ticket}: {e}"));
        (row.get::<_, Status>(0), row.get(1))
    }
}
