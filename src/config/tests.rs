//! The tests of reading and validating `feeds.toml` (the podcast keys are
//! tested in `podcast`).

use super::raw::{RawDaemon, RawDefaults, RawFeed, RawSource, struct_fields};
use super::suggest::suggest_name;
use super::validate::{SCHEDULE_HELP, SIZE_HELP, check_name};
use super::*;

const FILE: &str = "feeds.toml";

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    Config::parse(text, Path::new(FILE))
}

fn errors(text: &str) -> Vec<ConfigError> {
    match parse(text) {
        Ok(config) => panic!("expected errors, got {config:#?}"),
        Err(errors) => errors.0,
    }
}

/// The only error of `text`.
fn one_error(text: &str) -> ConfigError {
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    errs.into_iter().next().unwrap()
}

/// The error at `line`:`column`.
fn error_at(errs: &[ConfigError], line: usize, column: usize) -> &ConfigError {
    errs.iter()
        .find(|e| e.line == line && e.column == column)
        .unwrap_or_else(|| panic!("no error at {line}:{column} in {errs:#?}"))
}

fn help(err: &ConfigError) -> &str {
    err.help
        .as_deref()
        .unwrap_or_else(|| panic!("no help in {err:#?}"))
}

const MINIMAL: &str = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a.xml\"\n\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";

fn with_minimal(prefix: &str) -> String {
    format!("{prefix}\n{MINIMAL}")
}

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
fn default_public_url_follows_listen() {
    let config = parse(&with_minimal("[daemon]\nlisten = \"[::1]:9999\"")).unwrap();
    assert_eq!(config.daemon.public_base(), "http://[::1]:9999");
    let config = parse(&with_minimal("[daemon]\nlisten = \"0.0.0.0:80\"")).unwrap();
    assert_eq!(config.daemon.public_base(), "http://0.0.0.0");
}

#[test]
fn relative_store_resolves_against_config_folder_and_absolute_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("conf").join("feeds.toml");
    let text = with_minimal("[daemon]\nstore = \"../var/syndic\"");
    let config = Config::parse(&text, &file).unwrap();
    assert_eq!(
        config.daemon.store,
        dir.path()
            .join("conf")
            .join("..")
            .join("var")
            .join("syndic")
    );
    let text = with_minimal("[daemon]\nstore = \"/var/lib/syndic\"");
    let config = Config::parse(&text, &file).unwrap();
    assert_eq!(config.daemon.store, PathBuf::from("/var/lib/syndic"));
}

#[test]
fn store_that_is_a_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("afile"), "x").unwrap();
    let file = dir.path().join("feeds.toml");
    let text = with_minimal("[daemon]\nstore = \"afile\"");
    let errs = Config::parse(&text, &file).unwrap_err().0;
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (2, 9));
    assert!(errs[0].message.contains("store"), "{}", errs[0].message);
    assert!(
        errs[0]
            .message
            .contains(&dir.path().join("afile").display().to_string()),
        "{}",
        errs[0].message
    );
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
fn source_id_is_required() {
    let text = "[[source]]\nurl = \"https://example.org/a\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
    let errs = errors(text);
    let err = error_at(&errs, 1, 1);
    assert_eq!(err.message, "source #1: missing `id`");
}

#[test]
fn daemon_values_are_checked() {
    let text = with_minimal(
        "[daemon]\nlisten = \"localhost:8080\"\npublic_url = \"ftp://example.org\"\ncontact = \"me\\nyou\"\nlog_level = \" \"\n",
    );
    let errs = errors(&text);
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (2, 10));
    assert_eq!(
        errs[0].message,
        "daemon: listen `localhost:8080` is not a socket address"
    );
    assert!(help(&errs[0]).contains("127.0.0.1:8080"));
    assert_eq!((errs[1].line, errs[1].column), (3, 14));
    assert_eq!(
        errs[1].message,
        "daemon: public_url must be http or https, got `ftp://example.org`"
    );
    assert_eq!((errs[2].line, errs[2].column), (4, 11));
    assert!(
        errs[2].message.starts_with("daemon: contact"),
        "{}",
        errs[2].message
    );
    assert_eq!((errs[3].line, errs[3].column), (5, 13));
    assert_eq!(errs[3].message, "daemon: log_level is empty");
}

#[test]
fn public_url_rejects_query_and_fragment() {
    let err = one_error(&with_minimal(
        "[daemon]\npublic_url = \"https://example.org/?a=1\"",
    ));
    assert_eq!((err.line, err.column), (2, 14));
    assert_eq!(
        err.message,
        "daemon: public_url must not have a query, got `https://example.org/?a=1`"
    );
    let err = one_error(&with_minimal(
        "[daemon]\npublic_url = \"https://example.org/#top\"",
    ));
    assert_eq!(
        err.message,
        "daemon: public_url must not have a fragment, got `https://example.org/#top`"
    );
    let config = parse(&with_minimal(
        "[daemon]\npublic_url = \"https://example.org\"",
    ))
    .unwrap();
    assert_eq!(config.daemon.public_base(), "https://example.org");
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
            "max_article_bytes"
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
            "archive",
            "refresh",
            "podcast",
            "category",
            "explicit",
            "owner_email"
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
fn admin_listen_defaults_beside_the_public_port_on_loopback() {
    let daemon = |extra: &str| {
        let text = format!(
            "[daemon]\nlisten = \"0.0.0.0:9000\"\n{extra}\n[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\n"
        );
        Config::parse(&text, Path::new("/tmp/feeds.toml")).map(|c| c.daemon)
    };
    let d = daemon("").unwrap();
    assert_eq!(d.admin_listen, AdminListen::Beside);
    assert!(!d.public_status);
    assert_eq!(
        d.admin_addr("0.0.0.0:9000".parse().unwrap()),
        Some("127.0.0.1:9001".parse().unwrap())
    );
    assert_eq!(
        d.admin_addr("127.0.0.1:0".parse().unwrap()),
        Some("127.0.0.1:0".parse().unwrap())
    );
    assert_eq!(
        d.admin_addr("[::]:65535".parse().unwrap()),
        Some("127.0.0.1:0".parse().unwrap())
    );
    let d = daemon("admin_listen = \"[::1]:9100\"\npublic_status = true").unwrap();
    assert_eq!(
        d.admin_listen,
        AdminListen::At("[::1]:9100".parse().unwrap())
    );
    assert!(d.public_status);
    assert_eq!(
        d.admin_addr("0.0.0.0:9000".parse().unwrap()),
        Some("[::1]:9100".parse().unwrap())
    );
    let d = daemon("admin_listen = \"off\"\nsecret_params = [\"Session\", \"x\", \"session\"]")
        .unwrap();
    assert_eq!(d.secret_params, vec!["session", "x"]);
    let errs = daemon("secret_params = [\"a=b\"]").unwrap_err().0;
    assert_eq!(
        errs[0].message,
        "daemon: secret_params: `a=b` is not a parameter name"
    );
    assert_eq!(d.admin_addr("0.0.0.0:9000".parse().unwrap()), None);
    let errs = daemon("admin_listen = \"localhost\"").unwrap_err().0;
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(errs[0].line, 3);
    assert_eq!(
        errs[0].message,
        "daemon: admin_listen `localhost` is not a socket address"
    );
    let errs = daemon("admin_listen = \"0.0.0.0:9000\"").unwrap_err().0;
    assert_eq!(
        errs[0].message,
        "daemon: admin_listen `0.0.0.0:9000` is the public listen address"
    );
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

const TWO_SOURCES: &str = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\ntags = [\"t\"]\n[[source]]\nid = \"b\"\nurl = \"https://example.org/b\"\n";

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
