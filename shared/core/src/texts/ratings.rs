//! The texts of satisfaction ratings, part of [`crate::texts`].

/// Asked of the customer after a dialog an operator or a supervisor closed, with 1–5 below.
pub const RATE_PLEASE: &str = "Оцените, пожалуйста, помощь оператора: от 1 (плохо) до 5 (отлично).";
/// The rating request once rated: thanks, and the invitation to comment.
pub fn rated(score: u8) -> String {
    format!(
        "Спасибо за оценку: {score} из 5!\nЕсли хотите, напишите следующим сообщением, что понравилось или что нам \
         стоит улучшить."
    )
}
/// A second press on a rating already given.
pub const ALREADY_RATED: &str = "Вы уже оценили этот диалог — спасибо!";
/// A rating of a ticket whose history is gone (or past its keeping).
pub const RATING_TOO_OLD: &str = "Это обращение уже в архиве, оценить его нельзя. Спасибо, что написали нам!";
/// After the customer's comment on their rating.
pub const COMMENT_THANKS: &str = "Спасибо! Мы передали ваш отзыв.";
/// A score as stars.
fn stars(score: i16) -> String {
    let n = usize::from(score.clamp(0, 5).unsigned_abs());
    "★".repeat(n) + &"☆".repeat(5 - n)
}
/// To the operator: the customer rated their dialog.
pub fn rated_operator(ticket_id: i64, score: i16) -> String {
    format!("Клиент оценил диалог по заявке #{ticket_id}: {score} из 5 {}", stars(score))
}
/// To the operator: the customer's comment on that rating.
pub fn comment_operator(ticket_id: i64, score: i16, comment: &str) -> String {
    format!("Отзыв клиента по заявке #{ticket_id} (оценка {score} из 5):\n{comment}")
}
