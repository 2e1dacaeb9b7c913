//! Phone numbers as customers type or share them: the exact E.164 stored, or the exact error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use zabota_core::domain::phone::{Phone, PhoneError, is_known_region};

fn ru(input: &str) -> Result<String, PhoneError> {
    Phone::parse(input, "RU").map(|p| p.as_e164().to_owned())
}

fn contact(raw: &str) -> Result<String, PhoneError> {
    Phone::from_contact(raw, "RU").map(|p| p.as_e164().to_owned())
}

fn ok(e164: &str) -> Result<String, PhoneError> {
    Ok(e164.to_owned())
}

#[test]
fn russian_trunk_prefix_eight_becomes_plus_seven() {
    assert_eq!(ru("8 916 123-45-67"), ok("+79161234567"));
    assert_eq!(ru("89161234567"), ok("+79161234567"));
    assert_eq!(ru("8 (916) 123 45 67"), ok("+79161234567"));
}

#[test]
fn toll_free_eight_hundred_keeps_its_eight_in_every_form() {
    for input in
        ["8 800 555-35-35", "88005553535", "+7 800 555-35-35", "+78005553535", "800 555 35 35", "7 800 555 35 35"]
    {
        assert_eq!(ru(input), ok("+78005553535"), "{input}");
    }
}

#[test]
fn saint_petersburg_area_code_812_is_not_mistaken_for_a_trunk_prefix() {
    for input in ["+7 (812) 123-45-67", "8 812 123-45-67", "812 123 45 67", "78121234567"] {
        assert_eq!(ru(input), ok("+78121234567"), "{input}");
    }
}

#[test]
fn plus_seven_in_any_punctuation_is_accepted() {
    assert_eq!(ru("+7 (916) 123-45-67"), ok("+79161234567"));
    assert_eq!(ru("+7-916-123-45-67"), ok("+79161234567"));
    assert_eq!(ru("+7.916.123.45.67"), ok("+79161234567"));
    assert_eq!(ru("(+7) 916 123 45 67"), ok("+79161234567"));
    assert_eq!(ru("  +79161234567 \n"), ok("+79161234567"));
}

#[test]
fn a_leading_seven_without_plus_is_read_as_the_country_code() {
    assert_eq!(ru("7 916 1234567"), ok("+79161234567"));
    assert_eq!(ru("79161234567"), ok("+79161234567"));
}

#[test]
fn ten_digits_without_any_prefix_are_a_russian_national_number() {
    assert_eq!(ru("9161234567"), ok("+79161234567"));
    assert_eq!(ru("916 123-45-67"), ok("+79161234567"));
    assert_eq!(ru("495 123-45-67"), ok("+74951234567"));
}

#[test]
fn e164_input_is_kept_unchanged() {
    assert_eq!(ru("+79161234567"), ok("+79161234567"));
}

#[test]
fn international_call_through_eight_ten_is_understood() {
    assert_eq!(ru("8 10 44 20 7946 0958"), ok("+442079460958"));
    assert_eq!(ru("8-10-380-44-123-4567"), ok("+380441234567"));
}

#[test]
fn digits_with_two_valid_readings_are_rejected_not_guessed() {
    // Russian 14-digit toll-free 8-108… or Vietnam through the 8-10 international prefix.
    assert_eq!(ru("81084912345678"), Err(PhoneError::Invalid));
    assert_eq!(ru("+781084912345678"), ok("+781084912345678"));
    assert_eq!(ru("+84 91 234 5678"), ok("+84912345678"));
}

#[test]
fn double_zero_is_not_an_international_prefix_in_russia() {
    assert_eq!(ru("0079161234567"), Err(PhoneError::Invalid));
    assert_eq!(ru("00 44 20 7946 0958"), Err(PhoneError::Invalid));
}

#[test]
fn foreign_numbers_with_plus_keep_their_own_country_code() {
    assert_eq!(ru("+380 44 123 4567"), ok("+380441234567"));
    assert_eq!(ru("+1 650-253-0000"), ok("+16502530000"));
    assert_eq!(ru("+44 20 7946 0958"), ok("+442079460958"));
}

#[test]
fn foreign_numbers_starting_with_the_russian_trunk_digit_are_not_cut() {
    assert_eq!(ru("+1 800 253 0000"), ok("+18002530000"));
    assert_eq!(ru("+44 800 123 4567"), ok("+448001234567"));
}

#[test]
fn kazakhstan_numbers_share_plus_seven() {
    assert_eq!(ru("+7 701 123 4567"), ok("+77011234567"));
    assert_eq!(ru("7011234567"), ok("+77011234567"));
}

#[test]
fn kazakh_region_reads_its_national_forms() {
    let kz = |s: &str| Phone::parse(s, "KZ").map(|p| p.as_e164().to_owned());
    assert_eq!(kz("8 701 123 4567"), ok("+77011234567"));
    assert_eq!(kz("701 123 4567"), ok("+77011234567"));
    assert_eq!(kz("8 727 258 3400"), ok("+77272583400"));
}

#[test]
fn american_region_reads_its_national_forms() {
    let us = |s: &str| Phone::parse(s, "us").map(|p| p.as_e164().to_owned());
    assert_eq!(us("(650) 253-0000"), ok("+16502530000"));
    assert_eq!(us("1 650 253 0000"), ok("+16502530000"));
    assert_eq!(us("011 44 20 7946 0958"), ok("+442079460958"));
    assert_eq!(us("+44 161 496 0000"), ok("+441614960000"));
}

#[test]
fn unknown_region_leaves_only_the_plus_form() {
    assert!(is_known_region("RU"));
    assert!(!is_known_region("XX"));
    assert_eq!(Phone::parse("9161234567", "XX"), Err(PhoneError::Invalid));
    assert_eq!(Phone::parse("+79161234567", "XX").unwrap().as_e164(), "+79161234567");
}

#[test]
fn too_short_numbers_are_invalid() {
    assert_eq!(ru("12345"), Err(PhoneError::Invalid));
    assert_eq!(ru("8916"), Err(PhoneError::Invalid));
    assert_eq!(ru("1"), Err(PhoneError::Invalid));
    assert_eq!(ru("+7"), Err(PhoneError::Invalid));
}

#[test]
fn too_many_digits_are_invalid() {
    assert_eq!(ru("+7916123456789"), Err(PhoneError::Invalid));
    assert_eq!(ru("891612345678"), Err(PhoneError::Invalid));
}

#[test]
fn all_zeros_are_invalid() {
    assert_eq!(ru("00000000000"), Err(PhoneError::Invalid));
    assert_eq!(ru("+7 000 000 00 00"), Err(PhoneError::Invalid));
    assert_eq!(ru("+0"), Err(PhoneError::Invalid));
}

#[test]
fn empty_input_is_empty() {
    assert_eq!(ru(""), Err(PhoneError::Empty));
    assert_eq!(ru(" \t\n "), Err(PhoneError::Empty));
}

#[test]
fn input_over_32_characters_is_too_long() {
    assert_eq!(ru(&"1".repeat(33)), Err(PhoneError::TooLong));
    let padded = |dots: usize| format!("+7 916 123 45 67{}", ".".repeat(dots));
    assert_eq!(ru(&padded(16)), ok("+79161234567"));
    assert_eq!(ru(&padded(17)), Err(PhoneError::TooLong));
    assert_eq!(ru(&"9".repeat(1_000_000)), Err(PhoneError::TooLong));
}

#[test]
fn letters_emoji_extensions_and_stray_pluses_are_not_numbers() {
    for input in [
        "+7 916 123-45-67 ext 12",
        "телефон",
        "📞 89161234567",
        "8916123456x",
        "7+9161234567",
        "++79161234567",
        "+",
        "()-",
        "89161234567#",
    ] {
        assert_eq!(ru(input), Err(PhoneError::NotANumber), "{input}");
    }
}

#[test]
fn contact_without_plus_gets_one() {
    assert_eq!(contact("79161234567"), ok("+79161234567"));
    assert_eq!(contact("380441234567"), ok("+380441234567"));
}

#[test]
fn contact_with_plus_is_kept() {
    assert_eq!(contact("+79161234567"), ok("+79161234567"));
    assert_eq!(contact(" +78005553535 "), ok("+78005553535"));
}

#[test]
fn contact_saved_with_the_trunk_prefix_falls_back_to_the_region() {
    assert_eq!(contact("89161234567"), ok("+79161234567"));
    assert_eq!(contact("+89161234567"), Err(PhoneError::Invalid));
}

#[test]
fn garbage_contacts_are_errors() {
    assert_eq!(contact(""), Err(PhoneError::Empty));
    assert_eq!(contact("hello"), Err(PhoneError::NotANumber));
    assert_eq!(contact("12345"), Err(PhoneError::Invalid));
}

#[test]
fn masked_keeps_at_most_five_leading_and_two_trailing_characters() {
    let phone = Phone::parse("+79161234567", "RU").unwrap();
    assert_eq!(phone.masked(), "+7916***67");
    let short = Phone::parse("+6834002", "RU").unwrap();
    assert_eq!(short.masked(), "+68***02");
}

#[test]
fn display_uses_the_international_format_and_to_string_the_e164() {
    let phone = Phone::parse("89161234567", "RU").unwrap();
    assert_eq!(phone.display(), "+7 916 123-45-67");
    assert_eq!(phone.to_string(), "+79161234567");
    assert_eq!(Phone::parse("88005553535", "RU").unwrap().display(), "+7 800 555-35-35");
    assert_eq!(Phone::parse("+44 20 7946 0958", "RU").unwrap().display(), "+44 20 7946 0958");
}

#[test]
fn random_russian_mobiles_in_every_common_spelling_parse_back_to_the_same_e164() {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..200 {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let n = format!("9{:09}", (state >> 20) % 1_000_000_000);
        let (a, b, c, d) = (&n[..3], &n[3..6], &n[6..8], &n[8..]);
        let e164 = format!("+7{n}");
        let spellings = [
            e164.clone(),
            format!("8{n}"),
            format!("7{n}"),
            n.clone(),
            format!("8 {a} {b}-{c}-{d}"),
            format!("8 ({a}) {b}-{c}-{d}"),
            format!("+7 ({a}) {b}-{c}-{d}"),
            format!("+7-{a}-{b}-{c}-{d}"),
            format!("+7 {a} {b} {c} {d}"),
            format!("7 {a} {b}{c}{d}"),
            format!("{a}.{b}.{c}.{d}"),
        ];
        for s in &spellings {
            assert_eq!(ru(s), Ok(e164.clone()), "{s}");
        }
        assert_eq!(contact(&e164[1..]), Ok(e164.clone()));
    }
}

#[test]
fn more_than_fifteen_digits_is_never_e164_even_where_the_metadata_would_take_it() {
    // Found by `make fuzz`: German metadata accepts 14 national digits, which made "+49" + 14 = 16 digits.
    assert_eq!(Phone::parse("20100000000000", "DE").map(|p| p.as_e164().to_owned()), Err(PhoneError::Invalid));
    assert_eq!(Phone::parse("+4920100000000000", "DE").map(|p| p.as_e164().to_owned()), Err(PhoneError::Invalid));
    assert!(Phone::from_contact("4920100000000000", "DE").is_err());
}
