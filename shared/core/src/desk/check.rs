//! Reading a desk file and checking all of it: every problem is collected with its line (an unknown key, a missing
//! text, a topic id used twice, a label or a template over Telegram's limits, a button whose callback data would
//! pass 64 bytes, an unknown placeholder), so one run of `zabota check-desk` shows them all.

use std::collections::{HashMap, HashSet};

use toml_edit::{Document, Item, TableLike};

use super::text::{TEMPLATE_PLACEHOLDERS, Text, placeholders_in};
use super::{Desk, TopicAction, TopicDef, VERSION};
use crate::domain::{Callback, Topic};

/// Telegram's limit on a message's text, in characters.
const MESSAGE_CHARS: usize = 4096;
/// The longest button label the desk takes, in characters: what a phone shows on one button without cutting it.
const LABEL_CHARS: usize = 64;
/// Telegram's limit on a command's description in a command menu, in characters.
const COMMAND_DESCRIPTION_CHARS: usize = 256;
/// Telegram's limit on a button's callback data, in bytes.
const CALLBACK_BYTES: usize = 64;
/// What a placeholder may grow to: a first name or a topic's label, at most 64 characters.
const PLACEHOLDER_ROOM: usize = 64;
/// The most topics a start menu shows.
const MAX_TOPICS: usize = 20;

/// One problem of a desk file: its line (1-based) and what is wrong, in English, for the people who edit it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The line it is on.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.line, self.message)
    }
}

/// Reads `source` as a desk file: the desk, or every problem found (in the file's order).
pub fn parse(source: &str) -> Result<Desk, Vec<Problem>> {
    let doc = match Document::parse(source) {
        Ok(doc) => doc,
        Err(e) => {
            let line = e.span().map_or(1, |s| line_of(source, s.start));
            return Err(vec![Problem { line, message: format!("not valid TOML: {}", e.message()) }]);
        }
    };
    let mut check = Checker { source, problems: Vec::new() };
    let desk = check.desk(doc.as_table());
    check.problems.sort_by_key(|p| p.line);
    match desk {
        Some(desk) if check.problems.is_empty() => Ok(desk),
        _ => Err(check.problems),
    }
}

/// The line of byte `offset` in `source`.
fn line_of(source: &str, offset: usize) -> usize {
    source.as_bytes()[..offset.min(source.len())].iter().filter(|b| **b == b'\n').count() + 1
}

struct Checker<'s> {
    source: &'s str,
    problems: Vec<Problem>,
}

/// Where an entry is: its key's offset, else its value's, else `fallback`.
fn at(table: &dyn TableLike, key: &str, fallback: usize) -> usize {
    match table.get_key_value(key) {
        Some((k, item)) => k.span().or_else(|| item.span()).map_or(fallback, |s| s.start),
        None => fallback,
    }
}

impl Checker<'_> {
    fn problem(&mut self, offset: usize, message: impl Into<String>) {
        self.problems.push(Problem { line: line_of(self.source, offset), message: message.into() });
    }

    /// Reports every key of `table` not in `known` (`context`: how the table is named).
    fn unknown_keys(&mut self, table: &dyn TableLike, known: &[&str], context: &str, fallback: usize) {
        let unknown: Vec<String> =
            table.iter().map(|(k, _)| k.to_owned()).filter(|k| !known.contains(&k.as_str())).collect();
        for key in unknown {
            let offset = at(table, &key, fallback);
            self.problem(offset, format!("unknown key `{key}` in {context} (known: {})", known.join(", ")));
        }
    }

    /// The string at `key` of `table`; `None`, with a problem, when it is missing or not a string.
    fn string<'t>(&mut self, table: &'t dyn TableLike, key: &str, context: &str, fallback: usize) -> Option<&'t str> {
        match table.get(key) {
            None => {
                self.problem(fallback, format!("{context} has no `{key}`"));
                None
            }
            Some(item) => match item.as_str() {
                Some(s) => Some(s),
                None => {
                    self.problem(at(table, key, fallback), format!("`{key}` in {context} must be a string"));
                    None
                }
            },
        }
    }

    fn desk(&mut self, root: &toml_edit::Table) -> Option<Desk> {
        self.unknown_keys(root, &["version", "default_language", "languages", "topics", "texts"], "the file", 0);
        match root.get("version").map(Item::as_integer) {
            Some(Some(VERSION)) => {}
            Some(_) => self.problem(at(root, "version", 0), format!("`version` must be {VERSION}")),
            None => self.problem(0, format!("the file has no `version` (write `version = {VERSION}` first)")),
        }
        let languages = self.languages(root);
        let default_language = self.string(root, "default_language", "the file", 0).map(str::to_owned);
        if let Some(default) = &default_language
            && !languages.is_empty()
            && !languages.contains(default)
        {
            self.problem(
                at(root, "default_language", 0),
                format!("`default_language` {default:?} is not in `languages`"),
            );
        }
        let topics = self.topics(root, &languages);
        let texts = self.texts(root, &languages);
        Some(Desk { default_language: default_language?, topics: topics?, texts: texts? })
    }

    fn languages(&mut self, root: &toml_edit::Table) -> Vec<String> {
        let offset = at(root, "languages", 0);
        let Some(item) = root.get("languages") else {
            self.problem(0, "the file has no `languages` (e.g. `languages = [\"ru\", \"en\"]`)");
            return Vec::new();
        };
        let Some(array) = item.as_array() else {
            self.problem(offset, "`languages` must be a list of language codes");
            return Vec::new();
        };
        let mut languages = Vec::new();
        for value in array.iter() {
            // Two letters (ISO 639-1): what Telegram's clients report and setMyCommands takes.
            let code = value.as_str().filter(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_lowercase()));
            match code {
                Some(code) if languages.iter().any(|l| l == code) => {
                    self.problem(offset, format!("language {code:?} is listed twice"));
                }
                Some(code) => languages.push(code.to_owned()),
                None => {
                    let shown =
                        value.as_str().map_or_else(|| "a value that is no text".to_owned(), |v| format!("{v:?}"));
                    self.problem(offset, format!("{shown} is not a language code (two letters: ru, en)"));
                }
            }
        }
        if languages.is_empty() && !array.is_empty() {
            return languages;
        }
        if array.is_empty() {
            self.problem(offset, "`languages` lists no language");
        }
        languages
    }

    fn topics(&mut self, root: &toml_edit::Table, languages: &[String]) -> Option<Vec<TopicDef>> {
        let offset = at(root, "topics", 0);
        let Some(tables) = root.get("topics").and_then(Item::as_array_of_tables) else {
            let message = match root.get("topics") {
                None => "the file has no topics (each is a `[[topics]]` table)",
                Some(_) => "`topics` must be `[[topics]]` tables",
            };
            self.problem(offset, message);
            return None;
        };
        if tables.len() > MAX_TOPICS {
            self.problem(offset, format!("{} topics: the start menu shows at most {MAX_TOPICS}", tables.len()));
        }
        let mut topics = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut complete = true;
        for (n, table) in tables.iter().enumerate() {
            let start = table.span().map_or(offset, |s| s.start);
            let context = format!("topic {}", n + 1);
            self.unknown_keys(table, &["id", "action", "label", "template"], &context, start);
            let id = self.topic_id(table, &context, start, &mut seen);
            let action = self.string(table, "action", &context, start).and_then(|a| {
                let action = TopicAction::parse(a);
                if action.is_none() {
                    self.problem(
                        at(table, "action", start),
                        format!("`action` {a:?} in {context} is not template, confirm or phone"),
                    );
                }
                action
            });
            let labels = self.per_language(table, "label", &context, start, languages, LABEL_CHARS, &[]);
            let templates = match (action, table.get("template")) {
                (Some(TopicAction::Template), _) => self.per_language(
                    table,
                    "template",
                    &context,
                    start,
                    languages,
                    MESSAGE_CHARS,
                    TEMPLATE_PLACEHOLDERS,
                ),
                (Some(other), Some(_)) => {
                    let message = format!(
                        "{context} has a `template`, but only `action = \"template\"` shows one (it is {:?})",
                        other.as_str()
                    );
                    self.problem(at(table, "template", start), message);
                    None
                }
                _ => Some(HashMap::new()),
            };
            match (id, action, labels, templates) {
                (Some(id), Some(action), Some(labels), Some(templates)) => {
                    topics.push(TopicDef { id, action, labels, templates });
                }
                _ => complete = false,
            }
        }
        complete.then_some(topics)
    }

    fn topic_id(
        &mut self,
        table: &toml_edit::Table,
        context: &str,
        start: usize,
        seen: &mut HashMap<String, usize>,
    ) -> Option<Topic> {
        let id = self.string(table, "id", context, start)?;
        let offset = at(table, "id", start);
        let Some(topic) = Topic::parse(id) else {
            self.problem(
                offset,
                format!("topic id {id:?} must be lower-case latin letters, digits and _ (e.g. \"delivery\")"),
            );
            return None;
        };
        if let Some(first) = seen.get(id) {
            let line = line_of(self.source, *first);
            self.problem(offset, format!("topic id {id:?} is used twice (first on line {line})"));
            return None;
        }
        seen.insert(id.to_owned(), offset);
        for callback in [Callback::Topic(topic), Callback::Operator(topic)] {
            let data = callback.encode();
            if data.len() > CALLBACK_BYTES {
                let message = format!(
                    "topic id {id:?} is too long: its button's callback data {data:?} would be {} bytes, Telegram takes {CALLBACK_BYTES}",
                    data.len()
                );
                self.problem(offset, message);
                return None;
            }
        }
        Some(topic)
    }

    /// `key` of `table` as a table with a string per language, each at most `max_chars` and using only `allowed`
    /// placeholders.
    #[allow(clippy::too_many_arguments)] // one check, told everything it reports about
    fn per_language(
        &mut self,
        table: &dyn TableLike,
        key: &str,
        context: &str,
        start: usize,
        languages: &[String],
        max_chars: usize,
        allowed: &[&str],
    ) -> Option<HashMap<String, String>> {
        let offset = at(table, key, start);
        let Some(item) = table.get(key) else {
            self.problem(start, format!("{context} has no `{key}`"));
            return None;
        };
        let Some(values) = item.as_table_like() else {
            self.problem(
                offset,
                format!("`{key}` in {context} must give a text per language, e.g. `{key} = {{ ru = \"…\" }}`"),
            );
            return None;
        };
        let known: Vec<&str> = languages.iter().map(String::as_str).collect();
        self.unknown_keys(values, &known, &format!("`{key}` of {context} (a language not in `languages`)"), offset);
        let mut out = HashMap::new();
        for language in languages {
            let name = format!("{key}.{language} of {context}");
            let Some(text) = self.string(values, language, &format!("`{key}` of {context}"), offset) else { continue };
            let span = values.get(language).and_then(Item::span);
            self.text_limits((at(values, language, offset), span), &name, text, max_chars, allowed);
            out.insert(language.clone(), text.to_owned());
        }
        (out.len() == languages.len()).then_some(out)
    }

    /// A text's length and placeholders. `(offset, span)`: where its key is, and its value's bytes in the file
    /// (an unknown placeholder is reported on its own line, deep in a multi-line text too).
    fn text_limits(
        &mut self,
        (offset, span): (usize, Option<std::ops::Range<usize>>),
        name: &str,
        text: &str,
        max_chars: usize,
        allowed: &[&str],
    ) {
        // What Telegram counts (UTF-16 code units: an emoji is two), with room for what each placeholder may
        // become (a first name or a label).
        let found = placeholders_in(text);
        let placeholders = found.as_ref().map_or(0, Vec::len);
        let chars = text.encode_utf16().count() + placeholders * PLACEHOLDER_ROOM;
        if text.trim().is_empty() {
            self.problem(offset, format!("{name} is empty"));
        } else if chars > max_chars {
            let room = if placeholders > 0 {
                format!(" (with {PLACEHOLDER_ROOM} for each placeholder)")
            } else {
                String::new()
            };
            self.problem(offset, format!("{name} is {chars} characters{room}, Telegram takes {max_chars}"));
        }
        match found {
            Err(at) => {
                let message = format!(
                    "{name}: a brace at character {} that is no placeholder (write {{{{ and }}}} for braces)",
                    text[..at].chars().count() + 1
                );
                self.problem(offset, message);
            }
            Ok(used) => {
                let unknown: HashSet<&str> = used.into_iter().filter(|p| !allowed.contains(p)).collect();
                let mut unknown: Vec<&str> = unknown.into_iter().collect();
                unknown.sort_unstable();
                for placeholder in unknown {
                    let known = if allowed.is_empty() {
                        "it takes none".to_owned()
                    } else {
                        format!(
                            "it takes {}",
                            allowed.iter().map(|p| format!("{{{p}}}")).collect::<Vec<_>>().join(", ")
                        )
                    };
                    let token = format!("{{{placeholder}}}");
                    let raw = span.clone().and_then(|s| Some(s.start + self.source.get(s)?.find(&token)?));
                    self.problem(raw.unwrap_or(offset), format!("{name}: unknown placeholder {token} ({known})"));
                }
            }
        }
    }

    fn texts(
        &mut self,
        root: &toml_edit::Table,
        languages: &[String],
    ) -> Option<HashMap<String, HashMap<Text, String>>> {
        let offset = at(root, "texts", 0);
        let Some(texts) = root.get("texts").and_then(Item::as_table_like) else {
            self.problem(offset, "the file has no `[texts.LANG]` tables");
            return None;
        };
        let known: Vec<&str> = languages.iter().map(String::as_str).collect();
        self.unknown_keys(texts, &known, "`texts` (a language not in `languages`)", offset);
        let keys: Vec<&str> = Text::ALL.iter().map(|t| t.key()).collect();
        let mut out = HashMap::new();
        for language in languages {
            let Some(table) = texts.get(language).and_then(Item::as_table_like) else {
                self.problem(offset, format!("no `[texts.{language}]` table: every language needs all its texts"));
                continue;
            };
            let start = texts.get_key_value(language).and_then(|(k, _)| k.span()).map_or(offset, |s| s.start);
            let context = format!("[texts.{language}]");
            self.unknown_keys(table, &keys, &context, start);
            let mut set = HashMap::new();
            for text in Text::ALL {
                let Some(value) = table.get(text.key()) else {
                    self.problem(start, format!("{context} has no `{}`", text.key()));
                    continue;
                };
                let offset = at(table, text.key(), start);
                let Some(value) = value.as_str() else {
                    self.problem(offset, format!("`{}` in {context} must be a string", text.key()));
                    continue;
                };
                let max = match text.key() {
                    k if k.starts_with("button_") => LABEL_CHARS,
                    k if k.starts_with("command_") => COMMAND_DESCRIPTION_CHARS,
                    _ => MESSAGE_CHARS,
                };
                let span = table.get(text.key()).and_then(Item::span);
                let name = format!("{context} {}", text.key());
                self.text_limits((offset, span), &name, value, max, text.placeholders());
                set.insert(*text, value.to_owned());
            }
            out.insert(language.clone(), set);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::{SHIPPED, TopicAction};

    /// The problems of `source`, as `line: message`.
    fn problems(source: &str) -> Vec<String> {
        match parse(source) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    /// The shipped file with `from` replaced by `to` (once).
    fn edited(from: &str, to: &str) -> String {
        assert!(SHIPPED.contains(from), "{from:?} is not in desk.toml");
        SHIPPED.replacen(from, to, 1)
    }

    /// The last line `needle` is on in `source`.
    fn line(source: &str, needle: &str) -> usize {
        source.lines().enumerate().filter(|(_, l)| l.contains(needle)).last().map_or(0, |(n, _)| n + 1)
    }

    #[test]
    fn the_shipped_desk_has_the_seeds_topics_buttons_and_questions() {
        let desk = parse(SHIPPED).unwrap_or_else(|p| panic!("{p:?}"));
        let topics: Vec<(&str, TopicAction, &str, &str)> =
            desk.topics().iter().map(|t| (t.id.as_str(), t.action, t.label("ru"), t.label("en"))).collect();
        assert_eq!(
            topics,
            [
                ("warranty", TopicAction::Template, "Гарантия", "Warranty"),
                ("return", TopicAction::Template, "Возврат", "Return"),
                ("other", TopicAction::Confirm, "Другой вопрос", "Other question"),
            ]
        );
        assert_eq!(desk.language(), "ru");
        // The seed's exact labels and question.
        let texts = [
            (Text::ButtonUnderstood, "Понятно"),
            (Text::ButtonContactOperator, "Обратиться к оператору"),
            (Text::ConfirmOperator, "Связаться с оператором?"),
            (Text::ButtonYes, "Да"),
            (Text::ButtonNo, "Нет"),
            (Text::Greeting, "Здравствуйте! Это Служба Заботы.\nВыберите тему обращения:"),
        ];
        for (text, seed) in texts {
            assert_eq!(desk.text(text), seed, "{text:?}");
        }
        // The phone step, as the customer reads it (what the texts said before they moved into the file).
        let button = crate::desk::render(desk.text(Text::ButtonSharePhone), &[]);
        let phone = |text| crate::desk::render(desk.text(text), &[("button", &button), ("phone", "+7 916 ***-**-67")]);
        let before = [
            (
                Text::AskPhone,
                "Чтобы оператор мог связаться с вами, отправьте номер телефона кнопкой ниже или напишите его сообщением, например +7 916 123-45-67.",
            ),
            (Text::ConfirmPhone, "Связаться с вами по номеру +7 916 ***-**-67?"),
            (
                Text::PhoneInvalid,
                "Не получилось распознать номер. Напишите номер телефона полностью, например +7 916 123-45-67 или 8 916 123-45-67, или нажмите кнопку «📱 Отправить мой номер».",
            ),
            (
                Text::ContactNotOwn,
                "Это чужой контакт. Отправьте, пожалуйста, свой номер кнопкой «📱 Отправить мой номер» или напишите его сообщением.",
            ),
            (
                Text::PhoneExpected,
                "Сейчас нужен номер телефона: нажмите кнопку «📱 Отправить мой номер» или напишите номер сообщением.",
            ),
            (Text::ButtonPhoneKeep, "Да, этот номер"),
            (Text::ButtonPhoneOther, "Другой номер"),
            (Text::ButtonHome, "В начало"),
        ];
        for (text, was) in before {
            assert_eq!(phone(text), was, "{text:?}");
        }
        let warranty = desk.template(Topic::Warranty).unwrap_or_default();
        assert!(warranty.starts_with("Гарантия.\nГарантийный срок указан") && !warranty.contains("  "), "{warranty:?}");
    }

    #[test]
    fn each_kind_of_mistake_is_reported_on_its_line() {
        let cases: Vec<(String, &str, &str)> = vec![
            (edited("version = 1", "version = 1\nstyle = \"dark\""), "style", "unknown key `style` in the file"),
            (edited("id = \"return\"", "id = \"warranty\""), "id = \"warranty\"", "is used twice"),
            (
                edited("label = { ru = \"Возврат\"", &format!("label = {{ ru = \"{}\"", "В".repeat(65))),
                "ВВВ",
                "is 65 characters, Telegram takes 64",
            ),
            (
                edited("template.ru = \"\"\"Возврат.", &format!("template.ru = \"\"\"{}", "в".repeat(4100))),
                "template.ru",
                "characters, Telegram takes 4096",
            ),
            (
                edited("id = \"other\"", &format!("id = \"{}\"", "o".repeat(60))),
                "ooo",
                "would be 66 bytes, Telegram takes 64",
            ),
            (edited("button_no = \"Нет\"\n", ""), "[texts.ru]", "[texts.ru] has no `button_no`"),
            (
                edited("understood = \"Рады", "understood = \"{topic} Рады"),
                "{topic} Рады",
                "unknown placeholder {topic} (it takes {name})",
            ),
            (
                edited("label = { ru = \"Гарантия\", en = \"Warranty\" }", "label = { ru = \"Гарантия\" }"),
                "ru = \"Гарантия\" }",
                "`label` of topic 1 has no `en`",
            ),
            (
                edited("action = \"confirm\"", "action = \"call\""),
                "action = \"call\"",
                "not template, confirm or phone",
            ),
            (edited("[texts.en]", "[texts.de]"), "[texts.de]", "unknown key `de` in `texts`"),
            (
                edited("greeting = \"\"\"Здравствуйте!", "greeting = \"\"\"Здравствуйте! {"),
                "Здравствуйте! {",
                "a brace at character 15",
            ),
            (edited("version = 1", "version = 1\nversion = 2"), "version = 2", "not valid TOML"),
            // Deep in a multi-line template, on its own line.
            (edited("неисправность;", "неисправность {fault};"), "{fault}", "unknown placeholder {fault}"),
        ];
        for (source, at, message) in cases {
            let found = problems(&source);
            let want = line(&source, at.lines().next().unwrap_or(at));
            assert!(
                found.iter().any(|p| p.starts_with(&format!("{want}: ")) && p.contains(message)),
                "{message:?} on line {want}, got {found:#?}"
            );
        }
    }

    #[test]
    fn a_topic_that_goes_straight_to_the_phone_step_needs_no_template() {
        let desk = edited(
            "[[topics]]\nid = \"other\"",
            "[[topics]]\nid = \"delivery\"\naction = \"phone\"\nlabel = { ru = \"Доставка\", en = \"Delivery\" }\n\n[[topics]]\nid = \"other\"",
        );
        let desk = parse(&desk).unwrap_or_else(|p| panic!("{p:?}"));
        let delivery = Topic::parse("delivery").unwrap_or(Topic::Other);
        assert_eq!(desk.topic(delivery).map(|t| t.action), Some(TopicAction::Phone));
        assert_eq!(desk.topic_label(delivery), "Доставка");
        assert_eq!(desk.topic_text_label("gone"), "gone", "a topic no longer in the file shows as its id");
    }
}
