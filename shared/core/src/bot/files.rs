//! Operators get archived files of a ticket back in Telegram: `/files N` lists a ticket's attachments,
//! `/file ID` sends one from the archive (S3 or the media folder), whatever became of Telegram's copy.

use super::ProcessError;
use super::ctx::Ctx;
use crate::db::media;
use crate::db::users::UserRow;
use crate::domain::{ArchiveStatus, Sender};
use crate::media::content_type;
use crate::telegram::SendMessage;
use crate::texts;

/// An archive command: which one and its number.
enum Command {
    List(i64),
    Send(i64),
    Usage,
}

fn parse(text: &str) -> Option<Command> {
    let mut words = text.split_whitespace();
    let command = words.next()?.split('@').next()?;
    let number = words.next().and_then(|n| n.trim_start_matches('#').parse::<i64>().ok()).filter(|n| *n > 0);
    match (command, number) {
        ("/files", Some(n)) => Some(Command::List(n)),
        ("/file", Some(n)) => Some(Command::Send(n)),
        ("/files" | "/file", None) => Some(Command::Usage),
        _ => None,
    }
}

/// Handles `/files` and `/file` from an operator; returns false when the message is not such a command (or the
/// sender is not an operator), so it goes through the normal flow.
pub async fn command(ctx: &mut Ctx<'_>, user: &UserRow, text: &str) -> Result<bool, ProcessError> {
    let Some(command) = parse(text) else { return Ok(false) };
    if !super::roles::role(ctx, user.tg_id).await?.is_operator() {
        return Ok(false);
    }
    let reply = match command {
        Command::Usage => texts::FILES_USAGE.to_owned(),
        Command::List(ticket) => list(ctx, ticket).await?,
        Command::Send(id) => match send(ctx, user.tg_id, id).await? {
            None => return Ok(true),
            Some(reply) => reply,
        },
    };
    ctx.send(SendMessage::new(user.tg_id, reply))?;
    Ok(true)
}

async fn list(ctx: &Ctx<'_>, ticket: i64) -> Result<String, ProcessError> {
    let files = media::attachments_of_ticket(ctx.db(), ticket).await?;
    if files.is_empty() {
        return Ok(texts::no_files(ticket));
    }
    let lines: Vec<String> = files
        .iter()
        .map(|f| {
            let from_customer = f.sender == Sender::User;
            texts::file_line(f.id, f.kind, f.file_name.as_deref(), f.size, f.status, from_customer, f.created_at)
        })
        .collect();
    Ok(format!("{}\n{}", texts::files_header(ticket), lines.join("\n")))
}

/// Sends the archived file itself; `None` when it was sent, otherwise the reply explaining why not.
async fn send(ctx: &Ctx<'_>, operator: i64, id: i64) -> Result<Option<String>, ProcessError> {
    let Some(file) = media::attachment(ctx.db(), id).await? else { return Ok(Some(texts::file_not_found(id))) };
    let Some(key) = file.storage_key.filter(|_| file.status == ArchiveStatus::Stored) else {
        return Ok(Some(texts::file_not_archived(id, file.status, file.error.as_deref())));
    };
    let bytes = match ctx.app.media.get(&key).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(attachment = id, error = %e, "archived file could not be read");
            return Ok(Some(texts::file_unreadable(id)));
        }
    };
    let name = file.file_name.unwrap_or_else(|| key.rsplit('/').next().unwrap_or("file").to_owned());
    let caption = texts::file_caption(id);
    let sent = ctx
        .app
        .telegram
        .send_document_upload(
            ctx.deadline(),
            operator,
            &name,
            bytes,
            &content_type(file.mime.as_deref(), file.kind),
            Some(&caption),
        )
        .await;
    match sent {
        Ok(_) => Ok(None),
        Err(e) if e.is_transient() => Err(e.into()),
        Err(e) => {
            // Telegram refused the upload: the operator hears it, and the update is not retried for ever.
            tracing::warn!(attachment = id, error = %e, "archived file could not be sent");
            Ok(Some(texts::file_not_sent(id, e.said())))
        }
    }
}
