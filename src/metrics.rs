//! Counters the daemon keeps while it runs, and their Prometheus text
//! exposition (format 0.0.4) for `/metrics`.
//!
//! The counters live in the daemon's `App` (refreshes, 304s,
//! renders, requests by status, bytes served); the rest is read at scrape
//! time from what the store already keeps (each source's poll state and item
//! count, the store's size) and from the rendered feeds. Poll-state fields
//! that other parts of syndic may add (bytes fetched, bytes saved by 304s)
//! are read by name from the state's serialized form, so a store written by
//! an older or newer syndic never breaks a scrape.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::model::PollState;
use crate::refresh::Outcome;

/// In-process counters since start.
pub struct Metrics {
    started: Instant,
    sources: Mutex<HashMap<String, SourceCounters>>,
    /// Per feed, in shards by thread: each serving thread counts its
    /// requests under a lock no other thread is likely to hold (one shared
    /// lock cost 2.7% of a 304's CPU); a read adds the shards up.
    feeds: [Mutex<FeedShard>; FEED_SHARDS],
    /// The last count of stored items: when, how long it took, the count.
    items_stored: Mutex<Option<(Instant, std::time::Duration, usize)>>,
    /// Set when a refresh changed items since that count.
    items_changed: std::sync::atomic::AtomicBool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceCounters {
    /// Refreshes that reached the source (not-due and skipped ones excluded).
    pub polls: u64,
    pub not_modified: u64,
    pub failures: u64,
    /// Body bytes of the 200 responses that were stored, since start.
    pub fetched_bytes: u64,
}

const FEED_SHARDS: usize = 8;

/// This thread's shard of the feed counters (threads take them in turn).
fn shard() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % FEED_SHARDS;
    }
    SHARD.with(|s| *s)
}

type FeedShard = HashMap<String, FeedCounters>;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeedCounters {
    pub renders: u64,
    /// Responses by HTTP status.
    pub requests: BTreeMap<u16, u64>,
    pub bytes_served: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            sources: Mutex::default(),
            feeds: Default::default(),
            items_stored: Mutex::default(),
            items_changed: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl Metrics {
    pub fn record_refresh(&self, source: &str, outcome: &Outcome) {
        let Ok(mut sources) = self.sources.lock() else {
            return;
        };
        let counters = sources.entry(source.to_string()).or_default();
        match outcome {
            // Gone: returned on every tick after a 410, without a request.
            Outcome::NotDue { .. } | Outcome::Gone => {}
            // 429/503 with Retry-After: a poll, not a failure.
            Outcome::RetryLater { .. } => counters.polls += 1,
            Outcome::NotModified => {
                counters.polls += 1;
                counters.not_modified += 1;
            }
            Outcome::Refreshed { .. } => counters.polls += 1,
            Outcome::Failed(_) => {
                counters.polls += 1;
                counters.failures += 1;
            }
        }
    }

    /// Adds the body size of a 200 response to the source's total.
    pub fn record_fetched_bytes(&self, source: &str, bytes: u64) {
        if let Ok(mut sources) = self.sources.lock() {
            sources.entry(source.to_string()).or_default().fetched_bytes += bytes;
        }
    }

    /// The calling thread's shard of the feed counters, locked.
    fn feeds_here(&self) -> Option<std::sync::MutexGuard<'_, FeedShard>> {
        self.feeds.get(shard())?.lock().ok()
    }

    pub fn record_render(&self, feed: &str) {
        if let Some(mut feeds) = self.feeds_here() {
            feeds.entry(feed.to_string()).or_default().renders += 1;
        }
    }

    pub fn record_request(&self, feed: &str, status: u16, bytes: u64) {
        if let Some(mut feeds) = self.feeds_here() {
            // Looked up before it is inserted: no key copied per request.
            if !feeds.contains_key(feed) {
                feeds.insert(feed.to_string(), FeedCounters::default());
            }
            let Some(counters) = feeds.get_mut(feed) else {
                return;
            };
            *counters.requests.entry(status).or_default() += 1;
            counters.bytes_served += bytes;
        }
    }

    pub fn source(&self, id: &str) -> SourceCounters {
        self.sources
            .lock()
            .ok()
            .and_then(|s| s.get(id).cloned())
            .unwrap_or_default()
    }

    pub fn feed(&self, name: &str) -> FeedCounters {
        let mut total = FeedCounters::default();
        for shard in &self.feeds {
            let Ok(feeds) = shard.lock() else { continue };
            let Some(counters) = feeds.get(name) else {
                continue;
            };
            total.renders += counters.renders;
            total.bytes_served += counters.bytes_served;
            for (status, n) in &counters.requests {
                *total.requests.entry(*status).or_default() += n;
            }
        }
        total
    }

    /// Notes that stored items changed (the count is stale).
    pub fn mark_items_changed(&self) {
        self.items_changed
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The stored item count. Counting is a scan of the store, so it is
    /// done once, then again only when items changed, and no more often
    /// than keeps counting under 1% of the time (a count that took 1 s is
    /// redone after 100 s at the earliest): an idle daemon never rescans.
    pub fn items_stored(&self, count: impl FnOnce() -> usize) -> usize {
        use std::sync::atomic::Ordering;
        let Ok(mut cached) = self.items_stored.lock() else {
            return count();
        };
        if let Some((at, took, n)) = *cached
            && !should_recount(
                self.items_changed.load(Ordering::Relaxed),
                at.elapsed(),
                took,
            )
        {
            return n;
        }
        self.items_changed.store(false, Ordering::Relaxed);
        let started = Instant::now();
        let n = count();
        *cached = Some((Instant::now(), started.elapsed(), n));
        n
    }

    pub fn uptime_seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

/// Whether to count stored items again: only after a change, and only once
/// the time since the last count is 100 times what that count took.
pub fn should_recount(
    changed: bool,
    since_last: std::time::Duration,
    last_took: std::time::Duration,
) -> bool {
    changed && since_last >= last_took.saturating_mul(100)
}

/// What a scrape reports about one source.
#[derive(Debug, Default)]
pub struct SourceSample {
    pub id: String,
    pub state: PollState,
    pub items: usize,
    pub counters: SourceCounters,
}

/// What a scrape reports about one output feed.
#[derive(Debug, Default)]
pub struct FeedSample {
    pub name: String,
    pub items: usize,
    pub counters: FeedCounters,
}

/// Everything one scrape prints.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub sources: Vec<SourceSample>,
    pub feeds: Vec<FeedSample>,
    pub uptime_seconds: f64,
    pub store_bytes: u64,
    /// Memory of the store's in-memory dedup indexes (filter, digest map).
    pub store_index_bytes: u64,
    pub items_stored: Option<usize>,
    /// Whether the store takes writes (`None`: not known, not printed).
    pub store_writable: Option<bool>,
    /// Webhook deliveries not yet answered 2xx.
    pub webhook_deliveries_owed: usize,
    /// WebSub subscriptions by state (`active`, `pending`,
    /// `unsubscribing`, `failed`).
    pub websub_subscriptions: BTreeMap<&'static str, usize>,
}

/// The Prometheus text exposition of `snap`: a pure function.
pub fn exposition(snap: &Snapshot) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{labels} {}", number(value));
        }
    };
    let src = |f: &dyn Fn(&SourceSample) -> Option<f64>| -> Vec<(String, f64)> {
        snap.sources
            .iter()
            .filter_map(|s| f(s).map(|v| (labels(&[("source", &s.id)]), v)))
            .collect()
    };
    family(
        "syndic_source_up",
        "gauge",
        "1 when the last refresh of the source succeeded (200, 304 or local), 0 when it failed.",
        src(&|s| {
            s.state.last_status.as_ref().map(|_| {
                if s.state.consecutive_failures == 0 {
                    1.0
                } else {
                    0.0
                }
            })
        }),
    );
    family(
        "syndic_source_last_status_code",
        "gauge",
        "HTTP status of the last poll (0 for a local source or an error without a status).",
        src(&|s| {
            s.state
                .last_status
                .as_ref()
                .map(|_| s.state.last_code.map_or(0.0, f64::from))
        }),
    );
    family(
        "syndic_source_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last successful refresh.",
        src(&|s| s.state.last_success.map(unix)),
    );
    family(
        "syndic_source_next_poll_timestamp_seconds",
        "gauge",
        "Unix time the source is next due.",
        src(&|s| s.state.next_poll_at.map(unix)),
    );
    family(
        "syndic_source_consecutive_failures",
        "gauge",
        "Failed refreshes since the last success.",
        src(&|s| Some(s.state.consecutive_failures as f64)),
    );
    family(
        "syndic_source_items",
        "gauge",
        "Items stored for the source.",
        src(&|s| Some(s.items as f64)),
    );
    family(
        "syndic_source_polls_total",
        "counter",
        "Refreshes that reached the source since start.",
        src(&|s| Some(s.counters.polls as f64)),
    );
    family(
        "syndic_source_not_modified_total",
        "counter",
        "Polls answered 304 Not Modified since start.",
        src(&|s| Some(s.counters.not_modified as f64)),
    );
    family(
        "syndic_source_failures_total",
        "counter",
        "Failed refreshes since start.",
        src(&|s| Some(s.counters.failures as f64)),
    );
    family(
        "syndic_source_not_modified_ratio",
        "gauge",
        "Share of polls since start answered 304 (0 to 1).",
        src(&|s| {
            (s.counters.polls > 0).then(|| s.counters.not_modified as f64 / s.counters.polls as f64)
        }),
    );
    family(
        "syndic_source_fetched_bytes_total",
        "counter",
        "Body bytes of 200 responses from the source, since start (needs the poll state's last_body_bytes).",
        src(&|s| Some(s.counters.fetched_bytes as f64)),
    );
    family(
        "syndic_source_last_body_bytes",
        "gauge",
        "Size of the source's last 200 body (what each 304 saves), as recorded in its poll state.",
        src(&|s| Some(s.state.last_body_bytes as f64)),
    );
    family(
        "syndic_source_saved_bytes_total",
        "counter",
        "Body bytes not downloaded thanks to 304 responses, as recorded in its poll state.",
        src(&|s| Some(s.state.bytes_saved as f64)),
    );
    let feeds = |f: &dyn Fn(&FeedSample) -> f64| -> Vec<(String, f64)> {
        snap.feeds
            .iter()
            .map(|s| (labels(&[("feed", &s.name)]), f(s)))
            .collect()
    };
    family(
        "syndic_feed_items",
        "gauge",
        "Items in the published feed.",
        feeds(&|f| f.items as f64),
    );
    family(
        "syndic_feed_renders_total",
        "counter",
        "Renderings of the feed that changed its bytes, since start.",
        feeds(&|f| f.counters.renders as f64),
    );
    family(
        "syndic_feed_requests_total",
        "counter",
        "Requests for the feed (any format) by HTTP status, since start.",
        snap.feeds
            .iter()
            .flat_map(|f| {
                f.counters.requests.iter().map(|(status, n)| {
                    (
                        labels(&[("feed", &f.name), ("status", &status.to_string())]),
                        *n as f64,
                    )
                })
            })
            .collect(),
    );
    family(
        "syndic_feed_served_bytes_total",
        "counter",
        "Body bytes sent for the feed (after compression), since start.",
        feeds(&|f| f.counters.bytes_served as f64),
    );
    family(
        "syndic_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
        vec![(String::new(), snap.uptime_seconds)],
    );
    family(
        "syndic_store_size_bytes",
        "gauge",
        "Bytes the store takes on disk.",
        vec![(String::new(), snap.store_bytes as f64)],
    );
    family(
        "syndic_store_index_memory_bytes",
        "gauge",
        "Bytes of memory the store's in-memory dedup indexes hold (index filter and digest map).",
        vec![(String::new(), snap.store_index_bytes as f64)],
    );
    if let Some(items) = snap.items_stored {
        family(
            "syndic_store_items",
            "gauge",
            "Items in the store (recounted after changes, at most 1% of the time).",
            vec![(String::new(), items as f64)],
        );
    }
    if let Some(writable) = snap.store_writable {
        family(
            "syndic_store_writable",
            "gauge",
            "1 when the store takes writes, 0 while they fail (a full disk, an I/O error; retried by itself).",
            vec![(String::new(), if writable { 1.0 } else { 0.0 })],
        );
    }
    family(
        "syndic_webhook_deliveries_owed",
        "gauge",
        "Webhook deliveries stored and not yet answered 2xx (retried with backoff).",
        vec![(String::new(), snap.webhook_deliveries_owed as f64)],
    );
    family(
        "syndic_websub_subscriptions",
        "gauge",
        "WebSub subscriptions of the sources, by state.",
        ["active", "pending", "unsubscribing", "failed"]
            .into_iter()
            .map(|state| {
                let count = snap.websub_subscriptions.get(state).copied().unwrap_or(0);
                (labels(&[("state", state)]), count as f64)
            })
            .collect(),
    );
    out
}

/// `{a="x",b="y"}` with values escaped as the text format requires.
fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else if value.is_nan() {
        "NaN".into()
    } else {
        format!("{value}")
    }
}

fn unix(at: DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1000.0
}

/// `200`, `304`, `HTTP 404 ...` -> the status; anything else (local, an
/// error without a status) -> 0.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(
            labels(&[("feed", "a\"b\\c\nd")]),
            "{feed=\"a\\\"b\\\\c\\nd\"}"
        );
    }

    #[test]
    fn counters_follow_outcomes() {
        let m = Metrics::default();
        m.record_refresh("a", &Outcome::NotModified);
        m.record_refresh("a", &Outcome::Failed("x".into()));
        m.record_refresh(
            "a",
            &Outcome::NotDue {
                next_poll_at: Utc::now(),
            },
        );
        let mut counted = 0;
        assert_eq!(
            m.items_stored(|| {
                counted += 1;
                5
            }),
            5
        );
        assert_eq!(
            m.items_stored(|| {
                counted += 1;
                6
            }),
            5,
            "no recount while nothing changed"
        );
        m.mark_items_changed();
        let ms = std::time::Duration::from_millis;
        assert!(!should_recount(false, ms(10_000), ms(1)));
        assert!(!should_recount(true, ms(99), ms(1)));
        assert!(should_recount(true, ms(100), ms(1)));
        assert!(!should_recount(true, ms(60_000), ms(1_000)));
        assert!(should_recount(true, ms(100_000), ms(1_000)));
        assert_eq!(counted, 1);
        m.record_request("f", 200, 10);
        m.record_request("f", 304, 0);
        m.record_request("f", 200, 5);
        assert_eq!(
            m.source("a"),
            SourceCounters {
                polls: 2,
                not_modified: 1,
                failures: 1,
                fetched_bytes: 0
            }
        );
        let f = m.feed("f");
        assert_eq!(f.requests.get(&200), Some(&2));
        assert_eq!(f.requests.get(&304), Some(&1));
        assert_eq!(f.bytes_served, 15);
    }

    #[test]
    fn feed_counters_add_up_across_threads() {
        let m = Metrics::default();
        // More threads than shards: some share one, all must be counted.
        std::thread::scope(|scope| {
            for _ in 0..FEED_SHARDS + 3 {
                scope.spawn(|| {
                    for _ in 0..100 {
                        m.record_request("f", 200, 2);
                    }
                    m.record_request("f", 304, 0);
                    m.record_render("f");
                });
            }
        });
        let f = m.feed("f");
        let threads = FEED_SHARDS as u64 + 3;
        assert_eq!(f.requests.get(&200), Some(&(100 * threads)));
        assert_eq!(f.requests.get(&304), Some(&threads));
        assert_eq!(f.bytes_served, 200 * threads);
        assert_eq!(f.renders, threads);
        assert_eq!(m.feed("other"), FeedCounters::default());
    }

    #[test]
    fn exposition_parses_and_has_the_values() {
        let snap = Snapshot {
            sources: vec![SourceSample {
                id: "blog".into(),
                state: PollState {
                    last_status: Some("304".into()),
                    last_code: Some(304),
                    consecutive_failures: 0,
                    last_success: DateTime::from_timestamp(1_700_000_000, 0),
                    last_body_bytes: 1200,
                    bytes_saved: 3600,
                    ..PollState::default()
                },
                items: 7,
                counters: SourceCounters {
                    polls: 4,
                    not_modified: 3,
                    failures: 0,
                    fetched_bytes: 4096,
                },
            }],
            feeds: vec![FeedSample {
                name: "all".into(),
                items: 5,
                counters: FeedCounters {
                    renders: 2,
                    requests: BTreeMap::from([(200, 3), (304, 1)]),
                    bytes_served: 1234,
                },
            }],
            uptime_seconds: 12.5,
            store_bytes: 4096,
            store_index_bytes: 2048,
            items_stored: Some(7),
            store_writable: Some(false),
            webhook_deliveries_owed: 2,
            websub_subscriptions: BTreeMap::from([("active", 3), ("failed", 1)]),
        };
        let text = exposition(&snap);
        let lines = text.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
        let value = |name: &str, label: Option<(&str, &str)>| -> f64 {
            let s = scrape
                .samples
                .iter()
                .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
                .unwrap_or_else(|| panic!("{name} missing"));
            match s.value {
                prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => panic!("unexpected type"),
            }
        };
        assert_eq!(value("syndic_source_items", Some(("source", "blog"))), 7.0);
        assert_eq!(value("syndic_source_last_status_code", None), 304.0);
        assert_eq!(value("syndic_source_not_modified_ratio", None), 0.75);
        assert_eq!(
            value("syndic_source_last_success_timestamp_seconds", None),
            1_700_000_000.0
        );
        assert_eq!(
            value("syndic_feed_requests_total", Some(("status", "304"))),
            1.0
        );
        assert_eq!(value("syndic_feed_served_bytes_total", None), 1234.0);
        assert_eq!(value("syndic_uptime_seconds", None), 12.5);
        assert_eq!(value("syndic_source_fetched_bytes_total", None), 4096.0);
        assert_eq!(value("syndic_source_last_body_bytes", None), 1200.0);
        assert_eq!(value("syndic_source_saved_bytes_total", None), 3600.0);
        assert_eq!(value("syndic_store_index_memory_bytes", None), 2048.0);
        assert_eq!(value("syndic_store_items", None), 7.0);
        assert_eq!(value("syndic_store_writable", None), 0.0);
        assert_eq!(value("syndic_webhook_deliveries_owed", None), 2.0);
        let websub = |state: &str| {
            scrape
                .samples
                .iter()
                .find(|s| {
                    s.metric == "syndic_websub_subscriptions"
                        && s.labels.get("state") == Some(state)
                })
                .map(|s| match s.value {
                    prometheus_parse::Value::Gauge(v) => v,
                    _ => f64::NAN,
                })
        };
        assert_eq!(websub("active"), Some(3.0));
        assert_eq!(websub("failed"), Some(1.0));
        assert_eq!(websub("pending"), Some(0.0));
        // No next poll known: the sample is left out rather than made up.
        assert!(
            !scrape
                .samples
                .iter()
                .any(|s| s.metric == "syndic_source_next_poll_timestamp_seconds")
        );
    }
}
