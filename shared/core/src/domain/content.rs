//! What a message carries, decided once (see [`Message::content`]), and what became of its file in the archive.

use crate::telegram::{FileMeta, Message};

text_enum! {
    /// The kind of a message's content (`ticket_messages.content_type`; the file kinds also name
    /// `message_attachments.kind`).
    pub enum ContentKind {
        /// Text only.
        Text = "text",
        /// A photo (its largest size is the file).
        Photo = "photo",
        /// A GIF or silent video; Telegram also sets `document` for these.
        Animation = "animation",
        /// Any file sent as a document.
        Document = "document",
        /// A video.
        Video = "video",
        /// A voice message.
        Voice = "voice",
        /// A music file.
        Audio = "audio",
        /// A sticker.
        Sticker = "sticker",
        /// A round video message.
        VideoNote = "video_note",
        /// A shared contact.
        Contact = "contact",
        /// A venue; Telegram also sets `location` for these.
        Venue = "venue",
        /// A location.
        Location = "location",
        /// Anything else (a poll, a dice, a service message).
        Other = "other",
    }
}

impl ContentKind {
    /// The MIME type a file of this kind has when its sender gave none.
    pub fn default_mime(self) -> &'static str {
        match self {
            ContentKind::Photo => "image/jpeg",
            ContentKind::Voice => "audio/ogg",
            ContentKind::Video | ContentKind::VideoNote | ContentKind::Animation => "video/mp4",
            ContentKind::Sticker => "image/webp",
            _ => "application/octet-stream",
        }
    }

    /// The file extension of this kind when neither a name nor a MIME type says.
    pub fn default_extension(self) -> &'static str {
        match self {
            ContentKind::Photo => "jpg",
            ContentKind::Voice => "ogg",
            ContentKind::Video | ContentKind::VideoNote | ContentKind::Animation => "mp4",
            ContentKind::Sticker => "webp",
            _ => "bin",
        }
    }
}

/// A message's content: its kind and, for the file kinds, the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Content {
    /// What it is.
    pub kind: ContentKind,
    /// The file it carries (a photo's largest size), if any.
    pub file: Option<FileMeta>,
}

impl Message {
    /// What this message carries. The one place that knows the order Telegram's fields must be read in: an
    /// animation also carries `document`, a venue also carries `location`.
    pub fn content(&self) -> Content {
        let file = |kind, meta: &Option<FileMeta>| meta.clone().map(|m| Content { kind, file: Some(m) });
        let plain = |kind| Content { kind, file: None };
        if self.text.is_some() {
            return plain(ContentKind::Text);
        }
        if let Some(sizes) = &self.photo {
            let largest = sizes.iter().max_by_key(|p| (u64::from(p.width) * u64::from(p.height), p.file_size));
            let file = largest.map(|p| FileMeta {
                file_id: p.file_id.clone(),
                file_unique_id: p.file_unique_id.clone(),
                file_size: p.file_size,
                width: Some(p.width),
                height: Some(p.height),
                mime_type: Some("image/jpeg".into()),
                ..FileMeta::default()
            });
            return Content { kind: ContentKind::Photo, file };
        }
        let files = [
            (ContentKind::Animation, &self.animation),
            (ContentKind::Document, &self.document),
            (ContentKind::Video, &self.video),
            (ContentKind::Voice, &self.voice),
            (ContentKind::Audio, &self.audio),
            (ContentKind::Sticker, &self.sticker),
            (ContentKind::VideoNote, &self.video_note),
        ];
        if let Some(content) = files.into_iter().find_map(|(kind, meta)| file(kind, meta)) {
            return content;
        }
        if self.contact.is_some() {
            plain(ContentKind::Contact)
        } else if self.venue.is_some() {
            plain(ContentKind::Venue)
        } else if self.location.is_some() {
            plain(ContentKind::Location)
        } else {
            plain(ContentKind::Other)
        }
    }
}

text_enum! {
    /// What became of an attachment's file (`message_attachments.archive_status`).
    pub enum ArchiveStatus {
        /// Not archived yet; retried with backoff.
        Pending = "pending",
        /// In the media store under its `storage_key`.
        Stored = "stored",
        /// Not archived on purpose (too large for the Bot API, or archiving is off); the reason is recorded.
        Skipped = "skipped",
        /// Given up after failures; the last error is recorded.
        Failed = "failed",
    }
}
