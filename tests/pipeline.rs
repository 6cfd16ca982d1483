//! The whole daemon end to end: a mock feed host serving RSS and Atom, a
//! local article folder, the real server on port 0.

mod common;

use common::{MockHost, Scripted, TestDaemon, atom_feed, rss_feed, write_config};
use reqwest::StatusCode;
use syndic::refresh::Outcome;

const RSS: &str = "application/rss+xml";
const ATOM: &str = "application/atom+xml";

async fn setup() -> (tempfile::TempDir, MockHost) {
    let dir = tempfile::tempdir().unwrap();
    let host = MockHost::start().await;
    host.set(
        "news.rss",
        Scripted::feed(
            RSS,
            &rss_feed(&[("r1", "Rss one"), ("r2", "Rss two")]),
            "\"v1\"",
        ),
    );
    host.set(
        "blog.atom",
        Scripted::feed(ATOM, &atom_feed(&[("urn:a:1", "Atom one")]), "\"a1\""),
    );
    let articles = dir.path().join("articles");
    std::fs::create_dir(&articles).unwrap();
    std::fs::write(
        articles.join("hello.md"),
        "+++\ntitle = \"Hello local\"\ndate = 2026-03-10T00:00:00Z\n+++\nLocal *body*.\n",
    )
    .unwrap();
    std::fs::write(
        articles.join("note.txt"),
        "A text note\n\nIts only paragraph.\n",
    )
    .unwrap();
    write_config(
        dir.path(),
        &format!(
            r#"[[source]]
id = "news"
url = "{}"

[[source]]
id = "blog"
url = "{}"

[[source]]
id = "local"
path = "articles"
"#,
            host.url("news.rss"),
            host.url("blog.atom")
        ),
    );
    (dir, host)
}

fn titles(json: &serde_json::Value) -> Vec<String> {
    json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_from_rss_atom_and_local_appear_in_every_format() {
    let (dir, _host) = setup().await;
    let daemon = TestDaemon::start(dir.path()).await;

    let json: serde_json::Value = daemon.json("/feeds/all.json").await;
    let mut got = titles(&json);
    got.sort();
    assert_eq!(
        got,
        [
            "A text note",
            "Atom one",
            "Hello local",
            "Rss one",
            "Rss two"
        ]
    );
    // Newest first: the undated note carries the time it was first seen,
    // then the article dated 10 March, then the upstream items.
    assert_eq!(json["items"][0]["title"], "A text note");
    assert_eq!(json["items"][1]["title"], "Hello local");
    assert_eq!(json["items"][1]["url"], "http://feeds.test/articles/hello");

    let rss = daemon.get("/feeds/all.rss").await;
    assert_eq!(
        rss.headers()["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let rss = rss.text().await.unwrap();
    for title in ["Rss one", "Atom one", "Hello local", "A text note"] {
        assert!(
            rss.contains(&format!("<title>{title}</title>")),
            "{title} missing from {rss}"
        );
    }
    let atom = daemon.get("/feeds/all.atom").await.text().await.unwrap();
    assert_eq!(atom.matches("<entry>").count(), 5, "{atom}");

    // The article page behind the local item's link.
    let page = daemon.get("/articles/hello").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Local <em>body</em>."));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_of_unchanged_upstreams_adds_nothing_and_changes_update_in_place() {
    let (dir, host) = setup().await;
    let daemon = TestDaemon::start(dir.path()).await;
    let before = daemon.get("/feeds/all.rss").await;
    let etag = before.headers()["etag"].to_str().unwrap().to_string();

    // Same ETag upstream: a conditional GET answered 304.
    assert_eq!(daemon.refresh("news").await, Outcome::NotModified);
    let sent = host.requests.lock().unwrap().last().unwrap().1.clone();
    assert_eq!(sent["if-none-match"], "\"v1\"");
    // Same body under a new ETag: parsed, nothing written.
    host.set(
        "news.rss",
        Scripted::feed(
            RSS,
            &rss_feed(&[("r1", "Rss one"), ("r2", "Rss two")]),
            "\"v2\"",
        ),
    );
    assert_eq!(
        daemon.refresh("news").await,
        Outcome::Refreshed {
            new: 0,
            updated: 0,
            removed: 0,
            unchanged: 2
        }
    );
    let again = daemon.get("/feeds/all.rss").await;
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);

    // A changed item is updated in place, with the same id.
    let ids_before: serde_json::Value = daemon.json("/feeds/all.json").await;
    host.set(
        "news.rss",
        Scripted::feed(
            RSS,
            &rss_feed(&[("r1", "Rss one, corrected"), ("r2", "Rss two")]),
            "\"v3\"",
        ),
    );
    assert_eq!(
        daemon.refresh("news").await,
        Outcome::Refreshed {
            new: 0,
            updated: 1,
            removed: 0,
            unchanged: 1
        }
    );
    let after: serde_json::Value = daemon.json("/feeds/all.json").await;
    assert_eq!(after["items"].as_array().unwrap().len(), 5);
    let id_of = |v: &serde_json::Value, t: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["title"].as_str().unwrap().starts_with(t))
            .map(|i| i["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(
        id_of(&ids_before, "Rss one"),
        id_of(&after, "Rss one, corrected")
    );
    assert_ne!(
        daemon.get("/feeds/all.rss").await.headers()["etag"]
            .to_str()
            .unwrap(),
        etag
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_the_same_store_serves_the_same_bytes_and_etag() {
    let (dir, _host) = setup().await;
    let mut before = Vec::new();
    let daemon = TestDaemon::start(dir.path()).await;
    for ext in ["rss", "atom", "json"] {
        let r = daemon.get(&format!("/feeds/all.{ext}")).await;
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        before.push((etag, r.bytes().await.unwrap()));
    }
    daemon.stop().await;

    let daemon = TestDaemon::start(dir.path()).await;
    for (i, ext) in ["rss", "atom", "json"].iter().enumerate() {
        let r = daemon.get(&format!("/feeds/all.{ext}")).await;
        assert_eq!(r.headers()["etag"].to_str().unwrap(), before[i].0, "{ext}");
        assert_eq!(r.bytes().await.unwrap(), before[i].1, "{ext}");
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_feeds_answer_conditional_requests() {
    let (dir, _host) = setup().await;
    let daemon = TestDaemon::start(dir.path()).await;
    let client = reqwest::Client::new();
    for ext in ["rss", "atom", "json"] {
        let url = daemon.url(&format!("/feeds/all.{ext}"));
        let first = client.get(&url).send().await.unwrap();
        let etag = first.headers()["etag"].clone();
        let last_modified = first.headers()["last-modified"].clone();
        assert_eq!(first.headers()["vary"], "Accept-Encoding, Accept");
        let second = client
            .get(&url)
            .header("if-none-match", etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(second.status(), StatusCode::NOT_MODIFIED, "{ext}");
        assert_eq!(second.headers()["etag"], etag);
        assert!(second.bytes().await.unwrap().is_empty());
        let by_date = client
            .get(&url)
            .header("if-modified-since", last_modified)
            .send()
            .await
            .unwrap();
        assert_eq!(by_date.status(), StatusCode::NOT_MODIFIED, "{ext}");
        let stale = client
            .get(&url)
            .header("if-none-match", "\"stale\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), StatusCode::OK);
    }
    assert_eq!(
        daemon.get("/feeds/nope.rss").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        daemon.get("/feeds/all.xml").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(daemon.get("/healthz").await.status(), StatusCode::OK);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_upstreams_keep_stored_items_and_spare_other_sources() {
    let (dir, host) = setup().await;
    let daemon = TestDaemon::start(dir.path()).await;
    let stored = daemon.app.store.source_item_count("news");
    assert_eq!(stored, 2);

    let broken = [
        Scripted {
            status: 200,
            content_type: "text/html",
            body: "<!DOCTYPE html><html><body>Login</body></html>".into(),
            etag: Some("\"h\"".into()),
        },
        Scripted {
            status: 200,
            content_type: RSS,
            body: rss_feed(&[("r1", "x")])[..120].to_string(),
            etag: Some("\"t\"".into()),
        },
        Scripted {
            status: 500,
            content_type: "text/plain",
            body: "oops".into(),
            etag: None,
        },
    ];
    for (round, response) in broken.into_iter().enumerate() {
        host.set("news.rss", response);
        // A new title each round: a new guid under the same link and title
        // would be guid drift (the same item, updated), not a new item.
        let title = format!("Atom new {round}");
        host.set(
            "blog.atom",
            Scripted::feed(
                ATOM,
                &atom_feed(&[
                    ("urn:a:1", "Atom one"),
                    (&format!("urn:a:n{round}"), &title),
                ]),
                &format!("\"a-{round}\""),
            ),
        );
        let outcome = daemon.refresh("news").await;
        assert!(
            matches!(outcome, Outcome::Failed(_)),
            "round {round}: {outcome:?}"
        );
        assert!(
            matches!(
                daemon.refresh("blog").await,
                Outcome::Refreshed { new: 1, .. }
            ),
            "round {round}"
        );
        assert_eq!(
            daemon.app.store.source_item_count("news"),
            2,
            "round {round}"
        );
        let state = daemon.app.store.poll_state("news").unwrap().unwrap();
        assert_eq!(state.consecutive_failures as usize, round + 1);
        // The validators of the last good response are kept.
        assert_eq!(state.etag.as_deref(), Some("\"v1\""));
    }
    let json: serde_json::Value = daemon.json("/feeds/all.json").await;
    let t = titles(&json);
    assert!(t.contains(&"Rss one".to_string()) && t.contains(&"Rss two".to_string()));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_articles_edit_in_place_drafts_hidden_and_deletions_removed() {
    let (dir, _host) = setup().await;
    let daemon = TestDaemon::start(dir.path()).await;
    let articles = dir.path().join("articles");
    let id_of = |v: &serde_json::Value, t: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["title"] == t)
            .map(|i| i["id"].clone())
    };
    let before: serde_json::Value = daemon.json("/feeds/all.json").await;

    std::fs::write(
        articles.join("note.txt"),
        "A text note, edited\n\nNew paragraph, longer than before.\n",
    )
    .unwrap();
    std::fs::write(
        articles.join("draft.md"),
        "+++\ntitle = \"Not yet\"\ndraft = true\n+++\nSecret.\n",
    )
    .unwrap();
    assert_eq!(
        daemon.refresh("local").await,
        Outcome::Refreshed {
            new: 0,
            updated: 1,
            removed: 0,
            unchanged: 1
        }
    );
    let after: serde_json::Value = daemon.json("/feeds/all.json").await;
    assert_eq!(
        id_of(&before, "A text note"),
        id_of(&after, "A text note, edited")
    );
    assert!(id_of(&after, "Not yet").is_none());

    std::fs::remove_file(articles.join("hello.md")).unwrap();
    assert_eq!(
        daemon.refresh("local").await,
        Outcome::Refreshed {
            new: 0,
            updated: 0,
            removed: 1,
            unchanged: 1
        }
    );
    let after: serde_json::Value = daemon.json("/feeds/all.json").await;
    assert!(id_of(&after, "Hello local").is_none());
    assert_eq!(
        daemon.get("/articles/hello").await.status(),
        StatusCode::NOT_FOUND
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_feed_keeps_its_complete_items_and_not_its_validators() {
    let (dir, host) = setup().await;
    let daemon = TestDaemon::start(dir.path()).await;
    let full = rss_feed(&[("r3", "Rss three"), ("r4", "Rss four")]);
    let cut = full.find("</item>").expect("an item") + "</item>".len() + 10;
    host.set("news.rss", Scripted::feed(RSS, &full[..cut], "\"cut\""));
    let outcome = daemon.refresh("news").await;
    assert!(
        matches!(outcome, Outcome::Refreshed { new: 1, .. }),
        "{outcome:?}"
    );
    let state = daemon.app.store.poll_state("news").unwrap().unwrap();
    // The validators of the whole feed fetched at start stay.
    assert_eq!(state.etag.as_deref(), Some("\"v1\""));
    assert!(
        state.parse_warnings.iter().any(|w| w.contains("truncated")),
        "{:?}",
        state.parse_warnings
    );
    let json: serde_json::Value = daemon.json("/feeds/all.json").await;
    assert!(titles(&json).contains(&"Rss three".to_string()));
    daemon.stop().await;
}

/// `syndic sources` (table and `--json`) as a user runs it, next to a
/// stopped daemon.
fn sources_cli(dir: &std::path::Path, json: bool) -> String {
    let mut args = vec!["sources"];
    if json {
        args.push("--json");
    }
    let out = common::syndic(dir, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parse_warnings_of_the_last_parse_show_in_sources_and_on_the_index_page() {
    let (dir, host) = setup().await;
    // An HTML entity XML does not know: repaired, with a warning.
    host.set(
        "news.rss",
        Scripted::feed(RSS, &rss_feed(&[("r1", "Caf&eacute; one")]), "\"w1\""),
    );
    let daemon = TestDaemon::start(dir.path()).await;
    let json: serde_json::Value = daemon.json("/feeds/all.json").await;
    assert!(titles(&json).contains(&"Caf\u{e9} one".to_string()));

    let index = daemon.admin_get("/").await.text().await.unwrap();
    let row = |id: &str| {
        index
            .lines()
            .find(|l| l.starts_with(&format!("<tr><td>{id}</td>")))
            .unwrap_or_else(|| panic!("no row for {id} in {index}"))
            .to_string()
    };
    assert!(
        row("news").ends_with(
            "<td><span class=\"bad\">1</span><br><small>not well-formed XML: \
             2 undeclared HTML entities decoded (first `&amp;eacute;`)</small></td></tr>"
        ),
        "{}",
        row("news")
    );
    assert!(row("blog").ends_with("<td>0</td></tr>"), "{}", row("blog"));
    daemon.stop().await;

    let rows: serde_json::Value = serde_json::from_str(&sources_cli(dir.path(), true)).unwrap();
    let source = |id: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(source("news")["parse_warning_count"], 1);
    assert_eq!(
        source("news")["parse_warnings"],
        serde_json::json!([
            "not well-formed XML: 2 undeclared HTML entities decoded (first `&eacute;`)"
        ])
    );
    assert_eq!(source("blog")["parse_warning_count"], 0);
    assert_eq!(source("blog")["parse_warnings"], serde_json::json!([]));
    let table = sources_cli(dir.path(), false);
    assert!(
        table.contains(
            "news: 1 parse warning (feed repaired or read leniently):\n  \
             - not well-formed XML: 2 undeclared HTML entities decoded (first `&eacute;`)"
        ),
        "{table}"
    );
    assert!(!table.contains("blog: "), "{table}");

    // Fixed upstream: the next parse is clean and so is the status.
    host.set(
        "news.rss",
        Scripted::feed(RSS, &rss_feed(&[("r1", "Cafe one")]), "\"w2\""),
    );
    let daemon = TestDaemon::start(dir.path()).await;
    daemon.refresh("news").await;
    let state = daemon.app.store.poll_state("news").unwrap().unwrap();
    assert_eq!(state.parse_warning_total(), 0, "{:?}", state.parse_warnings);
    let index = daemon.admin_get("/").await.text().await.unwrap();
    assert!(!index.contains("undeclared HTML entit"), "{index}");
    daemon.stop().await;
}
