//! Builders of private messages with media and other non-text content; file_unique_id is "u_{file_id}".

use serde_json::{Value, json};

use super::{TgUser, private_message};

/// A file object with the fields every media kind shares.
fn file(file_id: &str, file_size: u64) -> Value {
    json!({ "file_id": file_id, "file_unique_id": format!("u_{file_id}"), "file_size": file_size })
}

/// Adds the caption to `content` when there is one.
fn with_caption(mut content: Value, caption: Option<&str>) -> Value {
    if let Some(caption) = caption {
        content["caption"] = json!(caption);
    }
    content
}

/// Merges `extra` fields into a file object.
fn file_with(file_id: &str, file_size: u64, extra: Value) -> Value {
    let mut object = file(file_id, file_size);
    if let (Some(object), Value::Object(extra)) = (object.as_object_mut(), extra) {
        object.extend(extra);
    }
    object
}

/// A shared contact: the user's own when `contact_user_id` is their id, like the "share my number" button.
pub fn contact(user: &TgUser, phone: &str, contact_user_id: Option<i64>) -> Value {
    let mut contact = json!({ "phone_number": phone, "first_name": user.first_name });
    if let Some(last_name) = &user.last_name {
        contact["last_name"] = json!(last_name);
    }
    if let Some(id) = contact_user_id {
        contact["user_id"] = json!(id);
    }
    private_message(user, json!({ "contact": contact }))
}

/// A contact card of somebody else (no user_id), as sent from the address book.
pub fn contact_card(user: &TgUser, phone: &str, first_name: &str) -> Value {
    private_message(user, json!({ "contact": { "phone_number": phone, "first_name": first_name } }))
}

/// A photo: three sizes, growing; "{file_id}_s", "{file_id}_m", and "{file_id}" for the largest.
pub fn photo(user: &TgUser, file_id: &str, caption: Option<&str>) -> Value {
    let sizes = json!([
        file_with(&format!("{file_id}_s"), 1_433, json!({ "width": 90, "height": 67 })),
        file_with(&format!("{file_id}_m"), 19_825, json!({ "width": 320, "height": 240 })),
        file_with(file_id, 131_502, json!({ "width": 1280, "height": 960 })),
    ]);
    private_message(user, with_caption(json!({ "photo": sizes }), caption))
}

/// A document (any file sent "as a file").
pub fn document(user: &TgUser, file_id: &str, file_name: &str, mime: &str, caption: Option<&str>) -> Value {
    let document = file_with(file_id, 48_213, json!({ "file_name": file_name, "mime_type": mime }));
    private_message(user, with_caption(json!({ "document": document }), caption))
}

/// A voice message of `duration` seconds.
pub fn voice(user: &TgUser, file_id: &str, duration: u32) -> Value {
    let voice = file_with(
        file_id,
        6_000 * u64::from(duration.max(1)),
        json!({ "duration": duration, "mime_type": "audio/ogg" }),
    );
    private_message(user, json!({ "voice": voice }))
}

/// A 1280x720 video of 12 seconds.
pub fn video(user: &TgUser, file_id: &str, caption: Option<&str>) -> Value {
    let extra =
        json!({ "width": 1280, "height": 720, "duration": 12, "mime_type": "video/mp4", "file_name": "video.mp4" });
    private_message(user, with_caption(json!({ "video": file_with(file_id, 2_345_678, extra) }), caption))
}

/// An audio track of 3 minutes.
pub fn audio(user: &TgUser, file_id: &str, caption: Option<&str>) -> Value {
    let extra = json!({ "duration": 180, "mime_type": "audio/mpeg", "file_name": "track.mp3", "title": "Трек", "performer": "Исполнитель" });
    private_message(user, with_caption(json!({ "audio": file_with(file_id, 4_321_000, extra) }), caption))
}

/// A GIF-like animation; like Telegram, the message also carries it as `document`.
pub fn animation(user: &TgUser, file_id: &str, caption: Option<&str>) -> Value {
    let animation = file_with(
        file_id,
        345_678,
        json!({ "width": 480, "height": 270, "duration": 3, "mime_type": "video/mp4", "file_name": "animation.mp4" }),
    );
    let document = file_with(file_id, 345_678, json!({ "mime_type": "video/mp4", "file_name": "animation.mp4" }));
    private_message(user, with_caption(json!({ "animation": animation, "document": document }), caption))
}

/// A round video message of `duration` seconds.
pub fn video_note(user: &TgUser, file_id: &str, duration: u32) -> Value {
    let note = file_with(file_id, 567_890, json!({ "length": 384, "duration": duration }));
    private_message(user, json!({ "video_note": note }))
}

/// A static sticker with `emoji`.
pub fn sticker(user: &TgUser, file_id: &str, emoji: &str) -> Value {
    let extra = json!({ "type": "regular", "width": 512, "height": 512, "is_animated": false, "is_video": false, "emoji": emoji, "set_name": "ZabotaTest" });
    private_message(user, json!({ "sticker": file_with(file_id, 23_456, extra) }))
}

/// A shared location.
pub fn location(user: &TgUser, latitude: f64, longitude: f64) -> Value {
    private_message(user, json!({ "location": { "latitude": latitude, "longitude": longitude } }))
}

/// A shared venue; like Telegram, the message also carries its `location`.
pub fn venue(user: &TgUser, latitude: f64, longitude: f64, title: &str, address: &str) -> Value {
    let location = json!({ "latitude": latitude, "longitude": longitude });
    private_message(
        user,
        json!({ "venue": { "location": location, "title": title, "address": address }, "location": location }),
    )
}

/// An album of `parts` photos ("{group}_1"…), as Telegram delivers it: one update per part, sharing
/// `media_group_id`, the caption on the first.
pub fn album(user: &TgUser, group: &str, parts: usize, caption: Option<&str>) -> Vec<Value> {
    (1..=parts)
        .map(|k| {
            let mut part = photo(user, &format!("{group}_{k}"), if k == 1 { caption } else { None });
            part["message"]["media_group_id"] = json!(group);
            part
        })
        .collect()
}
