//! The poller against a recording mock feed host on 127.0.0.1: one test per
//! point of FETCHING.md. Each test asserts the exact request headers the
//! host saw and the earliest time the next request is allowed, with the
//! clock injected (`Refresher::refresh_at`), never with sleeps.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use common::feed::at as hour_of;
use common::{ConfigFile, Feed, Item, MockHost, Reply, Seen};
use syndic::app::App;
use syndic::config::{Config, SourceConfig};
use syndic::ingest::fetch::{FetchError, FetchOutcome, FetchSettings, Fetcher, Reach, Validators};
use syndic::ingest::poll::{self, Policy};
use syndic::model::PollReason;
use syndic::refresh::{Outcome, Refresher, SourceHealth};
use syndic::store::Store;

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

const CONTACT: &str = "mailto:ops@example.org";

fn settings() -> FetchSettings {
    FetchSettings {
        user_agent: FetchSettings::user_agent(Some(CONTACT)),
        connect_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(10),
        max_body_bytes: 1024 * 1024,
        max_decoded_bytes: 4 * 1024 * 1024,
        max_concurrent: 16,
        max_per_host: 2,
    }
}

/// An RSS feed of `items` items (item `i` on Monday 2 March 2026 at `i`
/// mod 10 o'clock) with `channel_extra` in its channel.
fn rss(items: usize, channel_extra: &str) -> String {
    Feed::rss("Mock", "http://mock.example/")
        .xmlns("xmlns:sy=\"http://purl.org/rss/1.0/modules/syndication/\"")
        .channel(channel_extra)
        .items((0..items).map(|i| {
            Item::new(&format!("item-{i}"), &format!("Item {i}"))
                .link(&format!("http://mock.example/{i}"))
                .date(hour_of(2026, 3, 2, (i % 10) as u32))
        }))
        .render()
}

/// A config with the given (id, url) sources, refresh 1h, min_interval 1h.
fn config(sources: &[(&str, &str)], extra_defaults: &str) -> Config {
    let mut file = ConfigFile::bare()
        .daemon(&format!("contact = \"{CONTACT}\""))
        .defaults("refresh = \"1h\"\nmin_interval = \"1h\"")
        .defaults(extra_defaults)
        .all_feed("[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n");
    for (id, url) in sources {
        file = file.remote(id, url);
    }
    file.parse()
}

fn one_source(url: &str) -> SourceConfig {
    config(&[("s", url)], "").sources.remove(0)
}

struct Rig {
    dir: tempfile::TempDir,
    store: Option<Store>,
    fetcher: Fetcher,
}

impl Rig {
    fn new() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        Rig {
            dir,
            store: Some(store),
            fetcher: Fetcher::new(&settings()).unwrap(),
        }
    }

    fn store(&self) -> &Store {
        self.store.as_ref().unwrap()
    }

    async fn refresh(&self, source: &SourceConfig, now: DateTime<Utc>) -> Outcome {
        self.refresh_with(source, false, now).await
    }

    async fn refresh_with(
        &self,
        source: &SourceConfig,
        force: bool,
        now: DateTime<Utc>,
    ) -> Outcome {
        Refresher {
            store: self.store(),
            fetcher: &self.fetcher,
            public_base: "http://feeds.test",
        }
        .refresh_at(source, force, now)
        .await
    }

    fn state(&self, id: &str) -> syndic::model::PollState {
        self.store().poll_state(id).unwrap().unwrap()
    }

    /// Closes the store and the HTTP client and opens them again: a restart.
    fn restart(&mut self) {
        drop(self.store.take());
        self.store = Some(Store::open(&self.dir.path().join("store")).unwrap());
        self.fetcher = Fetcher::new(&settings()).unwrap();
    }
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const T0: &str = "2026-03-02T10:00:00Z"; // a Monday

fn at(offset_secs: i64) -> DateTime<Utc> {
    t(T0) + chrono::Duration::seconds(offset_secs)
}

const HOUR: i64 = 3600;

// ---------------------------------------------------------------------------
// 1. Validators echoed byte for byte
// ---------------------------------------------------------------------------

#[tokio::test]
async fn validators_are_echoed_byte_for_byte() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    let etag = "W/\"abc-123\"  ;odd";
    let lm = "Mon, 02 Mar 2026 09:00:00 GMT";
    mock.script(
        "/feed",
        vec![
            Reply::ok(rss(2, ""))
                .header("etag", etag)
                .header("last-modified", lm),
            Reply::status(304),
        ],
    );
    let rig = Rig::new();
    let source = one_source(&format!("http://{addr}/feed"));
    assert!(matches!(
        rig.refresh(&source, at(0)).await,
        Outcome::Refreshed { new: 2, .. }
    ));
    let first = mock.last();
    assert_eq!(first.get("if-none-match"), None);
    assert_eq!(first.get("if-modified-since"), None);
    assert_eq!(rig.state("s").etag.as_deref(), Some(etag));
    assert_eq!(rig.state("s").last_modified.as_deref(), Some(lm));

    assert_eq!(rig.refresh(&source, at(HOUR)).await, Outcome::NotModified);
    let second = mock.last();
    assert_eq!(second.get("if-none-match"), Some(etag));
    assert_eq!(second.get("if-modified-since"), Some(lm));
}

// ---------------------------------------------------------------------------
// 2. Never invent If-Modified-Since
// ---------------------------------------------------------------------------

#[tokio::test]
async fn if_modified_since_is_never_invented() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    // Items carry dates, the response carries no validator at all.
    mock.script(
        "/feed",
        vec![Reply::ok(rss(
            3,
            "<lastBuildDate>Mon, 02 Mar 2026 09:00:00 GMT</lastBuildDate>",
        ))],
    );
    let rig = Rig::new();
    let source = one_source(&format!("http://{addr}/feed"));
    for i in 0..3 {
        rig.refresh(&source, at(i * HOUR)).await;
        let seen = mock.last();
        assert_eq!(seen.get("if-modified-since"), None, "poll {i}");
        assert_eq!(seen.get("if-none-match"), None, "poll {i}");
    }
    assert_eq!(mock.count(), 3);
}

// ---------------------------------------------------------------------------
// 3. Each validator updated independently on every 200 and 304
// ---------------------------------------------------------------------------

#[tokio::test]
async fn validators_update_independently_on_200_and_304() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    let lm = "Mon, 02 Mar 2026 09:00:00 GMT";
    mock.script(
        "/feed",
        vec![
            Reply::ok(rss(2, ""))
                .header("etag", "\"a\"")
                .header("last-modified", lm),
            // 304 with a new ETag only: the ETag changes, Last-Modified stays.
            Reply::status(304).header("etag", "\"b\""),
            // Same body, same Last-Modified, new ETag.
            Reply::ok(rss(2, ""))
                .header("etag", "\"c\"")
                .header("last-modified", lm),
            // A 200 without Last-Modified: the old one must not be sent again.
            Reply::ok(rss(2, "")).header("etag", "\"d\""),
            Reply::status(304),
        ],
    );
    let rig = Rig::new();
    let source = one_source(&format!("http://{addr}/feed"));
    let expect = [
        (None, None),
        (Some("\"a\""), Some(lm)),
        (Some("\"b\""), Some(lm)),
        (Some("\"c\""), Some(lm)),
        (Some("\"d\""), None),
    ];
    for (i, (inm, ims)) in expect.iter().enumerate() {
        rig.refresh(&source, at(i as i64 * HOUR)).await;
        let seen = mock.last();
        assert_eq!(seen.get("if-none-match"), *inm, "request {i}");
        assert_eq!(seen.get("if-modified-since"), *ims, "request {i}");
    }
}

// ---------------------------------------------------------------------------
// 4. Validators only from a response whose items were stored
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_parse_failure_keeps_the_old_validators_and_items() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script(
        "/feed",
        vec![
            Reply::ok(rss(2, ""))
                .header("etag", "\"good\"")
                .header("last-modified", "Mon, 02 Mar 2026 09:00:00 GMT"),
            Reply::ok("<html><body>maintenance</body></html>")
                .header("etag", "\"broken\"")
                .header("last-modified", "Mon, 02 Mar 2026 11:00:00 GMT"),
            Reply::status(304),
        ],
    );
    let rig = Rig::new();
    let source = one_source(&format!("http://{addr}/feed"));
    rig.refresh(&source, at(0)).await;
    let failed = rig.refresh(&source, at(HOUR)).await;
    assert!(
        matches!(&failed, Outcome::Failed(c) if c.starts_with("parse ")),
        "{failed:?}"
    );
    let state = rig.state("s");
    assert_eq!(state.etag.as_deref(), Some("\"good\""));
    assert_eq!(
        state.last_modified.as_deref(),
        Some("Mon, 02 Mar 2026 09:00:00 GMT")
    );
    assert_eq!(rig.store().source_item_count("s"), 2);
    // The next poll revalidates the stored items, not the broken body.
    rig.refresh(
        &source,
        at(HOUR)
            + chrono::Duration::from_std(poll::backoff(&Policy::for_source(&source), 1, 0.999))
                .unwrap(),
    )
    .await;
    assert_eq!(mock.last().get("if-none-match"), Some("\"good\""));
}

// ---------------------------------------------------------------------------
// 5. Minimum interval, persisted across restarts; first polls spread
// ---------------------------------------------------------------------------

#[tokio::test]
async fn min_interval_is_persisted_and_a_restart_does_not_shorten_it() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script(
        "/feed",
        vec![
            Reply::ok(rss(1, "")).header("etag", "\"e\""),
            Reply::status(304),
        ],
    );
    let mut rig = Rig::new();
    // Polled every 5 minutes by the config, but the floor is one hour.
    let mut source = one_source(&format!("http://{addr}/feed"));
    source.refresh = syndic::config::Schedule::Every(Duration::from_secs(300));
    rig.refresh(&source, at(0)).await;
    assert_eq!(rig.state("s").next_poll_at, Some(at(HOUR)));
    assert_eq!(
        rig.refresh(&source, at(HOUR - 1)).await,
        Outcome::NotDue {
            next_poll_at: at(HOUR)
        }
    );
    assert_eq!(mock.count(), 1);

    rig.restart();
    assert_eq!(rig.state("s").next_poll_at, Some(at(HOUR)));
    assert_eq!(
        rig.refresh(&source, at(600)).await,
        Outcome::NotDue {
            next_poll_at: at(HOUR)
        }
    );
    assert_eq!(mock.count(), 1, "a restart must not poll sooner");
    assert_eq!(rig.refresh(&source, at(HOUR)).await, Outcome::NotModified);
    assert_eq!(mock.count(), 2);
    assert_eq!(mock.last().get("if-none-match"), Some("\"e\""));
}

#[test]
fn first_polls_after_start_are_spread_with_jitter() {
    let started = t(T0);
    assert_eq!(poll::start_window(200), Duration::from_millis(150_000));
    let delays: Vec<Duration> = (0..200)
        .map(|i| poll::start_delay(&format!("source-{i}"), started, i, 200))
        .collect();
    assert!(delays.iter().all(|d| *d < Duration::from_millis(150_000)));
    // One slot of 750 ms each: never two at once, at least 500 ms apart.
    for pair in delays.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::from_millis(500), "{pair:?}");
    }
    // Jittered inside the slot, differently at each start.
    let offsets: Vec<Duration> = delays
        .iter()
        .enumerate()
        .map(|(i, d)| *d - Duration::from_millis(750) * i as u32)
        .collect();
    assert!(offsets.iter().filter(|o| o.is_zero()).count() <= 1);
    assert_ne!(
        poll::start_delay("source-0", started, 0, 200),
        poll::start_delay("source-0", started + chrono::Duration::seconds(1), 0, 200)
    );
}

// ---------------------------------------------------------------------------
// 6. Nothing extra: exact URL, no cookies, no Referer, one request per URL
// ---------------------------------------------------------------------------

#[tokio::test]
async fn only_the_configured_url_no_cookies_no_referer() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script(
        "/feed",
        vec![Reply::redirect(302, "/real?x=1").header("set-cookie", "session=abc; Path=/")],
    );
    mock.script(
        "/real",
        vec![Reply::ok(rss(1, "")).header("set-cookie", "track=1")],
    );
    let rig = Rig::new();
    let source = one_source(&format!("http://{addr}/feed?format=rss&a=%20b"));
    rig.refresh(&source, at(0)).await;
    rig.refresh(&source, at(HOUR)).await;
    let seen = mock.seen();
    let paths: Vec<&str> = seen.iter().map(|s| s.path_and_query.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/feed?format=rss&a=%20b",
            "/real?x=1",
            "/feed?format=rss&a=%20b",
            "/real?x=1"
        ]
    );
    for s in &seen {
        assert_eq!(s.get("cookie"), None);
        assert_eq!(s.get("referer"), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_sharing_a_url_cause_one_request() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    let mut slow = Reply::ok(rss(3, "")).header("etag", "\"shared\"");
    slow.delay = Duration::from_millis(200);
    mock.script("/shared", vec![slow]);
    mock.script("/other", vec![Reply::ok(rss(1, ""))]);
    let url = format!("http://{addr}/shared");
    let other = format!("http://{addr}/other");
    let config = config(&[("a", &url), ("b", &url), ("c", &other)], "");
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let app = App::new(config, store).unwrap();
    let outcome = app.refresh_source("a", false).await;
    assert!(
        matches!(outcome, Some(Outcome::Refreshed { new: 3, .. })),
        "{outcome:?}"
    );
    let shared: Vec<Seen> = mock
        .seen()
        .into_iter()
        .filter(|s| s.path_and_query == "/shared")
        .collect();
    assert_eq!(shared.len(), 1, "two sources, one URL, one request");
    assert_eq!(app.store.source_item_count("a"), 3);
    assert_eq!(app.store.source_item_count("b"), 3);
    // b was refreshed with a: its own tick finds it not due.
    assert!(matches!(
        app.refresh_source("b", false).await,
        Some(Outcome::NotDue { .. })
    ));
    assert_eq!(mock.count(), 1);
}

// ---------------------------------------------------------------------------
// 7. Freshness hints
// ---------------------------------------------------------------------------

async fn next_poll_with(resp: Reply) -> (DateTime<Utc>, PollReason) {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script("/feed", vec![resp]);
    let rig = Rig::new();
    let source = one_source(&format!("http://{addr}/feed"));
    let outcome = rig.refresh(&source, at(0)).await;
    assert!(matches!(outcome, Outcome::Refreshed { .. }), "{outcome:?}");
    let state = rig.state("s");
    let next = state.next_poll_at.unwrap();
    // Nothing is sent before it.
    assert!(matches!(
        rig.refresh(&source, next - chrono::Duration::seconds(1))
            .await,
        Outcome::NotDue { .. }
    ));
    assert_eq!(mock.count(), 1);
    (next, state.next_poll_reason)
}

#[tokio::test]
async fn cache_control_max_age_is_not_before() {
    let resp = Reply::ok(rss(1, "")).header("cache-control", "public, max-age=10800");
    assert_eq!(next_poll_with(resp).await, (at(3 * HOUR), PollReason::Hint));
}

#[tokio::test]
async fn expires_is_not_before_measured_from_date() {
    // The server's clock is 5 hours behind ours: Expires - Date counts.
    let resp = Reply::ok(rss(1, ""))
        .header("date", "Mon, 02 Mar 2026 05:00:00 GMT")
        .header("expires", "Mon, 02 Mar 2026 07:00:00 GMT");
    assert_eq!(next_poll_with(resp).await, (at(2 * HOUR), PollReason::Hint));
}

#[tokio::test]
async fn rss_ttl_is_honoured() {
    let resp = Reply::ok(rss(1, "<ttl>240</ttl>"));
    assert_eq!(next_poll_with(resp).await, (at(4 * HOUR), PollReason::Hint));
}

#[tokio::test]
async fn sy_update_period_is_honoured_and_clamped_to_max_interval() {
    let resp = Reply::ok(rss(
        1,
        "<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>",
    ));
    assert_eq!(
        next_poll_with(resp).await,
        (at(12 * HOUR), PollReason::Hint)
    );
    let resp = Reply::ok(rss(1, "<sy:updatePeriod>yearly</sy:updatePeriod>"));
    assert_eq!(
        next_poll_with(resp).await,
        (at(24 * HOUR), PollReason::Hint)
    );
    // A tiny hint never goes below min_interval.
    let resp = Reply::ok(rss(1, "<ttl>1</ttl>")).header("cache-control", "max-age=5");
    assert_eq!(next_poll_with(resp).await, (at(HOUR), PollReason::Interval));
}

#[tokio::test]
async fn skip_hours_and_skip_days_are_honoured() {
    // T0 is Monday 10:00 GMT; 11:00 and 12:00 are skipped.
    let resp = Reply::ok(rss(
        1,
        "<skipHours><hour>11</hour><hour>12</hour></skipHours>",
    ));
    assert_eq!(next_poll_with(resp).await, (at(3 * HOUR), PollReason::Skip));
    let resp = Reply::ok(rss(1, "<skipDays><day>Monday</day></skipDays>"));
    assert_eq!(
        next_poll_with(resp).await,
        (t("2026-03-03T00:00:00Z"), PollReason::Skip)
    );
}

#[tokio::test]
async fn hints_still_hold_on_a_304() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script(
        "/feed",
        vec![
            Reply::ok(rss(1, "<ttl>180</ttl>")).header("etag", "\"t\""),
            Reply::status(304).header("etag", "\"t\""),
        ],
    );
    let rig = Rig::new();
    let source = one_source(&format!("http://{addr}/feed"));
    rig.refresh(&source, at(0)).await;
    assert_eq!(rig.state("s").next_poll_at, Some(at(3 * HOUR)));
    assert_eq!(
        rig.refresh(&source, at(3 * HOUR)).await,
        Outcome::NotModified
    );
    assert_eq!(rig.state("s").next_poll_at, Some(at(6 * HOUR)));
}

// ---------------------------------------------------------------------------
// 8. 429 / 503 with Retry-After
// ---------------------------------------------------------------------------

#[tokio::test]
async fn retry_after_seconds_is_honoured_kept_across_restart_and_not_a_failure() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script(
        "/feed",
        vec![
            Reply::status(429).header("retry-after", "10800"),
            Reply::ok(rss(1, "")),
        ],
    );
    let mut rig = Rig::new();
    let source = one_source(&format!("http://{addr}/feed"));
    assert_eq!(
        rig.refresh(&source, at(0)).await,
        Outcome::RetryLater {
            until: at(3 * HOUR)
        }
    );
    let state = rig.state("s");
    assert_eq!(state.retry_after_until, Some(at(3 * HOUR)));
    assert_eq!(state.next_poll_at, Some(at(3 * HOUR)));
    assert_eq!(state.next_poll_reason, PollReason::RetryAfter);
    assert_eq!(
        state.consecutive_failures, 0,
        "a Retry-After is not a failure"
    );
    // Even `syndic fetch` (force) waits.
    assert_eq!(
        rig.refresh_with(&source, true, at(3 * HOUR - 1)).await,
        Outcome::NotDue {
            next_poll_at: at(3 * HOUR)
        }
    );
    rig.restart();
    assert_eq!(
        rig.refresh_with(&source, true, at(2 * HOUR)).await,
        Outcome::NotDue {
            next_poll_at: at(3 * HOUR)
        }
    );
    assert_eq!(mock.count(), 1);
    assert!(matches!(
        rig.refresh(&source, at(3 * HOUR)).await,
        Outcome::Refreshed { .. }
    ));
    assert_eq!(mock.count(), 2);
    assert_eq!(rig.state("s").retry_after_until, None);
}

#[tokio::test]
async fn retry_after_http_date_on_503_holds_the_url_for_every_source() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script(
        "/feed",
        vec![Reply::status(503).header("retry-after", "Mon, 02 Mar 2026 15:30:00 GMT")],
    );
    mock.script("/other", vec![Reply::ok(rss(1, ""))]);
    let url = format!("http://{addr}/feed");
    let config = config(
        &[
            ("a", &url),
            ("b", &url),
            ("c", &format!("http://{addr}/other")),
        ],
        "",
    );
    let rig = Rig::new();
    let (a, b, c) = (&config.sources[0], &config.sources[1], &config.sources[2]);
    assert_eq!(
        rig.refresh(a, at(0)).await,
        Outcome::RetryLater {
            until: t("2026-03-02T15:30:00Z")
        }
    );
    // b shares the URL: held too, though its own state never saw the 503.
    assert_eq!(
        rig.refresh(b, at(60)).await,
        Outcome::NotDue {
            next_poll_at: t("2026-03-02T15:30:00Z")
        }
    );
    // Scope is the URL, not the host.
    assert!(matches!(
        rig.refresh(c, at(60)).await,
        Outcome::Refreshed { .. }
    ));
    assert_eq!(mock.count(), 2);
}

#[tokio::test]
async fn retry_after_holds_are_restored_by_the_daemon_at_start() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script(
        "/feed",
        vec![
            Reply::status(429).header("retry-after", "86400"),
            Reply::ok(rss(1, "")),
        ],
    );
    let url = format!("http://{addr}/feed");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let app = App::new(
            config(&[("a", &url), ("b", &url)], ""),
            Store::open(&path).unwrap(),
        )
        .unwrap();
        assert!(matches!(
            app.refresh_source("a", true).await,
            Some(Outcome::RetryLater { .. })
        ));
    }
    // After a restart, `b` (which shares the URL) is held by a's state.
    let app = App::new(
        config(&[("a", &url), ("b", &url)], ""),
        Store::open(&path).unwrap(),
    )
    .unwrap();
    let held = app.refresh_source("b", true).await;
    assert!(matches!(held, Some(Outcome::NotDue { .. })), "{held:?}");
    assert_eq!(mock.count(), 1);
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script("/feed", vec![Reply::status(429)]);
    let rig = Rig::new();
    let source = one_source(&format!("http://{addr}/feed"));
    assert!(matches!(
        rig.refresh(&source, at(0)).await,
        Outcome::Failed(_)
    ));
    let state = rig.state("s");
    let wait = poll::backoff(&Policy::for_source(&source), 1, poll::jitter("s", at(0)));
    assert_eq!(
        state.next_poll_at,
        Some(at(0) + chrono::Duration::from_std(wait).unwrap())
    );
    assert_eq!(state.next_poll_reason, PollReason::Backoff);
    assert_eq!(state.consecutive_failures, 1);
}

// ---------------------------------------------------------------------------
// 9. Errors by status
// ---------------------------------------------------------------------------

#[tokio::test]
async fn server_errors_back_off_exponentially_and_reset_on_success() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script(
        "/feed",
        vec![
            Reply::status(500),
            Reply::status(502),
            Reply::status(500),
            Reply::ok(rss(1, "")),
        ],
    );
    let rig = Rig::new();
    let source = one_source(&format!("http://{addr}/feed"));
    let policy = Policy::for_source(&source);
    let mut now = at(0);
    for failures in 1..=3u32 {
        let outcome = rig.refresh(&source, now).await;
        assert!(
            matches!(&outcome, Outcome::Failed(c) if c.contains("HTTP 50")),
            "{outcome:?}"
        );
        let state = rig.state("s");
        assert_eq!(state.consecutive_failures, failures);
        let wait = poll::backoff(&policy, failures, poll::jitter("s", now));
        let base = Duration::from_secs(3600 * 2u64.pow(failures - 1));
        assert!(wait >= base && wait < base + base / 10, "{wait:?}");
        let next = now + chrono::Duration::from_std(wait).unwrap();
        assert_eq!(state.next_poll_at, Some(next));
        assert!(matches!(
            rig.refresh(&source, next - chrono::Duration::seconds(1))
                .await,
            Outcome::NotDue { .. }
        ));
        now = next;
    }
    assert!(matches!(
        rig.refresh(&source, now).await,
        Outcome::Refreshed { .. }
    ));
    let state = rig.state("s");
    assert_eq!(state.consecutive_failures, 0);
    assert_eq!(state.next_poll_at, Some(now + chrono::Duration::hours(1)));
    assert_eq!(mock.count(), 4);
}

#[tokio::test]
async fn network_errors_back_off_up_to_the_cap_and_never_stop() {
    // Port 0: nothing listens there, on any machine (a port freed by the
    // test could be taken by another one meanwhile).
    let addr = "127.0.0.1:0";
    let rig = Rig::new();
    let source = one_source(&format!("http://{addr}/feed"));
    let mut now = at(0);
    for failures in 1..=8u32 {
        let outcome = rig.refresh(&source, now).await;
        assert!(
            matches!(&outcome, Outcome::Failed(c) if c.starts_with("connection refused by 127.0.0.1 — fetch ")),
            "{outcome:?}"
        );
        let state = rig.state("s");
        assert_eq!(state.consecutive_failures, failures);
        let next = state
            .next_poll_at
            .expect("a failing source is still scheduled");
        let wait = (next - now).to_std().unwrap();
        assert!(
            wait <= Duration::from_secs(24 * 3600 + 24 * 360),
            "{wait:?}"
        );
        now = next;
    }
    let health = SourceHealth::of(&source, &rig.state("s"));
    assert!(health.failing);
    assert_eq!(health.why, "backoff");
}

#[tokio::test]
async fn not_found_polls_at_the_slow_end_and_shows_failing() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script("/elsewhere", vec![Reply::ok(rss(1, ""))]);
    let rig = Rig::new();
    let source = one_source(&format!("http://{addr}/missing"));
    let outcome = rig.refresh(&source, at(0)).await;
    assert!(
        matches!(&outcome, Outcome::Failed(c) if c.contains("404")),
        "{outcome:?}"
    );
    let state = rig.state("s");
    assert_eq!(state.next_poll_at, Some(at(24 * HOUR)));
    assert_eq!(state.next_poll_reason, PollReason::NotFound);
    let health = SourceHealth::of(&source, &state);
    assert!(health.failing);
    assert!(health.status.contains("404"), "{}", health.status);
    // Still polled, at the slow end.
    rig.refresh(&source, at(24 * HOUR)).await;
    assert_eq!(mock.count(), 2);
}

#[tokio::test]
async fn gone_stops_polling_and_marks_the_source() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script("/feed", vec![Reply::ok(rss(2, "")), Reply::status(410)]);
    let rig = Rig::new();
    let source = one_source(&format!("http://{addr}/feed"));
    rig.refresh(&source, at(0)).await;
    assert_eq!(rig.refresh(&source, at(HOUR)).await, Outcome::Gone);
    let state = rig.state("s");
    assert!(state.gone);
    assert_eq!(state.next_poll_at, None);
    assert_eq!(
        rig.refresh(&source, at(400 * 24 * HOUR)).await,
        Outcome::Gone
    );
    assert_eq!(mock.count(), 2, "no request after a 410");
    assert_eq!(
        rig.store().source_item_count("s"),
        2,
        "stored items are kept"
    );
    let health = SourceHealth::of(&source, &state);
    assert_eq!(health.status, "GONE (410)");
    assert_eq!(health.next_poll, None);
    assert!(health.failing);
    // A new URL in the config starts afresh.
    mock.script("/new", vec![Reply::ok(rss(1, ""))]);
    let moved = one_source(&format!("http://{addr}/new"));
    assert!(matches!(
        rig.refresh(&moved, at(400 * 24 * HOUR)).await,
        Outcome::Refreshed { .. }
    ));
    assert!(!rig.state("s").gone);
}

// ---------------------------------------------------------------------------
// 10. Redirects
// ---------------------------------------------------------------------------

#[tokio::test]
async fn temporary_redirects_keep_the_configured_url() {
    for status in [302u16, 303, 307] {
        let mock = MockHost::start().await;
        let addr = mock.addr();
        mock.script("/feed", vec![Reply::redirect(status, "/tmp")]);
        mock.script(
            "/tmp",
            vec![
                Reply::ok(rss(1, "")).header("etag", "\"t\""),
                Reply::status(304),
            ],
        );
        let rig = Rig::new();
        let source = one_source(&format!("http://{addr}/feed"));
        for i in 0..4 {
            rig.refresh(&source, at(i * HOUR)).await;
        }
        let paths: Vec<String> = mock.seen().into_iter().map(|s| s.path_and_query).collect();
        assert_eq!(paths, ["/feed", "/tmp"].repeat(4), "status {status}");
        let state = rig.state("s");
        assert_eq!(
            state.url.as_deref(),
            Some(format!("http://{addr}/feed").as_str())
        );
        assert_eq!(state.redirect_streak, 0);
        // The validators of the target are sent along the chain.
        assert_eq!(mock.last().get("if-none-match"), Some("\"t\""));
    }
}

#[tokio::test]
async fn permanent_redirects_are_adopted_after_three_consecutive_polls() {
    for status in [301u16, 308] {
        let mock = MockHost::start().await;
        let addr = mock.addr();
        mock.script("/old", vec![Reply::redirect(status, "/new")]);
        mock.script(
            "/new",
            vec![
                Reply::ok(rss(1, "")).header("etag", "\"n\""),
                Reply::status(304),
            ],
        );
        let rig = Rig::new();
        let old = format!("http://{addr}/old");
        let new = format!("http://{addr}/new");
        let source = one_source(&old);
        for poll in 1..=2 {
            rig.refresh(&source, at((poll - 1) * HOUR)).await;
            let state = rig.state("s");
            assert_eq!(state.url.as_deref(), Some(old.as_str()), "poll {poll}");
            assert_eq!(state.redirect_target.as_deref(), Some(new.as_str()));
            assert_eq!(state.redirect_streak, poll as u32);
        }
        rig.refresh(&source, at(2 * HOUR)).await;
        let state = rig.state("s");
        assert_eq!(
            state.url.as_deref(),
            Some(new.as_str()),
            "adopted on the third poll"
        );
        assert_eq!(
            state.etag.as_deref(),
            Some("\"n\""),
            "validators moved along"
        );
        assert_eq!(
            rig.refresh(&source, at(3 * HOUR)).await,
            Outcome::NotModified
        );
        let last = mock.last();
        assert_eq!(
            last.path_and_query, "/new",
            "the fourth poll goes straight to the new URL"
        );
        assert_eq!(last.get("if-none-match"), Some("\"n\""));
        assert_eq!(mock.count(), 7);
        assert_eq!(SourceHealth::of(&source, &rig.state("s")).url, new);
    }
}

#[tokio::test]
async fn a_permanent_redirect_that_goes_away_is_not_adopted() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    // Hotel wifi: 301 twice, then the real feed again.
    mock.script(
        "/feed",
        vec![
            Reply::redirect(301, "/login"),
            Reply::redirect(301, "/login"),
            Reply::ok(rss(1, "")),
            Reply::redirect(301, "/login"),
            Reply::ok(rss(1, "")),
        ],
    );
    mock.script("/login", vec![Reply::ok(rss(1, ""))]);
    let rig = Rig::new();
    let url = format!("http://{addr}/feed");
    let source = one_source(&url);
    for i in 0..5 {
        rig.refresh(&source, at(i * HOUR)).await;
        assert_eq!(
            rig.state("s").url.as_deref(),
            Some(url.as_str()),
            "poll {i}"
        );
    }
    assert_eq!(rig.state("s").redirect_streak, 0);
}

#[tokio::test]
async fn redirect_loops_and_long_chains_are_errors() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script("/a", vec![Reply::redirect(302, "/b")]);
    mock.script("/b", vec![Reply::redirect(301, "/a")]);
    for i in 0..7 {
        mock.script(
            &format!("/hop{i}"),
            vec![Reply::redirect(307, &format!("/hop{}", i + 1))],
        );
    }
    mock.script("/hop7", vec![Reply::ok(rss(1, ""))]);
    // Five hops are fine.
    mock.script("/five0", vec![Reply::redirect(302, "/hop3")]);
    let fetcher = Fetcher::new(&settings()).unwrap();
    let none = Validators::default();
    let err = fetcher
        .get(&format!("http://{addr}/a"), &none)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::RedirectLoop { .. }), "{err:?}");
    let before = mock.count();
    let err = fetcher
        .get(&format!("http://{addr}/hop0"), &none)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::TooManyRedirects { limit: 5 }),
        "{err:?}"
    );
    assert_eq!(
        mock.count() - before,
        6,
        "the sixth Location is not followed"
    );
    let ok = fetcher
        .get(&format!("http://{addr}/five0"), &none)
        .await
        .unwrap();
    match ok {
        FetchOutcome::Fetched { meta, .. } => assert_eq!(meta.redirects.len(), 5),
        other => panic!("{other:?}"),
    }
    // In a source, a loop is a failure with backoff, not a silent stop.
    let rig = Rig::new();
    let source = one_source(&format!("http://{addr}/a"));
    let outcome = rig.refresh(&source, at(0)).await;
    assert!(
        matches!(&outcome, Outcome::Failed(c) if c.contains("redirect loop")),
        "{outcome:?}"
    );
    assert_eq!(rig.state("s").next_poll_reason, PollReason::Backoff);
}

// ---------------------------------------------------------------------------
// 11. Headers sent, and compressed bodies decoded
// ---------------------------------------------------------------------------

#[tokio::test]
async fn request_headers_are_exact() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script("/feed", vec![Reply::ok(rss(1, ""))]);
    let rig = Rig::new();
    rig.refresh(&one_source(&format!("http://{addr}/feed")), at(0))
        .await;
    let seen = mock.last();
    assert_eq!(seen.get("accept-encoding"), Some("gzip, br"));
    assert_eq!(
        seen.get("user-agent"),
        Some(format!("syndic/{} (+{CONTACT})", env!("CARGO_PKG_VERSION")).as_str())
    );
    let accept = seen.get("accept").unwrap();
    assert!(
        accept.starts_with("application/rss+xml, application/atom+xml, application/feed+json"),
        "{accept}"
    );
    let mut names: Vec<&str> = seen.headers.keys().map(|k| k.as_str()).collect();
    names.sort();
    assert_eq!(names, ["accept", "accept-encoding", "host", "user-agent"]);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[tokio::test]
async fn gzip_and_brotli_bodies_are_decoded() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    let body = rss(4, "");
    let mut br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
        w.write_all(body.as_bytes()).unwrap();
    }
    mock.script(
        "/gz",
        vec![Reply::ok(gzip(body.as_bytes())).header("content-encoding", "gzip")],
    );
    mock.script("/br", vec![Reply::ok(br).header("content-encoding", "br")]);
    let rig = Rig::new();
    let cfg = config(
        &[
            ("gz", &format!("http://{addr}/gz")),
            ("br", &format!("http://{addr}/br")),
        ],
        "",
    );
    for source in &cfg.sources {
        let outcome = rig.refresh(source, at(0)).await;
        assert!(
            matches!(outcome, Outcome::Refreshed { new: 4, .. }),
            "{}: {outcome:?}",
            source.id
        );
    }
}

// ---------------------------------------------------------------------------
// 12. Limits
// ---------------------------------------------------------------------------

#[tokio::test]
async fn body_cap_is_enforced_while_streaming() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script(
        "/huge",
        vec![Reply {
            status: 200,
            endless: true,
            ..Reply::default()
        }],
    );
    let fetcher = Fetcher::new(&settings()).unwrap();
    let err = fetcher
        .get(&format!("http://{addr}/huge"), &Validators::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { limit: 1048576 }),
        "{err:?}"
    );
    // Cut off near the cap, not after buffering an endless body.
    let sent = mock.bytes_sent();
    assert!(sent < 16 * 1024 * 1024, "server pushed {sent} bytes");
    // A declared Content-Length over the cap is refused before reading.
    mock.script("/declared", vec![Reply::ok(vec![b' '; 2 * 1024 * 1024])]);
    let err = fetcher
        .get(&format!("http://{addr}/declared"), &Validators::default())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn a_gzip_bomb_is_cut_off_at_the_decoded_cap() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    // 64 MiB of zeros, about 64 KiB on the wire.
    let bomb = gzip(&vec![0u8; 64 * 1024 * 1024]);
    assert!(bomb.len() < 1024 * 1024);
    mock.script(
        "/bomb",
        vec![Reply::ok(bomb).header("content-encoding", "gzip")],
    );
    let fetcher = Fetcher::new(&settings()).unwrap();
    let err = fetcher
        .get(&format!("http://{addr}/bomb"), &Validators::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::DecodedTooLarge { limit } if limit == 4 * 1024 * 1024),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_dribbling_server_is_cut_off_by_the_total_timeout() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script(
        "/slow",
        vec![Reply {
            status: 200,
            dribble: true,
            body: rss(1, "").into_bytes(),
            ..Reply::default()
        }],
    );
    let fetcher = Fetcher::new(&FetchSettings {
        total_timeout: Duration::from_millis(500),
        ..settings()
    })
    .unwrap();
    let err = fetcher
        .get(&format!("http://{addr}/slow"), &Validators::default())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------
// 13. Charset: the HTTP charset reaches the parser and wins over the XML one
// ---------------------------------------------------------------------------

#[tokio::test]
async fn http_charset_wins_over_the_xml_declaration() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    let mut body = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>C</title><link>http://c/</link><description>d</description><item><guid>1</guid><title>Caf".to_vec();
    body.push(0xE9); // é in windows-1252, invalid UTF-8
    body.extend_from_slice(b"</title></item></channel></rss>");
    mock.script(
        "/feed",
        vec![
            Reply::status(200)
                .header("content-type", "application/rss+xml; charset=windows-1252")
                .body(body),
        ],
    );
    let rig = Rig::new();
    rig.refresh(&one_source(&format!("http://{addr}/feed")), at(0))
        .await;
    let items = rig.store().source_items("s").unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].entry.title.as_deref(), Some("Café"));
}

// ---------------------------------------------------------------------------
// 14. Per-host and global concurrency caps
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_host_and_global_caps_hold() {
    let mut slow = Reply::ok(rss(1, ""));
    slow.delay = Duration::from_millis(100);
    let mock = MockHost::start().await;
    mock.script("/feed", vec![slow]);
    let mut addrs = vec![mock.addr()];
    for ip in ["127.0.0.2", "127.0.0.3"] {
        addrs.push(mock.listen(ip).await);
    }
    let fetcher = Fetcher::new(&FetchSettings {
        max_concurrent: 3,
        max_per_host: 2,
        ..settings()
    })
    .unwrap();
    // 30 different URLs (no coalescing), 10 per host.
    let mut tasks = Vec::new();
    for i in 0..30 {
        let fetcher = fetcher.clone();
        let url = format!("http://{}/feed?n={i}", addrs[i % 3]);
        tasks.push(tokio::spawn(async move {
            fetcher.get(&url, &Validators::default()).await
        }));
    }
    for task in tasks {
        assert!(matches!(
            task.await.unwrap(),
            Ok(FetchOutcome::Fetched { .. })
        ));
    }
    assert_eq!(mock.count(), 30);
    let per_host = mock.per_host();
    assert_eq!(per_host.len(), 3);
    for (host, (_, max)) in per_host {
        assert!(max <= 2, "host {host} saw {max} requests at once");
    }
    let max = mock.max_in_flight();
    assert!(max <= 3, "{max} requests at once over all hosts");
}

/// A refresh waiting for its fetch holds only what the fetch needs: what
/// follows it (parse, full text, dedup, store) and a local folder's scan
/// are boxed when they start. Every source due at once (a start-up storm)
/// waits at that fetch; with both inline, each waiting source held 8.7 KB
/// in a release build, 170 MB at 20,000 sources (BENCHMARKS.md, Poller).
/// In the debug build the tests run it is 1.6 KB boxed, 9.8 KB inline.
#[test]
fn a_refresh_waiting_for_its_fetch_holds_a_small_future() {
    let rig = Rig::new();
    let source = one_source("http://127.0.0.1:9/feed.xml");
    let refresher = Refresher {
        store: rig.store(),
        fetcher: &rig.fetcher,
        public_base: "http://feeds.test",
    };
    let waiting = refresher.refresh_at(&source, true, at(0));
    let size = std::mem::size_of_val(&waiting);
    eprintln!("a refresh future: {size} bytes");
    assert!(
        size <= 3072,
        "a refresh waiting for its fetch holds {size} bytes: box what follows the fetch"
    );
}

/// Documents fetched and not yet dropped are capped at `max_concurrent`:
/// with both slots held, no third document is requested until one body is
/// dropped; fetches waiting for a slot hold no request slot, so an item
/// page (which takes no document slot) is fetched meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_in_hand_are_capped_and_their_waiters_hold_no_request_slot() {
    let mock = MockHost::start().await;
    mock.fallback(|_| Reply::ok(rss(1, "")));
    let fetcher = Fetcher::new(&FetchSettings {
        max_concurrent: 2,
        max_per_host: 2,
        ..settings()
    })
    .unwrap();
    let none = Validators::default();
    let document = |n: usize| {
        let fetcher = fetcher.clone();
        let url = mock.url(&format!("/feed{n}"));
        async move {
            let (none, reach) = (Validators::default(), Reach::of(&url));
            match fetcher.get_document(&url, &none, &reach).await {
                Ok(FetchOutcome::Fetched { body, .. }) => body,
                other => panic!("{url}: {other:?}"),
            }
        }
    };
    let first = document(0).await;
    let second = document(1).await;
    assert_eq!(mock.count(), 2);
    // Each waiting fetch keeps its body until the test lets it go.
    let release = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let waiting: Vec<_> = (2..6)
        .map(|n| {
            let (fetch, release) = (document(n), release.clone());
            tokio::spawn(async move {
                let body = fetch.await;
                let _go = release.acquire().await.unwrap();
                String::from_utf8_lossy(&body).contains("<rss version=")
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        mock.count(),
        2,
        "a third document was fetched with two in hand"
    );
    // Four fetches wait for a document slot: were they holding request
    // slots (2 in all), this would wait for ever.
    let page = Reach {
        page: true,
        ..Reach::of(&mock.url("/page"))
    };
    let got = tokio::time::timeout(
        Duration::from_secs(5),
        fetcher.get_with(&mock.url("/page"), &none, &page),
    )
    .await
    .expect("an item page is fetched while the document slots are held");
    assert!(matches!(got, Ok(FetchOutcome::Fetched { .. })));
    assert_eq!(mock.count(), 3);
    drop(first);
    tokio::time::timeout(Duration::from_secs(5), async {
        while mock.count() < 4 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("a dropped body frees its slot for the next document");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(mock.count(), 4, "one slot freed, one document fetched");
    release.add_permits(4);
    drop(second);
    for task in waiting {
        let fetched = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("every waiting document is fetched")
            .unwrap();
        assert!(fetched);
    }
    assert_eq!(mock.count(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_gets_of_one_url_share_a_request() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    let mut slow = Reply::ok(rss(1, ""));
    slow.delay = Duration::from_millis(200);
    mock.script("/feed", vec![slow]);
    let fetcher = Fetcher::new(&settings()).unwrap();
    let url = format!("http://{addr}/feed");
    let none = Validators::default();
    let results = futures_util::future::join_all((0..5).map(|_| fetcher.get(&url, &none))).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(FetchOutcome::Fetched { .. })))
    );
    assert_eq!(mock.count(), 1);
    assert_eq!(mock.seen()[0].host, "127.0.0.1");
}

// ---------------------------------------------------------------------------
// Display: `syndic sources` and the index read SourceHealth
// ---------------------------------------------------------------------------

#[tokio::test]
async fn source_health_shows_url_status_next_poll_reason_and_bytes_saved() {
    let mock = MockHost::start().await;
    let addr = mock.addr();
    let body = rss(5, "");
    let len = body.len() as u64;
    mock.script(
        "/feed",
        vec![
            Reply::ok(body)
                .header("etag", "\"h\"")
                .header("cache-control", "max-age=7200"),
            Reply::status(304).header("cache-control", "max-age=7200"),
        ],
    );
    let rig = Rig::new();
    let url = format!("http://{addr}/feed");
    let source = one_source(&url);
    let fresh = SourceHealth::of(&source, &syndic::model::PollState::default());
    assert_eq!(
        (fresh.status.as_str(), fresh.why.as_str()),
        ("never polled", "first poll")
    );
    rig.refresh(&source, at(0)).await;
    rig.refresh(&source, at(2 * HOUR)).await;
    rig.refresh(&source, at(4 * HOUR)).await;
    let state = rig.state("s");
    assert_eq!(state.bytes_saved, 2 * len);
    assert_eq!(state.last_success, Some(at(4 * HOUR)));
    let health = SourceHealth::of(&source, &state);
    assert_eq!(health.url, url);
    assert_eq!(health.status, "304");
    assert_eq!(health.next_poll, Some(at(6 * HOUR)));
    assert_eq!(health.why, "host hint");
    assert!(!health.failing);
}

#[tokio::test]
async fn old_poll_state_without_the_new_fields_still_loads() {
    // A store row as written before issue 3: no poller fields.
    let raw = r#"{"url":"http://x/feed","etag":"\"e\"","last_modified":null,"last_attempt":null,"last_success":null,"next_poll_at":"2026-03-02T11:00:00Z","last_status":"200","consecutive_failures":0}"#;
    let state: syndic::model::PollState = serde_json::from_str(raw).unwrap();
    assert_eq!(state.etag.as_deref(), Some("\"e\""));
    assert_eq!(state.next_poll_reason, PollReason::Interval);
    assert!(!state.gone);
    assert_eq!(state.redirect_streak, 0);
    // And such a state keeps its validators and next poll (same URL).
    let mock = MockHost::start().await;
    let addr = mock.addr();
    mock.script("/feed", vec![Reply::status(304)]);
    let rig = Rig::new();
    let url = format!("http://{addr}/feed");
    let old = syndic::model::PollState {
        url: Some(url.clone()),
        etag: Some("\"e\"".into()),
        next_poll_at: Some(at(HOUR)),
        ..state
    };
    rig.store().put_poll_state("s", &old).await.unwrap();
    let source = one_source(&url);
    assert_eq!(
        rig.refresh(&source, at(0)).await,
        Outcome::NotDue {
            next_poll_at: at(HOUR)
        }
    );
    assert_eq!(rig.refresh(&source, at(HOUR)).await, Outcome::NotModified);
    assert_eq!(mock.last().get("if-none-match"), Some("\"e\""));
}

const OFFLINE_CAUSE: &str =
    "DNS lookup failed for blog.example (no network, or a wrong host name?)";

/// A store with four remote sources in telling states.
async fn store_with_states(dir: &Path) -> DateTime<Utc> {
    use syndic::model::PollState;
    let future = Utc::now() + chrono::Duration::hours(5);
    std::fs::write(
        dir.join("feeds.toml"),
        "[daemon]\nlisten = \"127.0.0.1:0\"\n[[source]]\nid = \"moving\"\nurl = \"http://127.0.0.1:0/old\"\n\
         [[source]]\nid = \"held\"\nurl = \"http://127.0.0.1:0/held\"\n\
         [[source]]\nid = \"dead\"\nurl = \"http://127.0.0.1:0/dead\"\n\
         [[source]]\nid = \"offline\"\nurl = \"https://blog.example/feed.xml\"\n\
         [[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n",
    )
    .unwrap();
    let store = Store::open(&dir.join("store")).unwrap();
    let base = PollState {
        last_attempt: Some(t(T0)),
        last_success: Some(t(T0)),
        next_poll_at: Some(future),
        ..PollState::default()
    };
    let states = [
        (
            "moving",
            PollState {
                url: Some("http://127.0.0.1:0/old".into()),
                configured_url: Some("http://127.0.0.1:0/old".into()),
                redirect_target: Some("http://127.0.0.1:0/new".into()),
                redirect_streak: 2,
                last_status: Some("304".into()),
                bytes_saved: 3 * 1024 * 1024,
                ..base.clone()
            },
        ),
        (
            "held",
            PollState {
                url: Some("http://127.0.0.1:0/held".into()),
                configured_url: Some("http://127.0.0.1:0/held".into()),
                retry_after_until: Some(future),
                next_poll_reason: PollReason::RetryAfter,
                last_status: Some("HTTP 429 Too Many Requests".into()),
                ..base.clone()
            },
        ),
        (
            "dead",
            PollState {
                url: Some("http://127.0.0.1:0/dead".into()),
                configured_url: Some("http://127.0.0.1:0/dead".into()),
                gone: true,
                next_poll_at: None,
                next_poll_reason: PollReason::Gone,
                consecutive_failures: 1,
                last_status: Some("HTTP 410 Gone".into()),
                ..base.clone()
            },
        ),
        (
            "offline",
            PollState {
                url: Some("https://blog.example/feed.xml".into()),
                configured_url: Some("https://blog.example/feed.xml".into()),
                next_poll_reason: PollReason::Backoff,
                consecutive_failures: 2,
                last_status: Some(format!(
                    "{OFFLINE_CAUSE} — fetch https://blog.example/feed.xml: error sending request for url (https://blog.example/feed.xml): client error (Connect): dns error: failed to lookup address information: Name or service not known"
                )),
                ..base.clone()
            },
        ),
    ];
    for (id, state) in states {
        store.put_poll_state(id, &state).await.unwrap();
    }
    store.flush().await.unwrap();
    future
}

#[tokio::test]
async fn syndic_sources_shows_the_poll_state_columns() {
    let dir = tempfile::tempdir().unwrap();
    let future = store_with_states(dir.path()).await;
    let out = common::syndic(dir.path(), &["sources"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = table.lines().next().unwrap();
    for column in [
        "last status",
        "last success",
        "failures",
        "next poll",
        "why",
        "304 saved",
        "url in use",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let line = |id: &str| {
        table
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} missing in\n{table}"))
            .to_string()
    };
    let moving = line("moving");
    assert!(moving.contains("3.0 MiB"), "{moving}");
    assert!(
        moving.contains("http://127.0.0.1:0/old (301 to http://127.0.0.1:0/new seen 2/3)"),
        "{moving}"
    );
    assert!(moving.contains("2026-03-02 10:00:00"), "{moving}");
    let held = line("held");
    assert!(held.contains("Retry-After"), "{held}");
    assert!(
        held.contains(&future.format("%Y-%m-%d %H:%M:%S").to_string()),
        "{held}"
    );
    let dead = line("dead");
    assert!(
        dead.contains("GONE (410)") && dead.contains("never"),
        "{dead}"
    );
    // Issue 21: a failure's cause was cut to 40 characters, before the
    // cause. Its few words are whole in the table; the full message and
    // how to retry follow it.
    assert!(line("offline").contains(OFFLINE_CAUSE), "{table}");
    assert!(
        table.contains("dns error: failed to lookup address information")
            && table.contains("retry now: syndic fetch offline"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_index_shows_the_poll_state_columns() {
    let dir = tempfile::tempdir().unwrap();
    store_with_states(dir.path()).await;
    let d = common::TestDaemon::spawn(dir.path());
    // The sources' health is the operator's page, on the admin listener.
    let admin = d.wait_admin().await;
    let html = reqwest::get(format!("http://{admin}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    d.stop().await;
    for text in [
        "<th>url in use</th>",
        "<th>why</th>",
        "<th>saved by 304s</th>",
        "http://127.0.0.1:0/old (301 to http://127.0.0.1:0/new seen 2/3)",
        "<td>Retry-After</td>",
        "<td class=\"bad\">GONE (410)<br><small>retry now: syndic fetch dead</small></td>",
        &format!(
            "<td class=\"bad\">{OFFLINE_CAUSE}<br><small> — fetch https://blog.example/feed.xml: error sending"
        ),
        "retry now: syndic fetch offline</small></td>",
        "<td>3145728 bytes</td>",
    ] {
        assert!(html.contains(text), "{text} missing in\n{html}");
    }
}

/// Regression: the benchmark's 304 round hung because sled 0.34 deadlocks
/// on concurrent `flush_async` (spacejam/sled#1308). Many sources answering
/// 304 at once write their poll states at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_poll_state_writes_do_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let writes = (0..200).map(|i| {
        let store = store.clone();
        async move {
            let state = syndic::model::PollState {
                last_status: Some(format!("304 #{i}")),
                ..Default::default()
            };
            store.put_poll_state(&format!("s{i}"), &state).await
        }
    });
    // A hang guard, not a speed assertion.
    let all = tokio::time::timeout(
        Duration::from_secs(120),
        futures_util::future::join_all(writes),
    )
    .await
    .expect("concurrent flushes finished");
    assert!(all.iter().all(|r| r.is_ok()));
    assert_eq!(
        store
            .poll_state("s199")
            .unwrap()
            .unwrap()
            .last_status
            .as_deref(),
        Some("304 #199")
    );
}

#[tokio::test]
async fn the_status_line_names_the_first_failing_source_and_its_cause() {
    // Issue 21: systemd's STATUS= said how many sources failed, not which
    // or why.
    let dir = tempfile::tempdir().unwrap();
    store_with_states(dir.path()).await;
    let config = Config::load(&dir.path().join("feeds.toml")).unwrap();
    let store = Store::open(&config.daemon.store).unwrap();
    let app = App::new(config, store).unwrap();
    let line = app.status_line(None);
    assert!(
        line.contains(
            "2 sources ok, 2 failing, 0 not yet refreshed; 1 feeds (failing: dead: HTTP 410 Gone)"
        ),
        "{line}"
    );
    assert!(
        !line.contains("fetch https://"),
        "only the few words: {line}"
    );
}
