//! Crash consistency: `syndic fetch` is killed with SIGKILL at spread-out
//! moments while it ingests a growing feed, then the store is checked: it
//! opens, nothing a feed already showed is lost, nothing is duplicated, and
//! the stored validator never runs ahead of the stored items.
//!
//! 50 rounds by default; `SYNDIC_CRASH_ROUNDS=1000 cargo test --test crash`
//! for the longer run.

mod common;

use std::collections::HashSet;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{ConfigFile, Feed, Item, Lcg, MockHost, Reply, syndic_command};

/// Items per feed version: version N lists items 0..N*STEP (newest 600).
const STEP: usize = 40;
const WINDOW: usize = 600;

fn feed_version(version: usize) -> String {
    let total = version * STEP;
    let body = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(20);
    Feed::rss("Growing", "http://grow.example/")
        .encoding(None)
        .items((total.saturating_sub(WINDOW)..total).rev().map(|i| {
            Item::new(&format!("g{i}"), &format!("Item {i}"))
                .not_permalink()
                .link(&format!("http://grow.example/{i}"))
                .description(&format!("{body} {i}"))
        }))
        .render()
}

/// Serves version N+1 with ETag "vN+1" on every request, whatever the
/// request's validators: every fetch has new items to write.
async fn start_host() -> (String, Arc<AtomicUsize>) {
    let version = Arc::new(AtomicUsize::new(0));
    let v = version.clone();
    let host = MockHost::start().await;
    host.set_with("grow.rss", move |_| {
        let next = v.fetch_add(1, Ordering::SeqCst) + 1;
        // As a header line, not as the reply's ETag: no 304, ever.
        Reply::ok(feed_version(next)).header("etag", &format!("\"v{next}\""))
    });
    (host.url("grow.rss"), version)
}

/// The upstream guids stored for the source, with duplicates counted.
fn stored_guids(store: &syndic::store::Store) -> Vec<String> {
    store
        .source_items("grow")
        .unwrap()
        .into_iter()
        .map(|i| i.entry.upstream_id.unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_ingestion_loses_and_duplicates_nothing() {
    let rounds: usize = std::env::var("SYNDIC_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let (url, version) = start_host().await;
    ConfigFile::new().remote("grow", &url).write(dir.path());
    let mut seen: HashSet<String> = HashSet::new();
    let mut killed = 0;
    // Kills that landed after the host had sent this run its feed and
    // before the run stored that version: mid-ingest, the case under test.
    let mut killed_mid_ingest = 0;
    // One run to the end measures how long a fetch takes on this machine.
    let started = std::time::Instant::now();
    let status = syndic_command(dir.path())
        .args(["fetch", "grow"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut full = started.elapsed().as_micros() as u64;
    // A fixed LCG spreads the kill moments over 0..that (adjusted as the
    // store grows, so about half the runs are cut short), the same way each run.
    let mut rng = Lcg(0x5eed);
    for round in 0..rounds {
        let served_before = version.load(Ordering::SeqCst);
        let mut child = syndic_command(dir.path())
            .args(["fetch", "grow"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = Duration::from_micros(rng.below(full as usize) as u64);
        tokio::time::sleep(delay).await;
        let mut killed_now = false;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
            killed_now = true;
            child.wait().unwrap();
            // Fetches grow slower as the store grows: widen the window.
            full = full * 11 / 10;
        } else {
            let status = child.wait().unwrap();
            assert!(status.success(), "round {round}: fetch failed: {status}");
            full = full * 19 / 20;
        }

        let store = syndic::store::Store::open(&dir.path().join("store"))
            .unwrap_or_else(|e| panic!("round {round}: store does not open after SIGKILL: {e}"));
        let served = version.load(Ordering::SeqCst);
        let stored_etag = store.poll_state("grow").unwrap().and_then(|p| p.etag);
        if killed_now && served > served_before && stored_etag != Some(format!("\"v{served}\"")) {
            killed_mid_ingest += 1;
        }
        let guids = stored_guids(&store);
        let unique: HashSet<String> = guids.iter().cloned().collect();
        assert_eq!(unique.len(), guids.len(), "round {round}: duplicated items");
        let lost: Vec<&String> = seen.difference(&unique).collect();
        assert!(lost.is_empty(), "round {round}: lost items {lost:?}");
        // The stored ETag names a feed version; every item of that version
        // must be stored with it.
        if let Some(etag) = store.poll_state("grow").unwrap().and_then(|p| p.etag) {
            let version: usize = etag
                .trim_matches('"')
                .trim_start_matches('v')
                .parse()
                .unwrap();
            let total = version * STEP;
            for i in total.saturating_sub(WINDOW)..total {
                assert!(
                    unique.contains(&format!("g{i}")),
                    "round {round}: validator {etag} ahead of item g{i}"
                );
            }
        }
        seen = unique;
        drop(store);
    }
    assert!(
        killed * 3 >= rounds,
        "only {killed} of {rounds} runs were killed mid-way"
    );
    assert!(
        killed < rounds,
        "no run finished: the kills never let ingestion complete"
    );
    eprintln!(
        "crash test: {rounds} rounds (kill window at the end {full} µs), {killed} killed, \
         {killed_mid_ingest} of them after the feed arrived and before it was stored, {} items stored",
        seen.len()
    );
    assert!(
        killed_mid_ingest * 10 >= rounds,
        "only {killed_mid_ingest} of {rounds} kills landed between the response and its commit"
    );
}
