//! Durations and byte sizes as written in `feeds.toml`: [`parse_duration`],
//! [`format_duration`] and [`parse_byte_size`].

use std::time::Duration;

/// Parses a duration: one or more `<integer><unit>` parts, units `w`
/// (weeks), `d` (days), `h`, `m` and `s`, each at most once and from the
/// largest down, optionally separated by spaces: `"90s"`, `"30m"`, `"2h"`,
/// `"1d"`, `"1h30m"`, `"1w"`. Bare numbers, other units, signs, fractions
/// and overflow give `None`. `"0s"` gives a zero duration.
pub fn parse_duration(text: &str) -> Option<Duration> {
    const UNITS: [(char, u64); 5] = [
        ('w', 7 * 24 * 3600),
        ('d', 24 * 3600),
        ('h', 3600),
        ('m', 60),
        ('s', 1),
    ];
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    // Index into UNITS of the next unit allowed: units go largest first.
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return None;
        }
        let (number, tail) = rest.split_at_checked(digits)?;
        let number: u64 = number.parse().ok()?;
        rest = tail;
        let unit = rest.chars().next()?;
        let offset = UNITS
            .get(next_unit..)?
            .iter()
            .position(|(u, _)| *u == unit)?;
        let seconds = UNITS.get(next_unit + offset)?.1;
        next_unit += offset + 1;
        total = total.checked_add(number.checked_mul(seconds)?)?;
        rest = rest.get(unit.len_utf8()..)?.trim_start();
    }
    Some(Duration::from_secs(total))
}

/// Writes a duration the way [`parse_duration`] reads it, largest unit
/// first: `"1h30m"`, `"45s"`, `"0s"`. Sub-second parts are dropped.
pub fn format_duration(duration: Duration) -> String {
    let mut secs = duration.as_secs();
    if secs == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [
        ('w', 7 * 24 * 3600),
        ('d', 24 * 3600),
        ('h', 3600),
        ('m', 60),
        ('s', 1),
    ] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// Parses a byte size: an integer of bytes, optionally followed (spaces
/// allowed) by a unit, case-insensitive: `B`, `KiB`, `MiB`, `GiB`, `TiB`
/// (powers of 1024) or `KB`, `MB`, `GB`, `TB` (powers of 1000). `None` for
/// anything else or on overflow.
pub fn parse_byte_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let (number, unit) = text.split_at_checked(digits)?;
    let number: u64 = number.parse().ok()?;
    let unit = unit.trim_start().to_ascii_lowercase();
    let factor: u64 = match unit.as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return None,
    };
    number.checked_mul(factor)
}
