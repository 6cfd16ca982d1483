//! Dedup end to end: RSS served by a mock host, fetched, parsed and
//! reconciled by the real daemon, published over HTTP; the daemon is
//! restarted on the same store half-way through each scenario.

mod common;

use common::feed::at;
use common::{Feed, Item, MockHost, Scripted, TestDaemon, write_config};
use syndic::refresh::Outcome;

const RSS: &str = "application/rss+xml";

/// An RSS document of (guid, link, title, text) items, item `i` dated
/// `i` days after 1 March 2026 10:00 UTC.
fn rss(items: &[(&str, &str, &str, &str)]) -> String {
    Feed::rss("Mock", "http://mock.example/")
        .items(
            items
                .iter()
                .enumerate()
                .map(|(i, (guid, link, title, text))| {
                    Item::new(guid, title)
                        .not_permalink()
                        .link(&link.replace('&', "&amp;"))
                        .description(text)
                        .date(at(2026, 3, 1, 10) + chrono::Duration::days(i as i64))
                }),
        )
        .render()
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

/// Regression (#17, "Repeated guids"): five different items sharing one
/// `<guid>` in one document were stored as one item with no warning, and a
/// later post reusing the guid overwrote the old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_guids_are_kept_apart_with_a_warning_and_a_reused_guid_is_a_new_item() {
    let dir = tempfile::tempdir().unwrap();
    let host = MockHost::start().await;
    let five: Vec<(String, String, String)> = (1..=5)
        .map(|i| {
            (
                format!("http://news.example/post/{i}"),
                format!("Post number {i}"),
                format!("Text of post {i}"),
            )
        })
        .collect();
    let doc = |items: &[(String, String, String)]| {
        let rows: Vec<(&str, &str, &str, &str)> = items
            .iter()
            .map(|(l, t, x)| ("same-guid", l.as_str(), t.as_str(), x.as_str()))
            .collect();
        rss(&rows)
    };
    host.set("news.rss", Scripted::feed(RSS, &doc(&five), "\"1\""));
    write_config(
        dir.path(),
        &format!(
            "[[source]]\nid = \"news\"\nurl = \"{}\"\n",
            host.url("news.rss")
        ),
    );
    let daemon = TestDaemon::start(dir.path()).await;
    let json = daemon.json("/feeds/all.json").await;
    let mut titles: Vec<String> = items(&json)
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect();
    titles.sort();
    assert_eq!(titles, five.iter().map(|f| f.1.clone()).collect::<Vec<_>>());
    let state = daemon.app.store.poll_state("news").unwrap().unwrap();
    assert!(
        state
            .parse_warnings
            .iter()
            .any(|w| w.contains("5 items share the guid \"same-guid\": told apart by link")),
        "{:?}",
        state.parse_warnings
    );
    let ids: Vec<String> = items(&json)
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    daemon.stop().await;

    // After a restart: the same document again writes nothing; then an
    // edited post (same guid, same link) is an update of its item.
    let daemon = TestDaemon::start(dir.path()).await;
    let mut edited = five.clone();
    edited[2].1 = "Post number 3, corrected".into();
    host.set("news.rss", Scripted::feed(RSS, &doc(&edited), "\"2\""));
    assert_eq!(
        daemon.refresh("news").await,
        Outcome::Refreshed {
            new: 0,
            updated: 1,
            removed: 0,
            unchanged: 4
        }
    );
    let json = daemon.json("/feeds/all.json").await;
    let mut after: Vec<String> = items(&json)
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    let mut before = ids.clone();
    after.sort();
    before.sort();
    assert_eq!(after, before, "the published ids stay");
    daemon.stop().await;

    // A feed with one item per guid: a later post reusing an old guid with
    // another link and title is a new item; the old one stays.
    host.set(
        "solo.rss",
        Scripted::feed(
            RSS,
            &rss(&[("g-7", "http://solo.example/old", "Old post", "old text")]),
            "\"1\"",
        ),
    );
    write_config(
        dir.path(),
        &format!(
            "[[source]]\nid = \"news\"\nurl = \"{}\"\n\n[[source]]\nid = \"solo\"\nurl = \"{}\"\n",
            host.url("news.rss"),
            host.url("solo.rss")
        ),
    );
    let daemon = TestDaemon::start(dir.path()).await;
    assert_eq!(daemon.app.store.source_items("solo").unwrap().len(), 1);
    host.set(
        "solo.rss",
        Scripted::feed(
            RSS,
            &rss(&[("g-7", "http://solo.example/new", "New post", "new text")]),
            "\"2\"",
        ),
    );
    assert_eq!(
        daemon.refresh("solo").await,
        Outcome::Refreshed {
            new: 1,
            updated: 0,
            removed: 0,
            unchanged: 0
        }
    );
    // Seen again: nothing to write; edited (same guid and link): an update.
    assert!(matches!(
        daemon.refresh("solo").await,
        Outcome::NotModified
            | Outcome::Refreshed {
                new: 0,
                updated: 0,
                ..
            }
    ));
    host.set(
        "solo.rss",
        Scripted::feed(
            RSS,
            &rss(&[("g-7", "http://solo.example/new", "New post!", "new text")]),
            "\"3\"",
        ),
    );
    assert_eq!(
        daemon.refresh("solo").await,
        Outcome::Refreshed {
            new: 0,
            updated: 1,
            removed: 0,
            unchanged: 0
        }
    );
    let titles: Vec<String> = daemon
        .app
        .store
        .source_items("solo")
        .unwrap()
        .into_iter()
        .map(|i| i.entry.title.unwrap())
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles.contains(&"Old post".to_string()), "{titles:?}");
    assert!(titles.contains(&"New post!".to_string()), "{titles:?}");
    daemon.stop().await;
}

/// Regression (#24): items with no guid and one link for all (a news site
/// listing every story at its front page) were stored as one item, and
/// Atom entries with `href=""` (resolved to the feed's own address) too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_sharing_one_link_or_linking_the_feed_itself_are_not_stored_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let host = MockHost::start().await;
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Front</title><link>http://front.example/</link><description>d</description>"#,
    );
    for i in 1..=15 {
        xml.push_str(&format!(
            "<item><title>Story {i}</title><link>http://front.example/news</link>\
             <description>Text {i}</description></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    host.set("front.rss", Scripted::feed(RSS, &xml, "\"1\""));
    let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Links</title><id>urn:x:links</id><updated>2026-03-01T00:00:00Z</updated>
<entry><title>Link: Chicago Falcons</title><link href=""/><id></id><updated>2026-03-01T00:00:00Z</updated><content type="html">falcons</content></entry>
<entry><title>Link: That's Not What Dolphins Do</title><link href=""/><id></id><updated>2026-03-02T00:00:00Z</updated><content type="html">dolphins</content></entry>
</feed>"#;
    host.set(
        "links.atom",
        Scripted::feed("application/atom+xml", atom, "\"1\""),
    );
    write_config(
        dir.path(),
        &format!(
            "[[source]]\nid = \"front\"\nurl = \"{}\"\n\n[[source]]\nid = \"links\"\nurl = \"{}\"\n",
            host.url("front.rss"),
            host.url("links.atom")
        ),
    );
    let daemon = TestDaemon::start(dir.path()).await;
    assert_eq!(daemon.app.store.source_items("front").unwrap().len(), 15);
    assert_eq!(daemon.app.store.source_items("links").unwrap().len(), 2);
    let json = daemon.json("/feeds/all.json").await;
    assert_eq!(items(&json).len(), 17);
    let state = daemon.app.store.poll_state("front").unwrap().unwrap();
    assert!(
        state
            .parse_warnings
            .iter()
            .any(|w| w.contains("is shared by several items: told apart by content")),
        "{:?}",
        state.parse_warnings
    );
    daemon.stop().await;
    // A restart and the same documents: the same items, nothing new.
    let daemon = TestDaemon::start(dir.path()).await;
    for source in ["front", "links"] {
        assert!(
            matches!(
                daemon.refresh(source).await,
                Outcome::NotModified
                    | Outcome::Refreshed {
                        new: 0,
                        updated: 0,
                        ..
                    }
            ),
            "{source}"
        );
    }
    assert_eq!(daemon.app.store.source_items("front").unwrap().len(), 15);
    daemon.stop().await;
}
