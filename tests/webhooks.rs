//! Webhooks out (`webhook`, `webhook_secret` on a `[[feed]]`): each new
//! publication POSTed once, signed, with the items new since the last;
//! retried after a failure; owed deliveries kept across a restart and
//! never repeated by one. The real daemon, a mock feed host and a mock
//! receiver, all on 127.0.0.1.

mod common;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{ConfigFile, Feed, Item, MockHost, Reply, TestDaemon};
use hmac::{KeyInit, Mac};
use serde_json::Value;

const SECRET: &str = "a long random webhook secret";

fn upstream(n: usize) -> String {
    Feed::rss("News", "http://news.test/")
        .items((1..=n).map(|i| {
            Item::new(&format!("n{i}"), &format!("Story {i}"))
                .link(&format!("http://news.test/{i}"))
                .date(common::fixture_day(2026, 11, 1, i, 9))
        }))
        .render()
}

/// A config whose feed `all` has `hook` as its webhook.
fn write(dir: &std::path::Path, feed: &MockHost, hook: &str) {
    ConfigFile::new()
        .no_all_feed()
        .sources(&format!(
            "[[source]]\nid = \"news\"\nurl = \"{}\"\n",
            feed.url("/feed.xml")
        ))
        .feeds(&format!(
            "[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n\
             webhook = \"{hook}\"\nwebhook_secret = \"{SECRET}\"\n"
        ))
        .write(dir);
}

/// The POSTs `receiver` got at `/hook`, in order.
fn posts(receiver: &MockHost) -> Vec<common::host::Seen> {
    receiver
        .seen()
        .into_iter()
        .filter(|s| s.path == "/hook")
        .collect()
}

async fn wait_posts(receiver: &MockHost, n: usize) -> Vec<common::host::Seen> {
    for _ in 0..400 {
        if posts(receiver).len() >= n {
            return posts(receiver);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} webhook POSTs, not {n}", posts(receiver).len());
}

fn titles(post: &common::host::Seen) -> Vec<String> {
    let doc: Value = serde_json::from_slice(&post.body).unwrap();
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect()
}

fn expected_signature(body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn each_new_publication_is_posted_once_signed_with_the_new_items() {
    let feed = MockHost::start().await;
    feed.set(
        "/feed.xml",
        Reply::feed("application/rss+xml", upstream(2), "\"v1\""),
    );
    let receiver = MockHost::start().await;
    receiver.set("/hook", Reply::status(204));
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &feed, &receiver.url("/hook"));
    let d = TestDaemon::start(dir.path()).await;

    // The first publication: every item.
    let got = wait_posts(&receiver, 1).await;
    let first = &got[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.get("content-type"), Some("application/feed+json"));
    assert_eq!(first.get("x-syndic-feed"), Some("all"));
    assert_eq!(
        first.get("x-syndic-signature-256"),
        Some(expected_signature(&first.body).as_str())
    );
    let id = first.get("x-syndic-delivery").unwrap().to_string();
    assert_eq!(id.len(), 32, "{id}");
    assert_eq!(titles(first), ["Story 2", "Story 1"]);
    let doc: Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(doc["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(doc["title"], "All");

    // A new item upstream: one POST with it alone.
    feed.set(
        "/feed.xml",
        Reply::feed("application/rss+xml", upstream(3), "\"v2\""),
    );
    d.refresh("news").await;
    let got = wait_posts(&receiver, 2).await;
    assert_eq!(titles(&got[1]), ["Story 3"]);
    assert_ne!(got[1].get("x-syndic-delivery"), Some(id.as_str()));
    assert_eq!(
        got[1].get("x-syndic-signature-256"),
        Some(expected_signature(&got[1].body).as_str())
    );

    // A refresh that changes nothing publishes nothing.
    d.refresh("news").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(posts(&receiver).len(), 2);
    d.stop().await;

    // A restart owes nothing: the items were delivered.
    let d = TestDaemon::start(dir.path()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(posts(&receiver).len(), 2);
    d.stop().await;
}

#[tokio::test]
async fn a_failed_delivery_is_retried_and_kept_across_a_restart() {
    let feed = MockHost::start().await;
    feed.set(
        "/feed.xml",
        Reply::feed("application/rss+xml", upstream(1), "\"v1\""),
    );
    let receiver = MockHost::start().await;
    receiver.set("/hook", Reply::status(500));
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &feed, &receiver.url("/hook"));

    // The receiver fails; the daemon stops before the retry.
    let d = TestDaemon::start(dir.path()).await;
    let got = wait_posts(&receiver, 1).await;
    let id = got[0].get("x-syndic-delivery").unwrap().to_string();
    d.stop().await;
    let owed = common::reopen_store(&dir.path().join("store"))
        .deliveries()
        .unwrap();
    assert_eq!(owed.len(), 1);
    assert_eq!(owed[0].attempts, 1);
    assert!(
        owed[0].last_error.as_deref().unwrap_or("").contains("500"),
        "{owed:?}"
    );

    // After the restart, the same delivery is sent again when its retry
    // falls due (5 s after the failure), and a 500 is retried once more.
    receiver.script("/hook", vec![Reply::status(500), Reply::status(200)]);
    let d = TestDaemon::start(dir.path()).await;
    let got = wait_posts(&receiver, 3).await;
    for post in &got[1..] {
        assert_eq!(post.get("x-syndic-delivery"), Some(id.as_str()));
        assert_eq!(titles(post), ["Story 1"]);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(d.app.store.deliveries().unwrap().is_empty());
    d.stop().await;
    assert_eq!(posts(&receiver).len(), 3);
}

#[tokio::test]
async fn a_public_webhook_url_cannot_reach_an_internal_address() {
    let internal = MockHost::start().await;
    internal.set("/hook", Reply::status(200));
    let table = Arc::new(syndic::ingest::fetch::HostTable::default());
    let ip = |text: &str| text.parse::<IpAddr>().unwrap();
    // Public when the guard looks, the metadata address when the client
    // connects (DNS rebinding).
    table.add("hooks.example.com", ip("93.184.216.34"), internal.addr());
    table.add("hooks.example.com", ip("169.254.169.254"), internal.addr());
    table.add("feeds.example.com", ip("93.184.216.34"), internal.addr());
    let config = ConfigFile::new()
        .remote("news", "http://127.0.0.1:9/feed.xml")
        .parse();
    let fetcher =
        syndic::ingest::fetch::Fetcher::with_hosts(&syndic::app::fetch_settings(&config), table)
            .unwrap();
    let err = fetcher
        .post("http://hooks.example.com/hook", &[], b"{}".to_vec())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("169.254.169.254") && err.contains("SSRF guard"),
        "{err}"
    );
    assert_eq!(internal.count(), 0);
    // A hub a public feed names (judged against the feed's URL) cannot be
    // inside either, even written as an address.
    let err = fetcher
        .post_reaching(
            &internal.url("/hook"),
            &[],
            b"{}".to_vec(),
            "http://feeds.example.com/feed.xml",
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("127.0.0.1") && err.contains("SSRF guard"),
        "{err}"
    );
    assert_eq!(internal.count(), 0);
    // A URL configured inside may be used (a receiver on the LAN).
    let status = fetcher
        .post(&internal.url("/hook"), &[], b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(status, 200);
}
