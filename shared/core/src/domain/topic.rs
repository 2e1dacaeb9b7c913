//! A topic's id: what the desk file calls it, stored with each ticket (`tickets.topic`) and carried by the menu's
//! buttons. Any id the desk file may give (lower-case latin letters, digits and `_`, at most [`Topic::MAX`] bytes),
//! kept inline so that it copies like the enum it replaces.

/// A topic's id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Topic {
    len: u8,
    bytes: [u8; Topic::MAX],
}

#[allow(non_upper_case_globals)] // named as the enum's variants were: the shipped desk's topics
impl Topic {
    /// The longest id, in bytes. Its buttons' callback data (`operator:ID`) must also stay within Telegram's 64
    /// bytes: the desk file's check says so for a longer one.
    pub const MAX: usize = 64;
    /// The shipped desk's «Гарантия».
    pub const Warranty: Topic = Topic::known("warranty");
    /// The shipped desk's «Возврат».
    pub const Return: Topic = Topic::known("return");
    /// The shipped desk's «Другой вопрос».
    pub const Other: Topic = Topic::known("other");

    /// An id known to be valid, at compile time.
    const fn known(id: &str) -> Topic {
        let source = id.as_bytes();
        let mut bytes = [0; Topic::MAX];
        let mut i = 0;
        while i < source.len() {
            bytes[i] = source[i];
            i += 1;
        }
        Topic { len: source.len() as u8, bytes }
    }

    /// `id` if it is one: 1 to [`Topic::MAX`] bytes of `a`–`z`, `0`–`9` and `_`.
    pub fn parse(id: &str) -> Option<Topic> {
        let valid = (1..=Topic::MAX).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        valid.then(|| {
            let mut bytes = [0; Topic::MAX];
            bytes[..id.len()].copy_from_slice(id.as_bytes());
            Topic { len: id.len() as u8, bytes }
        })
    }

    /// As stored.
    pub fn as_str(&self) -> &str {
        // Only ASCII ever goes in (see `parse` and `known`).
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Topic({:?})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lower_case_latin_digits_and_underscores() {
        for id in ["warranty", "delivery_2", "x", &"a".repeat(Topic::MAX)] {
            assert_eq!(Topic::parse(id).map(|t| t.as_str().to_owned()), Some(id.to_owned()), "{id}");
        }
        for id in ["", "Доставка", "two words", "a:b", "UPPER", &"a".repeat(Topic::MAX + 1)] {
            assert_eq!(Topic::parse(id), None, "{id}");
        }
        assert_eq!(Topic::parse("return"), Some(Topic::Return));
        assert_eq!(Topic::Warranty.as_str(), "warranty");
    }
}
