//! `WORKING_HOURS`: the weekly shifts when operators are at the desk, read in the `WORKING_HOURS_TZ` time zone, and
//! the two questions asked of them: is the desk open at an instant, and when does it open next.

use std::fmt;

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;

/// Minutes in a day: `24:00` as an end.
const DAY: u32 = 24 * 60;

/// The desk's weekly hours: shifts on days of the week, in local time of one zone.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkingHours {
    rules: Vec<Rule>,
    tz: Tz,
}

/// One shift on each day from `first` to `last` (a range may wrap past Sunday), in minutes since local midnight.
/// An `end` before `start` runs past midnight into the next day; the two are never equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rule {
    first: Weekday,
    last: Weekday,
    start: u32,
    end: u32,
}

impl Rule {
    fn covers(&self, day: Weekday) -> bool {
        let since_first = |d: Weekday| (d.num_days_from_monday() + 7 - self.first.num_days_from_monday()) % 7;
        since_first(day) <= since_first(self.last)
    }

    fn is_open(&self, day: Weekday, minute: u32) -> bool {
        let overnight = self.end < self.start;
        let today = self.covers(day) && minute >= self.start && (overnight || minute < self.end);
        let from_yesterday = overnight && self.covers(day.pred()) && minute < self.end;
        today || from_yesterday
    }
}

impl WorkingHours {
    /// Whether operators are at the desk at `at`: a shift's start counts as open, its end as closed.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.tz);
        let minute = local.hour() * 60 + local.minute();
        self.rules.iter().any(|rule| rule.is_open(local.weekday(), minute))
    }

    /// When the desk is closed at `at`, the next moment it opens, in the configured zone; `None` while it is open.
    /// A start the clock skips (a DST change) opens at the first instant after the gap.
    pub fn next_opening(&self, at: DateTime<Utc>) -> Option<DateTime<Tz>> {
        if self.is_open(at) {
            return None;
        }
        let today = at.with_timezone(&self.tz).date_naive();
        // Every shift starts again within eight local days (today later, or the same weekday next week), or 15
        // when a clock change skips it; a shift that started yesterday and still runs would make the desk open now.
        (0..=14)
            .filter_map(|n| today.checked_add_days(Days::new(n)))
            .flat_map(|date| {
                let starts = self.rules.iter().filter(move |rule| rule.covers(date.weekday()));
                starts.filter_map(move |rule| Some(date.and_time(time_of_day(rule.start)?)))
            })
            .flat_map(|local| instants(self.tz, local))
            .filter(|opening| *opening > at && self.is_open(opening.with_timezone(&Utc)))
            .min()
    }

    /// The zone the shifts are read in (`WORKING_HOURS_TZ`).
    pub fn tz(&self) -> Tz {
        self.tz
    }
}

/// Reads `WORKING_HOURS`: rules separated by `;` or `,`, each `DAYS HH:MM-HH:MM`. The error says what is wrong.
pub(super) fn parse(text: &str, tz: Tz) -> Result<WorkingHours, String> {
    let rules: Vec<Rule> =
        text.split([';', ',']).map(str::trim).filter(|r| !r.is_empty()).map(parse_rule).collect::<Result<_, _>>()?;
    if rules.is_empty() {
        return Err(format!("{text:?} has no shifts"));
    }
    Ok(WorkingHours { rules, tz })
}

fn parse_rule(rule: &str) -> Result<Rule, String> {
    let squeeze = |s: &str| s.split_whitespace().collect::<String>();
    let split = rule.find(|c: char| c.is_ascii_digit()).unwrap_or(rule.len());
    let (days, times) = (squeeze(&rule[..split]), squeeze(&rule[split..]));
    if days.is_empty() || times.is_empty() {
        return Err(format!("{rule:?} is not DAYS HH:MM-HH:MM"));
    }
    let day = |name: &str| name.parse::<Weekday>().map_err(|_| format!("{name:?} in {rule:?} is not a day"));
    let (first, last) = match days.split_once('-') {
        Some((first, last)) => (day(first)?, day(last)?),
        None => (day(&days)?, day(&days)?),
    };
    if days.contains('-') && first == last {
        return Err(format!("{rule:?} is a range from a day to itself: write the day alone"));
    }
    let (start, end) = times.split_once('-').ok_or_else(|| format!("{times:?} in {rule:?} is not HH:MM-HH:MM"))?;
    let time = |t: &str| minutes(t).ok_or_else(|| format!("{t:?} in {rule:?} is not a time from 00:00 to 24:00"));
    let (start, end) = (time(start)?, time(end)?);
    if start == DAY {
        return Err(format!("{rule:?} starts at 24:00: write 00:00 on the next day"));
    }
    if start == end {
        return Err(format!("{rule:?} starts and ends at the same time (a whole day is 00:00-24:00)"));
    }
    Ok(Rule { first, last, start, end })
}

/// `H:MM` or `HH:MM` as minutes since midnight, `24:00` included.
fn minutes(time: &str) -> Option<u32> {
    let (h, m) = time.split_once(':')?;
    let digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
        let well_formed = len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
        if well_formed { s.parse::<u32>().ok() } else { None }
    };
    let (h, m) = (digits(h, 1..=2)?, digits(m, 2..=2)?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

fn time_of_day(minute: u32) -> Option<NaiveTime> {
    NaiveTime::from_hms_opt(minute / 60, minute % 60, 0)
}

/// The instants whose local time in `tz` is `local`: one; two when the clock goes back (the desk can open in
/// either); or, when the clock skips it, the first instant after the gap.
fn instants(tz: Tz, local: NaiveDateTime) -> impl Iterator<Item = DateTime<Tz>> {
    let (first, second) = match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => (Some(at), None),
        LocalResult::Ambiguous(earlier, later) => (Some(earlier), Some(later)),
        LocalResult::None => (end_of_gap(tz, local), None),
    };
    first.into_iter().chain(second)
}

/// The first instant whose local time is at or after `local`, a time skipped by a clock change: the change itself.
fn end_of_gap(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Tz>> {
    let wall = |secs: i64| DateTime::from_timestamp(secs, 0).map(|at| at.with_timezone(&tz));
    // No zone is a day away from UTC, so `before` reads earlier than `local` and `after` later.
    let (mut before, mut after) = (local.and_utc().timestamp() - 86_400, local.and_utc().timestamp() + 86_400);
    while after - before > 1 {
        let middle = before + (after - before) / 2;
        if wall(middle)?.naive_local() < local {
            before = middle;
        } else {
            after = middle;
        }
    }
    wall(after)
}

impl fmt::Display for WorkingHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rule) in self.rules.iter().enumerate() {
            let separator = if i == 0 { "" } else { "; " };
            write!(f, "{separator}{rule}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hhmm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
        if self.first == self.last {
            write!(f, "{}", self.first)?;
        } else {
            write!(f, "{}-{}", self.first, self.last)?;
        }
        write!(f, " {}-{}", hhmm(self.start), hhmm(self.end))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is a failure with its message
mod tests {
    use super::*;

    fn hours(text: &str, tz: Tz) -> WorkingHours {
        parse(text, tz).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    /// A local time in `tz` that exists exactly once, as UTC.
    fn at(tz: Tz, (y, mo, d): (i32, u32, u32), (h, mi): (u32, u32)) -> DateTime<Utc> {
        tz.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap().with_timezone(&Utc)
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    const MOSCOW: Tz = Tz::Europe__Moscow;
    const BERLIN: Tz = Tz::Europe__Berlin;
    // 2025-03-03 is a Monday; 2025-03-07 a Friday.
    const MON: (i32, u32, u32) = (2025, 3, 3);

    #[test]
    fn a_shift_is_open_from_its_start_and_closed_from_its_end() {
        let week = hours("Mon-Fri 09:00-18:00", MOSCOW);
        let cases = [((8, 59), false), ((9, 0), true), ((17, 59), true), ((18, 0), false)];
        for (time, open) in cases {
            assert_eq!(week.is_open(at(MOSCOW, MON, time)), open, "Monday {time:?}");
        }
        assert!(week.is_open(at(MOSCOW, (2025, 3, 7), (12, 0))), "Friday is in Mon-Fri");
        assert!(!week.is_open(at(MOSCOW, (2025, 3, 8), (12, 0))), "Saturday is not");
        assert!(week.is_open(utc("2025-03-03T06:30:00Z")), "06:30 UTC is 09:30 in Moscow");
        assert!(!week.is_open(utc("2025-03-03T15:30:00Z")), "15:30 UTC is 18:30 in Moscow");
    }

    #[test]
    fn an_overnight_shift_runs_into_the_next_morning() {
        let night = hours("Fri 22:00-02:00", MOSCOW);
        let cases = [
            ((2025, 3, 7), (21, 59), false),
            ((2025, 3, 7), (22, 0), true),
            ((2025, 3, 8), (1, 59), true),
            ((2025, 3, 8), (2, 0), false),
            ((2025, 3, 8), (22, 30), false),
            ((2025, 3, 7), (1, 0), false),
        ];
        for (date, time, open) in cases {
            assert_eq!(night.is_open(at(MOSCOW, date, time)), open, "{date:?} {time:?}");
        }
    }

    #[test]
    fn ranges_and_overnight_shifts_wrap_from_sunday_to_monday() {
        let weekend = hours("Sat-Mon 10:00-12:00; Sun 23:00-01:00", MOSCOW);
        assert!(weekend.is_open(at(MOSCOW, MON, (0, 30))), "Sunday's night shift goes on into Monday");
        assert!(!weekend.is_open(at(MOSCOW, MON, (1, 0))));
        assert!(weekend.is_open(at(MOSCOW, MON, (10, 0))), "Sat-Mon includes Monday");
        assert!(weekend.is_open(at(MOSCOW, (2025, 3, 9), (11, 0))), "and Sunday");
        assert!(!weekend.is_open(at(MOSCOW, (2025, 3, 4), (10, 0))), "not Tuesday");
        assert!(!weekend.is_open(at(MOSCOW, (2025, 3, 4), (0, 30))), "Monday has no night shift");
    }

    #[test]
    fn twenty_four_hundred_ends_a_shift_at_midnight() {
        let evening = hours("Mon 12:00-24:00", MOSCOW);
        assert!(evening.is_open(at(MOSCOW, MON, (23, 59))));
        assert!(!evening.is_open(at(MOSCOW, (2025, 3, 4), (0, 0))));
        let always = hours("Mon-Sun 00:00-24:00", MOSCOW);
        assert!(always.is_open(at(MOSCOW, MON, (0, 0))) && always.is_open(at(MOSCOW, (2025, 3, 9), (23, 59))));
        assert_eq!(always.next_opening(utc("2025-03-05T12:00:00Z")), None);
    }

    #[test]
    fn on_friday_evening_the_desk_opens_next_at_nine_on_monday_in_moscow() {
        let week = hours("Mon-Fri 09:00-18:00", MOSCOW);
        let opening = week.next_opening(at(MOSCOW, (2025, 3, 7), (19, 0))).unwrap();
        assert_eq!(opening, MOSCOW.with_ymd_and_hms(2025, 3, 10, 9, 0, 0).unwrap());
        assert_eq!(opening.timezone(), MOSCOW);
        assert_eq!(opening.to_string(), "2025-03-10 09:00:00 MSK");
        let early = week.next_opening(at(MOSCOW, MON, (8, 0))).unwrap();
        assert_eq!(early, MOSCOW.with_ymd_and_hms(2025, 3, 3, 9, 0, 0).unwrap(), "later the same day");
        assert_eq!(week.next_opening(at(MOSCOW, MON, (9, 0))), None, "open now");
    }

    #[test]
    fn in_berlin_monday_nine_after_the_march_change_is_an_hour_earlier_in_utc() {
        // Clocks go from 02:00 CET to 03:00 CEST on Sunday 2025-03-30.
        let week = hours("Mon-Fri 09:00-18:00", BERLIN);
        let opening = week.next_opening(utc("2025-03-28T18:00:00Z")).unwrap();
        assert_eq!(opening.with_timezone(&Utc), utc("2025-03-31T07:00:00Z"));
        assert!(!week.is_open(utc("2025-03-31T06:59:00Z")) && week.is_open(utc("2025-03-31T07:00:00Z")));
        assert!(week.is_open(utc("2025-03-28T16:59:00Z")), "Friday 17:59 CET");
    }

    #[test]
    fn a_start_the_clock_skips_opens_when_the_clock_lands() {
        let sunday = hours("Sun 02:30-10:00", BERLIN);
        let opening = sunday.next_opening(utc("2025-03-29T12:00:00Z")).unwrap();
        assert_eq!(opening.with_timezone(&Utc), utc("2025-03-30T01:00:00Z"), "03:00 CEST, the end of the gap");
        // A shift wholly inside the gap does not happen that day: the next one is a week later.
        let skipped = hours("Sun 02:00-02:30", BERLIN);
        let opening = skipped.next_opening(utc("2025-03-29T12:00:00Z")).unwrap();
        assert_eq!(opening.with_timezone(&Utc), utc("2025-04-06T00:00:00Z"), "02:00 CEST a week later");
    }

    #[test]
    fn a_start_the_clock_repeats_in_october_can_open_the_second_time() {
        // Clocks go from 03:00 CEST back to 02:00 CET on Sunday 2025-10-26: 02:00-02:30 happens twice.
        let sunday = hours("Sun 02:00-02:30", BERLIN);
        assert!(sunday.is_open(utc("2025-10-26T00:15:00Z")), "02:15 CEST");
        let opening = sunday.next_opening(utc("2025-10-26T00:45:00Z")).unwrap();
        assert_eq!(opening.with_timezone(&Utc), utc("2025-10-26T01:00:00Z"), "02:00 CET");
    }

    #[test]
    fn rules_are_printed_back_normalized() {
        let text = "mon - FRIDAY 9:00-18:00 , saturday 10:00 - 15:00; Sun 22:00-02:00;";
        assert_eq!(hours(text, MOSCOW).to_string(), "Mon-Fri 09:00-18:00; Sat 10:00-15:00; Sun 22:00-02:00");
        assert_eq!(hours("Sat-Mon 00:00-24:00", BERLIN).to_string(), "Sat-Mon 00:00-24:00");
        assert_eq!(hours("Sat-Mon 00:00-24:00", BERLIN).tz(), BERLIN);
    }

    #[test]
    fn malformed_rules_are_refused_saying_what_is_wrong() {
        let cases = [
            ("Mon-Fri", "is not DAYS HH:MM-HH:MM"),
            ("09:00-18:00", "is not DAYS HH:MM-HH:MM"),
            ("Mo 09:00-18:00", "\"Mo\" in \"Mo 09:00-18:00\" is not a day"),
            ("Mon-Fr 09:00-18:00", "\"Fr\" in"),
            ("Mon-Fri-Sat 09:00-18:00", "\"Fri-Sat\" in"),
            ("Mon-Mon 09:00-18:00", "from a day to itself"),
            ("Mon 9-18", "\"9\" in \"Mon 9-18\" is not a time"),
            ("Mon 09:00", "\"09:00\" in \"Mon 09:00\" is not HH:MM-HH:MM"),
            ("Mon 09:00-25:00", "\"25:00\" in"),
            ("Mon 09:60-18:00", "\"09:60\" in"),
            ("Mon 24:00-02:00", "starts at 24:00"),
            ("Mon 10:00-10:00", "starts and ends at the same time"),
            ("Mon 00:00-00:00", "starts and ends at the same time"),
            ("Mon+Tue 09:00-18:00", "\"Mon+Tue\" in"),
            (" ; ", "has no shifts"),
        ];
        for (text, expected) in cases {
            let error = parse(text, MOSCOW).err().unwrap_or_else(|| panic!("{text:?} should be refused"));
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
