//! The text enums of `domain` as column values: written as their text, and read back strictly — a value the code
//! does not know (a row written by a newer version, a hand edit) is an error, never a silent fallback.

use std::error::Error;

use bytes::BytesMut;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, accepts, to_sql_checked};

use crate::domain::{ArchiveStatus, CloseReason, ContentKind, DialogStep, HandoverKind, Role, Sender, Status, Topic};

/// A stored value a text column's type does not know. Permanent: the same row fails the same way every time (see
/// [`super::DbError::is_transient`]).
#[derive(Debug, thiserror::Error)]
#[error("unknown {type_name} {}", shown(.value))]
pub struct UnknownValue {
    type_name: &'static str,
    value: String,
}

/// The value as errors may show it: a short identifier-like value (what another version would write) as it is,
/// anything else (a hand edit could hold personal data) only by its length.
fn shown(value: &str) -> String {
    let identifier = value.len() <= 32 && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if identifier { format!("{value:?}") } else { format!("(a value of {} characters)", value.chars().count()) }
}

/// Implements `ToSql`/`FromSql` (for `text`/`varchar` columns) through a type's `as_str`/`parse`.
macro_rules! text_column {
    ($($t:ty),+ $(,)?) => {$(
        impl ToSql for $t {
            fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
                self.as_str().to_sql(ty, out)
            }
            accepts!(TEXT, VARCHAR);
            to_sql_checked!();
        }

        impl<'a> FromSql<'a> for $t {
            fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
                let text = <&str as FromSql>::from_sql(ty, raw)?;
                <$t>::parse(text).ok_or_else(|| UnknownValue { type_name: stringify!($t), value: text.into() }.into())
            }
            accepts!(TEXT, VARCHAR);
        }
    )+};
}

text_column!(Topic, Status, Sender, CloseReason, ContentKind, ArchiveStatus, DialogStep, HandoverKind, Role);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_read_back_and_unknown_ones_are_errors_that_show_no_personal_data() {
        for topic in [Topic::Warranty, Topic::Return, Topic::Other, Topic::parse("delivery").unwrap_or(Topic::Other)] {
            let read = <Topic as FromSql>::from_sql(&Type::TEXT, topic.as_str().as_bytes());
            assert_eq!(read.ok(), Some(topic));
        }
        let error = |raw: &str| <Status as FromSql>::from_sql(&Type::TEXT, raw.as_bytes()).err().map(|e| e.to_string());
        assert_eq!(error("PAUSED").as_deref(), Some("unknown Status \"PAUSED\""));
        assert_eq!(error("Иван, +79161234567").as_deref(), Some("unknown Status (a value of 18 characters)"));
    }
}
