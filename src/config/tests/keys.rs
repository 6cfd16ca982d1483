//! Reading the file: syntax, unknown keys and tables, types, names, and how
//! errors are reported and suggested.

use super::*;

#[test]
fn full_config_round_trips_to_typed_values() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("notes")).unwrap();
    let local_abs = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
[daemon]
listen = "0.0.0.0:9000"
store = "data/store"
public_url = "https://feeds.example.org/syndic/"
contact = "mailto:admin@example.org"
log_level = "syndic=debug"

[defaults]
refresh = "1h30m"
min_interval = "2h"
timeout = "45s"
max_body_bytes = "512KiB"
feed_limit = 20

[[source]]
id = "lwn"
url = "https://lwn.net/headlines/rss"
title = "LWN"
refresh = "*/15 * * * *"
min_interval = "5m"
tags = ["linux", "news", "linux"]

[[source]]
id = "notes"
path = "./notes"
tags = ["mine"]

[[source]]
id = "abs_dir"
path = "{abs}"
refresh = "0 0 6 * * *"

[[feed]]
name = "linux"
title = "Linux"
description = "Linux news"
include = ["tag:linux", "notes", "lwn"]
limit = 100

[[feed]]
name = "everything"
title = "Everything"
include = ["*"]
"#,
        abs = local_abs.path().display()
    );
    let file = dir.path().join("feeds.toml");
    let config = Config::parse(&text, &file).unwrap();

    assert_eq!(config.path, file);
    assert_eq!(
        config.daemon,
        DaemonConfig {
            listen: "0.0.0.0:9000".parse().unwrap(),
            store: dir.path().join("data").join("store"),
            public_url: Url::parse("https://feeds.example.org/syndic/").unwrap(),
            contact: Some("mailto:admin@example.org".to_string()),
            log_level: Some("syndic=debug".to_string()),
            admin_listen: AdminListen::Beside,
            public_status: false,
            secret_params: Vec::new(),
        }
    );
    assert_eq!(
        config.daemon.public_base(),
        "https://feeds.example.org/syndic"
    );
    assert_eq!(
        config.defaults,
        Defaults {
            refresh: Schedule::Every(Duration::from_secs(5400)),
            min_interval: Duration::from_secs(7200),
            max_interval: DEFAULT_MAX_INTERVAL,
            timeout: Duration::from_secs(45),
            max_body_bytes: 512 * 1024,
            max_article_bytes: DEFAULT_MAX_ARTICLE_BYTES,
            allow_internal: false,
            feed_limit: 20,
            dedup: SourceDedup::default(),
        }
    );
    assert_eq!(
        config.sources,
        vec![
            SourceConfig {
                id: "lwn".to_string(),
                kind: SourceKind::Remote {
                    url: Url::parse("https://lwn.net/headlines/rss").unwrap()
                },
                title: Some("LWN".to_string()),
                refresh: Schedule::Cron("0 */15 * * * *".to_string()),
                min_interval: Duration::from_secs(300),
                max_interval: DEFAULT_MAX_INTERVAL,
                tags: vec!["linux".to_string(), "news".to_string()],
                dedup: SourceDedup::default(),
                allow_internal: false,
                max_article_bytes: DEFAULT_MAX_ARTICLE_BYTES,
                rules: Vec::new(),
                credentials: Default::default(),
                full_text: None,
                websub: true,
            },
            SourceConfig {
                id: "notes".to_string(),
                kind: SourceKind::Local {
                    path: dir.path().join("notes")
                },
                title: None,
                refresh: Schedule::Every(Duration::from_secs(5400)),
                min_interval: Duration::from_secs(7200),
                max_interval: DEFAULT_MAX_INTERVAL,
                tags: vec!["mine".to_string()],
                dedup: SourceDedup::default(),
                allow_internal: false,
                max_article_bytes: DEFAULT_MAX_ARTICLE_BYTES,
                rules: Vec::new(),
                credentials: Default::default(),
                full_text: None,
                websub: true,
            },
            SourceConfig {
                id: "abs_dir".to_string(),
                kind: SourceKind::Local {
                    path: local_abs.path().to_path_buf()
                },
                title: None,
                refresh: Schedule::Cron("0 0 6 * * *".to_string()),
                min_interval: Duration::from_secs(7200),
                max_interval: DEFAULT_MAX_INTERVAL,
                tags: vec![],
                dedup: SourceDedup::default(),
                allow_internal: false,
                max_article_bytes: DEFAULT_MAX_ARTICLE_BYTES,
                rules: Vec::new(),
                credentials: Default::default(),
                full_text: None,
                websub: true,
            },
        ]
    );
    assert_eq!(
        config.feeds,
        vec![
            FeedConfig {
                name: "linux".to_string(),
                title: "Linux".to_string(),
                description: "Linux news".to_string(),
                include: vec!["tag:linux".into(), "notes".into(), "lwn".into()],
                // config order, deduplicated (lwn matched twice)
                sources: vec!["lwn".to_string(), "notes".to_string()],
                limit: 100,
                ..FeedConfig::new("linux", "Linux", vec![], 100)
            },
            FeedConfig {
                name: "everything".to_string(),
                title: "Everything".to_string(),
                description: "Everything".to_string(),
                include: vec!["*".into()],
                sources: vec!["lwn".into(), "notes".into(), "abs_dir".into()],
                limit: 20,
                ..FeedConfig::new("everything", "Everything", vec![], 20)
            },
        ]
    );
    assert_eq!(config.source("notes"), Some(&config.sources[1]));
    assert_eq!(config.source("nope"), None);
    assert_eq!(config.feed("everything"), Some(&config.feeds[1]));
    assert_eq!(config.feed("nope"), None);
    assert!(config.sources[0].refresh.cron().is_some());
    assert!(config.sources[1].refresh.cron().is_none());
}

#[test]
fn missing_daemon_and_defaults_tables_mean_all_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feeds.toml");
    let config = Config::parse(MINIMAL, &file).unwrap();
    assert_eq!(config.daemon.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(config.daemon.store, dir.path().join("store"));
    assert_eq!(config.daemon.public_url.as_str(), "http://127.0.0.1:8080/");
    assert_eq!(config.daemon.public_base(), "http://127.0.0.1:8080");
    assert_eq!(config.daemon.contact, None);
    assert_eq!(config.daemon.log_level, None);
    assert_eq!(config.defaults, Defaults::default());
    assert_eq!(
        config.defaults.refresh,
        Schedule::Every(Duration::from_secs(30 * 60))
    );
    assert_eq!(config.defaults.min_interval, Duration::from_secs(3600));
    assert_eq!(config.defaults.timeout, Duration::from_secs(30));
    assert_eq!(config.defaults.max_body_bytes, 10 * 1024 * 1024);
    assert_eq!(config.defaults.feed_limit, 50);
    let source = &config.sources[0];
    assert_eq!(source.refresh, config.defaults.refresh);
    assert_eq!(source.min_interval, config.defaults.min_interval);
    assert_eq!(source.title, None);
    assert!(source.tags.is_empty());
    let feed = &config.feeds[0];
    assert_eq!(feed.limit, 50);
    assert_eq!(feed.description, "All");
    assert_eq!(feed.sources, vec!["a".to_string()]);
}

#[test]
fn unknown_key_in_source_is_reported_at_the_key_with_valid_keys() {
    let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\n  refrsh = \"1h\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\n";
    let err = one_error(text);
    assert_eq!((err.line, err.column), (4, 3));
    assert_eq!(err.file, PathBuf::from(FILE));
    assert_eq!(err.message, "source `a`: unknown key `refrsh`");
    let help = help(&err);
    assert!(help.contains("did you mean `refresh`?"), "{help}");
    for key in [
        "id",
        "url",
        "path",
        "title",
        "refresh",
        "min_interval",
        "tags",
    ] {
        assert!(help.contains(&format!("`{key}`")), "{help} lacks {key}");
    }
}

#[test]
fn unknown_keys_in_every_table_are_all_reported() {
    let text = "[daemon]\nlisten = \"127.0.0.1:1\"\nport = 80\n\n[defaults]\nrefresh_every = \"1h\"\n\n[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\nlimt = 5\ncolour = \"red\"\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 4, "{errs:#?}");
    let port = error_at(&errs, 3, 1);
    assert_eq!(port.message, "daemon: unknown key `port`");
    let h = help(port);
    for key in [
        "listen",
        "store",
        "public_url",
        "contact",
        "log_level",
        "admin_listen",
        "public_status",
        "secret_params",
    ] {
        assert!(h.contains(&format!("`{key}`")), "{h}");
    }
    assert!(h.contains("[daemon]"), "{h}");
    let refresh_every = error_at(&errs, 6, 1);
    assert_eq!(
        refresh_every.message,
        "defaults: unknown key `refresh_every`"
    );
    let h = help(refresh_every);
    for key in [
        "refresh",
        "min_interval",
        "timeout",
        "max_body_bytes",
        "feed_limit",
    ] {
        assert!(h.contains(&format!("`{key}`")), "{h}");
    }
    let limt = error_at(&errs, 16, 1);
    assert_eq!(limt.message, "feed `f`: unknown key `limt`");
    assert!(help(limt).contains("did you mean `limit`?"));
    let colour = error_at(&errs, 17, 1);
    assert_eq!(colour.message, "feed `f`: unknown key `colour`");
    let h = help(colour);
    assert!(!h.contains("did you mean"), "{h}");
    for key in ["name", "title", "description", "include", "limit"] {
        assert!(h.contains(&format!("`{key}`")), "{h}");
    }
}

#[test]
fn unknown_key_does_not_hide_other_errors_in_the_same_table() {
    let text = "[[source]]\nid = \"a\"\nurl = \"ftp://example.org/\"\nbogus = 1\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!(errs[0].line, 3);
    assert!(errs[0].message.contains("url must be http or https"));
    assert_eq!(errs[1].line, 4);
    assert!(errs[1].message.contains("unknown key `bogus`"));
}

#[test]
fn unknown_top_level_table_is_an_error() {
    let err = one_error(&with_minimal("[deamon]\nlisten = \"127.0.0.1:80\""));
    assert_eq!((err.line, err.column), (1, 2));
    assert_eq!(err.message, "unknown table `deamon`");
    let h = help(&err);
    assert!(h.contains("did you mean [daemon]?"), "{h}");
    assert!(h.contains("[[source]]") && h.contains("[[feed]]") && h.contains("[defaults]"));

    let err = one_error(&with_minimal("title = \"x\""));
    assert_eq!((err.line, err.column), (1, 1));
    assert_eq!(err.message, "unknown table `title`");
}

#[test]
fn table_written_with_single_brackets_or_as_value_is_an_error() {
    let text = "[source]\nid = \"a\"\nurl = \"https://example.org/\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
    let errs = errors(text);
    let err = error_at(&errs, 1, 1);
    assert!(
        err.message.contains("`source` must be an array of tables"),
        "{}",
        err.message
    );
    assert!(help(err).contains("[[source]]"));

    let err = one_error(&with_minimal("daemon = 5"));
    assert_eq!((err.line, err.column), (1, 10));
    assert!(
        err.message.contains("`daemon` must be a table"),
        "{}",
        err.message
    );
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let err = errors("[daemon]\nlisten = \"127.0.0.1:80\nstore = 1\n")[0].clone();
    assert_eq!(err.line, 2);
    assert!(err.message.starts_with("invalid TOML:"), "{}", err.message);

    let err = one_error("[[source]]\nid = \"a\"\nid = \"b\"\n");
    assert_eq!((err.line, err.column), (3, 1));
    assert!(err.message.contains("duplicate key"), "{}", err.message);
}

#[test]
fn type_errors_name_the_table_and_key() {
    let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\ntitle = 42\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = \"a\"\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    let title = error_at(&errs, 4, 9);
    assert!(
        title.message.starts_with("source `a`: title: invalid type"),
        "{}",
        title.message
    );
    let include = error_at(&errs, 9, 11);
    assert!(
        include
            .message
            .starts_with("feed `f`: include: invalid type"),
        "{}",
        include.message
    );
}

#[test]
fn message_and_display_format() {
    let text = "[[source]]\nid = \"x\"\n  url =  \"ftp://x\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"x\"]\n";
    let err = one_error(text);
    assert_eq!((err.line, err.column), (3, 10));
    assert_eq!(
        err.message,
        "source `x`: url must be http or https, got `ftp://x`"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "feeds.toml:3:10: source `x`: url must be http or https, got `ftp://x`\n  help: {}",
            help(&err)
        )
    );
    let no_help = ConfigError {
        file: PathBuf::from("a.toml"),
        line: 1,
        column: 2,
        message: "m".to_string(),
        help: None,
    };
    assert_eq!(no_help.to_string(), "a.toml:1:2: m");
    let both = ConfigErrors(vec![err.clone(), no_help]);
    assert_eq!(both.to_string(), format!("{err}\na.toml:1:2: m"));
    assert_eq!(both.len(), 2);
    assert_eq!(both.iter().count(), 2);
}

#[test]
fn duplicate_source_ids_and_feed_names_point_at_the_second() {
    let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/1\"\n\n[[source]]\nid = \"a\"\nurl = \"https://example.org/2\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\n\n[[feed]]\nname = \"f\"\ntitle = \"G\"\ninclude = [\"*\"]\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (6, 6));
    assert_eq!(
        errs[0].message,
        "source `a`: duplicate source id `a`, first used at line 2"
    );
    assert_eq!((errs[1].line, errs[1].column), (15, 8));
    assert_eq!(
        errs[1].message,
        "feed `f`: duplicate feed name `f`, first used at line 10"
    );
}

#[test]
fn bad_ids_and_names_get_a_suggestion() {
    let long = "a".repeat(65);
    let text = format!(
        "[[source]]\nid = \"My Blog!\"\nurl = \"https://example.org/\"\ntags = [\"Rust Lang\"]\n[[source]]\nid = \"{long}\"\nurl = \"https://example.org/\"\n[[source]]\nid = \"\"\nurl = \"https://example.org/\"\n[[feed]]\nname = \"_Weekly.Digest\"\ntitle = \"W\"\ninclude = [\"*\"]\n"
    );
    let errs = errors(&text);
    assert_eq!(errs.len(), 5, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (2, 6));
    assert_eq!(
        errs[0].message,
        "source `My Blog!`: invalid source id `My Blog!`"
    );
    assert!(
        help(&errs[0]).starts_with("write `my-blog`"),
        "{}",
        help(&errs[0])
    );
    assert_eq!((errs[1].line, errs[1].column), (4, 9));
    assert_eq!(
        errs[1].message,
        "source `My Blog!`: invalid tag `Rust Lang`"
    );
    assert!(help(&errs[1]).starts_with("write `rust-lang`"));
    assert_eq!(errs[2].line, 6);
    assert!(errs[2].message.contains("invalid source id"));
    assert!(help(&errs[2]).starts_with(&format!("write `{}`", "a".repeat(64))));
    assert_eq!(errs[3].line, 9);
    assert!(
        errs[3].message.contains("invalid source id ``"),
        "{}",
        errs[3].message
    );
    assert!(help(&errs[3]).contains("lowercase letters"));
    assert_eq!((errs[4].line, errs[4].column), (12, 8));
    assert_eq!(
        errs[4].message,
        "feed `_Weekly.Digest`: invalid feed name `_Weekly.Digest`"
    );
    assert!(
        help(&errs[4]).starts_with("write `weekly-digest`"),
        "{}",
        help(&errs[4])
    );
}

#[test]
fn zero_sources_and_zero_feeds_are_errors() {
    let errs = errors("");
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(errs.iter().all(|e| (e.line, e.column) == (1, 1)));
    assert!(
        errs[0].message.starts_with("no sources"),
        "{}",
        errs[0].message
    );
    assert!(
        errs[1].message.starts_with("nothing to publish"),
        "{}",
        errs[1].message
    );
    assert!(help(&errs[1]).contains("[[feed]]"));

    let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\n";
    let err = one_error(text);
    assert_eq!((err.line, err.column), (4, 1));
    assert_eq!(
        err.message,
        "nothing to publish: there is no [[feed]] table"
    );

    let text = "[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (4, 11));
    assert_eq!(
        errs[0].message,
        "feed `f`: includes nothing: it matches no source"
    );
    assert_eq!((errs[1].line, errs[1].column), (5, 1));
    assert_eq!(errs[1].message, "no sources: there is no [[source]] table");
}

#[test]
fn all_errors_are_collected_in_file_order() {
    let text = "[daemon]\nlisten = \"nope\"\n[defaults]\ntimeout = \"x\"\n[[source]]\nid = \"A\"\nurl = \"gopher://a\"\n[[source]]\nid = \"b\"\nurl = \"https://b.example\"\nmin_interval = \"1s\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"nope\"]\nlimit = 0\n";
    let errs = errors(text);
    let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 4, 6, 7, 11, 15, 16], "{errs:#?}");
}

#[test]
fn columns_count_characters_not_bytes() {
    let text = "# é\n[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\ntitle = \"café\"  ;\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
    let err = one_error(text);
    assert_eq!((err.line, err.column), (5, 17));
    let text =
        "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\ntitle = \"ééé\" ; bogus = 1\n";
    let err = errors(text).remove(0);
    assert_eq!((err.line, err.column), (4, 15));
}

#[test]
fn load_reads_the_file_and_reports_an_unreadable_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feeds.toml");
    std::fs::write(&file, MINIMAL).unwrap();
    let config = Config::load(&file).unwrap();
    assert_eq!(config.path, file);
    assert_eq!(config.daemon.store, dir.path().join("store"));

    let missing = dir.path().join("missing.toml");
    let errs = Config::load(&missing).unwrap_err();
    assert_eq!(errs.len(), 1);
    let err = &errs.0[0];
    assert_eq!(err.file, missing);
    assert_eq!((err.line, err.column), (0, 0));
    assert!(
        err.message.contains(&missing.display().to_string()),
        "{}",
        err.message
    );
    assert!(
        err.to_string()
            .starts_with(&format!("{}: config file", missing.display()))
    );
}

#[test]
fn struct_fields_lists_the_keys_in_declaration_order() {
    assert_eq!(
        struct_fields::<RawSource>(),
        [
            "id",
            "url",
            "path",
            "title",
            "refresh",
            "min_interval",
            "max_interval",
            "tags",
            "max_items",
            "max_age",
            "near_duplicates",
            "near_duplicate_threshold",
            "allow_internal",
            "max_article_bytes",
            "headers",
            "basic_auth",
            "user_agent",
            "full_text",
            "full_text_selector",
            "websub",
            "rule"
        ]
    );
    assert_eq!(
        struct_fields::<RawFeed>(),
        [
            "name",
            "title",
            "description",
            "include",
            "limit",
            "link",
            "language",
            "author",
            "image",
            "icon",
            "exclude",
            "include_keywords",
            "exclude_keywords",
            "formats",
            "hub",
            "webhook",
            "webhook_secret",
            "archive",
            "refresh",
            "podcast",
            "category",
            "explicit",
            "owner_email",
            "rule"
        ]
    );
}

#[test]
fn name_suggestions() {
    assert_eq!(check_name("ok_name-1"), Ok(()));
    assert_eq!(suggest_name("My  Blog!!"), "my-blog");
    assert_eq!(suggest_name("-_x"), "x");
    assert_eq!(suggest_name("!!!"), "");
    assert!(check_name("-x").is_err());
    assert!(check_name(&"a".repeat(64)).is_ok());
    assert!(check_name(&"a".repeat(65)).is_err());
}

#[test]
fn inline_tables_and_crlf_line_endings_work() {
    let text = "source = [\r\n  { id = \"a\", url = \"https://example.org/a\" },\r\n  { id = \"b\", url = \"ftp://b\" },\r\n]\r\nfeed = [{ name = \"f\", title = \"F\", include = [\"*\"] }]\r\n";
    let err = one_error(text);
    assert_eq!((err.line, err.column), (3, 21));
    assert_eq!(
        err.message,
        "source `b`: url must be http or https, got `ftp://b`"
    );
    let config = parse(&text.replace("ftp://b", "http://b.example")).unwrap();
    assert_eq!(config.feeds[0].sources, vec!["a", "b"]);
}

#[test]
fn array_elements_must_be_tables() {
    let text = "source = [1]\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
    let errs = errors(text);
    let err = error_at(&errs, 1, 11);
    assert_eq!(err.message, "each `source` must be a table, got integer");
}

#[test]
fn nested_table_inside_a_known_table_is_an_unknown_key() {
    let err = one_error(&with_minimal("[daemon.tls]\ncert = \"x\""));
    assert_eq!((err.line, err.column), (1, 9));
    assert_eq!(err.message, "daemon: unknown key `tls`");
}

#[test]
fn relative_config_path_resolves_against_the_working_directory() {
    let config = Config::parse(MINIMAL, Path::new("feeds.toml")).unwrap();
    assert_eq!(config.path, PathBuf::from("feeds.toml"));
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(config.daemon.store, cwd.join("store"));
}

#[test]
fn empty_path_is_an_error() {
    let text = "[[source]]\nid = \"a\"\npath = \"\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
    let err = one_error(text);
    assert_eq!((err.line, err.column), (3, 8));
    assert_eq!(err.message, "source `a`: path is empty");
}

#[test]
fn raw_tables_deny_unknown_fields_by_themselves() {
    let err = toml::from_str::<RawSource>("bogus = 1").unwrap_err();
    assert!(
        err.message().contains("unknown field `bogus`"),
        "{}",
        err.message()
    );
    assert!(toml::from_str::<RawDaemon>("bogus = 1").is_err());
    assert!(toml::from_str::<RawDefaults>("bogus = 1").is_err());
    assert!(toml::from_str::<RawFeed>("bogus = 1").is_err());
}

#[test]
fn an_unquoted_text_value_gets_told_to_quote_it() {
    let err = one_error("[daemon]\nlisten = 127.0.0.1:8080\n");
    assert_eq!(err.line, 2);
    assert!(err.message.starts_with("invalid TOML:"), "{}", err.message);
    assert_eq!(
        help(&err),
        "a text value goes in quotes: listen = \"127.0.0.1:8080\""
    );
    // A syntax error elsewhere gets no such advice.
    let err = one_error("[daemon\nlisten = \"127.0.0.1:8080\"\n");
    assert_eq!(err.help, None, "{err:?}");
}

#[test]
fn a_missing_config_file_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let errs = Config::load(&dir.path().join("nonexist.toml")).unwrap_err();
    let err = &errs.0[0];
    assert!(
        err.message.ends_with("nonexist.toml` not found"),
        "{}",
        err.message
    );
    assert!(help(err).contains("--config PATH"), "{err:?}");
}
