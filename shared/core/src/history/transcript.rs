//! A ticket's transcript as operators read it (`/history N`): its head (customer, topic, times, outcome,
//! rating, hand-overs), then every message with its time, side and kind, its edits and its files' archive keys.
//! Plain UTF-8 text, sent as a `.txt` document so a long history is one message.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::TicketRecord;
use crate::domain::{CloseReason, ContentKind, Status};
use crate::texts::{self, TranscriptTime};

/// `record` as a transcript; times in `tz`. `names`: how operators are shown, by Telegram id.
pub fn render(record: &TicketRecord, tz: Tz, names: &HashMap<i64, String>, desk: &crate::desk::Desk) -> String {
    let at = |t: DateTime<Utc>| t.with_timezone(&tz).format("%d.%m.%Y %H:%M:%S").to_string();
    let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| id.to_string());
    let c = &record.customer;
    let full_name = [Some(c.first_name.as_str()), c.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let topic = desk.topic_text_label(&record.topic);
    let mut out = vec![
        texts::transcript_title(record.ticket),
        texts::transcript_customer(&full_name, c.username.as_deref(), c.tg_id, &record.phone),
        texts::transcript_topic(&topic),
        texts::transcript_time(TranscriptTime::Opened, &format!("{} ({tz})", at(record.created_at))),
    ];
    let times = [
        (TranscriptTime::Taken, record.first_assigned_at),
        (TranscriptTime::FirstReply, record.first_reply_at),
        (TranscriptTime::Closed, record.closed_at),
    ];
    out.extend(times.into_iter().filter_map(|(what, t)| t.map(|t| texts::transcript_time(what, &at(t)))));
    let status = Status::parse(&record.status).unwrap_or(Status::Closed);
    let reason = record.close_reason.as_deref().and_then(CloseReason::parse);
    let operator = record.operator_tg_id.map(name);
    out.push(texts::transcript_status(texts::outcome_short(status, reason), operator.as_deref()));
    if let Some(rating) = &record.rating {
        out.push(texts::transcript_rating(rating.score, rating.comment.as_deref()));
    }
    for h in &record.handovers {
        out.push(texts::transcript_handover(&at(h.at), &h.kind, &name(h.operator_tg_id), h.comment.as_deref()));
    }
    out.push(String::new());
    out.push(texts::transcript_messages(record.messages.len()));
    for m in &record.messages {
        let customer = m.sender == "USER";
        let kind = kind_name(&m.content);
        let body = m.text.as_deref().or(m.caption.as_deref());
        out.push(texts::transcript_message(&at(m.at), customer, &name(m.sender_tg_id), kind, body));
        if let Some(to) = m.reply_to {
            out.push(texts::transcript_reply(to));
        }
        for e in &m.edits {
            out.push(texts::transcript_edit(&at(e.at), e.text.as_deref().or(e.caption.as_deref()).unwrap_or("")));
        }
        for a in &m.attachments {
            let kind = kind_name(&a.kind);
            let key = a.storage_key.as_deref().filter(|_| a.archive_status == "stored");
            out.push(texts::transcript_file(a.id, kind, a.file_name.as_deref(), a.size, key, &a.archive_status));
        }
        if !m.delivered && customer {
            out.push(texts::TRANSCRIPT_UNDELIVERED.to_owned());
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// A content kind as operators read it (as stored when this version does not know it).
fn kind_name(kind: &str) -> &str {
    match ContentKind::parse(kind) {
        Some(kind) => texts::kind_name(kind),
        None => kind,
    }
}
