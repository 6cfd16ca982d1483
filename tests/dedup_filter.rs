//! The dedup decisions with the store's index filter ready (see
//! `store::filter`): every key written after open, and every key scanned at
//! open, is still found, so the decisions are those of plain lookups. The
//! other dedup tests may run before the filter's first scan ends (lookups
//! then skip it); here every open waits for it.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::ConfigFile;
use syndic::config::Config;
use syndic::ingest::fetch::Fetcher;
use syndic::model::{Entry, PollState};
use syndic::refresh::{Outcome, Refresher};
use syndic::store::Store;

const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

fn open(config: &Config) -> Store {
    let store = common::reopen_store(&config.daemon.store);
    assert!(
        store.wait_for_indexes(WAIT),
        "the index filter was not built"
    );
    store
}

async fn ingest(
    config: &Config,
    store: &Store,
    fetcher: &Fetcher,
    source: &str,
    entries: Vec<Entry>,
    now: DateTime<Utc>,
) -> (usize, usize, usize, usize) {
    let refresher = Refresher {
        store,
        fetcher,
        public_base: "http://feeds.test",
    };
    let source = config.source(source).unwrap();
    match refresher
        .ingest_entries(source, entries, PollState::default(), now)
        .await
    {
        Outcome::Refreshed {
            new,
            updated,
            removed,
            unchanged,
        } => (new, updated, removed, unchanged),
        other => panic!("{other:?}"),
    }
}

fn t(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + Duration::hours(h)
}

const WIRE: &str = "The central bank raised its main interest rate by a quarter point on Tuesday, \
    the third increase this year, saying inflation remained stubbornly above its target. \
    Officials signalled that further rises were possible if price growth did not slow.";

fn story(guid: &str, link: &str, title: &str, text: &str, h: i64) -> Entry {
    Entry {
        upstream_id: Some(guid.into()),
        link: Some(link.into()),
        title: Some(title.into()),
        content_html: Some(format!("<p>{text}</p>")),
        published: Some(t(h)),
        ..Entry::default()
    }
}

#[tokio::test]
async fn decisions_through_a_ready_filter_match_plain_lookups_before_and_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigFile::bare()
        .daemon("store = \"store\"")
        .defaults("tombstone_ttl = \"10d\"\nnear_duplicate_threshold = 0.6")
        .sources("[[source]]\nid = \"a\"\nurl = \"http://a.example/feed.xml\"\nmax_items = 2\n")
        .remote("b", "http://b.example/feed.xml")
        .all_feed("[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n")
        .load(dir.path());
    let fetcher = Fetcher::new(&syndic::app::fetch_settings(&config)).unwrap();

    let one = story("a1", "https://a.example/one", "Rates rise", WIRE, 1);
    let two = story(
        "a2",
        "https://a.example/two",
        "Other news",
        "Short text.",
        2,
    );
    let three = story("a3", "https://a.example/three", "Third", "Also short.", 3);
    let generation;
    {
        // The filter is ready and empty: only the writers' bits find these.
        let store = open(&config);
        let got = ingest(
            &config,
            &store,
            &fetcher,
            "a",
            vec![one.clone(), two.clone()],
            t(4),
        )
        .await;
        assert_eq!(got, (2, 0, 0, 0));
        generation = store.generation();
        // Same entries: unchanged (the digest), no write.
        let got = ingest(
            &config,
            &store,
            &fetcher,
            "a",
            vec![one.clone(), two.clone()],
            t(5),
        )
        .await;
        assert_eq!(got, (0, 0, 0, 2));
        assert_eq!(store.generation(), generation);
        // Guid drift: same link and title, new guid -> the first item (alias).
        let mut drifted = two.clone();
        drifted.upstream_id = Some("a2-new".into());
        drifted.content_html = Some("<p>Short text, edited.</p>".into());
        let got = ingest(&config, &store, &fetcher, "a", vec![drifted], t(6)).await;
        assert_eq!(got, (0, 1, 0, 0));
        // max_items = 2: a third item removes the oldest, leaving a tombstone.
        let got = ingest(&config, &store, &fetcher, "a", vec![three.clone()], t(7)).await;
        assert_eq!(got, (1, 0, 1, 0));
        // The removed item listed again stays out (tombstone).
        let got = ingest(&config, &store, &fetcher, "a", vec![one.clone()], t(8)).await;
        assert_eq!(got.0, 0, "tombstoned item came back: {got:?}");
        // Another source, same link with tracking: merged (cross-source alias).
        let dup = story(
            "b1",
            "http://a.example/three?utm_source=x",
            "Third!",
            "Other.",
            3,
        );
        let got = ingest(&config, &store, &fetcher, "b", vec![dup], t(9)).await;
        assert_eq!(got.0, 1);
        let merged = store.source_items("a").unwrap();
        assert!(
            merged
                .iter()
                .any(|i| i.merged.iter().any(|m| m.source == "b")),
            "no merge recorded"
        );
    }
    // Restarted: the filter is rebuilt by the scan at open.
    let store = open(&config);
    let stats = store.filter_stats();
    assert!(stats.ready && stats.last_build_keys > 0, "{stats:?}");
    let mut drifted_again = two.clone();
    drifted_again.upstream_id = Some("a2-new".into());
    drifted_again.content_html = Some("<p>Short text, edited.</p>".into());
    let got = ingest(
        &config,
        &store,
        &fetcher,
        "a",
        vec![drifted_again, three],
        t(10),
    )
    .await;
    assert_eq!(got, (0, 0, 0, 2), "stored items are found after restart");
    let got = ingest(&config, &store, &fetcher, "a", vec![one], t(11)).await;
    assert_eq!(got.0, 0, "the tombstone is found after restart: {got:?}");
    // Near-duplicate of the wire story from b: its bands are found (the
    // tombstoned item's signature is gone, so a primary is needed first).
    let wire = story(
        "b2",
        "https://b.example/wire",
        "Central bank raises rates",
        WIRE,
        12,
    );
    assert_eq!(
        ingest(&config, &store, &fetcher, "b", vec![wire], t(12))
            .await
            .0,
        1
    );
    drop(store);
    let store = open(&config);
    let copy = story(
        "a4",
        "https://a.example/copy",
        "Rates rise again",
        &format!("LONDON (Wire) - {WIRE}"),
        13,
    );
    let got = ingest(&config, &store, &fetcher, "a", vec![copy], t(13)).await;
    assert_eq!(got.0, 1);
    let b_items = store.source_items("b").unwrap();
    let wire_item = b_items
        .iter()
        .find(|i| i.entry.upstream_id.as_deref() == Some("b2"))
        .unwrap();
    assert!(
        wire_item.merged.iter().any(|m| m.source == "a"),
        "near-duplicate not merged: {:?}",
        wire_item.merged
    );
}
