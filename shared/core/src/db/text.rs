//! The text enums of `domain` as column values: written as their text, and read back strictly — a value the code
//! does not know (a row written by a newer version, a hand edit) is an error, never a silent fallback.

use std::error::Error;

use bytes::BytesMut;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, accepts, to_sql_checked};

use crate::domain::{ArchiveStatus, CloseReason, ContentKind, Sender, Status, Topic};

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
                <$t>::parse(text).ok_or_else(|| format!("unknown {} {text:?}", stringify!($t)).into())
            }
            accepts!(TEXT, VARCHAR);
        }
    )+};
}

text_column!(Topic, Status, Sender, CloseReason, ContentKind, ArchiveStatus);
