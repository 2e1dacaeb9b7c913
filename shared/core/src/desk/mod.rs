//! The desk file (`desk.toml`): the start menu's topics, what pressing each does, their template answers and the
//! menu's texts, per language. The repository's `desk.toml` is built in and used when `DESK_CONFIG` is not set;
//! `DESK_CONFIG` names a file, or `s3://bucket/key` on Lambda. It is read once, when the app is built (a Lambda's
//! cold start), and checked as a whole: every problem is reported with its line, and an invalid file stops the
//! start with the same report `zabota check-desk` prints.

mod check;
mod text;

use std::collections::HashMap;

pub use check::{Problem, parse};
pub use text::{Text, render};

use crate::domain::Topic;

/// The desk file shipped with the code: today's topics and the seed's texts.
pub const SHIPPED: &str = include_str!("../../../../desk.toml");

/// The desk file's format version this code reads.
pub const VERSION: i64 = 1;

/// What pressing a topic's button does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopicAction {
    /// Shows the topic's template answer with «Понятно» and «Обратиться к оператору».
    Template,
    /// Asks «Связаться с оператором?» with «Да» and «Нет».
    Confirm,
    /// Goes straight to the phone step.
    Phone,
}

impl TopicAction {
    /// As the desk file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            TopicAction::Template => "template",
            TopicAction::Confirm => "confirm",
            TopicAction::Phone => "phone",
        }
    }

    fn parse(s: &str) -> Option<TopicAction> {
        [TopicAction::Template, TopicAction::Confirm, TopicAction::Phone].into_iter().find(|a| a.as_str() == s)
    }
}

/// A topic of the start menu.
#[derive(Clone, Debug)]
pub struct TopicDef {
    /// Its id: stored with its tickets and carried by its button.
    pub id: Topic,
    /// What its button does.
    pub action: TopicAction,
    /// Its button's label, per language.
    labels: HashMap<String, String>,
    /// Its template answer, per language (a `template` topic only).
    templates: HashMap<String, String>,
}

/// A checked desk file.
#[derive(Clone, Debug)]
pub struct Desk {
    /// The language of customers whose own the desk does not have.
    default_language: String,
    /// The topics, in the menu's order.
    topics: Vec<TopicDef>,
    /// Every text, per language.
    texts: HashMap<String, HashMap<Text, String>>,
}

/// Why the desk file could not be had.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// It could not be read.
    #[error("desk file {source_name}: {message}")]
    Unreadable {
        /// Where it was looked for.
        source_name: String,
        /// What went wrong.
        message: String,
    },
    /// It was read and has problems, each with its line.
    #[error("desk file {source_name} is invalid:\n{}", problems.iter().map(|p| format!("  {source_name}:{p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// Where it came from.
        source_name: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

/// Where the desk file comes from (`DESK_CONFIG`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum DeskSource {
    /// The built-in `desk.toml`.
    #[default]
    Shipped,
    /// A file.
    File(std::path::PathBuf),
    /// An S3 object.
    S3 {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// `S3_ENDPOINT`, for S3-compatible servers.
        endpoint: Option<String>,
    },
}

impl DeskSource {
    /// `DESK_CONFIG`: unset or empty for the built-in file, `s3://bucket/key` (at `S3_ENDPOINT` when that is
    /// set), or a path.
    pub fn parse(value: Option<&str>, endpoint: Option<&str>) -> Result<DeskSource, String> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(DeskSource::Shipped) };
        match value.strip_prefix("s3://") {
            Some(rest) => match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
                    let endpoint = endpoint.map(str::to_owned);
                    Ok(DeskSource::S3 { bucket: bucket.to_owned(), key: key.to_owned(), endpoint })
                }
                _ => Err(format!("DESK_CONFIG={value:?} is not s3://bucket/key")),
            },
            None => Ok(DeskSource::File(value.into())),
        }
    }

    /// How problems name it.
    pub fn name(&self) -> String {
        match self {
            DeskSource::Shipped => "desk.toml (built in)".to_owned(),
            DeskSource::File(path) => path.display().to_string(),
            DeskSource::S3 { bucket, key, .. } => format!("s3://{bucket}/{key}"),
        }
    }

    /// Reads and checks it.
    pub async fn load(&self) -> Result<Desk, DeskError> {
        let name = self.name();
        let unreadable = |message: String| DeskError::Unreadable { source_name: name.clone(), message };
        let text = match self {
            DeskSource::Shipped => SHIPPED.to_owned(),
            DeskSource::File(path) => std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?,
            DeskSource::S3 { bucket, key, endpoint } => {
                let store = crate::media::s3::S3MediaStore::from_env(bucket, endpoint.as_deref()).await;
                let bytes = store.get(key).await.map_err(|e| unreadable(e.to_string()))?;
                String::from_utf8(bytes.to_vec()).map_err(|_| unreadable("not UTF-8".to_owned()))?
            }
        };
        let desk = parse(&text).map_err(|problems| DeskError::Invalid { source_name: name.clone(), problems })?;
        tracing::info!(desk = %name, topics = desk.topics.len(), "desk file loaded");
        Ok(desk)
    }
}

impl Desk {
    /// The built-in desk file, checked (by a test, and by `make test`): what the desk uses with no `DESK_CONFIG`.
    pub fn shipped() -> Desk {
        match parse(SHIPPED) {
            Ok(desk) => desk,
            // The shipped file is checked by `make test`; a broken one is a build defect, caught there.
            Err(problems) => panic!("the built-in desk.toml is invalid: {problems:?}"),
        }
    }

    /// The topics, in the menu's order.
    pub fn topics(&self) -> &[TopicDef] {
        &self.topics
    }

    /// Topic `id`, if the desk has it (a ticket's topic may since have been removed from the file).
    pub fn topic(&self, id: Topic) -> Option<&TopicDef> {
        self.topics.iter().find(|t| t.id == id)
    }

    /// The default language's `text`.
    pub fn text(&self, text: Text) -> &str {
        self.text_in(&self.default_language, text)
    }

    /// `text` in `language` (the default language's when the desk does not have that one).
    pub fn text_in(&self, language: &str, text: Text) -> &str {
        let texts = self.texts.get(language).or_else(|| self.texts.get(&self.default_language));
        texts.and_then(|t| t.get(&text)).map_or(text.key(), String::as_str)
    }

    /// The languages it has every text in.
    pub fn languages(&self) -> Vec<&str> {
        let mut languages: Vec<&str> = self.texts.keys().map(String::as_str).collect();
        languages.sort_unstable_by_key(|l| (*l != self.default_language, *l));
        languages
    }

    /// The language the desk speaks when it knows no better.
    pub fn language(&self) -> &str {
        &self.default_language
    }

    /// Topic `def`'s label in the desk's language.
    pub fn label<'d>(&'d self, def: &'d TopicDef) -> &'d str {
        def.label(&self.default_language)
    }

    /// Topic `id`'s label; a topic removed from the file is shown by its id.
    pub fn topic_label(&self, id: Topic) -> String {
        self.topic(id).map_or_else(|| id.as_str().to_owned(), |t| t.label(&self.default_language).to_owned())
    }

    /// The label of a topic as stored (`tickets.topic`): its label when the desk has it, else the text itself.
    pub fn topic_text_label(&self, stored: &str) -> String {
        Topic::parse(stored).map_or_else(|| stored.to_owned(), |t| self.topic_label(t))
    }

    /// Topic `id`'s template answer, for a `template` topic.
    pub fn template(&self, id: Topic) -> Option<&str> {
        self.topic(id)?.templates.get(&self.default_language).map(String::as_str)
    }
}

impl TopicDef {
    /// Its label in `language` (the check made sure every language has one).
    pub fn label(&self, language: &str) -> &str {
        self.labels.get(language).map_or(self.id.as_str(), String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desk_config_is_the_built_in_file_a_path_or_an_s3_object() {
        let parse = |value| DeskSource::parse(value, None);
        assert_eq!(parse(None), Ok(DeskSource::Shipped));
        assert_eq!(parse(Some(" ")), Ok(DeskSource::Shipped));
        assert_eq!(parse(Some("/etc/zabota/desk.toml")), Ok(DeskSource::File("/etc/zabota/desk.toml".into())));
        assert_eq!(
            DeskSource::parse(Some("s3://config/desks/shop.toml"), Some("http://127.0.0.1:9000")),
            Ok(DeskSource::S3 {
                bucket: "config".into(),
                key: "desks/shop.toml".into(),
                endpoint: Some("http://127.0.0.1:9000".into())
            })
        );
        for bad in ["s3://", "s3://bucket", "s3://bucket/", "s3:///key"] {
            assert!(parse(Some(bad)).is_err(), "{bad}");
        }
    }
}
