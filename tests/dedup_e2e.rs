//! Dedup end to end: RSS served by a mock host, fetched, parsed and
//! reconciled by the real daemon, published over HTTP; the daemon is
//! restarted on the same store half-way through each scenario.

mod common;

use common::{MockHost, Scripted, TestDaemon, write_config};
use syndic::refresh::Outcome;

const RSS: &str = "application/rss+xml";

/// An RSS document of (guid, link, title, text) items.
fn rss(items: &[(&str, &str, &str, &str)]) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Mock</title><link>http://mock.example/</link><description>d</description>"#,
    );
    for (i, (guid, link, title, text)) in items.iter().enumerate() {
        xml.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{guid}</guid><title>{title}</title><link>{}</link>\
             <description>{text}</description><pubDate>Mon, 0{} Mar 2026 10:00:00 GMT</pubDate></item>",
            link.replace('&', "&amp;"),
            i + 1
        ));
    }
    xml.push_str("</channel></rss>");
    xml
}

fn items(json: &serde_json::Value) -> Vec<serde_json::Value> {
    json["items"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drifted_guids_and_rewritten_links_update_the_item_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let host = MockHost::start().await;
    let link = "http://www.news.example/2026/story?utm_source=rss";
    host.set(
        "news.rss",
        Scripted::feed(RSS, &rss(&[("g-1", link, "Story", "First text")]), "\"1\""),
    );
    write_config(
        dir.path(),
        &format!(
            "[[source]]\nid = \"news\"\nurl = \"{}\"\n",
            host.url("news.rss")
        ),
    );
    let daemon = TestDaemon::start(dir.path()).await;
    let first = daemon.json("/feeds/all.json").await;
    assert_eq!(items(&first).len(), 1);
    assert_eq!(first["items"][0]["url"], link);
    let etag = daemon.get("/feeds/all.rss").await.headers()["etag"].clone();
    let generation = daemon.app.store.generation();

    // Same items under a new upstream ETag: nothing written, same ETag.
    host.set(
        "news.rss",
        Scripted::feed(RSS, &rss(&[("g-1", link, "Story", "First text")]), "\"2\""),
    );
    assert_eq!(
        daemon.refresh("news").await,
        Outcome::Refreshed {
            new: 0,
            updated: 0,
            removed: 0,
            unchanged: 1
        }
    );
    assert_eq!(daemon.app.store.generation(), generation);
    assert_eq!(daemon.get("/feeds/all.rss").await.headers()["etag"], etag);
    daemon.stop().await;

    // After a restart: new guid, https, other tracking parameters.
    let daemon = TestDaemon::start(dir.path()).await;
    let moved = "https://news.example/2026/story/?utm_medium=feed&fbclid=abc";
    host.set(
        "news.rss",
        Scripted::feed(
            RSS,
            &rss(&[("g-1-v2", moved, "Story", "Second text")]),
            "\"3\"",
        ),
    );
    assert_eq!(
        daemon.refresh("news").await,
        Outcome::Refreshed {
            new: 0,
            updated: 1,
            removed: 0,
            unchanged: 0
        }
    );
    let after = daemon.json("/feeds/all.json").await;
    assert_eq!(items(&after).len(), 1);
    assert_eq!(after["items"][0]["id"], first["items"][0]["id"]);
    assert_eq!(after["items"][0]["url"], moved);
    assert_ne!(
        after["items"][0]["date_modified"],
        first["items"][0]["date_modified"]
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_story_from_two_feeds_is_published_once_with_both_sources() {
    let dir = tempfile::tempdir().unwrap();
    let host = MockHost::start().await;
    host.set(
        "a.rss",
        Scripted::feed(
            RSS,
            &rss(&[
                ("a-1", "https://wire.example/s/1", "Wire story", "From A"),
                ("a-2", "https://a.example/own", "A only", "Mine"),
            ]),
            "\"a\"",
        ),
    );
    host.set(
        "b.rss",
        Scripted::feed(
            RSS,
            &rss(&[(
                "b-9",
                "http://www.wire.example/s/1?ref=b",
                "Wire story (B)",
                "From B",
            )]),
            "\"b\"",
        ),
    );
    write_config(
        dir.path(),
        &format!(
            "[[source]]\nid = \"a\"\nurl = \"{}\"\n\n[[source]]\nid = \"b\"\nurl = \"{}\"\n\n\
             [[feed]]\nname = \"just-b\"\ntitle = \"B\"\ninclude = [\"b\"]\n",
            host.url("a.rss"),
            host.url("b.rss")
        ),
    );
    let daemon = TestDaemon::start(dir.path()).await;
    // Whichever source was read first holds the story; refresh both again
    // so the order does not matter.
    daemon.refresh("a").await;
    daemon.refresh("b").await;
    let check = |json: serde_json::Value| {
        let all = items(&json);
        assert_eq!(all.len(), 2, "{json:#}");
        let story = all
            .iter()
            .find(|i| i["title"].as_str().unwrap().starts_with("Wire story"))
            .unwrap();
        let mut ids: Vec<String> = story["_syndic"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        assert_eq!(ids, ["a", "b"]);
    };
    check(daemon.json("/feeds/all.json").await);
    let rss_body = daemon.get("/feeds/all.rss").await.text().await.unwrap();
    assert_eq!(rss_body.matches("<source url=").count(), 1, "{rss_body}");
    let b_only = daemon.json("/feeds/just-b.json").await;
    assert_eq!(items(&b_only).len(), 1);
    assert!(b_only["items"][0].get("_syndic").is_none());
    let bytes = daemon.get("/feeds/all.json").await.bytes().await.unwrap();
    daemon.stop().await;

    let daemon = TestDaemon::start(dir.path()).await;
    assert_eq!(
        daemon.get("/feeds/all.json").await.bytes().await.unwrap(),
        bytes
    );
    check(daemon.json("/feeds/all.json").await);
    daemon.stop().await;
}
