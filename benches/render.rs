//! Render-time benchmark (not a test): how long selecting and rendering a
//! feed takes for 50 and 1,000 items, over a store of 10k and of 1M items,
//! to show that it depends on the feed, not on the store's total size.
//!
//! Run: `cargo bench --bench render` (sizes: `SYNDIC_BENCH_SIZES=10000,1000000`).
//! Prints one line per case: store size, feed, median and p90 of 15 runs.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use syndic::config::FeedConfig;
use syndic::model::{Entry, ItemKey, PollState, StoredItem};
use syndic::publish;
use syndic::store::{Batch, Store};

/// Sources the items are spread over: `big-0`..`big-8` get almost all of
/// them, `small` gets one in a thousand.
const BIG_SOURCES: usize = 9;

fn item(source: &str, n: usize) -> StoredItem {
    let key = ItemKey::derive(source, &format!("item-{n}"));
    let at = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap()
        + chrono::Duration::seconds(n as i64 * 60);
    StoredItem {
        key,
        source: source.to_string(),
        public_id: syndic::dedup::mint_public_id(&key),
        entry: Entry {
            upstream_id: Some(format!("item-{n}")),
            title: Some(format!("Item number {n} of the benchmark store")),
            link: Some(format!("https://example.org/{source}/{n}")),
            authors: vec!["Bench Author".into()],
            summary_html: Some(format!("<p>Summary of item {n}, a few words long.</p>")),
            content_html: Some(format!(
                "<p>Content of item {n}: <a href=\"/x/{n}\">a link</a>, <b>bold</b> text and a paragraph that goes on for a while to look like a real post.</p>"
            )),
            categories: vec!["bench".into()],
            ..Entry::default()
        },
        first_seen: at,
        published: at,
        updated: at,
        digest: [0; 16],
        aliases: Vec::new(),
        duplicate_of: None,
        merged: Vec::new(),
        feed_url: None,
    }
}

fn source_of(n: usize) -> String {
    if n % 1000 == 7 {
        "small".to_string()
    } else {
        format!("big-{}", n % BIG_SOURCES)
    }
}

async fn fill(store: &Store, total: usize) {
    let mut n = 0;
    while n < total {
        let end = (n + 20_000).min(total);
        // One batch per source per chunk (a batch belongs to one source).
        let mut by_source: std::collections::BTreeMap<String, Vec<StoredItem>> = Default::default();
        for i in n..end {
            let s = source_of(i);
            by_source.entry(s.clone()).or_default().push(item(&s, i));
        }
        for (source, items) in by_source {
            let batch = Batch {
                source,
                upserts: items.into_iter().map(|i| (None, i)).collect(),
                poll: PollState::default(),
                ..Batch::default()
            };
            store.apply(&batch).await.expect("bench store write");
        }
        n = end;
    }
}

fn feed(name: &str, sources: Vec<String>, limit: usize, archive: bool) -> FeedConfig {
    let mut f = FeedConfig::new(name, name, sources, limit);
    f.archive = archive;
    f
}

fn measure(
    store: &Store,
    feed: &FeedConfig,
    counts: &publish::archive::SourceCounts,
    refreshed: Option<&str>,
) -> (Duration, Duration) {
    let mut runs: Vec<Duration> = (0..15)
        .map(|_| {
            let start = Instant::now();
            // As in the daemon after a refresh of that source: its count is
            // taken again, the others come from the cache.
            if let Some(source) = refreshed {
                counts.invalidate(Some(source));
            }
            let (rendered, _) =
                publish::render_feed(store, feed, "http://bench.example", counts).expect("render");
            std::hint::black_box(&rendered);
            start.elapsed()
        })
        .collect();
    runs.sort();
    (runs[7], runs[13])
}

fn main() {
    let sizes: Vec<usize> = std::env::var("SYNDIC_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let all: Vec<String> = (0..BIG_SOURCES)
        .map(|i| format!("big-{i}"))
        .chain(["small".to_string()])
        .collect();
    println!("| stored items | feed | median | p90 |");
    println!("|---:|---|---:|---:|");
    for size in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("store")).expect("store");
        let start = Instant::now();
        runtime.block_on(fill(&store, size));
        eprintln!("filled {size} items in {:?}", start.elapsed());
        let cases = [
            (
                "all sources, 50 items",
                feed("all50", all.clone(), 50, false),
                None,
            ),
            (
                "all sources, 1000 items",
                feed("all1000", all.clone(), 1000, false),
                None,
            ),
            (
                "one small source, 50 items",
                feed("small50", vec!["small".into()], 50, false),
                None,
            ),
            (
                "all sources, 50 items, archives on, after a refresh of the small source",
                feed("alla", all.clone(), 50, true),
                Some("small"),
            ),
            (
                "all sources, 50 items, archives on, after a refresh of a big source (1/9 of the store)",
                feed("allb", all.clone(), 50, true),
                Some("big-0"),
            ),
        ];
        // One untimed pass first: the store's caches settle after filling.
        for (_, f, refreshed) in &cases {
            measure(
                &store,
                f,
                &publish::archive::SourceCounts::default(),
                *refreshed,
            );
        }
        for (label, f, refreshed) in &cases {
            let counts = publish::archive::SourceCounts::default();
            let (median, p90) = measure(&store, f, &counts, *refreshed);
            println!(
                "| {size} | {label} | {:.2} ms | {:.2} ms |",
                median.as_secs_f64() * 1e3,
                p90.as_secs_f64() * 1e3
            );
        }
        // Where the time goes, for the 50-item feed: reading the store vs
        // rendering (three formats, sanitizing, gzip and brotli).
        let f = &cases[0].1;
        let mut select = Vec::new();
        let mut render = Vec::new();
        for _ in 0..15 {
            let start = Instant::now();
            let items = publish::select_items(&store, f).expect("select");
            select.push(start.elapsed());
            let meta = publish::FeedMeta::from_config(f, "http://bench.example");
            let start = Instant::now();
            std::hint::black_box(publish::render(&meta, &items));
            render.push(start.elapsed());
        }
        select.sort();
        render.sort();
        println!(
            "| {size} | (all sources, 50 items: store read {:.2} ms, render and compress {:.2} ms) | | |",
            select[7].as_secs_f64() * 1e3,
            render[7].as_secs_f64() * 1e3
        );
    }
}
