//! Callback data of our buttons. It comes back from Telegram as user input: parsed strictly, never trusted.

use super::Topic;

/// A button press we understand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Callback {
    /// A start-menu topic.
    Topic(Topic),
    /// «Понятно» under a template answer.
    Understood,
    /// «Обратиться к оператору» (or «Да» under «Другой вопрос») for a topic.
    Operator(Topic),
    /// «Нет» / «В начало»: back to the menu.
    Home,
    /// Keep the phone number we have.
    PhoneKeep,
    /// Type another phone number.
    PhoneOther,
    /// «Взять в работу» on a ticket's card.
    Claim(i64),
    /// «Взять #N» on the queue board.
    BoardClaim(i64),
    /// «Завершить диалог» for a ticket.
    Close(i64),
    /// A customer's «Завершить диалог» for their own ticket, asked after /start during a dialog.
    EndDialog(i64),
    /// «Продолжить диалог»: the customer keeps the dialog they have.
    KeepDialog,
    /// «Передать коллеге» under an operator's summary: hand the ticket back to the queue.
    Transfer(i64),
    /// «Отменить обращение» under a waiting customer's queue position.
    CancelTicket(i64),
    /// A satisfaction rating (1–5) of a ticket's dialog, by its customer.
    Rate(i64, u8),
}

impl Callback {
    /// A button only operators have (a card's, the board's, a summary's): its handler checks the presser's role.
    pub fn is_operators(self) -> bool {
        matches!(self, Callback::Claim(_) | Callback::BoardClaim(_) | Callback::Close(_) | Callback::Transfer(_))
    }

    /// Encodes for `callback_data` (always well under Telegram's 64 bytes).
    pub fn encode(self) -> String {
        match self {
            Callback::Topic(t) => format!("topic:{}", t.as_str()),
            Callback::Understood => "ok".into(),
            Callback::Operator(t) => format!("operator:{}", t.as_str()),
            Callback::Home => "home".into(),
            Callback::PhoneKeep => "phone:keep".into(),
            Callback::PhoneOther => "phone:other".into(),
            Callback::Claim(id) => format!("claim:{id}"),
            Callback::BoardClaim(id) => format!("board:{id}"),
            Callback::Close(id) => format!("close:{id}"),
            Callback::EndDialog(id) => format!("end:{id}"),
            Callback::KeepDialog => "keep".into(),
            Callback::Transfer(id) => format!("transfer:{id}"),
            Callback::CancelTicket(id) => format!("cancel:{id}"),
            Callback::Rate(id, score) => format!("rate:{id}:{score}"),
        }
    }

    /// Parses callback data; anything else (forged, from an old version, truncated) is `None`.
    pub fn parse(data: &str) -> Option<Callback> {
        let ticket = |id: &str| id.parse::<i64>().ok().filter(|id| *id > 0);
        match data.split_once(':') {
            None => match data {
                "ok" => Some(Callback::Understood),
                "home" => Some(Callback::Home),
                "keep" => Some(Callback::KeepDialog),
                _ => None,
            },
            Some(("topic", t)) => Topic::parse(t).map(Callback::Topic),
            Some(("operator", t)) => Topic::parse(t).map(Callback::Operator),
            Some(("phone", "keep")) => Some(Callback::PhoneKeep),
            Some(("phone", "other")) => Some(Callback::PhoneOther),
            Some(("claim", id)) if id.bytes().all(|b| b.is_ascii_digit()) => ticket(id).map(Callback::Claim),
            Some(("board", id)) if id.bytes().all(|b| b.is_ascii_digit()) => ticket(id).map(Callback::BoardClaim),
            Some(("close", id)) if id.bytes().all(|b| b.is_ascii_digit()) => ticket(id).map(Callback::Close),
            Some(("end", id)) if id.bytes().all(|b| b.is_ascii_digit()) => ticket(id).map(Callback::EndDialog),
            Some(("transfer", id)) if id.bytes().all(|b| b.is_ascii_digit()) => ticket(id).map(Callback::Transfer),
            Some(("cancel", id)) if id.bytes().all(|b| b.is_ascii_digit()) => ticket(id).map(Callback::CancelTicket),
            Some(("rate", rest)) => {
                let (id, score) = rest.split_once(':')?;
                let score = match score.as_bytes() {
                    [digit @ b'1'..=b'5'] => digit - b'0',
                    _ => return None,
                };
                id.bytes().all(|b| b.is_ascii_digit()).then(|| ticket(id)).flatten().map(|id| Callback::Rate(id, score))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_callback_survives_a_round_trip() {
        let all = [
            Callback::Topic(Topic::Warranty),
            Callback::Topic(Topic::Return),
            Callback::Topic(Topic::Other),
            Callback::Understood,
            Callback::Operator(Topic::Return),
            Callback::Home,
            Callback::PhoneKeep,
            Callback::PhoneOther,
            Callback::Claim(9_007_199_254_740_993),
            Callback::BoardClaim(i64::MAX),
            Callback::Close(1),
            Callback::EndDialog(7),
            Callback::KeepDialog,
            Callback::Transfer(i64::MAX),
            Callback::CancelTicket(3),
            Callback::Rate(i64::MAX, 5),
            Callback::Rate(1, 1),
        ];
        for cb in all {
            assert!(cb.encode().len() <= 64);
            assert_eq!(Callback::parse(&cb.encode()), Some(cb));
        }
    }

    #[test]
    fn forged_callback_data_is_rejected() {
        for data in [
            "",
            "claim:",
            "claim:-1",
            "claim:0",
            "claim:+5",
            "claim:1x",
            "claim:99999999999999999999",
            "topic:",
            "topic:Доставка",
            "topic:a:b",
            "operator:UPPER",
            "close:1:2",
            "OK",
            "phone:",
            "home:1",
            "transfer:",
            "cancel:x",
            "rate:1",
            "rate:1:0",
            "rate:1:6",
            "rate:1:55",
            "rate:x:3",
            "rate:-1:3",
            "rate:1:3:3",
            "rate::3",
        ] {
            assert_eq!(Callback::parse(data), None, "{data:?}");
        }
    }
}
