//! `syndic export` and `syndic import`: an export taken next to a running
//! daemon (through its admin socket) and imported into an empty store gives
//! byte-identical feeds (same ids, same ETags) and the next poll of each
//! source sends the same validators; a truncated, edited or broken file is
//! refused whole, and a non-empty store is refused unless told to merge.

mod common;

use std::path::Path;
use std::process::Output;

use common::{ConfigFile, MockHost, Scripted, TestDaemon, rss_feed, syndic_command};

const RSS: &str = "application/rss+xml";

/// An `all` feed of everything, without a limit.
const ALL: &str = "[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";

/// The CLI on the config at `config`, logging errors only.
fn syndic(config: &Path, args: &[&str]) -> Output {
    syndic_command(config.parent().unwrap())
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

fn config(dir: &Path, host: &MockHost, articles: &Path) {
    ConfigFile::new()
        .without_daemon(&["contact"])
        .daemon(&format!("store = \"{}\"", dir.join("store").display()))
        .sources(&format!(
            "[[source]]\nid = \"news\"\nurl = \"{}\"\nmax_items = 2\n",
            host.url("news.rss")
        ))
        .remote("mirror", &host.url("mirror.rss"))
        .local("posts", &articles.display().to_string())
        .all_feed(&format!("{ALL}limit = 100\n"))
        .write(dir);
}

async fn feeds(daemon: &TestDaemon) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for ext in ["rss", "atom", "json"] {
        let response = daemon.get(&format!("/feeds/all.{ext}")).await;
        let etag = response.headers()["etag"].to_str().unwrap().to_string();
        out.push((etag, response.bytes().await.unwrap().to_vec()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_next_to_the_daemon_then_import_gives_identical_feeds_and_validators() {
    let host = MockHost::start().await;
    host.set(
        "news.rss",
        Scripted::feed(
            RSS,
            &rss_feed(&[("a", "Alpha"), ("b", "Beta"), ("c", "Gamma")]),
            "\"news-1\"",
        ),
    );
    host.set(
        "mirror.rss",
        Scripted::feed(RSS, &rss_feed(&[("b", "Beta")]), "\"mirror-1\""),
    );
    let root = tempfile::tempdir().unwrap();
    let articles = root.path().join("articles");
    std::fs::create_dir(&articles).unwrap();
    for i in 1..=3 {
        std::fs::write(
            articles.join(format!("post-{i}.md")),
            format!(
                "---\ntitle: Post {i}\ndate: 2026-03-1{i}T09:00:00Z\n---\nText of post {i}: {}\n",
                (0..80)
                    .map(|w| format!("word{} ", w * i))
                    .collect::<String>()
            ),
        )
        .unwrap();
    }
    let first = root.path().join("first");
    std::fs::create_dir(&first).unwrap();
    config(&first, &host, &articles);
    let daemon = TestDaemon::start(&first).await;
    let store = &daemon.app.store;
    // What the round trip must carry: a tombstone, a cross-source
    // duplicate, validators.
    assert!(!store.tombstones("news").unwrap().is_empty(), "a tombstone");
    let mut stored = store.source_items("mirror").unwrap();
    stored.extend(store.source_items("news").unwrap());
    assert!(
        stored.iter().any(|i| i.duplicate_of.is_some()),
        "a duplicate: {stored:?}"
    );
    assert_eq!(
        store.poll_state("news").unwrap().unwrap().etag.as_deref(),
        Some("\"news-1\"")
    );
    let before = feeds(&daemon).await;

    // Exported through the admin socket while the daemon runs.
    let backup = root.path().join("backup.jsonl");
    let config_first = first.join("feeds.toml");
    let out = tokio::task::spawn_blocking({
        let (config, backup) = (config_first.clone(), backup.clone());
        move || syndic(&config, &["export", "--output", backup.to_str().unwrap()])
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&backup).unwrap();
    assert!(
        text.starts_with("{\"header\":{\"syndic_export\":1,"),
        "{text}"
    );
    for record in [
        "\"item\"",
        "\"poll\"",
        "\"alias\"",
        "\"slug\"",
        "\"tombstone\"",
        "\"signature\"",
        "\"end\"",
    ] {
        assert!(text.contains(&format!("{{{record}:")), "{record} missing");
    }
    daemon.stop().await;
    // The same export with no daemon running.
    let alone = root.path().join("alone.jsonl");
    let out = syndic(
        &config_first,
        &["export", "--output", alone.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let strip = |t: &str| -> Vec<String> {
        t.lines()
            .skip(1)
            .take_while(|l| !l.starts_with("{\"end\""))
            .map(String::from)
            .collect()
    };
    assert_eq!(
        strip(&std::fs::read_to_string(&alone).unwrap()),
        strip(&text)
    );

    // Imported into an empty store.
    let second = root.path().join("second");
    std::fs::create_dir(&second).unwrap();
    config(&second, &host, &articles);
    let config_second = second.join("feeds.toml");
    let out = syndic(&config_second, &["import", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A second import into the now non-empty store is refused, and says so.
    let out = syndic(&config_second, &["import", backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not empty") && stderr.contains("--merge"),
        "{stderr}"
    );
    let out = syndic(
        &config_second,
        &["import", "--merge", backup.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let news_hits = host.hits("news.rss");
    let mirror_hits = host.hits("mirror.rss");
    let daemon = TestDaemon::start(&second).await;
    let after = feeds(&daemon).await;
    for ((etag_a, body_a), (etag_b, body_b)) in before.iter().zip(&after) {
        assert_eq!(etag_a, etag_b);
        assert_eq!(
            String::from_utf8_lossy(body_a),
            String::from_utf8_lossy(body_b)
        );
    }
    // The next poll of each source sends the exported validators.
    use syndic::refresh::Outcome;
    assert_eq!(daemon.refresh("news").await, Outcome::NotModified);
    assert_eq!(daemon.refresh("mirror").await, Outcome::NotModified);
    let requests = host.requests.lock().unwrap().clone();
    let sent = |path: &str, skip: usize| -> Vec<String> {
        requests
            .iter()
            .filter(|(p, _)| p == path)
            .skip(skip)
            .map(|(_, h)| {
                h.get("if-none-match")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default()
            })
            .collect()
    };
    assert_eq!(sent("news.rss", news_hits), vec!["\"news-1\"".to_string()]);
    assert_eq!(
        sent("mirror.rss", mirror_hits),
        vec!["\"mirror-1\"".to_string()]
    );
    assert!(!daemon.app.store.tombstones("news").unwrap().is_empty());
    daemon.stop().await;
}

#[test]
fn truncated_edited_or_broken_exports_are_refused_whole() {
    let root = tempfile::tempdir().unwrap();
    let articles = root.path().join("articles");
    std::fs::create_dir(&articles).unwrap();
    for i in 1..=5 {
        std::fs::write(
            articles.join(format!("p{i}.md")),
            format!("---\ntitle: P{i}\ndate: 2026-03-0{i}T09:00:00Z\n---\nText {i}.\n"),
        )
        .unwrap();
    }
    let source = root.path().join("source");
    std::fs::create_dir(&source).unwrap();
    let with_store = |dir: &Path| {
        ConfigFile::bare()
            .daemon(&format!("store = \"{}\"", dir.join("store").display()))
            .local("posts", &articles.display().to_string())
            .all_feed(ALL)
            .write(dir);
        dir.join("feeds.toml")
    };
    let config = with_store(&source);
    assert!(syndic(&config, &["fetch"]).status.success());
    let backup = root.path().join("b.jsonl");
    assert!(
        syndic(&config, &["export", "-o", backup.to_str().unwrap()])
            .status
            .success()
    );
    let text = std::fs::read_to_string(&backup).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let item_line = lines
        .iter()
        .position(|l| l.starts_with("{\"item\""))
        .unwrap();
    let cases: Vec<(&str, String, Vec<String>)> = vec![
        (
            "truncated",
            lines[..lines.len() - 2].join("\n") + "\n",
            vec!["truncated".into()],
        ),
        (
            "edited",
            text.replacen("P3", "P9", 1),
            vec!["changed after export".into()],
        ),
        (
            "broken line",
            lines
                .iter()
                .enumerate()
                .map(|(i, l)| if i == item_line { "{\"item\": oops" } else { l })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n",
            vec![format!("bad.jsonl:{}:", item_line + 1)],
        ),
        (
            "not an export",
            "hello\n".into(),
            vec!["bad.jsonl:1:".into()],
        ),
    ];
    for (what, content, expected) in cases {
        let bad = root.path().join("bad.jsonl");
        std::fs::write(&bad, content).unwrap();
        let target = root.path().join(what.replace(' ', "-"));
        std::fs::create_dir(&target).unwrap();
        let target_config = with_store(&target);
        let out = syndic(&target_config, &["import", bad.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        for e in expected {
            assert!(stderr.contains(&e), "{what}: `{e}` in {stderr}");
        }
        assert!(stderr.contains("nothing was imported"), "{what}: {stderr}");
        // Nothing was written: the store holds no item.
        let out = syndic(&target_config, &["render", "all", "--format", "json"]);
        let feed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(feed["items"].as_array().map_or(0, Vec::len), 0, "{what}");
    }
    // The intact file imports.
    let target = root.path().join("intact");
    std::fs::create_dir(&target).unwrap();
    let target_config = with_store(&target);
    let out = syndic(&target_config, &["import", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = syndic(&target_config, &["render", "all", "--format", "json"]);
    let feed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(feed["items"].as_array().unwrap().len(), 5);
}
