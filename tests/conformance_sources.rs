//! What syndic says and does about its sources, exactly: a source that
//! answered 410 Gone stays unpolled (RFC 9110 15.5.11: "the condition is
//! likely to be permanent") unless named or moved, and a local source's
//! next scan time is the real one. The bugs of issue 17 each have their own
//! test, named after them.

mod common;

use std::path::Path;

use chrono::Utc;
use common::exact::{ALL_FEED, raw_get, start_at};
use common::{ConfigFile, MockHost, Scripted, rss_feed, syndic_text};

fn config(dir: &Path, gone_url: &str, ok_url: &str) {
    ConfigFile::bare()
        .daemon("store = \"store\"")
        .remote("gone", gone_url)
        .remote("ok", ok_url)
        .all_feed(ALL_FEED)
        .write(dir);
}

async fn run(dir: &Path, args: &[&str]) -> (bool, String) {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        syndic_text(&dir, &args)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syndic_fetch_without_names_skips_sources_that_answered_410() {
    // Issue 17: `syndic fetch` with no names polled sources that answered
    // 410 Gone (the README says only naming one does).
    let host = MockHost::start().await;
    host.set(
        "gone.xml",
        Scripted {
            status: 410,
            content_type: "text/plain",
            body: "gone".into(),
            etag: None,
        },
    );
    let feed = rss_feed(&[("g1", "One")]);
    host.set(
        "ok.xml",
        Scripted::feed("application/rss+xml", &feed, "\"o\""),
    );
    host.set(
        "moved.xml",
        Scripted::feed("application/rss+xml", &feed, "\"m\""),
    );
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &host.url("gone.xml"), &host.url("ok.xml"));

    let (_, out) = run(dir.path(), &["fetch"]).await;
    assert_eq!(host.hits("gone.xml"), 1, "{out}");
    assert!(out.contains("gone: GONE (410)"), "{out}");
    let (_, out) = run(dir.path(), &["fetch"]).await;
    assert_eq!(
        host.hits("gone.xml"),
        1,
        "polled again without being named: {out}"
    );
    assert_eq!(host.hits("ok.xml"), 2, "the others are fetched: {out}");
    assert!(out.contains("name it to poll it again"), "{out}");
    // Named: polled.
    let (_, out) = run(dir.path(), &["fetch", "gone"]).await;
    assert_eq!(host.hits("gone.xml"), 2, "{out}");
    // A new URL in the config starts afresh.
    config(dir.path(), &host.url("moved.xml"), &host.url("ok.xml"));
    let (ok, out) = run(dir.path(), &["fetch"]).await;
    assert_eq!(host.hits("moved.xml"), 1, "{out}");
    assert!(ok, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_source_next_poll_is_its_next_scan_not_its_last() {
    // Issue 17: a local source's "next poll" showed its last scan time (in
    // the past) in `sources`, on `/` and in
    // syndic_source_next_poll_timestamp_seconds, so an "overdue" alert
    // (next_poll < time()) fired falsely.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("articles")).unwrap();
    std::fs::write(dir.path().join("articles/one.md"), "# One\n\nHello.\n").unwrap();
    let before = Utc::now();
    let d = start_at(
        dir.path(),
        &format!(
            "[[source]]\nid = \"local\"\npath = \"articles\"\nrefresh = \"10m\"\n\n{ALL_FEED}"
        ),
        "127.0.0.1:0",
    )
    .await;
    let state = d.app.store.poll_state("local").unwrap().unwrap();
    let next = state.next_poll_at.unwrap();
    let scanned = state.last_attempt.unwrap();
    assert_eq!(next - scanned, chrono::Duration::minutes(10), "every 10m");
    assert!(next > before + chrono::Duration::minutes(9));

    // The operator's pages are on the admin listener.
    let admin = d.app.admin_addr().expect("the admin listener is on");
    let metrics = String::from_utf8(raw_get(admin, "/metrics", &[]).await.body).unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("syndic_source_next_poll_timestamp_seconds{source=\"local\""))
        .unwrap_or_else(|| panic!("{metrics}"));
    let at: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(at > Utc::now().timestamp() as f64 + 500.0, "{line}");
    let index = String::from_utf8(raw_get(admin, "/", &[]).await.body).unwrap();
    assert!(
        index.contains(&next.format("%Y-%m-%d %H:%M UTC").to_string()),
        "{index}"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_source_on_a_cron_schedule_shows_its_next_cron_time() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("articles")).unwrap();
    std::fs::write(dir.path().join("articles/one.md"), "# One\n\nHello.\n").unwrap();
    let d = start_at(
        dir.path(),
        &format!(
            "[[source]]\nid = \"local\"\npath = \"articles\"\nrefresh = \"0 3 * * *\"\n\n{ALL_FEED}"
        ),
        "127.0.0.1:0",
    )
    .await;
    let state = d.app.store.poll_state("local").unwrap().unwrap();
    let next = state.next_poll_at.unwrap();
    assert!(next > Utc::now());
    assert_eq!(next.format("%H:%M:%S").to_string(), "03:00:00", "{next}");
    d.stop().await;
}
