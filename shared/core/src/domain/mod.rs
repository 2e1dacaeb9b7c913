//! Pure domain types: no I/O.

pub mod callback;
pub mod phone;

pub use callback::Callback;

/// What a customer needs help with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// «Гарантия».
    Warranty,
    /// «Возврат».
    Return,
    /// «Другой вопрос».
    Other,
}

impl Topic {
    /// As stored in `tickets.topic` and in callback data.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Warranty => "warranty",
            Topic::Return => "return",
            Topic::Other => "other",
        }
    }

    /// The inverse of [`Topic::as_str`].
    pub fn parse(s: &str) -> Option<Topic> {
        match s {
            "warranty" => Some(Topic::Warranty),
            "return" => Some(Topic::Return),
            "other" => Some(Topic::Other),
            _ => None,
        }
    }
}

/// Where a customer is in the conversation with the bot (`users.dialog_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogState {
    /// Nothing asked; free text gets the menu.
    Menu,
    /// Waiting for a phone number for a ticket on `topic`.
    AwaitingPhone(Topic),
    /// Asked whether the known phone number is still right.
    ConfirmPhone(Topic),
}

impl DialogState {
    /// Column values `(dialog_state, dialog_topic)`.
    pub fn to_columns(self) -> (&'static str, Option<&'static str>) {
        match self {
            DialogState::Menu => ("menu", None),
            DialogState::AwaitingPhone(t) => ("awaiting_phone", Some(t.as_str())),
            DialogState::ConfirmPhone(t) => ("confirm_phone", Some(t.as_str())),
        }
    }

    /// From the columns; anything unknown is the menu.
    pub fn from_columns(state: &str, topic: Option<&str>) -> DialogState {
        match (state, topic.and_then(Topic::parse)) {
            ("awaiting_phone", Some(t)) => DialogState::AwaitingPhone(t),
            ("confirm_phone", Some(t)) => DialogState::ConfirmPhone(t),
            _ => DialogState::Menu,
        }
    }
}
