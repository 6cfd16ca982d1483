//! `[[source]]` tables and the source keys of `[defaults]`.

use super::*;

#[test]
fn url_must_parse_and_have_a_host() {
    let text = "[[source]]\nid = \"a\"\nurl = \"example.org/feed\"\n[[source]]\nid = \"b\"\nurl = \"http://exa mple.org\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (3, 7));
    assert_eq!(
        errs[0].message,
        "source `a`: url `example.org/feed` is not an absolute URL"
    );
    assert!(help(&errs[0]).contains("https://example.org/feed"));
    assert_eq!((errs[1].line, errs[1].column), (6, 7));
    assert!(
        errs[1]
            .message
            .starts_with("source `b`: url `http://exa mple.org` is not a valid URL"),
        "{}",
        errs[1].message
    );
}

#[test]
fn path_source_must_be_an_existing_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file.txt"), "x").unwrap();
    let file = dir.path().join("feeds.toml");
    let text = "[[source]]\nid = \"missing\"\npath = \"nope\"\n[[source]]\nid = \"file\"\npath = \"file.txt\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
    let errs = Config::parse(text, &file).unwrap_err().0;
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (3, 8));
    assert_eq!(
        errs[0].message,
        format!(
            "source `missing`: path `{}` does not exist",
            dir.path().join("nope").display()
        )
    );
    assert!(help(&errs[0]).contains(&dir.path().display().to_string()));
    assert_eq!((errs[1].line, errs[1].column), (6, 8));
    assert_eq!(
        errs[1].message,
        format!(
            "source `file`: path `{}` is not a directory",
            dir.path().join("file.txt").display()
        )
    );
}

#[test]
fn url_and_path_exactly_one() {
    let text = "[[source]]\nid = \"both\"\nurl = \"https://example.org/\"\npath = \".\"\n[[source]]\nid = \"neither\"\ntitle = \"N\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (4, 8));
    assert_eq!(
        errs[0].message,
        "source `both`: both `url` and `path` are set"
    );
    assert_eq!((errs[1].line, errs[1].column), (5, 1));
    assert_eq!(
        errs[1].message,
        "source `neither`: neither `url` nor `path` is set"
    );
}

#[test]
fn bad_source_refresh_is_reported_at_the_value() {
    let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\nrefresh = \"* * * * 9\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\n";
    let err = one_error(text);
    assert_eq!((err.line, err.column), (4, 11));
    assert!(
        err.message
            .starts_with("source `a`: refresh invalid cron expression `* * * * 9`"),
        "{}",
        err.message
    );
}

#[test]
fn source_id_is_required() {
    let text = "[[source]]\nurl = \"https://example.org/a\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
    let errs = errors(text);
    let err = error_at(&errs, 1, 1);
    assert_eq!(err.message, "source #1: missing `id`");
}

#[test]
fn min_interval_must_be_at_least_one_minute() {
    let err = one_error(&with_minimal("[defaults]\nmin_interval = \"30s\""));
    assert_eq!((err.line, err.column), (2, 16));
    assert_eq!(
        err.message,
        "defaults: min_interval must be at least 1m, got `30s`"
    );

    let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\nmin_interval = \"59s\"\n[[source]]\nid = \"b\"\nurl = \"https://example.org/b\"\nmin_interval = \"1m\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"b\"]\n";
    let err = one_error(text);
    assert_eq!((err.line, err.column), (4, 16));
    assert_eq!(
        err.message,
        "source `a`: min_interval must be at least 1m, got `59s`"
    );

    let text = text.replace("\"59s\"", "\"1m\"");
    let config = parse(&text).unwrap();
    assert_eq!(
        config.source("a").unwrap().min_interval,
        Duration::from_secs(60)
    );
}

#[test]
fn dedup_and_retention_keys_have_documented_defaults_and_overrides() {
    let text = "[defaults]\nstrip_www = false\ntracking_params = [\"From\", \"from\"]\ntombstone_ttl = \"7d\"\nmax_items = 100\nnear_duplicate_threshold = 0.8\n[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\nmax_age = \"2d\"\nnear_duplicates = false\n[[source]]\nid = \"b\"\nurl = \"https://example.org/b\"\nmax_items = 5\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
    let config = parse(text).unwrap();
    let a = &config.source("a").unwrap().dedup;
    assert!(!a.urls.strip_www);
    assert_eq!(a.urls.extra_tracking, ["from"]);
    assert_eq!(a.tombstone_ttl, Duration::from_secs(7 * 86400));
    assert_eq!(a.max_items, Some(100));
    assert_eq!(a.max_age, Some(Duration::from_secs(2 * 86400)));
    assert_eq!(a.near_threshold_pct, None);
    let b = &config.source("b").unwrap().dedup;
    assert_eq!(
        (b.max_items, b.max_age, b.near_threshold_pct),
        (Some(5), None, Some(80))
    );

    let plain = parse(MINIMAL).unwrap();
    let d = &plain.sources[0].dedup;
    assert!(d.urls.strip_www && d.urls.extra_tracking.is_empty());
    assert_eq!(d.tombstone_ttl, DEFAULT_TOMBSTONE_TTL);
    assert_eq!((d.max_items, d.max_age), (None, None));
    assert_eq!(d.near_threshold_pct, Some(DEFAULT_NEAR_THRESHOLD_PCT));
}

#[test]
fn bad_dedup_and_retention_values_are_reported_at_the_value() {
    let err = one_error(&with_minimal("[defaults]\nmax_items = 0"));
    assert_eq!((err.line, err.column), (2, 13));
    assert_eq!(err.message, "defaults: max_items must be at least 1, got 0");
    let err = one_error(&with_minimal("[defaults]\nnear_duplicate_threshold = 1.5"));
    assert_eq!((err.line, err.column), (2, 28));
    assert!(
        err.message.contains("between 0.05 and 1.0"),
        "{}",
        err.message
    );
    let err = one_error(&with_minimal("[defaults]\ntombstone_ttl = \"soon\""));
    assert_eq!((err.line, err.column), (2, 17));
    let err = one_error(&with_minimal("[defaults]\ntracking_params = [\"a=b\"]"));
    assert_eq!((err.line, err.column), (2, 20));
    let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\nmax_age = 30\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\n";
    let err = one_error(text);
    assert_eq!((err.line, err.column), (4, 11));
    assert_eq!(err.message, "source `a`: max_age `30` has no unit");
}

#[test]
fn allow_internal_defaults_off_and_is_set_per_source() {
    let sources = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a.xml\"\n\n\
                       [[source]]\nid = \"b\"\nurl = \"https://example.org/b.xml\"\nallow_internal = true\n\n\
                       [[source]]\nid = \"c\"\nurl = \"https://example.org/c.xml\"\nallow_internal = false\n\n\
                       [[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";
    let allowed = |config: &Config| -> Vec<bool> {
        config.sources.iter().map(|s| s.allow_internal).collect()
    };
    let config = parse(sources).unwrap();
    assert!(!config.defaults.allow_internal);
    assert_eq!(allowed(&config), [false, true, false]);
    // The [defaults] switch is every source's default; a source's own
    // key wins.
    let config = parse(&format!("[defaults]\nallow_internal = true\n{sources}")).unwrap();
    assert!(config.defaults.allow_internal);
    assert_eq!(allowed(&config), [true, true, false]);
}

#[test]
fn allow_internal_errors_point_at_the_value() {
    let err = one_error(&with_minimal("[defaults]\nallow_internal = \"yes\""));
    assert_eq!((err.line, err.column), (2, 18), "{err}");
    assert!(
        err.message.starts_with("defaults: allow_internal: "),
        "{err}"
    );
    assert!(err.message.contains("bool"), "{err}");

    let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a.xml\"\nallow_internal = 1\n\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";
    let err = one_error(text);
    assert_eq!((err.line, err.column), (4, 18), "{err}");
    assert!(
        err.message.starts_with("source `a`: allow_internal: "),
        "{err}"
    );

    // A local folder is not fetched: the key makes no sense there.
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[[source]]\nid = \"notes\"\npath = \"{}\"\nallow_internal = true\n\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n",
        dir.path().display()
    );
    let err = one_error(&text);
    assert_eq!((err.line, err.column), (4, 18), "{err}");
    assert_eq!(
        err.message,
        "source `notes`: allow_internal applies to `url` sources, not to a `path`"
    );
    assert!(help(&err).contains("remove the key"), "{err}");

    // A misspelling is caught and the right key suggested.
    let err = one_error(&with_minimal("[defaults]\nallow_internals = true"));
    assert_eq!((err.line, err.column), (2, 1), "{err}");
    assert!(
        help(&err).contains("did you mean `allow_internal`?"),
        "{err}"
    );
}

#[test]
fn max_body_bytes_takes_sizes_and_integers() {
    for (written, bytes) in [
        ("\"10MiB\"", 10 * 1024 * 1024),
        ("\"512KiB\"", 512 * 1024),
        ("\"2 MB\"", 2_000_000),
        ("\"1gib\"", 1 << 30),
        ("1048576", 1_048_576),
        ("\"4096\"", 4096),
    ] {
        let config = parse(&with_minimal(&format!(
            "[defaults]\nmax_body_bytes = {written}"
        )))
        .unwrap();
        assert_eq!(config.defaults.max_body_bytes, bytes, "{written}");
    }
    for (written, message) in [
        ("0", "defaults: max_body_bytes must be greater than zero"),
        (
            "\"0KiB\"",
            "defaults: max_body_bytes must be greater than zero",
        ),
        ("-1", "defaults: max_body_bytes `-1` is not a byte size"),
        (
            "\"10 megs\"",
            "defaults: max_body_bytes `10 megs` is not a byte size",
        ),
    ] {
        let err = one_error(&with_minimal(&format!(
            "[defaults]\nmax_body_bytes = {written}"
        )));
        assert_eq!((err.line, err.column), (2, 18), "{written}");
        assert_eq!(err.message, message);
        assert_eq!(help(&err), SIZE_HELP);
    }
}

#[test]
fn max_article_bytes_defaults_and_per_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("notes")).unwrap();
    let file = dir.path().join("feeds.toml");
    let feed = "[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";
    let text =
        format!("[daemon]\ncontact = \"me\"\n[[source]]\nid = \"n\"\npath = \"notes\"\n{feed}");
    let config = Config::parse(&text, &file).unwrap();
    assert_eq!(config.defaults.max_article_bytes, 1024 * 1024);
    assert_eq!(config.sources[0].max_article_bytes, 1024 * 1024);
    let text = format!(
        "[daemon]\ncontact = \"me\"\n[defaults]\nmax_article_bytes = \"64KiB\"\n\
             [[source]]\nid = \"n\"\npath = \"notes\"\n\
             [[source]]\nid = \"m\"\npath = \"notes\"\nmax_article_bytes = \"2MiB\"\n{feed}"
    );
    let config = Config::parse(&text, &file).unwrap();
    assert_eq!(config.source("n").unwrap().max_article_bytes, 64 * 1024);
    assert_eq!(
        config.source("m").unwrap().max_article_bytes,
        2 * 1024 * 1024
    );
    let text = format!(
        "[daemon]\ncontact = \"me\"\n[[source]]\nid = \"n\"\npath = \"notes\"\nmax_article_bytes = 0\n\
             [[source]]\nid = \"u\"\nurl = \"https://example.org/f\"\nmax_article_bytes = 10\n{feed}"
    );
    let errs = Config::parse(&text, &file).unwrap_err().0;
    let messages: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert!(
        messages.contains(&"source `n`: max_article_bytes must be greater than zero"),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("max_article_bytes applies to `path` sources")),
        "{messages:?}"
    );
}

#[test]
fn max_interval_defaults_to_a_day_and_is_bounded() {
    let config = Config::parse(MINIMAL, Path::new(FILE)).unwrap();
    assert_eq!(config.defaults.max_interval, DEFAULT_MAX_INTERVAL);
    assert_eq!(config.sources[0].max_interval, DEFAULT_MAX_INTERVAL);
    let text = "[defaults]\nmax_interval = \"2d\"\n[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\nmax_interval = \"6h\"\n[[source]]\nid = \"b\"\nurl = \"https://example.org/b\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
    let config = Config::parse(text, Path::new(FILE)).unwrap();
    assert_eq!(
        config.source("a").unwrap().max_interval,
        Duration::from_secs(6 * 3600)
    );
    assert_eq!(
        config.source("b").unwrap().max_interval,
        Duration::from_secs(2 * 86400)
    );
    let err = one_error(&with_minimal("[defaults]\nmax_interval = \"31d\""));
    assert_eq!(
        err.message,
        "defaults: max_interval must be between min_interval (1h) and 30d, got `31d`"
    );
    let err = one_error(&with_minimal("[defaults]\nmax_interval = \"30m\""));
    assert!(
        err.message.contains("between min_interval"),
        "{}",
        err.message
    );
}

#[test]
fn sources_sharing_a_url_are_found_and_no_others() {
    let config = parse(
        "[[source]]\nid = \"a\"\nurl = \"https://example.org/feed\"\n\
         [[source]]\nid = \"b\"\nurl = \"https://example.org/other\"\n\
         [[source]]\nid = \"c\"\nurl = \"https://example.org/feed\"\n\
         [[source]]\nid = \"d\"\nurl = \"https://example.org/feed\"\n\
         [[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n",
    )
    .unwrap();
    let sharing = |id: &str| -> Vec<String> {
        let source = config.source(id).unwrap();
        config
            .sources_sharing_url(source)
            .iter()
            .map(|s| s.id.clone())
            .collect()
    };
    assert_eq!(sharing("a"), ["c", "d"]);
    assert_eq!(sharing("c"), ["a", "d"]);
    assert!(sharing("b").is_empty());
}

#[test]
fn full_text_is_read_with_readability_or_a_selector() {
    let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a.xml\"\nfull_text = true\n\n\
                [[source]]\nid = \"b\"\nurl = \"https://example.org/b.xml\"\nfull_text_selector = \"article .body\"\n\n\
                [[source]]\nid = \"c\"\nurl = \"https://example.org/c.xml\"\nfull_text = false\n\n\
                [[source]]\nid = \"d\"\nurl = \"https://example.org/d.xml\"\n\n\
                [[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";
    let config = parse(text).unwrap();
    let how: Vec<Option<String>> = config
        .sources
        .iter()
        .map(|s| match &s.full_text {
            None => None,
            Some(FullText::Readability) => Some("readability".into()),
            Some(FullText::Selector(s)) => Some(s.as_str().to_string()),
        })
        .collect();
    assert_eq!(
        how,
        [
            Some("readability".to_string()),
            Some("article .body".to_string()),
            None,
            None
        ]
    );
}

#[test]
fn full_text_errors_point_at_the_key() {
    let feed = "\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";
    let err = one_error(&format!(
        "[[source]]\nid = \"a\"\nurl = \"https://example.org/a.xml\"\nfull_text_selector = \"article >\"\n{feed}"
    ));
    assert_eq!((err.line, err.column), (4, 22), "{err}");
    assert!(
        err.message
            .starts_with("source `a`: full_text_selector: `article >` is not a CSS selector list"),
        "{err}"
    );
    assert!(help(&err).contains("article .body"), "{err}");

    let err = one_error(&format!(
        "[[source]]\nid = \"a\"\nurl = \"https://example.org/a.xml\"\nfull_text = false\nfull_text_selector = \"main\"\n{feed}"
    ));
    assert_eq!((err.line, err.column), (5, 22), "{err}");
    assert_eq!(
        err.message,
        "source `a`: full_text_selector is set but full_text = false"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feeds.toml");
    let text = format!("[[source]]\nid = \"l\"\npath = \".\"\nfull_text = true\n{feed}");
    let errs = Config::parse(&text, &file).unwrap_err().0;
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (4, 13));
    assert_eq!(
        errs[0].message,
        "source `l`: full_text applies to `url` sources, not to a `path`"
    );

    let err = one_error(&format!(
        "[[source]]\nid = \"a\"\nurl = \"https://example.org/a.xml\"\nfull_text = \"yes\"\n{feed}"
    ));
    assert_eq!((err.line, err.column), (4, 13), "{err}");
}

#[test]
fn websub_is_on_by_default_and_only_for_url_sources() {
    let feed = "\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";
    let config = parse(&format!(
        "[[source]]\nid = \"a\"\nurl = \"https://example.org/a.xml\"\n\n\
         [[source]]\nid = \"b\"\nurl = \"https://example.org/b.xml\"\nwebsub = false\n{feed}"
    ))
    .unwrap();
    let on: Vec<bool> = config.sources.iter().map(|s| s.websub).collect();
    assert_eq!(on, [true, false]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feeds.toml");
    let text = format!("[[source]]\nid = \"l\"\npath = \".\"\nwebsub = true\n{feed}");
    let errs = Config::parse(&text, &file).unwrap_err().0;
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (4, 10));
    assert_eq!(
        errs[0].message,
        "source `l`: websub applies to `url` sources, not to a `path`"
    );
}
