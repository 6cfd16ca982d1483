//! Poller benchmark (a bench binary, not a timed test):
//! 2,000 remote sources spread over 20 mock hosts (127.0.0.1 ..
//! 127.0.0.20, one listener each), every feed 50 items. Round 1: every
//! source fetched (all 200); round 2: every source polled again with its
//! validators (all 304). Prints wall time, requests per second, CPU time and
//! peak RSS of the process (the mock hosts run in the same process, so their
//! cost is included), and the politeness violations the mock hosts saw: more
//! than `max_per_host` requests in flight to one host, or a URL requested
//! twice in one round.
//!
//! Data shapes (third argument): `distinct` (every item its own story),
//! `dup10` (5 of each feed's 50 items are the same 5 wire stories, same link
//! and text, in every feed: 10% cross-source duplicates) and `near` (item
//! `i` of every feed is a near-duplicate of story `i`: the same text with
//! its own title suffix, one word changed and its own link, so every item
//! of every feed merges into one of 50 stories).
//!
//! While round 1 runs, a client requests `/feeds/all.rss` from the real
//! router every 20 ms and reports the p99 latency, against the idle p99
//! (measured after round 2).
//!
//! Run: `cargo bench --bench poller` (optionally `-- SOURCES HOSTS SHAPE`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use syndic::app::App;
use syndic::config::Config;
use syndic::ingest::fetch::{DEFAULT_MAX_CONCURRENT, DEFAULT_MAX_PER_HOST};
use syndic::refresh::Outcome;
use syndic::store::Store;

const ITEMS: usize = 50;

#[derive(Default)]
struct HostStats {
    inflight: AtomicUsize,
    max_inflight: AtomicUsize,
}

#[derive(Clone)]
struct Mock {
    host: Arc<HostStats>,
    /// This host's number, its feeds (`/f0` .. `/f{feeds - 1}`) and their
    /// shape: each body is made when asked for, so the 20,000 feeds of the
    /// large run (about 22 KB each) do not sit in the process's memory
    /// beside the daemon's, in the peak RSS it reports.
    index: usize,
    feeds: usize,
    shape: Shape,
    /// URL -> requests this round.
    counts: Arc<Mutex<HashMap<String, u32>>>,
    violations: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
    not_modified: Arc<AtomicU64>,
}

async fn handle(State(mock): State<Mock>, uri: Uri, headers: HeaderMap) -> Response {
    mock.requests.fetch_add(1, Ordering::Relaxed);
    let now = mock.host.inflight.fetch_add(1, Ordering::SeqCst) + 1;
    mock.host.max_inflight.fetch_max(now, Ordering::SeqCst);
    if now > DEFAULT_MAX_PER_HOST {
        mock.violations.fetch_add(1, Ordering::Relaxed);
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let key = format!("{host}{}", uri.path());
    {
        let mut counts = mock.counts.lock().unwrap();
        let n = counts.entry(key).or_insert(0);
        *n += 1;
        if *n > 1 {
            mock.violations.fetch_add(1, Ordering::Relaxed);
        }
    }
    // A little server think time, so requests overlap.
    tokio::time::sleep(Duration::from_millis(2)).await;
    let feed = uri
        .path()
        .strip_prefix("/f")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n < mock.feeds);
    let response = match feed {
        Some(n) => {
            let etag = format!("\"h{}-f{n}-v1\"", mock.index);
            let inm = headers.get("if-none-match").and_then(|v| v.to_str().ok());
            let mut r = if inm == Some(etag.as_str()) {
                mock.not_modified.fetch_add(1, Ordering::Relaxed);
                let mut r = Response::new(Body::empty());
                *r.status_mut() = StatusCode::NOT_MODIFIED;
                r
            } else {
                let mut r = Response::new(Body::from(self::feed(mock.index, n, mock.shape)));
                r.headers_mut()
                    .insert("content-type", "application/rss+xml".parse().unwrap());
                r
            };
            r.headers_mut().insert("etag", etag.parse().unwrap());
            r
        }
        None => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    };
    mock.host.inflight.fetch_sub(1, Ordering::SeqCst);
    response
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Shape {
    Distinct,
    Dup10,
    Near,
}

/// A deterministic text of `words` words drawn from a 5,000-word
/// vocabulary, seeded by `seed`.
fn words(seed: u64, words: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..words)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("w{}", x % 5000)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn feed(host: usize, n: usize, shape: Shape) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel>\
         <title>Host {host} feed {n}</title><link>http://h{host}.example/</link><description>d</description>"
    );
    let feed_seed = ((host as u64) << 32 | n as u64) * 1000;
    for i in 0..ITEMS {
        let (title, link, body) = match shape {
            Shape::Dup10 if i < ITEMS / 10 => (
                format!("Wire story {i}"),
                format!("http://wire.example/story/{i}"),
                words(i as u64 + 1, 40),
            ),
            Shape::Distinct | Shape::Dup10 => (
                format!("Item {i} of feed {n} on host {host}"),
                format!("http://h{host}.example/{n}/{i}"),
                words(feed_seed + i as u64 + 1, 40),
            ),
            Shape::Near => {
                // Story i's text with one word of this feed's own.
                let mut body = words(i as u64 + 1, 40);
                body.push_str(&format!(" h{host}f{n}"));
                (
                    format!("Wire story {i} (host {host} feed {n})"),
                    format!("http://h{host}.example/{n}/{i}"),
                    body,
                )
            }
        };
        xml.push_str(&format!(
            "<item><guid>h{host}-f{n}-i{i}</guid><title>{title}</title>\
             <link>{link}</link>\
             <description>&lt;p&gt;{body}.&lt;/p&gt;</description>\
             <pubDate>Mon, 02 Mar 2026 {:02}:{:02}:00 GMT</pubDate></item>",
            i % 24,
            n % 60
        ));
    }
    xml.push_str("</channel></rss>");
    xml
}

/// Requests `url` every 20 ms until `stop`, and returns the latencies.
async fn sample_latency(
    url: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
    at_most: usize,
) -> Vec<Duration> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    while !stop.load(Ordering::Relaxed) && out.len() < at_most {
        let started = Instant::now();
        if let Ok(r) = client.get(&url).send().await {
            let _ = r.bytes().await;
            out.push(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    out
}

fn p99(samples: &mut [Duration]) -> String {
    if samples.is_empty() {
        return "-".into();
    }
    samples.sort();
    let at = (samples.len() * 99).div_ceil(100).saturating_sub(1);
    format!(
        "{:.1} ms (n={}, max {:.1} ms)",
        samples[at].as_secs_f64() * 1000.0,
        samples.len(),
        samples[samples.len() - 1].as_secs_f64() * 1000.0
    )
}

/// (user+system CPU seconds, peak RSS in KiB) of this process.
fn usage() -> (f64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces), 1-based 14, 15.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let cpu = (ticks(11) + ticks(12)) / 100.0; // CLK_TCK is 100 on Linux
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (cpu, hwm)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let sources: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let hosts: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let shape = match args.get(2).map(String::as_str) {
        None | Some("distinct") => Shape::Distinct,
        Some("dup10") => Shape::Dup10,
        Some("near") => Shape::Near,
        Some(other) => panic!("shape `{other}`: distinct, dup10 or near"),
    };
    let per_host = sources.div_ceil(hosts);

    let violations = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let not_modified = Arc::new(AtomicU64::new(0));
    let counts = Arc::new(Mutex::new(HashMap::new()));
    let mut host_stats = Vec::new();
    let mut urls = Vec::new();
    for h in 0..hosts {
        let stats = Arc::new(HostStats::default());
        host_stats.push(stats.clone());
        let mock = Mock {
            host: stats,
            index: h,
            feeds: per_host,
            shape,
            counts: counts.clone(),
            violations: violations.clone(),
            requests: requests.clone(),
            not_modified: not_modified.clone(),
        };
        let ip = format!("127.0.0.{}", h + 1);
        let listener = tokio::net::TcpListener::bind(format!("{ip}:0"))
            .await
            .expect("bind a 127.0.0.x address (Linux routes all of 127/8 to lo)");
        let addr = listener.local_addr().unwrap();
        let app = Router::new().fallback(handle).with_state(mock);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        for n in 0..per_host {
            urls.push(format!("http://{addr}/f{n}"));
        }
    }
    urls.truncate(sources);

    let mut text = String::from(
        "[daemon]\ncontact = \"mailto:bench@example.org\"\n[defaults]\nrefresh = \"1h\"\nmin_interval = \"1h\"\n",
    );
    for (i, url) in urls.iter().enumerate() {
        text.push_str(&format!("[[source]]\nid = \"s{i}\"\nurl = \"{url}\"\n"));
    }
    text.push_str("[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n");
    let config = Config::parse(&text, Path::new("/nonexistent/feeds.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let app = App::new(config, store).unwrap();
    let ids: Vec<String> = (0..sources).map(|i| format!("s{i}")).collect();
    app.render_feeds(None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let feed_url = format!("http://{}/feeds/all.rss", listener.local_addr().unwrap());
    let router = syndic::serve::public_router(app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    println!(
        "poller bench: {sources} sources, {hosts} hosts, {ITEMS} items per feed, shape {shape:?}, \
         caps: {DEFAULT_MAX_CONCURRENT} global, {DEFAULT_MAX_PER_HOST} per host"
    );
    println!(
        "| round | wall s | requests | req/s | CPU s | peak RSS MiB | outcomes | politeness violations |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut latencies = Vec::new();
    for round in ["1 (all 200)", "2 (all 304)"] {
        counts.lock().unwrap().clear();
        let req_before = requests.load(Ordering::Relaxed);
        let viol_before = violations.load(Ordering::Relaxed);
        let (cpu_before, _) = usage();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = tokio::spawn(sample_latency(feed_url.clone(), stop.clone(), usize::MAX));
        let started = Instant::now();
        // Every source at once, as a scheduler tick storm would: the caps
        // must turn this into a polite trickle per host.
        let outcomes = futures_util::future::join_all(ids.iter().map(|id| {
            let app = app.clone();
            async move { app.refresh_source(id, true).await }
        }))
        .await;
        let wall = started.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let mut busy = sampler.await.unwrap();
        latencies.push((round, p99(&mut busy)));
        let (cpu_after, rss) = usage();
        let sent = requests.load(Ordering::Relaxed) - req_before;
        let mut kinds: HashMap<&str, usize> = HashMap::new();
        for o in &outcomes {
            let k = match o {
                Some(Outcome::Refreshed { .. }) => "200",
                Some(Outcome::NotModified) => "304",
                Some(Outcome::Failed(_)) => "failed",
                Some(_) => "other",
                None => "skipped",
            };
            *kinds.entry(k).or_default() += 1;
        }
        // What failed, in a few words (the first of each cause).
        let mut causes: Vec<&str> = outcomes
            .iter()
            .filter_map(|o| match o {
                Some(Outcome::Failed(cause)) => Some(cause.as_str()),
                _ => None,
            })
            .collect();
        causes.sort();
        causes.dedup();
        for cause in causes.iter().take(3) {
            eprintln!("round {round}: failed: {cause}");
        }
        let mut kinds: Vec<String> = kinds.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        kinds.sort();
        println!(
            "| {round} | {wall:.2} | {sent} | {:.0} | {:.2} | {:.1} | {} | {} |",
            sent as f64 / wall,
            cpu_after - cpu_before,
            rss as f64 / 1024.0,
            kinds.join(", "),
            violations.load(Ordering::Relaxed) - viol_before,
        );
    }
    let never = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut idle = sample_latency(feed_url.clone(), never, 200).await;
    for (round, p) in latencies {
        println!("/feeds/all.rss p99 while round {round} ran: {p}");
    }
    println!(
        "/feeds/all.rss p99 idle (after round 2): {}",
        p99(&mut idle)
    );
    let max_host = host_stats
        .iter()
        .map(|h| h.max_inflight.load(Ordering::SeqCst))
        .max()
        .unwrap_or(0);
    println!(
        "most requests in flight to one host: {max_host} (cap {DEFAULT_MAX_PER_HOST}); \
         304s answered: {}; items stored: {}; flushes to disk: {} (group commit)",
        not_modified.load(Ordering::Relaxed),
        app.store.item_count(),
        app.store.flushes_made()
    );
    let (_, digest_bytes) = app.store.digest_map_stats();
    let filter = app.store.filter_stats();
    println!(
        "in-memory indexes: {:.1} MiB (index filter {:.1} MiB for {} keys, digest map {:.1} MiB)",
        app.store.index_memory_bytes() as f64 / 1048576.0,
        filter.bytes as f64 / 1048576.0,
        filter.keys,
        digest_bytes as f64 / 1048576.0
    );
}
