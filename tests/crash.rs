//! Crash consistency: `syndic fetch` is killed with SIGKILL at spread-out
//! moments while it ingests a growing feed, then the store is checked: it
//! opens, nothing a feed already showed is lost, nothing is duplicated, and
//! the stored validator never runs ahead of the stored items.
//!
//! 50 rounds by default; `SYNDIC_CRASH_ROUNDS=1000 cargo test --test crash`
//! for the longer run.

mod common;

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Items per feed version: version N lists items 0..N*STEP (newest 600).
const STEP: usize = 40;
const WINDOW: usize = 600;

fn feed_version(version: usize) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Growing</title><link>http://grow.example/</link><description>d</description>"#,
    );
    let total = version * STEP;
    let body = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(20);
    for i in (total.saturating_sub(WINDOW)..total).rev() {
        xml.push_str(&format!(
            "<item><guid isPermaLink=\"false\">g{i}</guid><title>Item {i}</title><link>http://grow.example/{i}</link><description>{body} {i}</description></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    xml
}

/// Serves version N+1 with ETag "vN+1" on every request, whatever the
/// request's validators: every fetch has new items to write.
async fn start_host() -> (String, Arc<AtomicUsize>) {
    let version = Arc::new(AtomicUsize::new(0));
    let v = version.clone();
    let app = Router::new().route(
        "/grow.rss",
        get(move || {
            let v = v.clone();
            async move {
                let next = v.fetch_add(1, Ordering::SeqCst) + 1;
                let mut r: Response = (
                    [(header::CONTENT_TYPE, "application/rss+xml")],
                    feed_version(next),
                )
                    .into_response();
                r.headers_mut()
                    .insert(header::ETAG, format!("\"v{next}\"").parse().unwrap());
                r
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/grow.rss", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, version)
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
    common::write_config(
        dir.path(),
        &format!("[[source]]\nid = \"grow\"\nurl = \"{url}\"\n"),
    );
    let bin = env!("CARGO_BIN_EXE_syndic");
    let mut seen: HashSet<String> = HashSet::new();
    let mut killed = 0;
    // Kills that landed after the host had sent this run its feed and
    // before the run stored that version: mid-ingest, the case under test.
    let mut killed_mid_ingest = 0;
    // One run to the end measures how long a fetch takes on this machine.
    let started = std::time::Instant::now();
    let status = Command::new(bin)
        .current_dir(dir.path())
        .args(["fetch", "grow"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut full = started.elapsed().as_micros() as u64;
    // A fixed LCG spreads the kill moments over 0..that (adjusted as the
    // store grows, so about half the runs are cut short), the same way each run.
    let mut seed: u64 = 0x5eed;
    for round in 0..rounds {
        let served_before = version.load(Ordering::SeqCst);
        let mut child = Command::new(bin)
            .current_dir(dir.path())
            .args(["fetch", "grow"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_micros((seed >> 33) % full.max(1));
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
