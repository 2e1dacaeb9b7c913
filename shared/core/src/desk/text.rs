//! The texts a desk file sets (`[texts.LANG]`): each key, what it is for, and the placeholders it may use.

/// Declares the texts: variant, key in the file, and the placeholders the text may use.
macro_rules! texts {
    ($($(#[$meta:meta])* $variant:ident = $key:literal [$($placeholder:literal),*],)+) => {
        /// A text the desk file sets.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Text {
            $($(#[$meta])* $variant,)+
        }

        impl Text {
            /// Every text, in the file's documented order.
            pub const ALL: &'static [Text] = &[$(Text::$variant,)+];

            /// Its key in `[texts.LANG]`.
            pub fn key(self) -> &'static str {
                match self {
                    $(Text::$variant => $key,)+
                }
            }

            /// The placeholders it may use, as `{name}`.
            pub fn placeholders(self) -> &'static [&'static str] {
                match self {
                    $(Text::$variant => &[$($placeholder),*],)+
                }
            }

            /// The text of `key`.
            pub fn of_key(key: &str) -> Option<Text> {
                Text::ALL.iter().copied().find(|t| t.key() == key)
            }
        }
    };
}

texts! {
    /// The start menu's greeting, above the topics.
    Greeting = "greeting" ["name"],
    /// After «Понятно», above the topics again.
    Understood = "understood" ["name"],
    /// The question a `confirm` topic asks.
    ConfirmOperator = "confirm_operator" ["topic"],
    /// Button under a template answer: the answer was enough.
    ButtonUnderstood = "button_understood" [],
    /// Button under a template answer: ask for a human.
    ButtonContactOperator = "button_contact_operator" [],
    /// Button under the confirm question: yes.
    ButtonYes = "button_yes" [],
    /// Button under the confirm question: no (back to the menu).
    ButtonNo = "button_no" [],
    /// The phone step: asking for a number.
    AskPhone = "ask_phone" [],
    /// A returning customer: keep the number we know?
    ConfirmPhone = "confirm_phone" ["phone"],
    /// A typed number that is not a phone number.
    PhoneInvalid = "phone_invalid" ["button"],
    /// A shared contact that is not the customer's own.
    ContactNotOwn = "contact_not_own" ["button"],
    /// Anything but a phone while one is asked for.
    PhoneExpected = "phone_expected" ["button"],
    /// The reply keyboard's button that shares the customer's own contact.
    ButtonSharePhone = "button_share_phone" [],
    /// Keep the number we know.
    ButtonPhoneKeep = "button_phone_keep" [],
    /// Type another number.
    ButtonPhoneOther = "button_phone_other" [],
    /// Back to the start menu («В начало»).
    ButtonHome = "button_home" [],
    /// Command menus: `/start`.
    CommandStart = "command_start" [],
    /// `/cancel`.
    CommandCancel = "command_cancel" [],
    /// `/history`.
    CommandHistory = "command_history" [],
    /// `/stats`.
    CommandStats = "command_stats" [],
    /// `/files`.
    CommandFiles = "command_files" [],
    /// `/transfer`.
    CommandTransfer = "command_transfer" [],
    /// `/close`.
    CommandClose = "command_close" [],
    /// `/requeue`.
    CommandRequeue = "command_requeue" [],
    /// `/ban`.
    CommandBan = "command_ban" [],
    /// `/unban`.
    CommandUnban = "command_unban" [],
    /// `/bans`.
    CommandBans = "command_bans" [],
}

/// The placeholders a template answer may use.
pub(crate) const TEMPLATE_PLACEHOLDERS: &[&str] = &["name", "topic"];

/// `text` with each `{name}` replaced by its value in `values`; `{{` and `}}` are literal braces. A placeholder
/// without a value stays as written (the desk file's check refuses unknown ones).
pub fn render(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if let Some(end) = tail.find('}').filter(|_| tail.starts_with('{'))
            && let Some((_, value)) = values.iter().find(|(name, _)| *name == &tail[1..end])
        {
            out.push_str(value);
            rest = &tail[end + 1..];
            continue;
        }
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

/// The placeholders `text` uses, or the first brace that is not one (`Err`: its byte offset).
pub(crate) fn placeholders_in(text: &str) -> Result<Vec<&str>, usize> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(i) = text[at..].find(['{', '}']).map(|i| i + at) {
        let tail = &text[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            at = i + 2;
            continue;
        }
        let Some(end) = tail.find('}').filter(|_| tail.starts_with('{')) else { return Err(i) };
        let name = &tail[1..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(i);
        }
        found.push(name);
        at = i + end + 1;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_and_double_braces_are_braces() {
        assert_eq!(render("Здравствуйте, {name}!", &[("name", "Иван")]), "Здравствуйте, Иван!");
        assert_eq!(render("{{name}} {name}", &[("name", "x")]), "{name} x");
        assert_eq!(render("{other}", &[("name", "x")]), "{other}");
        assert_eq!(render("без подстановок", &[]), "без подстановок");
        assert_eq!(placeholders_in("{name}, {topic} {{x}}"), Ok(vec!["name", "topic"]));
        assert_eq!(placeholders_in("a { b"), Err(2));
        assert_eq!(placeholders_in("a } b"), Err(2));
        assert_eq!(placeholders_in("{Имя}"), Err(0));
    }

    #[test]
    fn every_key_is_unique() {
        for text in Text::ALL {
            assert_eq!(Text::of_key(text.key()), Some(*text));
        }
    }
}
