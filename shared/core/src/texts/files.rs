//! The texts of the archive commands (`/files N`, `/file ID`), part of [`crate::texts`].

use crate::domain::{ArchiveStatus, ContentKind};

/// How to use the archive commands.
pub(crate) const FILES_USAGE: &str = "Архив файлов: /files N — файлы заявки #N, /file ID — прислать файл из архива.";
/// Header of a ticket's file list.
pub(crate) fn files_header(ticket_id: i64) -> String {
    format!("Файлы заявки #{ticket_id} (прислать: /file ID):")
}
/// One line of the file list.
pub(crate) fn file_line(
    id: i64,
    kind: ContentKind,
    name: Option<&str>,
    size: Option<i64>,
    status: ArchiveStatus,
    from_customer: bool,
    at: chrono::DateTime<chrono::Utc>,
) -> String {
    let who = if from_customer { "клиент" } else { "оператор" };
    let size = size.map_or_else(String::new, |s| format!(", {} КБ", (s + 1023) / 1024));
    let status = archive_status(status);
    format!("{id} — {kind} {}{size}, {who}, {} — {status}", name.unwrap_or(""), at.format("%d.%m.%Y %H:%M UTC"))
}
/// Where an attachment's bytes are, as operators read it.
fn archive_status(status: ArchiveStatus) -> &'static str {
    match status {
        ArchiveStatus::Stored => "в архиве",
        ArchiveStatus::Pending => "ещё сохраняется",
        ArchiveStatus::Skipped => "не сохранён (слишком большой или архив выключен)",
        ArchiveStatus::Failed => "не сохранён",
    }
}
/// A ticket without files.
pub(crate) fn no_files(ticket_id: i64) -> String {
    format!("В заявке #{ticket_id} нет файлов.")
}
/// Unknown attachment id.
pub(crate) fn file_not_found(id: i64) -> String {
    format!("Файла {id} нет в архиве.")
}
/// An attachment whose bytes are not in the archive, with the reason recorded.
pub(crate) fn file_not_archived(id: i64, status: ArchiveStatus, reason: Option<&str>) -> String {
    let reason = reason.map(|r| format!(": {r}")).unwrap_or_default();
    format!("Файл {id} не сохранён в архиве ({}{reason}).", archive_status(status))
}
/// An archived file whose bytes could not be read back.
pub(crate) fn file_unreadable(id: i64) -> String {
    format!("Файл {id} есть в архиве, но прочитать его сейчас не удалось. Попробуйте позже.")
}
/// Caption of a file sent back from the archive.
pub(crate) fn file_caption(id: i64) -> String {
    format!("Файл {id} из архива")
}
