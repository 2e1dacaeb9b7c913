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

/// A reply of the phone step that names the share-my-contact button (`{button}`), as the customer reads it.
pub fn phone_reply(text: Text) -> String {
    let button = zabota_core::desk::render(SHIPPED.text(Text::ButtonSharePhone), &[]);
    zabota_core::desk::render(SHIPPED.text(text), &[("button", &button)])
}

/// «Связаться с вами по номеру {phone}?».
pub fn confirm_phone(phone: &str) -> String {
    zabota_core::desk::render(SHIPPED.text(Text::ConfirmPhone), &[("phone", phone)])
}
