//! The `syndic` binary as a user runs it.

mod common;

use std::path::Path;

use common::{syndic, write_file};

const GOOD: &str = r#"
[[source]]
id = "local"
path = "articles"

[[feed]]
name = "all"
title = "All"
include = ["*"]
"#;

#[test]
fn check_accepts_a_good_config_and_the_shipped_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("articles")).unwrap();
    write_file(dir.path(), "feeds.toml", GOOD);
    let out = syndic(dir.path(), &["check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 sources, 1 feeds"));

    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds.toml");
    let out = syndic(
        dir.path(),
        &["--config", shipped.to_str().unwrap(), "check"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_rejects_bad_configs_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("articles")).unwrap();
    let cases = [
        // (config, expected "file:line:col" prefix, a word the message must name)
        (
            GOOD.replace(
                "path = \"articles\"",
                "path = \"articles\"\nrefrsh = \"1h\"",
            ),
            "feeds.toml:5:1",
            "refrsh",
        ),
        (
            GOOD.replace("path = \"articles\"", "url = \"ftp://example.org/feed\""),
            "feeds.toml:4:7",
            "ftp",
        ),
        (
            GOOD.replace(
                "path = \"articles\"",
                "path = \"articles\"\nrefresh = \"every now and then\"",
            ),
            "feeds.toml:5:11",
            "cron",
        ),
        (
            GOOD.replace("include = [\"*\"]", "include = [\"nope\"]"),
            "feeds.toml:9:12",
            "nope",
        ),
        (
            format!("{GOOD}\n[[source]]\nid = \"local\"\npath = \"articles\"\n"),
            "feeds.toml:12:6",
            "local",
        ),
    ];
    for (config, position, word) in cases {
        write_file(dir.path(), "feeds.toml", &config);
        let out = syndic(dir.path(), &["check"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "accepted:\n{config}");
        assert!(
            stderr.contains(position),
            "expected {position} in:\n{stderr}\nfor:\n{config}"
        );
        assert!(stderr.contains(word), "expected `{word}` in:\n{stderr}");
    }
}

#[test]
fn a_store_held_by_another_process_is_reported_plainly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("articles")).unwrap();
    write_file(dir.path(), "feeds.toml", GOOD);
    // This test process holds the store, as a running daemon would.
    let _held = syndic::store::Store::open(&dir.path().join("store")).unwrap();
    let out = syndic(dir.path(), &["sources"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("in use by another syndic process"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", std::process::id())),
        "{stderr}"
    );
}

#[test]
fn fetch_then_sources_and_render_work_on_a_local_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("articles")).unwrap();
    write_file(
        &dir.path().join("articles"),
        "one.md",
        "# First post\n\nHello.\n",
    );
    write_file(dir.path(), "feeds.toml", GOOD);
    let out = syndic(dir.path(), &["fetch"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "local: 1 new, 0 updated, 0 removed, 0 unchanged"
    );
    let out = syndic(dir.path(), &["sources"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.lines().nth(1).unwrap().starts_with("local"),
        "{table}"
    );
    assert!(table.contains("local") && table.contains(" 1 "), "{table}");
    let out = syndic(dir.path(), &["render", "all", "--format", "atom"]);
    let atom = String::from_utf8_lossy(&out.stdout);
    assert!(atom.contains("<title>First post</title>"), "{atom}");
    let out = syndic(dir.path(), &["render", "nope"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no feed `nope`"));
}

#[test]
fn fetch_lists_the_articles_it_could_not_read_and_fails() {
    // Issue 21: an article with a bad date or unclosed front matter was
    // only a WARN in the log; `syndic fetch` printed `1 new` and exited 0.
    let dir = tempfile::tempdir().unwrap();
    let articles = dir.path().join("articles");
    std::fs::create_dir(&articles).unwrap();
    write_file(&articles, "good.md", "# Good\n\nText.\n");
    write_file(
        &articles,
        "bad.md",
        "---\ntitle: Bad\ndate: 2026-13-45\n---\nBody\n",
    );
    write_file(&articles, "open.md", "+++\ntitle = \"Open\"\n\nNo end\n");
    write_file(dir.path(), "feeds.toml", GOOD);
    let out = syndic(dir.path(), &["fetch"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with(
            "local: 1 new, 0 updated, 0 removed, 0 unchanged; 2 article files NOT published:"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n  - bad.md: line 3: front matter `date`: invalid date"),
        "{stdout}"
    );
    assert!(stdout.contains("\n  - open.md: line 1:"), "{stdout}");
    // Mended, the next fetch publishes it and succeeds.
    write_file(
        &articles,
        "bad.md",
        "---\ntitle: Bad\ndate: 2026-11-30\n---\nBody\n",
    );
    std::fs::remove_file(articles.join("open.md")).unwrap();
    let out = syndic(dir.path(), &["fetch"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(
        stdout.trim(),
        "local: 1 new, 0 updated, 0 removed, 1 unchanged"
    );
}

#[test]
fn parse_json_explains_a_broken_feed_and_rejects_a_non_feed() {
    let dir = tempfile::tempdir().unwrap();
    write_file(
        dir.path(),
        "broken.xml",
        "<rss version=\"2.0\"><channel><title>Caf&eacute; & co</title>\
         <item><title>kept</title><link>/a</link></item><item><title>cut",
    );
    let out = syndic(
        dir.path(),
        &[
            "parse",
            "broken.xml",
            "--json",
            "--url",
            "https://example.com/feed",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["format"], "rss2.0");
    assert_eq!(view["encoding"], "utf-8");
    assert_eq!(view["title"], "Caf\u{e9} & co");
    assert_eq!(view["items"].as_array().unwrap().len(), 1);
    assert_eq!(view["items"][0]["url"], "https://example.com/a");
    let warnings = view["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 3, "{warnings:?}");

    write_file(
        dir.path(),
        "page.html",
        "<!DOCTYPE html><html><body>hi</body></html>",
    );
    let out = syndic(dir.path(), &["parse", "page.html", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a feed"), "{stderr}");
}

#[test]
fn man_page_completions_and_examples_for_every_command() {
    // Issue 21: no man page, no completions; every command's --help has
    // examples. None of these needs a config.
    let dir = tempfile::tempdir().unwrap();
    let commands = [
        "serve",
        "check",
        "store-check",
        "fetch",
        "render",
        "preview",
        "parse",
        "sources",
        "explain",
        "man",
        "completions",
        "import-opml",
        "export-opml",
        "export",
        "import",
    ];
    let man = syndic(dir.path(), &["man"]);
    assert!(man.status.success());
    let man = String::from_utf8(man.stdout).unwrap().replace("\\-", "-");
    assert!(man.contains(".TH syndic 1"), "{man}");
    let list = syndic(dir.path(), &["man", "--list"]);
    let list = String::from_utf8(list.stdout).unwrap();
    assert_eq!(list.lines().collect::<Vec<_>>(), commands);
    for command in commands {
        // The main page refers to each command's page, which exists.
        assert!(
            man.contains(&format!("syndic-{command}(1)")),
            "{command} missing from the man page"
        );
        let page = syndic(dir.path(), &["man", command]);
        assert!(page.status.success(), "syndic man {command}");
        let page = String::from_utf8(page.stdout).unwrap().replace("\\-", "-");
        assert!(page.contains(&format!(".TH syndic-{command} 1")), "{page}");
        assert!(page.contains("Examples:"), "{page}");
        let help = syndic(dir.path(), &[command, "--help"]);
        let help = String::from_utf8_lossy(&help.stdout);
        assert!(
            help.contains("Examples:"),
            "`syndic {command} --help`: {help}"
        );
    }
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef syndic"),
        ("fish", "complete -c syndic"),
    ] {
        let out = syndic(dir.path(), &["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("import-opml"),
            "{shell} completes the commands"
        );
    }
}
