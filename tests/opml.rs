//! `syndic import-opml` and `syndic export-opml` as a user runs them.

mod common;

use common::syndic;

const CONFIG: &str = r#"# Feeds I read.
[[source]]
id = "lwn"   # kernel news
url = "https://lwn.net/headlines/rss"

[[feed]]
name = "all"
title = "All"
include = ["*"]
"#;

const OPML: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0"><head><title>Export</title></head><body>
  <outline text="News">
    <outline type="rss" text="LWN.net" xmlUrl="https://lwn.net/headlines/rss"/>
    <outline type="rss" text="Rust Blog" title="Rust Blog" xmlUrl="https://blog.rust-lang.org/feed.xml"/>
  </outline>
  <outline type="rss" text="Broken" xmlUrl="not a url"/>
</body></opml>"#;

#[test]
fn import_merges_reports_skips_and_keeps_comments_then_export_lists_all() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("feeds.toml"), CONFIG).unwrap();
    std::fs::write(dir.path().join("subs.opml"), OPML).unwrap();

    let dry = syndic(dir.path(), &["import-opml", "subs.opml", "--dry-run"]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("feeds.toml")).unwrap(),
        CONFIG
    );

    let out = syndic(dir.path(), &["import-opml", "subs.opml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("added   rust-blog: https://blog.rust-lang.org/feed.xml"),
        "{stdout}"
    );
    // Issue 21: it did not say that a running daemon needs a reload.
    assert!(stdout.contains("systemctl reload syndic"), "{stdout}");
    assert!(
        stdout.contains(
            "skipped LWN.net <https://lwn.net/headlines/rss>: already a source (same URL)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("skipped Broken <not a url>: xmlUrl is not a valid URL"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(dir.path().join("feeds.toml")).unwrap();
    assert!(text.starts_with("# Feeds I read.\n"), "{text}");
    assert!(text.contains("id = \"lwn\"   # kernel news"), "{text}");
    assert!(text.contains("id = \"rust-blog\""), "{text}");
    assert!(text.contains("tags = [\"news\"]"), "{text}");
    assert!(syndic(dir.path(), &["check"]).status.success());

    // A second import adds nothing and leaves the file alone.
    let again = syndic(dir.path(), &["import-opml", "subs.opml"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to add"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("feeds.toml")).unwrap(),
        text
    );

    let export = syndic(dir.path(), &["export-opml"]);
    let opml = String::from_utf8_lossy(&export.stdout);
    assert!(
        opml.contains(r#"xmlUrl="https://lwn.net/headlines/rss""#),
        "{opml}"
    );
    assert!(
        opml.contains(r#"xmlUrl="https://blog.rust-lang.org/feed.xml""#),
        "{opml}"
    );
}

#[test]
fn import_of_a_file_that_is_not_opml_fails_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("feeds.toml"), CONFIG).unwrap();
    std::fs::write(dir.path().join("x.opml"), "<rss/>").unwrap();
    let out = syndic(dir.path(), &["import-opml", "x.opml"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("x.opml: not an OPML file"), "{err}");
    let missing = syndic(dir.path(), &["import-opml", "nope.opml"]);
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("cannot read the OPML file `nope.opml`")
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("feeds.toml")).unwrap(),
        CONFIG
    );
}
