//! `[[feed]]` tables: includes, limits, options, publish schedules.

use super::*;

#[test]
fn include_resolves_tags_ids_and_star_in_config_order() {
    let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\ntags = [\"x\"]\n[[source]]\nid = \"b\"\nurl = \"https://example.org/b\"\ntags = [\"y\"]\n[[source]]\nid = \"c\"\nurl = \"https://example.org/c\"\ntags = [\"x\", \"y\"]\n[[feed]]\nname = \"ys\"\ntitle = \"Y\"\ninclude = [\"c\", \"tag:y\", \"a\"]\n[[feed]]\nname = \"all\"\ntitle = \"A\"\ninclude = [\"tag:x\", \"*\"]\n";
    let config = parse(text).unwrap();
    assert_eq!(config.feed("ys").unwrap().sources, vec!["a", "b", "c"]);
    assert_eq!(config.feed("ys").unwrap().include, vec!["c", "tag:y", "a"]);
    assert_eq!(config.feed("all").unwrap().sources, vec!["a", "b", "c"]);
    let text = text.replace("[\"c\", \"tag:y\", \"a\"]", "[\"tag:y\"]");
    assert_eq!(
        parse(&text).unwrap().feed("ys").unwrap().sources,
        vec!["b", "c"]
    );
}

#[test]
fn include_unknown_id_or_tag_is_an_error_with_suggestions() {
    let text = "[[source]]\nid = \"rust-blog\"\nurl = \"https://example.org/a\"\ntags = [\"rust\"]\n[[source]]\nid = \"lwn\"\nurl = \"https://example.org/b\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"rust-blgo\", \"tag:rusty\", \"zzz\", \"lwn\"]\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (11, 12));
    assert_eq!(
        errs[0].message,
        "feed `f`: include `rust-blgo` is not a source id"
    );
    assert!(
        help(&errs[0]).starts_with("did you mean \"rust-blog\"?"),
        "{}",
        help(&errs[0])
    );
    assert_eq!((errs[1].line, errs[1].column), (11, 25));
    assert_eq!(
        errs[1].message,
        "feed `f`: include `tag:rusty`: no source has tag `rusty`"
    );
    assert!(
        help(&errs[1]).starts_with("did you mean \"tag:rust\"?"),
        "{}",
        help(&errs[1])
    );
    assert_eq!((errs[2].line, errs[2].column), (11, 38));
    assert_eq!(
        errs[2].message,
        "feed `f`: include `zzz` is not a source id"
    );
    let h = help(&errs[2]);
    assert!(h.contains("`rust-blog`, `lwn`"), "{h}");
}

#[test]
fn feeds_that_include_nothing_are_errors() {
    let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\n[[feed]]\nname = \"empty\"\ntitle = \"E\"\ninclude = []\n[[feed]]\nname = \"missing\"\ntitle = \"M\"\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (7, 11));
    assert_eq!(
        errs[0].message,
        "feed `empty`: includes nothing: `include` is empty"
    );
    assert!(help(&errs[0]).contains("[\"*\"]"));
    assert_eq!((errs[1].line, errs[1].column), (8, 1));
    assert_eq!(
        errs[1].message,
        "feed `missing`: includes nothing: `include` is missing"
    );
}

#[test]
fn include_of_a_broken_source_is_not_a_second_error() {
    let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\ntags = [\"t\"]\ntitle = 1\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\", \"tag:t\"]\n";
    let err = one_error(text);
    assert_eq!(err.line, 5);
    assert!(err.message.contains("title"));
}

#[test]
fn feed_name_and_title_are_required() {
    let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\n[[feed]]\ninclude = [\"*\"]\n[[feed]]\nname = \"t\"\ntitle = \"  \"\ndescription = \"\"\ninclude = [\"*\"]\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (4, 1));
    assert_eq!(errs[0].message, "feed #1: missing `name`");
    assert_eq!((errs[1].line, errs[1].column), (4, 1));
    assert_eq!(errs[1].message, "feed #1: missing `title`");
    assert_eq!((errs[2].line, errs[2].column), (8, 9));
    assert_eq!(errs[2].message, "feed `t`: title is empty");
    assert_eq!((errs[3].line, errs[3].column), (9, 15));
    assert_eq!(errs[3].message, "feed `t`: description is empty");
}

#[test]
fn limits_must_be_between_1_and_1000() {
    for (value, ok) in [
        (0, false),
        (1, true),
        (1000, true),
        (1001, false),
        (-5, false),
    ] {
        let text = format!(
            "[defaults]\nfeed_limit = {value}\n[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\nlimit = {value}\n"
        );
        match parse(&text) {
            Ok(config) => {
                assert!(ok, "{value}");
                assert_eq!(config.feeds[0].limit, value as usize);
                assert_eq!(config.defaults.feed_limit, value as usize);
            }
            Err(errs) => {
                assert!(!ok, "{value}: {errs}");
                assert_eq!(errs.len(), 2, "{errs}");
                assert_eq!((errs.0[0].line, errs.0[0].column), (2, 14));
                assert_eq!(
                    errs.0[0].message,
                    format!("defaults: feed_limit must be between 1 and 1000, got {value}")
                );
                assert_eq!((errs.0[1].line, errs.0[1].column), (10, 9));
                assert_eq!(
                    errs.0[1].message,
                    format!("feed `f`: limit must be between 1 and 1000, got {value}")
                );
            }
        }
    }
}

#[test]
fn feed_options_parse_with_defaults() {
    let config = parse(&format!(
            "{TWO_SOURCES}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n\
             link = \"https://example.org/\"\nlanguage = \"pt-BR\"\nauthor = \" Ann \"\n\
             image = \"https://example.org/logo.png\"\nicon = \"https://example.org/i.png\"\n\
             exclude = [\"tag:t\"]\ninclude_keywords = [\"Rust\", \"rust\"]\nexclude_keywords = [\"ad\"]\n\
             formats = [\"json\", \"rss\"]\nhub = \"https://hub.example.org/\"\narchive = false\n\
             [[feed]]\nname = \"g\"\ntitle = \"G\"\ninclude = [\"*\"]\nhub = [\"https://h1.example/\", \"https://h2.example/\"]\n"
        ))
        .unwrap();
    let f = &config.feeds[0];
    assert_eq!(f.sources, vec!["b".to_string()]);
    assert_eq!(
        f.link.as_ref().map(Url::as_str),
        Some("https://example.org/")
    );
    assert_eq!(f.language.as_deref(), Some("pt-BR"));
    assert_eq!(f.author.as_deref(), Some("Ann"));
    assert_eq!(
        f.image.as_ref().map(Url::as_str),
        Some("https://example.org/logo.png")
    );
    assert_eq!(
        f.icon.as_ref().map(Url::as_str),
        Some("https://example.org/i.png")
    );
    assert_eq!(
        f.include_keywords,
        vec!["Rust".to_string(), "rust".to_string()]
    );
    assert_eq!(f.exclude_keywords, vec!["ad".to_string()]);
    assert_eq!(f.formats, vec!["rss".to_string(), "json".to_string()]);
    assert_eq!(f.hubs.len(), 1);
    assert!(!f.archive);
    let g = &config.feeds[1];
    assert_eq!(g.formats, vec!["rss", "atom", "json"]);
    assert_eq!(g.hubs.len(), 2);
    assert!(g.archive);
    assert_eq!(g.language, None);
    assert_eq!(g.sources, vec!["a".to_string(), "b".to_string()]);
}

#[test]
fn bad_feed_options_are_reported_at_the_value() {
    let errs = errors(&format!(
        "{TWO_SOURCES}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n\
             link = \"example.org\"\nlanguage = \"english!\"\nexclude = [\"zz\"]\n\
             formats = [\"rss\", \"xml\"]\nhub = \"ftp://hub\"\ninclude_keywords = [\" \"]\nauthor = \"\"\n"
    ));
    let messages: Vec<(usize, usize, &str)> = errs
        .iter()
        .map(|e| (e.line, e.column, e.message.as_str()))
        .collect();
    assert_eq!(
        messages,
        vec![
            (12, 8, "feed `f`: link `example.org` is not an absolute URL"),
            (
                13,
                12,
                "feed `f`: language `english!` is not a language tag"
            ),
            (14, 12, "feed `f`: exclude `zz` matches no source"),
            (15, 19, "feed `f`: unknown format `xml`"),
            (
                16,
                7,
                "feed `f`: hub must be http or https, got `ftp://hub`"
            ),
            (17, 21, "feed `f`: include_keywords has an empty keyword"),
            (18, 10, "feed `f`: author is empty"),
        ]
    );
}

#[test]
fn feed_publish_schedule_parses_and_bad_ones_are_reported() {
    let config = parse(&format!(
            "{TWO_SOURCES}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\nrefresh = \"0 6 * * *\"\n\
             [[feed]]\nname = \"g\"\ntitle = \"G\"\ninclude = [\"*\"]\nrefresh = \"15m\"\n\
             [[feed]]\nname = \"h\"\ntitle = \"H\"\ninclude = [\"*\"]\n"
        ))
        .unwrap();
    assert_eq!(
        config.feeds[0].refresh,
        Some(Schedule::Cron("0 0 6 * * *".to_string()))
    );
    assert_eq!(
        config.feeds[1].refresh,
        Some(Schedule::Every(Duration::from_secs(900)))
    );
    assert_eq!(config.feeds[2].refresh, None);

    let errs = errors(&format!(
        "{TWO_SOURCES}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\nrefresh = \"soon\"\n"
    ));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (12, 11));
    assert_eq!(
        errs[0].message,
        "feed `f`: refresh `soon` is neither an interval nor a cron expression"
    );
    assert!(
        errs[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("remove the key")),
        "{errs:#?}"
    );
}

#[test]
fn exclude_of_everything_and_empty_formats_are_errors() {
    let errs = errors(&format!(
        "{TWO_SOURCES}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\nexclude = [\"a\"]\nformats = []\n"
    ));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!(
        errs[0].message,
        "feed `f`: includes nothing: `exclude` removes every included source"
    );
    assert_eq!(errs[1].message, "feed `f`: formats is empty");
    assert_eq!((errs[1].line, errs[1].column), (13, 11));
}

// Issue 21: config messages a person reads at a glance.

#[test]
fn webhooks_are_urls_with_an_optional_secret() {
    let source = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a.xml\"\n";
    let config = parse(&format!(
        "{source}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n\
         webhook = [\"https://hooks.example/1\", \"https://hooks.example/1\", \"http://10.0.0.5/in\"]\n\
         webhook_secret = \"s3cret\"\n\
         [[feed]]\nname = \"g\"\ntitle = \"G\"\ninclude = [\"*\"]\nwebhook = \"https://hooks.example/2\"\n"
    ))
    .unwrap();
    let f = config.feed("f").unwrap();
    let urls: Vec<&str> = f.webhooks.iter().map(|u| u.as_str()).collect();
    assert_eq!(urls, ["https://hooks.example/1", "http://10.0.0.5/in"]);
    assert_eq!(
        f.webhook_secret.as_ref().map(|s| s.expose()),
        Some("s3cret")
    );
    assert!(!format!("{f:?}").contains("s3cret"));
    let g = config.feed("g").unwrap();
    assert_eq!(g.webhooks.len(), 1);
    assert!(g.webhook_secret.is_none());

    let errs = errors(&format!(
        "{source}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\nwebhook = \"ftp://x\"\n\
         [[feed]]\nname = \"g\"\ntitle = \"G\"\ninclude = [\"*\"]\nwebhook_secret = \"k\"\n"
    ));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (8, 11));
    assert!(
        errs[0].message.starts_with("feed `f`: webhook "),
        "{}",
        errs[0].message
    );
    assert_eq!((errs[1].line, errs[1].column), (13, 18));
    assert_eq!(
        errs[1].message,
        "feed `g`: webhook_secret without a webhook"
    );

    // An unset variable: read, and named, like a source's credentials.
    let config = parse(&format!(
        "{source}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n\
         webhook = \"https://hooks.example/\"\nwebhook_secret = \"${{SYNDIC_TEST_UNSET_HOOK_SECRET}}\"\n"
    ))
    .unwrap();
    let unset = config.unset_variables();
    assert_eq!(unset.len(), 1, "{unset:?}");
    assert!(unset[0].contains(":9:18: feed `f`: webhook_secret: the environment variable `SYNDIC_TEST_UNSET_HOOK_SECRET` is not set"), "{}", unset[0]);
}
