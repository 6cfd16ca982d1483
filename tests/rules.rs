//! Rules (issue 19): source rules shape items before they are stored,
//! feed rules choose and rewrite them when the feed is rendered, and a
//! reload that changes a feed rule changes the served feed without a
//! fetch. The real daemon in process, against a mock host.

mod common;

use common::feed::at;
use common::{ConfigFile, Feed, Item, MockHost, Reply, TestDaemon};
use syndic::daemon::reload;

fn upstream() -> String {
    Feed::rss("Upstream", "https://example.org/")
        .items([
            Item::new("g1", "[AD] Rust 2.0 released")
                .link("https://example.org/rust?utm_source=feed")
                .description("&lt;p&gt;Release &lt;em&gt;notes&lt;/em&gt;&lt;/p&gt;")
                .date(at(2026, 3, 5, 10))
                .extra("<category>rust</category>"),
            Item::new("g2", "Sponsored: a webinar")
                .link("https://example.org/webinar")
                .date(at(2026, 3, 5, 9))
                .extra("<category>rust</category>"),
            Item::new("g3", "Go 1.30 is out")
                .link("https://example.org/go")
                .description("&lt;p&gt;Go notes&lt;/p&gt;")
                .date(at(2026, 3, 5, 8))
                .extra("<category>go</category>"),
        ])
        .render()
}

const SOURCE_RULES: &str = r#"
[[source.rule]]
match = { title = "(?i)sponsored|webinar" }
action = "drop"

[[source.rule]]
match = { link = "^https://example\\.org/" }
action = { replace = { field = "link", pattern = "\\?utm_[^#]*", with = "" } }

[[source.rule]]
action = { replace = { field = "title", pattern = "^\\[AD\\] ", with = "" } }

[[source.rule]]
match = { category = "^rust$" }
action = { replace = { field = "content", pattern = "<em>(\\w+)</em>", with = "<script>alert(1)</script><b>$1</b>" } }
"#;

fn config(host: &MockHost, category: &str) -> ConfigFile {
    ConfigFile::new()
        .sources(&format!(
            "[[source]]\nid = \"news\"\nurl = \"{}\"\n{SOURCE_RULES}",
            host.url("feed.xml")
        ))
        .feeds(&format!(
            "[[feed]]\nname = \"picked\"\ntitle = \"Picked\"\ninclude = [\"*\"]\n\n\
             [[feed.rule]]\nmatch = {{ category = \"^{category}$\" }}\naction = \"keep\"\n\n\
             [[feed.rule]]\naction = {{ replace = {{ field = \"title\", pattern = \"$\", with = \" [picked]\" }} }}\n\n\
             [[feed.rule]]\naction = {{ remove = \"b, script\" }}\n"
        ))
}

#[tokio::test]
async fn source_rules_shape_what_is_stored_and_feed_rules_what_is_served() {
    let host = MockHost::start().await;
    host.set(
        "feed.xml",
        Reply::feed("application/rss+xml", upstream(), "\"v1\""),
    );
    let dir = tempfile::tempdir().unwrap();
    config(&host, "rust").write(dir.path());
    let d = TestDaemon::start(dir.path()).await;

    // Stored as the source rules made them: the sponsored item dropped,
    // the ad prefix and the tracking parameters gone, the rewritten
    // summary sanitized again (its script removed, its markup kept).
    let stored = d.app.store.source_items("news").unwrap();
    let mut titles: Vec<&str> = stored
        .iter()
        .filter_map(|i| i.entry.title.as_deref())
        .collect();
    titles.sort();
    assert_eq!(titles, vec!["Go 1.30 is out", "Rust 2.0 released"]);
    let rust = stored
        .iter()
        .find(|i| i.entry.title.as_deref() == Some("Rust 2.0 released"))
        .unwrap();
    assert_eq!(rust.entry.link.as_deref(), Some("https://example.org/rust"));
    let html = [&rust.entry.summary_html, &rust.entry.content_html]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<String>();
    assert!(html.contains("<b>notes</b>"), "{html}");
    assert!(
        !html.contains("script") && !html.contains("alert"),
        "{html}"
    );

    // `all` has no rules: both stored items. `picked` keeps rust only,
    // and marks its titles.
    let all = d.get("/feeds/all.rss").await.text().await.unwrap();
    assert!(all.contains("<title>Rust 2.0 released</title>"), "{all}");
    assert!(all.contains("<title>Go 1.30 is out</title>"), "{all}");
    assert!(
        !all.contains("webinar") && !all.contains("utm_source"),
        "{all}"
    );
    let picked = d.get("/feeds/picked.rss").await.text().await.unwrap();
    assert!(
        picked.contains("<title>Rust 2.0 released [picked]</title>"),
        "{picked}"
    );
    assert!(!picked.contains("Go 1.30"), "{picked}");
    // The feed's `remove` cut the bold word out of what it serves; the
    // stored item (and `all`) keep it.
    assert!(all.contains("<b>notes</b>"), "{all}");
    assert!(
        !picked.contains("notes") && picked.contains("Release"),
        "{picked}"
    );
    let fetches = host.hits("feed.xml");

    // A changed feed rule is served at once after a reload, with no fetch.
    config(&host, "go").write(dir.path());
    reload(&d.app).await.unwrap();
    let picked = d.get("/feeds/picked.rss").await.text().await.unwrap();
    assert!(
        picked.contains("<title>Go 1.30 is out [picked]</title>"),
        "{picked}"
    );
    assert!(!picked.contains("Rust 2.0"), "{picked}");
    assert_eq!(host.hits("feed.xml"), fetches, "no refetch for a feed rule");
    d.stop().await;
}

#[tokio::test]
async fn keyword_lists_still_filter_as_the_rules_they_stand_for() {
    let host = MockHost::start().await;
    host.set(
        "feed.xml",
        Reply::feed("application/rss+xml", upstream(), "\"v1\""),
    );
    let dir = tempfile::tempdir().unwrap();
    ConfigFile::new()
        .sources(&format!(
            "[[source]]\nid = \"news\"\nurl = \"{}\"\n",
            host.url("feed.xml")
        ))
        .feeds(
            "[[feed]]\nname = \"k\"\ntitle = \"K\"\ninclude = [\"*\"]\n\
             include_keywords = [\"NOTES\"]\nexclude_keywords = [\"go 1.\"]\n",
        )
        .write(dir.path());
    let d = TestDaemon::start(dir.path()).await;
    let k = d.get("/feeds/k.rss").await.text().await.unwrap();
    // "notes" is in the text of the Rust and Go items (any case, markup
    // ignored); the Go item's title has the excluded words.
    assert!(k.contains("[AD] Rust 2.0 released"), "{k}");
    assert!(!k.contains("Go 1.30") && !k.contains("webinar"), "{k}");
    d.stop().await;
}

#[tokio::test]
async fn a_local_folder_goes_through_its_source_rules_too() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("articles")).unwrap();
    common::write_file(dir.path(), "articles/one.md", "# Kept one\n\nA note.\n");
    common::write_file(
        dir.path(),
        "articles/two.md",
        "# WIP: not yet\n\nHalf done.\n",
    );
    ConfigFile::new()
        .local("local", "articles")
        .sources(
            "[[source.rule]]\nmatch = { title = \"^WIP:\" }\naction = \"drop\"\n\n\
             [[source.rule]]\naction = { replace = { field = \"title\", pattern = \"one$\", with = \"article\" } }\n",
        )
        .write(dir.path());
    let d = TestDaemon::start(dir.path()).await;
    let stored: Vec<Option<String>> = d
        .app
        .store
        .source_items("local")
        .unwrap()
        .into_iter()
        .map(|i| i.entry.title)
        .collect();
    assert_eq!(stored, vec![Some("Kept article".to_string())]);
    d.stop().await;
}

/// The titles of `source`'s stored items, sorted, with their public ids.
fn stored(d: &TestDaemon, source: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = d
        .app
        .store
        .source_items(source)
        .unwrap()
        .into_iter()
        .map(|i| (i.entry.title.unwrap_or_default(), i.public_id))
        .collect();
    out.sort();
    out
}

/// Waits up to 20 s for `source`'s stored titles to be `titles`.
async fn wait_titles(d: &TestDaemon, source: &str, titles: &[&str]) -> Vec<(String, String)> {
    for _ in 0..400 {
        let now = stored(d, source);
        if now
            .iter()
            .map(|(t, _)| t.as_str())
            .eq(titles.iter().copied())
        {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "stored titles stayed {:?}, not {titles:?}",
        stored(d, source)
    );
}

#[tokio::test]
async fn a_changed_source_rule_is_applied_to_stored_items_on_reload() {
    let host = MockHost::start().await;
    host.set(
        "feed.xml",
        Reply::feed("application/rss+xml", upstream(), "\"v1\""),
    );
    let dir = tempfile::tempdir().unwrap();
    let write = |rules: &str| {
        ConfigFile::new()
            .sources(&format!(
                "[[source]]\nid = \"news\"\nurl = \"{}\"\n{rules}",
                host.url("feed.xml")
            ))
            .write(dir.path());
    };
    write("");
    let d = TestDaemon::start(dir.path()).await;
    let before = wait_titles(
        &d,
        "news",
        &[
            "Go 1.30 is out",
            "Sponsored: a webinar",
            "[AD] Rust 2.0 released",
        ],
    )
    .await;

    write(
        "[[source.rule]]\nmatch = { title = \"(?i)webinar\" }\naction = \"drop\"\n\n\
         [[source.rule]]\naction = { replace = { field = \"title\", pattern = \"^\\\\[AD\\\\] \", with = \"\" } }\n",
    );
    reload(&d.app).await.unwrap();
    // What the new rules drop has left when the reload returns; the
    // source is then read again in full (no validators), and the rewrite
    // reaches the item it still lists, which keeps its id.
    let gone = stored(&d, "news");
    assert!(!gone.iter().any(|(t, _)| t.contains("webinar")), "{gone:?}");
    let after = wait_titles(&d, "news", &["Go 1.30 is out", "Rust 2.0 released"]).await;
    let id = |titles: &[(String, String)], prefix: &str| {
        titles
            .iter()
            .find(|(t, _)| t.contains(prefix))
            .map(|(_, id)| id.clone())
            .unwrap()
    };
    assert_eq!(id(&before, "Rust 2.0"), id(&after, "Rust 2.0"), "same item");
    let refetch = host.seen().into_iter().last().unwrap();
    assert_eq!(refetch.get("if-none-match"), None, "a full read");

    // The drop rule taken out: the item it dropped comes back.
    write(
        "[[source.rule]]\naction = { replace = { field = \"title\", pattern = \"^\\\\[AD\\\\] \", with = \"\" } }\n",
    );
    reload(&d.app).await.unwrap();
    wait_titles(
        &d,
        "news",
        &[
            "Go 1.30 is out",
            "Rust 2.0 released",
            "Sponsored: a webinar",
        ],
    )
    .await;
    d.stop().await;
}

#[tokio::test]
async fn an_article_a_rule_now_drops_leaves_the_feeds_like_a_draft() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("articles")).unwrap();
    common::write_file(dir.path(), "articles/one.md", "# Kept one\n\nA note.\n");
    common::write_file(dir.path(), "articles/two.md", "# Second\n\nDone.\n");
    ConfigFile::new()
        .local("local", "articles")
        .sources("[[source.rule]]\nmatch = { title = \"^WIP:\" }\naction = \"drop\"\n")
        .write(dir.path());
    let d = TestDaemon::start(dir.path()).await;
    wait_titles(&d, "local", &["Kept one", "Second"]).await;
    // Edited into something the rule drops: the stored version goes too.
    std::thread::sleep(std::time::Duration::from_millis(20));
    common::write_file(
        dir.path(),
        "articles/two.md",
        "# WIP: Second again\n\nNot done.\n",
    );
    d.refresh("local").await;
    wait_titles(&d, "local", &["Kept one"]).await;
    d.stop().await;
}

/// A folder of three dated articles and a `picked` feed keeping titles
/// that match `keep`; `source_rules` go under the source. The articles are
/// written once: rewriting them under a running daemon would race its
/// folder watch (a file read half written).
fn preview_folder(dir: &std::path::Path, file: &str, keep: &str, source_rules: &str) {
    let fresh = !dir.join("articles").exists();
    std::fs::create_dir_all(dir.join("articles")).unwrap();
    let articles = [
        ("a.md", "Rust news", 3),
        ("b.md", "Go news", 2),
        ("c.md", "Webinar: buy now", 1),
    ];
    for (name, title, day) in articles.into_iter().filter(|_| fresh) {
        common::write_file(
            dir,
            &format!("articles/{name}"),
            format!("+++\ntitle = \"{title}\"\ndate = 2026-03-0{day}T00:00:00Z\n+++\nBody.\n"),
        );
    }
    std::fs::write(
        dir.join(file),
        format!(
            "[daemon]\nlisten = \"127.0.0.1:0\"\nstore = \"store\"\n\n\
             [[source]]\nid = \"local\"\npath = \"articles\"\n{source_rules}\n\
             [[feed]]\nname = \"picked\"\ntitle = \"Picked\"\ninclude = [\"*\"]\n\n\
             [[feed.rule]]\nmatch = {{ title = \"{keep}\" }}\naction = \"keep\"\n\n\
             [[feed.rule]]\naction = {{ replace = {{ field = \"title\", pattern = \"$\", with = \" [picked]\" }} }}\n"
        ),
    )
    .unwrap();
}

#[test]
fn preview_shows_what_a_feed_would_publish_and_which_rule_did_what() {
    let dir = tempfile::tempdir().unwrap();
    preview_folder(dir.path(), "feeds.toml", "^Rust", "");
    assert!(common::syndic(dir.path(), &["fetch"]).status.success());

    // Alone: the store opened by the CLI.
    let (ok, text) = common::syndic_text(dir.path(), &["preview", "picked"]);
    assert!(ok, "{text}");
    assert!(
        text.starts_with("feed `picked`: 1 item would be published (limit 50), newest first\n"),
        "{text}"
    );
    assert!(
        text.contains("  2026-03-03 00:00 UTC  Rust news [picked]\n"),
        "{text}"
    );
    assert!(
        text.contains("rewritten by the rule at feeds.toml:18:1"),
        "{text}"
    );
    assert!(
        text.contains("left out by the feed's rules, newest first (2 of the items looked at):"),
        "{text}"
    );
    let go = text.find("Go news").unwrap();
    assert!(
        text[go..].contains("dropped by the rule at feeds.toml:14:1"),
        "{text}"
    );

    // Beside a running daemon, on a config it has not loaded: the daemon
    // reads it and answers from its store, and keeps serving the old one.
    let daemon = common::Daemon::start(dir.path(), &[]);
    daemon.get_until("/feeds/picked.rss", "Rust news [picked]");
    preview_folder(
        dir.path(),
        "feeds.new.toml",
        "^Go",
        "\n[[source.rule]]\nmatch = { title = \"(?i)webinar\" }\naction = \"drop\"\n",
    );
    let (ok, text) = common::syndic_text(
        dir.path(),
        &["--config", "feeds.new.toml", "preview", "picked"],
    );
    assert!(ok, "{text}");
    assert!(text.contains("Go news [picked]"), "{text}");
    assert!(text.contains("rewritten by the rule at"), "{text}");
    // The daemon names the file as it read it: its absolute path.
    let new_toml = std::fs::canonicalize(dir.path().join("feeds.new.toml")).unwrap();
    let at = |line: usize| format!("{}:{line}:1", new_toml.display());
    assert!(
        text.contains(&format!("rewritten by the rule at {}", at(22))),
        "{text}"
    );
    let webinar = text.find("Webinar: buy now").unwrap();
    assert!(
        text[webinar..].contains(&format!("dropped by source `local`'s rule at {}", at(9))),
        "{text}"
    );
    let rust = text.find("Rust news").unwrap();
    assert!(
        text[rust..].contains(&format!("dropped by the rule at {}", at(18))),
        "{text}"
    );
    let (_, served) = daemon.get("/feeds/picked.rss");
    assert!(
        served.contains("Rust news [picked]") && !served.contains("Go news"),
        "{served}"
    );

    let out = common::syndic(dir.path(), &["preview", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no feed `nope`"));
    daemon.stop();
}

#[test]
fn explain_names_the_source_rules_that_rewrote_an_item_and_each_feeds_verdict() {
    let dir = tempfile::tempdir().unwrap();
    preview_folder(
        dir.path(),
        "feeds.toml",
        "^Rust",
        "\n[[source.rule]]\naction = { replace = { field = \"title\", pattern = \" news$\", with = \" story\" } }\n",
    );
    assert!(common::syndic(dir.path(), &["fetch"]).status.success());
    let (ok, preview) = common::syndic_text(dir.path(), &["preview", "picked"]);
    assert!(ok, "{preview}");
    let id = |title: &str| {
        let at = preview
            .find(title)
            .unwrap_or_else(|| panic!("{title}: {preview}"));
        preview[at..]
            .split_whitespace()
            .find(|w| w.starts_with("urn:uuid:"))
            .unwrap()
            .to_string()
    };
    let (ok, rust) = common::syndic_text(dir.path(), &["explain", &id("Rust story")]);
    assert!(ok, "{rust}");
    assert!(
        rust.contains("rewritten by source rules (as last stored): feeds.toml:9:1\n"),
        "{rust}"
    );
    assert!(
        rust.contains("feed `picked`: published, rewritten by the rule at feeds.toml:21:1\n"),
        "{rust}"
    );
    let (ok, go) = common::syndic_text(dir.path(), &["explain", &id("Go story")]);
    assert!(ok, "{go}");
    assert!(
        go.contains("feed `picked`: left out: dropped by the rule at feeds.toml:17:1\n"),
        "{go}"
    );
}
