//! The shipped desk file (`desk.toml`), as the tests expect its texts: what the desk says with no `DESK_CONFIG`.

use std::sync::LazyLock;

use zabota_core::desk::{Desk, Text};
use zabota_core::domain::Topic;

static SHIPPED: LazyLock<Desk> = LazyLock::new(Desk::shipped);

/// The shipped desk.
pub fn desk() -> &'static Desk {
    &SHIPPED
}

/// One of its texts (none of the shipped ones uses a placeholder, so this is what a customer reads).
pub fn text(text: Text) -> &'static str {
    SHIPPED.text(text)
}

/// The start menu's greeting.
pub fn greeting() -> &'static str {
    text(Text::Greeting)
}

/// A topic's template answer.
pub fn template(topic: Topic) -> &'static str {
    SHIPPED.template(topic).unwrap_or_else(|| panic!("the shipped desk has no template for {topic}"))
}
