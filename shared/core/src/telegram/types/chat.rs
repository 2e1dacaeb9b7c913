//! People and chats: a Telegram user, a chat, and a chat member's status (getChatMember).

use serde::{Deserialize, Serialize};

/// A Telegram user or bot.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct User {
    /// Telegram's id of the person, stable for life; `users.tg_id`.
    pub id: i64,
    /// True for bots.
    #[serde(default)]
    pub is_bot: bool,
    /// The one part of the name Telegram requires.
    pub first_name: String,
    /// The rest of the name, when the user gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// @username without the @.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// IETF language tag of the user's client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
}

/// A chat: a private one with a single user, or a group (the operators' chat is a supergroup).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Chat {
    /// Unique id: positive for private chats, negative for groups.
    pub id: i64,
    /// "private", "group", "supergroup" or "channel".
    #[serde(rename = "type")]
    pub kind: String,
    /// Title of a group; absent for private chats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl Chat {
    /// True for a one-to-one chat with a user.
    pub(crate) fn is_private(&self) -> bool {
        self.kind == "private"
    }
}

/// A member of a chat and their status.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct ChatMember {
    /// creator, administrator, member, restricted, left, kicked.
    pub status: String,
    /// The user this status is about.
    pub user: User,
    /// For "restricted": whether they are still in the chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_member: Option<bool>,
}

impl ChatMember {
    /// True when the user is currently in the chat (a restricted user only while `is_member`).
    pub(crate) fn is_present(&self) -> bool {
        match self.status.as_str() {
            "creator" | "administrator" | "member" => true,
            "restricted" => self.is_member.unwrap_or(false),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ChatMember;

    fn member(json: &str) -> ChatMember {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_restricted_user_counts_only_while_still_in_the_chat() {
        let user = r#""user": {"id": 1, "is_bot": false, "first_name": "A"}"#;
        assert!(member(&format!(r#"{{"status": "member", {user}}}"#)).is_present());
        assert!(member(&format!(r#"{{"status": "restricted", "is_member": true, {user}}}"#)).is_present());
        assert!(!member(&format!(r#"{{"status": "restricted", "is_member": false, {user}}}"#)).is_present());
        assert!(!member(&format!(r#"{{"status": "left", {user}}}"#)).is_present());
        assert!(!member(&format!(r#"{{"status": "kicked", {user}}}"#)).is_present());
    }
}
