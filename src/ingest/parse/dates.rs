//! Lenient date parsing for feed timestamps, always to UTC: ISO 8601 / RFC
//! 3339 (W3C-DTF, partial dates, missing zone = UTC) and RFC 822 / 2822 with
//! the usual real-world deviations (named zones, long or wrong week days,
//! long month names, two-digit years, missing seconds, month-day order).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Parses a feed date; `None` when it cannot be understood.
pub(crate) fn parse_date(input: &str) -> Option<DateTime<Utc>> {
    let s = input.trim();
    if s.is_empty() || s.len() > 100 {
        return None;
    }
    parse_iso8601(s).or_else(|| parse_rfc822ish(s))
}

fn to_utc(date: NaiveDate, time: NaiveTime, offset_secs: i32) -> Option<DateTime<Utc>> {
    let offset = FixedOffset::east_opt(offset_secs)?;
    offset
        .from_local_datetime(&NaiveDateTime::new(date, time))
        .single()
        .map(|d| d.with_timezone(&Utc))
}

/// A byte cursor over ASCII input.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn peek_digit(&self) -> bool {
        self.peek().is_some_and(|c| c.is_ascii_digit())
    }
    /// The value of the digit at the cursor, if it is one.
    fn digit(&self) -> Option<u32> {
        self.peek()
            .filter(u8::is_ascii_digit)
            .map(|c| u32::from(c - b'0'))
    }
    /// Reads between `min` and `max` digits.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        let mut value: u32 = 0;
        while self.i - start < max {
            let Some(d) = self.digit() else { break };
            value = value * 10 + d;
            self.i += 1;
        }
        (self.i - start >= min).then_some(value)
    }
    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }
    fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }
}

/// Parses a `±hh[:mm]` / `±hhmm` offset (the sign already read) in seconds.
fn read_offset(c: &mut Cursor, negative: bool) -> Option<i32> {
    let hours = c.digits(1, 2)? as i32;
    let _ = c.eat(b':');
    let minutes = c.digits(0, 2).unwrap_or(0) as i32;
    if hours > 23 || minutes > 59 {
        return None;
    }
    let secs = hours * 3600 + minutes * 60;
    Some(if negative { -secs } else { secs })
}

/// ISO 8601 / RFC 3339 / W3C-DTF, including partial dates (`2003`,
/// `2003-12`), basic format (`20031213T183002Z`), a space instead of `T`,
/// fractions, and no zone (taken as UTC).
fn parse_iso8601(s: &str) -> Option<DateTime<Utc>> {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let year = c.digits(4, 4)? as i32;
    let (month, day) = if c.eat(b'-') {
        let month = c.digits(1, 2)?;
        let day = if c.eat(b'-') { c.digits(1, 2)? } else { 1 };
        (month, day)
    } else if c.peek_digit() {
        (c.digits(2, 2)?, c.digits(2, 2)?)
    } else {
        (1, 1)
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let mut time = NaiveTime::MIN;
    let mut offset = 0;
    if !c.at_end() {
        if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
            return None;
        }
        c.skip_spaces();
        let hour = c.digits(1, 2)?;
        let extended = c.eat(b':');
        let minute = if extended || c.peek_digit() {
            c.digits(2, 2)?
        } else {
            0
        };
        let second = if (extended && c.eat(b':')) || (!extended && c.peek_digit()) {
            c.digits(2, 2)?
        } else {
            0
        };
        let mut nanos = 0u32;
        if c.eat(b'.') || c.eat(b',') {
            let start = c.i;
            let mut scale = 100_000_000u32;
            while let Some(d) = c.digit() {
                nanos += d * scale;
                scale /= 10;
                c.i += 1;
            }
            if c.i == start {
                return None;
            }
        }
        let hour = if hour == 24 && minute == 0 && second == 0 {
            0
        } else {
            hour
        };
        time = NaiveTime::from_hms_nano_opt(hour, minute, second.min(59), nanos)?;
        c.skip_spaces();
        match c.peek() {
            None => {}
            Some(b'Z' | b'z') => c.i += 1,
            Some(b'+') => {
                c.i += 1;
                offset = read_offset(&mut c, false)?;
            }
            Some(b'-') => {
                c.i += 1;
                offset = read_offset(&mut c, true)?;
            }
            Some(_) => {
                let word = std::str::from_utf8(c.b.get(c.i..).unwrap_or_default())
                    .ok()?
                    .trim();
                offset = zone_offset(&word.to_ascii_lowercase())?;
                c.i = c.b.len();
            }
        }
        c.skip_spaces();
        if !c.at_end() {
            return None;
        }
    }
    to_utc(date, time, offset)
}

fn month_from_name(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if word.len() < 3 || !word.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let m = MONTHS.iter().position(|m| word.starts_with(m))? as u32 + 1;
    // "mar" but not "marketing": only abbreviations or the full names.
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let full = FULL.get((m - 1) as usize)?;
    (full.starts_with(word) || word == "sept").then_some(m)
}

fn is_weekday(word: &str) -> bool {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    word.len() >= 2
        && DAYS
            .iter()
            .any(|d| d.starts_with(word) || (word.len() >= 3 && word.starts_with(&d[..3])))
}

/// Offset in seconds of a named zone (lower case).
fn zone_offset(word: &str) -> Option<i32> {
    let word = word.trim_matches(|c| c == '(' || c == ')');
    let hours: f32 = match word {
        "z" | "ut" | "utc" | "gmt" | "wet" => 0.0,
        "est" => -5.0,
        "edt" => -4.0,
        "cst" => -6.0,
        "cdt" => -5.0,
        "mst" => -7.0,
        "mdt" => -6.0,
        "pst" => -8.0,
        "pdt" => -7.0,
        "akst" => -9.0,
        "akdt" => -8.0,
        "hst" => -10.0,
        "ast" => -4.0,
        "adt" => -3.0,
        "nst" => -3.5,
        "ndt" => -2.5,
        "bst" | "cet" | "west" | "met" => 1.0,
        "cest" | "eet" | "mest" | "sast" => 2.0,
        "eest" | "msk" => 3.0,
        "ist" => 5.5,
        "sgt" | "hkt" | "awst" => 8.0,
        "jst" | "kst" => 9.0,
        "acst" => 9.5,
        "aest" => 10.0,
        "acdt" => 10.5,
        "aedt" => 11.0,
        "nzst" => 12.0,
        "nzdt" => 13.0,
        // Military zones other than Z are unreliable (RFC 2822 4.3): -0000.
        w if w.len() == 1 && w.bytes().all(|b| b.is_ascii_alphabetic()) => 0.0,
        _ => {
            // "GMT+0100", "UTC-05:00"
            let rest = word
                .strip_prefix("gmt")
                .or_else(|| word.strip_prefix("utc"))
                .or_else(|| word.strip_prefix("ut"))?;
            return numeric_offset(rest);
        }
    };
    Some((hours * 3600.0) as i32)
}

fn numeric_offset(text: &str) -> Option<i32> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'+' => (false, &text[1..]),
        b'-' => (true, &text[1..]),
        _ => return None,
    };
    let mut c = Cursor {
        b: rest.as_bytes(),
        i: 0,
    };
    let offset = read_offset(&mut c, negative)?;
    c.at_end().then_some(offset)
}

/// Parses `hh:mm[:ss[.frac]]`, possibly glued to a zone; returns the time and
/// the zone text that followed.
fn parse_clock(token: &str) -> Option<(u32, u32, u32, &str)> {
    let mut c = Cursor {
        b: token.as_bytes(),
        i: 0,
    };
    let hour = c.digits(1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = c.digits(1, 2)?;
    let second = if c.eat(b':') { c.digits(1, 2)? } else { 0 };
    if c.eat(b'.') || c.eat(b',') {
        while c.peek_digit() {
            c.i += 1;
        }
    }
    Some((hour, minute, second, &token[c.i..]))
}

/// RFC 822-like dates, read token by token so that the order and the
/// presence of week day, seconds and zone do not matter much.
fn parse_rfc822ish(s: &str) -> Option<DateTime<Utc>> {
    // A leading week day in any language ("mer, 16 nov 2022 ...").
    let s = match s.split_once(',') {
        Some((day, rest)) if !day.is_empty() && day.chars().all(char::is_alphabetic) => rest,
        _ => s,
    };
    let cleaned: String = s.chars().map(|c| if c == ',' { ' ' } else { c }).collect();
    let mut day: Option<u32> = None;
    let mut month: Option<u32> = None;
    let mut year: Option<i32> = None;
    let mut clock: Option<(u32, u32, u32)> = None;
    let mut offset: Option<i32> = None;
    let mut pm: Option<bool> = None;

    let set_zone = |text: &str, offset: &mut Option<i32>| -> Option<()> {
        if text.is_empty() {
            return Some(());
        }
        let value = match text.as_bytes().first() {
            Some(b'+' | b'-') => numeric_offset(text)?,
            _ => zone_offset(&text.to_ascii_lowercase())?,
        };
        offset.get_or_insert(value);
        Some(())
    };

    for token in cleaned.split_whitespace() {
        let lower = token.to_ascii_lowercase();
        // `split_whitespace` yields no empty token.
        let Some(&first) = token.as_bytes().first() else {
            continue;
        };
        if first.is_ascii_digit() && token.contains(':') {
            let (h, m, sec, zone) = parse_clock(token)?;
            clock = Some((h, m, sec));
            let zone_lower = zone.to_ascii_lowercase();
            match zone_lower.as_str() {
                "am" => pm = Some(false),
                "pm" => pm = Some(true),
                _ => set_zone(zone, &mut offset)?,
            }
        } else if first == b'+' || (first == b'-' && token.len() > 1) {
            offset = Some(numeric_offset(token)?);
        } else if token.bytes().all(|b| b.is_ascii_digit()) {
            let n: u32 = token.parse().ok()?;
            if token.len() == 4 {
                year = Some(n as i32);
            } else if token.len() <= 2 && day.is_none() && !(year.is_some() && month.is_none()) {
                day = Some(n);
            } else if token.len() <= 2 && year.is_none() {
                year = Some(if n < 50 {
                    2000 + n as i32
                } else {
                    1900 + n as i32
                });
            } else if token.len() <= 2 && month.is_none() {
                month = Some(n);
            } else {
                return None;
            }
        } else if first.is_ascii_digit() {
            // "13th", "2003/12/13", "13-Dec-2003"
            if let Some(stem) = ["st", "nd", "rd", "th"]
                .iter()
                .find_map(|suffix| lower.strip_suffix(suffix))
                .filter(|stem| !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()))
            {
                day = Some(stem.parse().ok()?);
            } else {
                let parts: Vec<&str> = token.split(['/', '-', '.']).collect();
                match parts.as_slice() {
                    [y, m, d] if y.len() == 4 => {
                        year = Some(y.parse().ok()?);
                        month = Some(m.parse().ok()?);
                        day = Some(d.parse().ok()?);
                    }
                    [d, m, y] if month_from_name(&m.to_ascii_lowercase()).is_some() => {
                        day = Some(d.parse().ok()?);
                        month = month_from_name(&m.to_ascii_lowercase());
                        let y: i32 = y.parse().ok()?;
                        year = Some(match y {
                            0..50 => 2000 + y,
                            50..100 => 1900 + y,
                            _ => y,
                        });
                    }
                    _ => return None,
                }
            }
        } else if let Some(m) = month_from_name(lower.trim_end_matches('.')) {
            month = Some(m);
        } else if is_weekday(lower.trim_end_matches('.')) {
            continue;
        } else if lower == "am" || lower == "a.m." {
            pm = Some(false);
        } else if lower == "pm" || lower == "p.m." {
            pm = Some(true);
        } else if lower == "at" || lower == "the" || lower == "of" {
            continue;
        } else {
            set_zone(token, &mut offset)?;
        }
    }

    let date = NaiveDate::from_ymd_opt(year?, month?, day?)?;
    let (mut h, m, sec) = clock.unwrap_or((0, 0, 0));
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    if h == 24 {
        h = 0;
    }
    let time = NaiveTime::from_hms_opt(h, m, sec.min(59))?;
    to_utc(date, time, offset.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> String {
        parse_date(s)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_else(|| "NONE".into())
    }

    #[test]
    fn parses_common_and_sloppy_dates() {
        let cases = [
            ("2003-12-13T18:30:02Z", "2003-12-13T18:30:02Z"),
            ("2003-12-13T18:30:02.25+01:00", "2003-12-13T17:30:02Z"),
            ("2003-12-13T18:30:02-0500", "2003-12-13T23:30:02Z"),
            ("2003-12-13 18:30", "2003-12-13T18:30:00Z"),
            ("2003-12-13", "2003-12-13T00:00:00Z"),
            ("2003-12", "2003-12-01T00:00:00Z"),
            ("2003", "2003-01-01T00:00:00Z"),
            ("20031213T183002Z", "2003-12-13T18:30:02Z"),
            ("Sat, 13 Dec 2003 18:30:02 GMT", "2003-12-13T18:30:02Z"),
            ("Sat, 13 Dec 2003 18:30:02 +0100", "2003-12-13T17:30:02Z"),
            (
                "Saturday, 13 December 2003 18:30 EST",
                "2003-12-13T23:30:00Z",
            ),
            ("Thurs, 13 Jul 2011 7:38:00 PDT", "2011-07-13T14:38:00Z"),
            ("13 Dec 03 18:30:02 Z", "2003-12-13T18:30:02Z"),
            ("Dec 13, 2003 6:30 PM", "2003-12-13T18:30:00Z"),
            ("Sat, 13 Dec 2003 18:30:02 UTC", "2003-12-13T18:30:02Z"),
            ("Sat, 13 Dec 2003 18:30:02 GMT+0100", "2003-12-13T17:30:02Z"),
            ("Sat, 13 Dec 2003", "2003-12-13T00:00:00Z"),
            ("mer, 16 nov 2022 00:38:15 +0100", "2022-11-15T23:38:15Z"),
        ];
        for (input, want) in cases {
            assert_eq!(iso(input), want, "input {input:?}");
        }
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for input in [
            "",
            "Foo",
            "yesterday",
            "2003-13-45",
            "32 Dec 2003",
            "Sat, 13 Marketing 2003",
            "99999999999999999999",
            "2003-12-13T25:00:00Z",
            "\u{e9}\u{e9}:\u{e9}",
        ] {
            assert_eq!(iso(input), "NONE", "input {input:?}");
        }
    }
}
