//! Durations, sizes and schedules (intervals and cron).

use super::*;

#[test]
fn refresh_accepts_intervals_and_cron_and_rejects_the_rest() {
    let cases: [(&str, Schedule); 4] = [
        ("\"2h\"", Schedule::Every(Duration::from_secs(7200))),
        ("\"*/30 * * * *\"", Schedule::Cron("0 */30 * * * *".into())),
        (
            "\"  15   0 * * * MON-FRI \"",
            Schedule::Cron("15 0 * * * MON-FRI".into()),
        ),
        ("\"1h 30m\"", Schedule::Every(Duration::from_secs(5400))),
    ];
    for (written, expected) in cases {
        let text = with_minimal(&format!("[defaults]\nrefresh = {written}"));
        let config = parse(&text).unwrap();
        assert_eq!(config.defaults.refresh, expected, "{written}");
        assert_eq!(config.sources[0].refresh, expected, "{written}");
    }

    let bad = [
        ("\"0m\"", "defaults: refresh must be greater than zero"),
        (
            "\"often\"",
            "defaults: refresh `often` is neither an interval nor a cron expression",
        ),
        (
            "\"61 * * * *\"",
            "defaults: refresh invalid cron expression `61 * * * *`",
        ),
        (
            "\"* * * *\"",
            "defaults: refresh cron expression `* * * *` has 4 fields",
        ),
        ("\"0 0 0 1 1 * 2030\"", "has 7 fields"),
        ("30", "defaults: refresh `30` has no unit"),
    ];
    for (written, message) in bad {
        let err = one_error(&with_minimal(&format!("[defaults]\nrefresh = {written}")));
        assert_eq!((err.line, err.column), (2, 11), "{written}");
        assert!(err.message.contains(message), "{written}: {}", err.message);
        assert_eq!(help(&err), SCHEDULE_HELP);
        assert!(help(&err).contains("\"0 */30 * * * *\""));
    }
}

#[test]
fn durations_need_units() {
    let err = one_error(&with_minimal("[defaults]\ntimeout = 30"));
    assert_eq!((err.line, err.column), (2, 11));
    assert_eq!(err.message, "defaults: timeout `30` has no unit");
    assert_eq!(help(&err), "add a unit: \"30s\", \"30m\" or \"30h\"");
    let err = one_error(&with_minimal("[defaults]\ntimeout = \"0s\""));
    assert_eq!(err.message, "defaults: timeout must be greater than zero");
    let err = one_error(&with_minimal("[defaults]\ntimeout = \"half a minute\""));
    assert_eq!(
        err.message,
        "defaults: timeout `half a minute` is not a duration"
    );
}

#[test]
fn parse_duration_accepts_units_and_rejects_bare_numbers() {
    let ok = [
        ("90s", 90),
        ("30m", 1800),
        ("2h", 7200),
        ("1d", 86400),
        ("1h30m", 5400),
        ("1w", 604_800),
        ("1w2d3h4m5s", 604_800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
        (" 1h 30m ", 5400),
        ("0s", 0),
    ];
    for (text, secs) in ok {
        assert_eq!(
            parse_duration(text),
            Some(Duration::from_secs(secs)),
            "{text}"
        );
    }
    for text in [
        "",
        "30",
        "1.5h",
        "-1h",
        "+1h",
        "1x",
        "h",
        "1h1h",
        "30m1h",
        "1H",
        "1 h",
        "99999999999999999999s",
        "18446744073709551615w",
    ] {
        assert_eq!(parse_duration(text), None, "{text}");
    }
    for secs in [0, 59, 60, 3600, 5400, 90061, 604_800 * 3 + 1] {
        let d = Duration::from_secs(secs);
        assert_eq!(parse_duration(&format_duration(d)), Some(d), "{secs}");
    }
    assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
}

#[test]
fn parse_byte_size_units() {
    assert_eq!(parse_byte_size("10MiB"), Some(10 << 20));
    assert_eq!(parse_byte_size("512 KiB"), Some(512 << 10));
    assert_eq!(parse_byte_size("3kb"), Some(3000));
    assert_eq!(parse_byte_size("7B"), Some(7));
    assert_eq!(parse_byte_size("7"), Some(7));
    assert_eq!(parse_byte_size("MiB"), None);
    assert_eq!(parse_byte_size("1.5MiB"), None);
    assert_eq!(parse_byte_size("99999999999TiB"), None);
}

#[test]
fn schedule_display() {
    assert_eq!(
        Schedule::Every(Duration::from_secs(1800)).to_string(),
        "every 30m"
    );
    assert_eq!(
        Schedule::Cron("0 0 * * * *".into()).to_string(),
        "cron \"0 0 * * * *\""
    );
}

#[test]
fn a_cron_number_out_of_range_names_its_field() {
    let with = |refresh: &str| {
        format!(
            "[defaults]\nrefresh = \"{refresh}\"\n[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n"
        )
    };
    let err = one_error(&with("0 61 * * *"));
    assert!(
        err.message
            .ends_with("invalid cron expression `0 61 * * *`: the hour field is 61, out of 0-23"),
        "{}",
        err.message
    );
    let err = one_error(&with("0 0 0 32 * *"));
    assert!(
        err.message
            .contains("the day of the month field is 32, out of 1-31"),
        "{}",
        err.message
    );
    // A step is a count, not a value: `*/90` seconds is the parser's call.
    let err = one_error(&with("*/5 70 * * *"));
    assert!(
        err.message.contains("the hour field is 70"),
        "{}",
        err.message
    );
    // In range: accepted.
    assert!(parse(&with("*/15 6-18 * * 1-5")).is_ok());
}

#[test]
fn an_interval_written_in_words_is_not_read_as_cron() {
    let text = "[defaults]\nrefresh = \"30 minutes\"\n[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
    let err = one_error(text);
    assert!(
        err.message
            .ends_with("`30 minutes` is neither an interval nor a cron expression: write `30m`"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("fields"), "{}", err.message);
}
