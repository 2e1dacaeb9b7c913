//! Customers' phone numbers: parsed once from what people type or share, stored in E.164.
//!
//! The `phonenumber` crate is used for its metadata (validity, country codes, trunk and
//! international prefixes, formatting) but not for its national-prefix handling: version 0.3
//! strips the trunk prefix twice and applies the *default region's* prefix even to numbers typed
//! with '+', so "+7 800 555-35-35", "+7 812 …" (St. Petersburg) or, in region "US", "+44 161 …"
//! all come out mangled. Instead every reading of the input is spelled out here as a full
//! international number, and the library only ever sees "+<country code><national number>",
//! parsed in a region without a trunk prefix. A reading is accepted only when the library
//! reports it valid and formats it back to exactly the same digits, and a typed number is
//! accepted only when exactly one reading is valid: ambiguity is a rejection, never a guess.

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber};

/// Longest input (in characters, after trimming) handed to the parser at all.
const MAX_INPUT_CHARS: usize = 32;

/// A region whose metadata has no national (trunk) prefix, so that parsing "+<digits>" in it
/// takes the digits literally. The country code always comes from the '+', not from here.
const LITERAL_REGION: Id = Id::IT;

/// A validated phone number in E.164 (e.g. "+79161234567").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Phone(String);

/// Why some text is not a phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing but whitespace.
    #[error("the phone number is empty")]
    Empty,
    /// Longer than 32 characters: rejected before any parsing.
    #[error("the phone number is too long")]
    TooLong,
    /// Contains something other than digits, spaces, '+', '-', '(', ')' and '.', a '+' that is not
    /// in front, or no digit at all.
    #[error("a phone number may contain only digits, spaces, '+', '-', '(', ')' and '.'")]
    NotANumber,
    /// Well-formed but not a valid (or not an unambiguous) number.
    #[error("this is not a valid phone number")]
    Invalid,
}

/// The digits of an input and whether it started with '+'.
struct Digits {
    plus: bool,
    digits: String,
}

impl Phone {
    /// A number typed by the user, in `region` (ISO code like "RU").
    ///
    /// With a leading '+' the digits are taken as country code and number. Without it they are
    /// read in `region` as the national number ("916 123-45-67"), after the trunk prefix
    /// ("8 916 …"), after the country code without '+' ("7 916 …") or after the international
    /// prefix ("8 10 44 …" in Russia; "00" is not one there). Exactly one of these readings must
    /// be valid. An unknown `region` leaves only the '+' form.
    pub fn parse(input: &str, region: &str) -> Result<Phone, PhoneError> {
        let input = Digits::of(input)?;
        if input.plus {
            international(&input.digits).ok_or(PhoneError::Invalid)
        } else {
            national(&input.digits, region)
        }
    }

    /// A number from a shared Telegram contact: digits with or without '+'; Telegram always sends
    /// the full international number.
    ///
    /// Without '+' the international reading wins; only when it is not valid is the text read as
    /// typed in `region` (a contact saved in a phone book as "8 916 …").
    pub fn from_contact(raw: &str, region: &str) -> Result<Phone, PhoneError> {
        let input = Digits::of(raw)?;
        match international(&input.digits) {
            Some(phone) => Ok(phone),
            None if !input.plus => national(&input.digits, region),
            None => Err(PhoneError::Invalid),
        }
    }

    /// The number in E.164, e.g. "+79161234567".
    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// For logs: never the full number. At most the first 5 and the last 2 characters are kept,
    /// at least 3 are hidden, and the stars do not tell how many: "+7916***67".
    pub fn masked(&self) -> String {
        let len = self.0.len();
        let head = 5.min(len.saturating_sub(5));
        let tail = 2.min(len.saturating_sub(head + 3));
        let start = self.0.get(..head).unwrap_or_default();
        let end = self.0.get(len - tail..).unwrap_or_default();
        format!("{start}***{end}")
    }

    /// Human-friendly for the operators' card, e.g. "+7 916 123-45-67" (international format).
    pub fn display(&self) -> String {
        match literal(&self.0) {
            Some(number) => number.format().mode(Mode::International).to_string(),
            None => self.0.clone(),
        }
    }
}

impl fmt::Display for Phone {
    /// Prints the E.164 form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `region` is an ISO code the phone metadata knows (for checking configuration).
pub fn is_known_region(region: &str) -> bool {
    Id::from_str(region).is_ok() && DATABASE.by_id(region).is_some()
}

impl Digits {
    /// Trims, bounds and checks the characters of `input`, keeping only its digits.
    fn of(input: &str) -> Result<Digits, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        if trimmed.chars().nth(MAX_INPUT_CHARS).is_some() {
            return Err(PhoneError::TooLong);
        }
        let mut plus = false;
        let mut digits = String::with_capacity(trimmed.len());
        for c in trimmed.chars() {
            match c {
                '0'..='9' => digits.push(c),
                // Only one '+', before any digit: "+7 …" and "(+7) …", not "7+…" or "++7".
                '+' if !plus && digits.is_empty() => plus = true,
                '-' | '(' | ')' | '.' => {}
                c if c.is_whitespace() => {}
                _ => return Err(PhoneError::NotANumber),
            }
        }
        if digits.is_empty() {
            return Err(PhoneError::NotANumber);
        }
        Ok(Digits { plus, digits })
    }
}

/// Parses "+`digits`" literally; `None` unless the library formats it back unchanged.
fn literal(e164: &str) -> Option<PhoneNumber> {
    let number = phonenumber::parse(Some(LITERAL_REGION), e164).ok()?;
    let same = number.format().mode(Mode::E164).to_string() == e164;
    same.then_some(number)
}

/// E.164 allows at most 15 digits, country code included (the metadata of some countries would take more).
const MAX_E164_DIGITS: usize = 15;

/// `digits` as a full international number (country code first), if valid.
fn international(digits: &str) -> Option<Phone> {
    if digits.len() > MAX_E164_DIGITS {
        return None;
    }
    let e164 = format!("+{digits}");
    let number = literal(&e164)?;
    phonenumber::is_valid(&number).then_some(Phone(e164))
}

/// `digits` typed without '+' in `region`: the single valid reading, if there is one.
fn national(digits: &str, region: &str) -> Result<Phone, PhoneError> {
    let region = region.trim().to_ascii_uppercase();
    let meta = match Id::from_str(&region) {
        Ok(_) => DATABASE.by_id(region.as_str()).ok_or(PhoneError::Invalid)?,
        Err(_) => return Err(PhoneError::Invalid),
    };
    let code = meta.country_code().to_string();

    // Every way of reading the digits, each spelled as an international number.
    let mut readings = vec![format!("{code}{digits}")];
    if let Some(prefix) = meta.national_prefix().filter(|p| !p.is_empty())
        && let Some(rest) = digits.strip_prefix(prefix)
    {
        readings.push(format!("{code}{rest}"));
    }
    if digits.starts_with(&code) {
        readings.push(digits.to_owned());
    }
    if let Some(idd) = meta.international_prefix().and_then(|re| re.find(digits))
        && idd.start() == 0
        && idd.end() > 0
        && let Some(rest) = digits.get(idd.end()..)
    {
        readings.push(rest.to_owned());
    }

    let mut valid: Vec<Phone> = readings.iter().filter_map(|r| international(r)).collect();
    match valid.pop() {
        Some(phone) if valid.iter().all(|other| *other == phone) => Ok(phone),
        _ => Err(PhoneError::Invalid),
    }
}
