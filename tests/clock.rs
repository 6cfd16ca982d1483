//! The wall clock stepping backwards or forwards (a time sync, a wrong
//! clock set right, a suspend): sources are still polled on time, once,
//! and `Retry-After` holds keep their length. The clock is injected
//! ([`Refresher::refresh_at`]); the scheduler's side is unit-tested in
//! `src/schedule.rs`.

mod common;

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use common::{MockHost, Scripted, rss_feed};
use syndic::app::fetch_settings;
use syndic::config::{Config, SourceConfig};
use syndic::ingest::fetch::Fetcher;
use syndic::refresh::{Outcome, Refresher};
use syndic::store::Store;

struct Rig {
    _dir: tempfile::TempDir,
    store: Store,
    fetcher: Fetcher,
    source: SourceConfig,
}

impl Rig {
    /// One source polled every hour (and not more often) at `url`.
    fn new(url: &str) -> Rig {
        let text = format!(
            "[daemon]\ncontact = \"mailto:ops@example.org\"\n\
             [defaults]\nrefresh = \"1h\"\nmin_interval = \"1h\"\n\
             [[source]]\nid = \"s\"\nurl = \"{url}\"\n\
             [[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n"
        );
        let config = Config::parse(&text, Path::new("/nonexistent/feeds.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap();
        Rig {
            store: Store::open(&dir.path().join("store")).unwrap(),
            fetcher: Fetcher::new(&fetch_settings(&config)).unwrap(),
            source: config.sources[0].clone(),
            _dir: dir,
        }
    }

    async fn refresh(&self, now: DateTime<Utc>) -> Outcome {
        Refresher {
            store: &self.store,
            fetcher: &self.fetcher,
            public_base: "http://feeds.test",
        }
        .refresh_at(&self.source, false, now)
        .await
    }

    /// The HTTP status of the last poll, as stored (metrics read it).
    fn last_code(&self) -> Option<u16> {
        self.store.poll_state("s").unwrap().unwrap().last_code
    }

    fn next_poll(&self) -> DateTime<Utc> {
        self.store
            .poll_state("s")
            .unwrap()
            .unwrap()
            .next_poll_at
            .unwrap()
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

async fn host() -> MockHost {
    let host = MockHost::start().await;
    host.set(
        "feed",
        Scripted::feed("application/rss+xml", &rss_feed(&[("a", "A")]), "\"v1\""),
    );
    host
}

#[tokio::test]
async fn a_clock_set_back_a_day_does_not_hold_a_source_for_a_day() {
    let host = host().await;
    let rig = Rig::new(&host.url("feed"));
    assert!(matches!(rig.refresh(t0()).await, Outcome::Refreshed { .. }));
    assert_eq!(rig.next_poll(), t0() + Duration::hours(1));
    assert_eq!(rig.last_code(), Some(200));

    // The clock is set back a day, 10 minutes after that poll.
    let back = t0() + Duration::minutes(10) - Duration::days(1);
    let outcome = rig.refresh(back).await;
    // How long ago the last poll really was cannot be known: it is taken
    // as now, and the hour it set runs from now. Never sooner than the
    // host's min_interval after the real last poll, and not a day later.
    let due = back + Duration::hours(1);
    assert_eq!(outcome, Outcome::NotDue { next_poll_at: due });
    assert_eq!(rig.next_poll(), due, "stored");
    // Looking again later does not move it again.
    let later = back + Duration::minutes(59);
    assert_eq!(
        rig.refresh(later).await,
        Outcome::NotDue { next_poll_at: due }
    );
    assert_eq!(host.hits("feed"), 1);
    // Polled when due: an hour on, not a day and an hour.
    assert_eq!(rig.refresh(due).await, Outcome::NotModified);
    assert_eq!(rig.last_code(), Some(304));
    assert_eq!(host.hits("feed"), 2);
    assert_eq!(rig.next_poll(), due + Duration::hours(1));
}

#[tokio::test]
async fn a_small_skew_backwards_changes_nothing() {
    let host = host().await;
    let rig = Rig::new(&host.url("feed"));
    rig.refresh(t0()).await;
    let outcome = rig.refresh(t0() - Duration::seconds(1)).await;
    assert_eq!(
        outcome,
        Outcome::NotDue {
            next_poll_at: t0() + Duration::hours(1)
        }
    );
    assert_eq!(rig.next_poll(), t0() + Duration::hours(1));
}

#[tokio::test]
async fn a_clock_stepped_forward_polls_once_then_counts_from_the_new_time() {
    let host = host().await;
    let rig = Rig::new(&host.url("feed"));
    rig.refresh(t0()).await;
    let ahead = t0() + Duration::days(1);
    assert_eq!(rig.refresh(ahead).await, Outcome::NotModified);
    // Due again an interval after the new time, and only then.
    assert_eq!(rig.next_poll(), ahead + Duration::hours(1));
    assert!(matches!(
        rig.refresh(ahead + Duration::seconds(1)).await,
        Outcome::NotDue { .. }
    ));
    assert_eq!(host.hits("feed"), 2);
}

#[tokio::test]
async fn a_failing_sources_backoff_keeps_its_length_when_the_clock_is_set_back() {
    let host = MockHost::start().await;
    host.set(
        "feed",
        Scripted {
            status: 500,
            content_type: "text/plain",
            body: "down".into(),
            etag: None,
        },
    );
    let rig = Rig::new(&host.url("feed"));
    assert!(matches!(rig.refresh(t0()).await, Outcome::Failed(_)));
    assert_eq!(rig.last_code(), Some(500));
    let wait = rig.next_poll() - t0();
    assert!(wait >= Duration::hours(1), "{wait}");
    let back = t0() - Duration::days(2);
    assert_eq!(
        rig.refresh(back).await,
        Outcome::NotDue {
            next_poll_at: back + wait
        }
    );
    assert_eq!(host.hits("feed"), 1);
    assert!(matches!(rig.refresh(back + wait).await, Outcome::Failed(_)));
    assert_eq!(host.hits("feed"), 2);
}

#[tokio::test]
async fn a_retry_after_hold_keeps_its_length_when_the_clock_is_set_back() {
    let host = MockHost::start().await;
    host.set(
        "feed",
        common::Reply::status(503).header("retry-after", "7200"),
    );
    let rig = Rig::new(&host.url("feed"));
    assert_eq!(
        rig.refresh(t0()).await,
        Outcome::RetryLater {
            until: t0() + Duration::hours(2)
        }
    );
    // Set back a day: the two hours (held in the store and by the fetcher
    // for the URL) run from now, not from yesterday's clock.
    let back = t0() - Duration::days(1);
    assert_eq!(
        rig.refresh(back).await,
        Outcome::NotDue {
            next_poll_at: back + Duration::hours(2)
        }
    );
    assert_eq!(host.hits("feed"), 1);
    host.set(
        "feed",
        Scripted::feed("application/rss+xml", &rss_feed(&[("a", "A")]), "\"v1\""),
    );
    assert!(matches!(
        rig.refresh(back + Duration::hours(2)).await,
        Outcome::Refreshed { .. }
    ));
    assert_eq!(host.hits("feed"), 2);
}
