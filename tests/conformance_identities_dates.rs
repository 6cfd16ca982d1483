//! Identities and dates: feed-level dates and validators, against the real server on 127.0.0.1.
//! `Last-Modified` is the time the feed's bytes last changed: kept across
//! restarts, never later than `Date` (RFC 9110 8.8.2.1), and the feed's
//! own date (RSS `lastBuildDate`, Atom feed `updated`, RFC 4287 4.2.15:
//! "the most recent instant in time when the feed was modified in a way
//! the publisher considers significant") agrees with it. A reader that
//! polls with only `If-Modified-Since` (many do) or only `If-None-Match`
//! never misses a change. The bugs of issue 17 each have their own test,
//! named after them.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::exact::{ALL_FEED, EXT_SOURCE, Raw, day, put_items, raw_get, start, start_at, stored};
use common::{MockHost, Scripted, TestDaemon};

fn http_date(r: &Raw, name: &str) -> DateTime<Utc> {
    let text = r.header(name).unwrap_or_else(|| panic!("no {name}: {r:?}"));
    httpdate::parse_http_date(text).unwrap().into()
}

/// The text of the first `<tag>` of a document.
fn element(body: &[u8], tag: &str) -> String {
    let text = String::from_utf8_lossy(body);
    let open = format!("<{tag}>");
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {text}"))
        + open.len();
    let end = start + text[start..].find('<').unwrap();
    text[start..end].to_string()
}

/// Checks the validators and dates of the RSS and Atom documents agree, and
/// returns (Last-Modified, RSS ETag).
async fn validators(d: &TestDaemon) -> (DateTime<Utc>, String) {
    let rss = raw_get(d.addr, "/feeds/all.rss", &[]).await;
    let atom = raw_get(d.addr, "/feeds/all.atom", &[]).await;
    let json = raw_get(d.addr, "/feeds/all.json", &[]).await;
    let lm = http_date(&rss, "last-modified");
    for r in [&rss, &atom, &json] {
        assert!(
            lm <= http_date(r, "date"),
            "Last-Modified after Date: {r:?}"
        );
        assert_eq!(
            http_date(r, "last-modified"),
            lm,
            "one date for every format"
        );
    }
    let build = DateTime::parse_from_rfc2822(&element(&rss.body, "lastBuildDate")).unwrap();
    assert_eq!(build, lm, "lastBuildDate is Last-Modified");
    let updated = DateTime::parse_from_rfc3339(&element(&atom.body, "updated")).unwrap();
    assert_eq!(updated, lm, "Atom feed updated is Last-Modified");
    (lm, rss.header("etag").unwrap().to_string())
}

async fn status_with(d: &TestDaemon, name: &str, value: &str) -> u16 {
    raw_get(d.addr, "/feeds/all.rss", &[(name, value)])
        .await
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_modified_moves_when_a_past_dated_item_arrives() {
    // Issue 17: an item dated in the past changed the ETag but not
    // Last-Modified, so an If-Modified-Since reader got a 304 and missed it.
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path()).await;
    put_items(
        &d,
        "ext",
        vec![stored("ext", "a", day(10)), stored("ext", "b", day(20))],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (lm1, tag1) = validators(&d).await;
    let ims1 = httpdate::fmt_http_date(lm1.into());
    assert_eq!(status_with(&d, "If-Modified-Since", &ims1).await, 304);

    // At once (within the same second, as a burst of refreshes would).
    put_items(&d, "ext", vec![stored("ext", "old", day(1))]).await;
    assert_eq!(
        status_with(&d, "If-Modified-Since", &ims1).await,
        200,
        "IMS reader misses the item"
    );
    assert_eq!(
        status_with(&d, "If-None-Match", &tag1).await,
        200,
        "INM reader misses the item"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (lm2, tag2) = validators(&d).await;
    assert!(lm2 > lm1, "{lm2} after {lm1}");
    assert_ne!(tag2, tag1);
    let ims2 = httpdate::fmt_http_date(lm2.into());
    assert_eq!(status_with(&d, "If-Modified-Since", &ims2).await, 304);
    assert_eq!(status_with(&d, "If-None-Match", &tag2).await, 304);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn future_dated_item_does_not_make_last_modified_now() {
    // Issue 17: with an item dated in the future, Last-Modified was "now" on
    // every response (never a 304 by date) and lastBuildDate was the
    // future date.
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path()).await;
    let future = Utc::now() + chrono::Duration::days(3);
    put_items(
        &d,
        "ext",
        vec![stored("ext", "a", day(1)), stored("ext", "soon", future)],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (lm, tag) = validators(&d).await;
    assert!(lm <= Utc::now(), "Last-Modified in the future");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (again, tag_again) = validators(&d).await;
    assert_eq!(again, lm, "Last-Modified moves without a change");
    assert_eq!(tag_again, tag);
    let ims = httpdate::fmt_http_date(lm.into());
    assert_eq!(status_with(&d, "If-Modified-Since", &ims).await, 304);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_modified_is_kept_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path()).await;
    put_items(&d, "ext", vec![stored("ext", "a", day(1))]).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (lm, tag) = validators(&d).await;
    let addr = d.addr.to_string();
    d.stop().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let d = start_at(dir.path(), &format!("{EXT_SOURCE}\n{ALL_FEED}"), &addr).await;
    let (after, tag_after) = validators(&d).await;
    assert_eq!(after, lm, "a restart is not a change");
    assert_eq!(tag_after, tag);
    let ims = httpdate::fmt_http_date(lm.into());
    assert_eq!(status_with(&d, "If-Modified-Since", &ims).await, 304);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_change_of_bytes_moves_both_validators() {
    // An edit that keeps the item's dates (a fixed typo) changes the bytes:
    // both validators move, so neither kind of reader keeps the old text.
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path()).await;
    let item = stored("ext", "a", day(1));
    put_items(&d, "ext", vec![item.clone()]).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (lm, tag) = validators(&d).await;
    let mut edited = item;
    edited.entry.summary_html = Some("<p>About a, with the typo fixed</p>".into());
    put_items(&d, "ext", vec![edited]).await;
    let ims = httpdate::fmt_http_date(lm.into());
    assert_eq!(status_with(&d, "If-Modified-Since", &ims).await, 200);
    assert_eq!(status_with(&d, "If-None-Match", &tag).await, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (lm2, tag2) = validators(&d).await;
    assert!(lm2 > lm);
    assert_ne!(tag2, tag);
    // And a rendering that changes nothing moves neither.
    d.app.render_feeds(None);
    assert_eq!(validators(&d).await, (lm2, tag2));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_lone_surrogate_in_a_json_feed_title() {
    // Issue 17: one lone surrogate ("\ud83d", an emoji cut in half) in a
    // JSON Feed title failed the whole source and every other item was
    // lost. RFC 8259 8.2 leaves such strings' meaning unpredictable; the
    // title keeps its text with U+FFFD, as browsers' TextDecoder and
    // feed readers show it, and the source's status says what happened.
    let host = MockHost::start().await;
    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
        {"id":"1","url":"https://j.example/1","title":"Fine one","content_text":"a"},
        {"id":"2","url":"https://j.example/2","title":"Cut \ud83d here","content_text":"b"},
        {"id":"3","url":"https://j.example/3","title":"Bad \q escape","content_text":"c"}]}"#;
    host.set(
        "feed.json",
        Scripted::feed("application/feed+json", json, "\"j1\""),
    );
    let dir = tempfile::tempdir().unwrap();
    let source = format!(
        "[[source]]\nid = \"j\"\nurl = \"{}\"\n",
        host.url("feed.json")
    );
    let d = start_at(dir.path(), &format!("{source}\n{ALL_FEED}"), "127.0.0.1:0").await;
    let out: serde_json::Value =
        serde_json::from_slice(&raw_get(d.addr, "/feeds/all.json", &[]).await.body).unwrap();
    let titles: Vec<&str> = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 3, "{out}");
    assert!(titles.contains(&"Fine one"), "{titles:?}");
    assert!(titles.contains(&"Cut \u{fffd} here"), "{titles:?}");
    assert!(titles.contains(&"Bad \u{fffd} escape"), "{titles:?}");
    let state = d.app.store.poll_state("j").unwrap().unwrap();
    assert!(
        state
            .parse_warnings
            .iter()
            .any(|w| w.contains("U+FFFD") && w.contains("line")),
        "{:?}",
        state.parse_warnings
    );
    d.stop().await;
}

const ARCHIVED_FEED: &str = "[[feed]]\nname = \"all\"\ntitle = \"All\"\ndescription = \"Everything\"\ninclude = [\"*\"]\nlimit = 3\n";

/// The `<guid>`s of an archive page, in document order.
async fn archive_guids(d: &TestDaemon, page: usize) -> Vec<String> {
    let r = raw_get(d.addr, &format!("/feeds/all/archive/{page}.rss"), &[]).await;
    assert_eq!(r.status, 200, "page {page}");
    let xml = String::from_utf8(r.body).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("item"))
        .map(|item| {
            item.children()
                .find(|c| c.has_tag_name("title"))
                .and_then(|t| t.text())
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_page_1_held_the_newest_items_after_a_first_import() {
    // Issue 17: after a first import (every item first seen at once), page
    // 1 (RFC 5005 10: archives are linked oldest to newest through
    // prev-archive; page 1 is the oldest) held the newest items.
    let dir = tempfile::tempdir().unwrap();
    let d = start_at(
        dir.path(),
        &format!("{EXT_SOURCE}\n{ARCHIVED_FEED}"),
        "127.0.0.1:0",
    )
    .await;
    let import = Utc::now();
    // A document lists newest first; all are first seen at once.
    let items = (0..9)
        .rev()
        .enumerate()
        .map(|(pos, i)| {
            let mut item = stored("ext", &format!("d{i}"), day(i));
            item.first_seen = import;
            item.first_seen_pos = pos as u32;
            item
        })
        .collect();
    put_items(&d, "ext", items).await;
    assert_eq!(
        archive_guids(&d, 1).await,
        ["Item d2", "Item d1", "Item d0"]
    );
    assert_eq!(
        archive_guids(&d, 2).await,
        ["Item d5", "Item d4", "Item d3"]
    );
    assert_eq!(
        archive_guids(&d, 3).await,
        ["Item d8", "Item d7", "Item d6"]
    );
    // An older item arriving later goes where its date puts it.
    put_items(&d, "ext", vec![stored("ext", "early", day(-5))]).await;
    assert_eq!(
        archive_guids(&d, 1).await,
        ["Item d1", "Item d0", "Item early"]
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undated_items_in_one_document_keep_its_order_in_archives_across_restarts() {
    // Issue 17: undated items of one document got an arbitrary order. They
    // are dated when first seen, all alike; their place in the document
    // (newest first, as feeds list them) orders them, and that is stored.
    let dir = tempfile::tempdir().unwrap();
    let d = start_at(
        dir.path(),
        &format!("{EXT_SOURCE}\n{ARCHIVED_FEED}"),
        "127.0.0.1:0",
    )
    .await;
    let seen = day(100);
    // Names chosen so that public-id or name order would not give it.
    let names = [
        "zulu", "alpha", "mike", "bravo", "yankee", "charlie", "xray",
    ];
    let items = names
        .iter()
        .enumerate()
        .map(|(pos, name)| {
            let mut item = stored("ext", name, seen);
            item.first_seen_pos = pos as u32;
            item
        })
        .collect();
    put_items(&d, "ext", items).await;
    let oldest_first: Vec<String> = names.iter().rev().map(|n| format!("Item {n}")).collect();
    // Pages list newest first within themselves; across pages oldest first.
    let mut chronological = Vec::new();
    for page in 1..=3 {
        let mut g = archive_guids(&d, page).await;
        g.reverse();
        chronological.extend(g);
    }
    assert_eq!(chronological, oldest_first);
    let addr = d.addr.to_string();
    let before: Vec<Vec<String>> = vec![
        archive_guids(&d, 1).await,
        archive_guids(&d, 2).await,
        archive_guids(&d, 3).await,
    ];
    d.stop().await;
    let d = start_at(dir.path(), &format!("{EXT_SOURCE}\n{ARCHIVED_FEED}"), &addr).await;
    for (i, page) in before.iter().enumerate() {
        assert_eq!(
            &archive_guids(&d, i + 1).await,
            page,
            "page {} after a restart",
            i + 1
        );
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_page_changed_by_a_backdated_item_kept_its_last_modified() {
    // Issue 17: an archive page's Last-Modified was its newest item's date,
    // so an item dated before the page's items (a backdated post, a new
    // source's old items) changed the page's bytes while Last-Modified went
    // back: a client polling with If-Modified-Since got 304 and missed it.
    // RFC 9110 8.8.2: Last-Modified is when the representation last
    // changed; the page's own dates agree with it, and restarts keep it.
    let dir = tempfile::tempdir().unwrap();
    let config = format!("{EXT_SOURCE}\n{ARCHIVED_FEED}");
    let d = start_at(dir.path(), &config, "127.0.0.1:0").await;
    let items = (0..9)
        .map(|i| stored("ext", &format!("d{i}"), day(i)))
        .collect();
    put_items(&d, "ext", items).await;
    let first = raw_get(d.addr, "/feeds/all/archive/1.rss", &[]).await;
    assert_eq!(first.status, 200);
    let lm = http_date(&first, "last-modified");
    assert!(lm <= http_date(&first, "date"), "{first:?}");
    assert!(
        lm > day(100),
        "the page changed now, not at its items' dates: {lm}"
    );
    let build = DateTime::parse_from_rfc2822(&element(&first.body, "lastBuildDate")).unwrap();
    assert_eq!(build, lm, "lastBuildDate is Last-Modified");
    let lm_text = first.header("last-modified").unwrap().to_string();
    let unchanged = raw_get(
        d.addr,
        "/feeds/all/archive/1.rss",
        &[("If-Modified-Since", &lm_text)],
    )
    .await;
    assert_eq!(unchanged.status, 304, "{unchanged:?}");

    put_items(&d, "ext", vec![stored("ext", "early", day(-5))]).await;
    let changed = raw_get(
        d.addr,
        "/feeds/all/archive/1.rss",
        &[("If-Modified-Since", &lm_text)],
    )
    .await;
    assert_eq!(changed.status, 200, "the backdated item was missed");
    assert!(String::from_utf8_lossy(&changed.body).contains("Item early"));
    let lm2 = http_date(&changed, "last-modified");
    assert!(lm2 > lm, "{lm2} after {lm}");
    assert!(lm2 <= http_date(&changed, "date"), "{changed:?}");
    let atom = raw_get(d.addr, "/feeds/all/archive/1.atom", &[]).await;
    assert_eq!(http_date(&atom, "last-modified"), lm2, "one date per page");
    let updated = DateTime::parse_from_rfc3339(&element(&atom.body, "updated")).unwrap();
    assert_eq!(updated, lm2, "Atom updated is Last-Modified");
    let etag = changed.header("etag").unwrap().to_string();
    let addr = d.addr.to_string();
    d.stop().await;

    // After a restart the same bytes keep their date and validators.
    let d = start_at(dir.path(), &config, &addr).await;
    let again = raw_get(d.addr, "/feeds/all/archive/1.rss", &[]).await;
    assert_eq!(http_date(&again, "last-modified"), lm2);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    d.stop().await;
}
