//! Pure domain types: no I/O.

/// An enum stored as text: its values, `as_str`, `parse` (the inverse; `None` for anything else) and `Display`.
/// `db` gives these their `ToSql`/`FromSql`, so an unknown value read from the database is an error.
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// As stored.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The inverse of `as_str`.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod callback;
pub mod command;
pub mod content;
pub mod phone;
pub mod ticket;
pub mod topic;

pub use callback::Callback;
pub use command::{Command, TicketArg};
pub use content::{ArchiveStatus, Content, ContentKind};
pub use ticket::{BannedEvent, CloseReason, HandoverKind, Role, Sender, Status};
pub use topic::Topic;

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

text_enum! {
    /// The step of a [`DialogState`] as stored (`users.dialog_state`; its topic is `users.dialog_topic`).
    pub enum DialogStep {
        /// [`DialogState::Menu`].
        Menu = "menu",
        /// [`DialogState::AwaitingPhone`].
        AwaitingPhone = "awaiting_phone",
        /// [`DialogState::ConfirmPhone`].
        ConfirmPhone = "confirm_phone",
    }
}

impl DialogState {
    /// Column values `(dialog_state, dialog_topic)`.
    pub fn to_columns(self) -> (DialogStep, Option<Topic>) {
        match self {
            DialogState::Menu => (DialogStep::Menu, None),
            DialogState::AwaitingPhone(t) => (DialogStep::AwaitingPhone, Some(t)),
            DialogState::ConfirmPhone(t) => (DialogStep::ConfirmPhone, Some(t)),
        }
    }

    /// From the columns; `None` for a phone step without its topic (the two columns disagree).
    pub fn from_columns(step: DialogStep, topic: Option<Topic>) -> Option<DialogState> {
        match (step, topic) {
            (DialogStep::Menu, _) => Some(DialogState::Menu),
            (DialogStep::AwaitingPhone, Some(t)) => Some(DialogState::AwaitingPhone(t)),
            (DialogStep::ConfirmPhone, Some(t)) => Some(DialogState::ConfirmPhone(t)),
            (_, None) => None,
        }
    }
}
