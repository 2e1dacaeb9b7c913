//! The people in the sandbox and what they do in its chats, checked as Telegram would: who may write where,
//! Telegram's size limits, and the sandbox's own bounds (it keeps everything in memory).

use std::sync::MutexGuard;
use std::sync::atomic::Ordering;

use serde_json::json;
use zabota_botapi::updates::{self, TgUser};

use super::{GROUP_ID, Sandbox};

/// The largest file the page may attach: Telegram's limit for bots' downloads.
pub const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;
/// What all attached files may add up to until a reset: they live in memory.
pub const MAX_FILES_TOTAL: usize = 256 * 1024 * 1024;
/// The most customers the page may add (their ids run from 1001 up, clear of the operators' 7001 and 7002).
pub const MAX_CUSTOMERS: usize = 20;
/// Telegram's limits on a message's text and a file's caption, in characters.
pub const MAX_TEXT_CHARS: usize = 4096;
const MAX_CAPTION_CHARS: usize = 1024;

/// Why the sandbox refused what the page asked: the page's fault (its HTTP status says which), never the desk's.
#[derive(Debug)]
pub enum Refusal {
    /// 400: the request makes no sense (an empty text, a customer writing in the group…).
    Bad(String),
    /// 404: no such person or message.
    NotFound(String),
    /// 413: over a size limit.
    TooLarge(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (Refusal::Bad(why) | Refusal::NotFound(why) | Refusal::TooLarge(why)) = self;
        f.write_str(why)
    }
}

impl std::error::Error for Refusal {}

fn refuse<T>(refusal: impl FnOnce(String) -> Refusal, why: impl Into<String>) -> anyhow::Result<T> {
    Err(refusal(why.into()).into())
}

/// Customers' first and last names, in the order «Ещё покупатель» adds them.
const CUSTOMERS: [(&str, &str); 6] = [
    ("Анна", "Смирнова"),
    ("Иван", "Петров"),
    ("Мария", "Кузнецова"),
    ("Пётр", "Соколов"),
    ("Ольга", "Попова"),
    ("Сергей", "Волков"),
];

/// Someone in the sandbox, as the page lists them.
#[derive(Clone, Debug)]
pub struct Person {
    /// Their Telegram self.
    pub user: TgUser,
    /// What they are: "customer", "supervisor" (an administrator of the group) or "operator".
    pub role: &'static str,
    /// The number their «📱 Отправить мой номер» shares (customers).
    pub phone: Option<String>,
}

impl Sandbox {
    pub(super) fn people(&self) -> MutexGuard<'_, Vec<Person>> {
        self.people.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everyone in the sandbox now.
    pub fn everyone(&self) -> Vec<Person> {
        self.people().clone()
    }

    /// One customer and two operators (the first an administrator of the group, so a supervisor).
    pub(super) fn seat_people(&self) {
        let operators = [("Ольга", "supervisor", "administrator"), ("Дмитрий", "operator", "member")];
        let mut people = self.people();
        people.clear();
        for (n, (name, role, status)) in (1..).zip(operators) {
            let user = TgUser {
                id: 7000 + n,
                first_name: name.to_owned(),
                last_name: None,
                username: Some(format!("operator_{n}")),
                language_code: Some("ru".into()),
            };
            self.telegram.set_chat_member(GROUP_ID, user.id, status);
            people.push(Person { user, role, phone: None });
        }
        drop(people);
        // The first of MAX_CUSTOMERS: never refused.
        let _first = self.add_customer();
    }

    /// Adds a customer (at most [`MAX_CUSTOMERS`]); returns their id (their chat's too).
    pub fn add_customer(&self) -> anyhow::Result<i64> {
        let mut people = self.people();
        let n = people.iter().filter(|p| p.role == "customer").count();
        if n >= MAX_CUSTOMERS {
            return refuse(Refusal::Bad, format!("at most {MAX_CUSTOMERS} customers: reset the sandbox to start over"));
        }
        let n = n as i64 + 1;
        let (first, last) = CUSTOMERS[(n as usize - 1) % CUSTOMERS.len()];
        let user = TgUser {
            id: 1000 + n,
            first_name: first.to_owned(),
            last_name: Some(last.to_owned()),
            username: Some(format!("customer_{n}")),
            language_code: Some("ru".into()),
        };
        let id = user.id;
        people.push(Person {
            user,
            role: "customer",
            phone: Some(format!("+7 916 555-{:02}-{:02}", 10 + n / 100, n % 100)),
        });
        Ok(id)
    }

    /// The person with this id.
    fn person(&self, id: i64) -> anyhow::Result<Person> {
        match self.people().iter().find(|p| p.user.id == id) {
            Some(person) => Ok(person.clone()),
            None => refuse(Refusal::NotFound, format!("nobody with id {id}")),
        }
    }

    /// Who may write in `chat` as `from`: the private chat's own person, or an operator in the group.
    fn writer(&self, chat: i64, from: i64) -> anyhow::Result<Person> {
        let person = self.person(from)?;
        let allowed = if chat == GROUP_ID { person.role != "customer" } else { chat == from };
        if !allowed {
            return refuse(Refusal::Bad, format!("{} cannot write in chat {chat}", person.user.first_name));
        }
        Ok(person)
    }

    /// A message's text as Telegram would take it: not blank, at most `max` characters.
    fn text_ok(text: &str, max: usize) -> anyhow::Result<()> {
        if text.trim().is_empty() {
            return refuse(Refusal::Bad, "nothing to send");
        }
        if text.chars().count() > max {
            return refuse(Refusal::TooLarge, format!("Telegram takes at most {max} characters here"));
        }
        Ok(())
    }

    /// `from` writes `text` in `chat`, as a reply to message `reply_to` if given. Returns the message's id.
    pub fn write(&self, chat: i64, from: i64, text: &str, reply_to: Option<i64>) -> anyhow::Result<i64> {
        Self::text_ok(text, MAX_TEXT_CHARS)?;
        let person = self.writer(chat, from)?;
        let mut update = if chat == GROUP_ID {
            updates::group_text(GROUP_ID, &person.user, text)
        } else {
            updates::private_text(&person.user, text)
        };
        if let Some(reply_to) = reply_to {
            let chat_json = update["message"]["chat"].clone();
            update["message"]["reply_to_message"] = json!({ "message_id": reply_to, "chat": chat_json, "date": 0 });
        }
        Ok(self.telegram.write(update))
    }

    /// The customer `from` shares their own contact (the «📱 Отправить мой номер» button).
    pub fn share_contact(&self, from: i64) -> anyhow::Result<i64> {
        let person = self.writer(from, from)?;
        let phone = person.phone.clone().unwrap_or_else(|| "+7 916 555-00-00".to_owned());
        Ok(self.telegram.write(updates::contact(&person.user, &phone, Some(person.user.id))))
    }

    /// `from` sends a file in their private chat: a photo when `mime` is an image, a document otherwise.
    pub fn send_file(
        &self,
        from: i64,
        name: &str,
        mime: &str,
        caption: Option<&str>,
        bytes: Vec<u8>,
    ) -> anyhow::Result<i64> {
        let person = self.writer(from, from)?;
        if bytes.is_empty() {
            return refuse(Refusal::Bad, "the file is empty");
        }
        if bytes.len() > MAX_FILE_BYTES {
            return refuse(Refusal::TooLarge, "a file of at most 20 MB, please (Telegram's limit for bots)");
        }
        if let Some(caption) = caption.filter(|c| !c.trim().is_empty()) {
            Self::text_ok(caption, MAX_CAPTION_CHARS)?;
        }
        let total = self.file_bytes.fetch_add(bytes.len(), Ordering::Relaxed) + bytes.len();
        if total > MAX_FILES_TOTAL {
            self.file_bytes.fetch_sub(bytes.len(), Ordering::Relaxed);
            return refuse(Refusal::TooLarge, "the sandbox holds 256 MB of files already: reset it to attach more");
        }
        let file_id = format!("sandbox_{}", uuid_like());
        let size = bytes.len();
        self.telegram.add_file(&file_id, &format!("u_{file_id}"), bytes);
        let caption = caption.filter(|c| !c.trim().is_empty());
        let file = json!({ "file_id": file_id, "file_unique_id": format!("u_{file_id}"), "file_size": size });
        let update = if mime.starts_with("image/") && !mime.contains("svg") {
            let mut update = updates::photo(&person.user, &file_id, caption);
            // One size, the file itself: the page shows what was attached.
            let mut size = file;
            size["width"] = json!(1280);
            size["height"] = json!(960);
            update["message"]["photo"] = json!([size]);
            update
        } else {
            let mut update = updates::document(&person.user, &file_id, name, mime, caption);
            update["message"]["document"]["file_size"] = json!(size);
            update
        };
        Ok(self.telegram.write(update))
    }

    /// `from` presses the button with `data` under message `message_id` of `chat`. The callback query's id, to
    /// find its answer; refused (404) when the bot has no such message (deleted).
    pub fn press(&self, chat: i64, from: i64, message_id: i64, data: &str) -> anyhow::Result<String> {
        let person = self.writer(chat, from)?;
        match self.telegram.press(&person.user, chat, message_id, data) {
            Some(id) => Ok(id),
            None => refuse(Refusal::NotFound, format!("the bot has no message {message_id} in chat {chat}")),
        }
    }

    /// `from` edits their message `message_id` in their private chat.
    pub fn edit(&self, from: i64, message_id: i64, text: &str) -> anyhow::Result<()> {
        Self::text_ok(text, MAX_TEXT_CHARS)?;
        let person = self.writer(from, from)?;
        if !self.telegram.edit_by_user(&person.user, from, message_id, text) {
            return refuse(Refusal::NotFound, format!("{} wrote no message {message_id}", person.user.first_name));
        }
        Ok(())
    }

    /// `from` sets (or, with `None`, takes back) a reaction on message `message_id` of their private chat.
    pub fn react(&self, from: i64, message_id: i64, emoji: Option<&str>) -> anyhow::Result<()> {
        let person = self.writer(from, from)?;
        self.telegram.react(&person.user, message_id, emoji);
        Ok(())
    }
}

/// A short unique token for file ids.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{n}_{nanos:x}")
}
