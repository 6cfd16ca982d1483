//! The scheduler in real time: a recurring poll fires when the source's
//! poll state says it is due, and no sooner. (Issue 21: with `refresh =
//! min_interval = "1m"`, polls came every 2 minutes while `syndic sources`
//! said the next one was a minute away: the job's ticks ran on their own
//! grid, the first poll at a jittered time off it, and a tick that found
//! the source due a few seconds later skipped it for a whole minute.)
//! This test takes a little over a minute: `min_interval` is at least 1m.

mod common;

use std::time::{Duration, Instant};

use common::{MockHost, Scripted, TestDaemon, rss_feed, write_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_is_polled_again_when_its_next_poll_says() {
    let host = MockHost::start().await;
    host.set(
        "f.xml",
        Scripted::feed("application/rss+xml", &rss_feed(&[("g1", "One")]), "\"e1\""),
    );
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &format!(
            "[[source]]\nid = \"minute\"\nurl = \"{}\"\nrefresh = \"1m\"\nmin_interval = \"1m\"\n",
            host.url("f.xml")
        ),
    );
    let d = TestDaemon::start(dir.path()).await;
    let first = Instant::now();
    assert_eq!(host.hits("f.xml"), 1, "the first poll");
    let state = d.app.store.poll_state("minute").unwrap().unwrap();
    let said = state.next_poll_at.expect("a next poll is stated");
    let wait = (said - chrono::Utc::now()).to_std().unwrap();
    assert!(
        wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
        "next poll {wait:?} away"
    );
    // Watch for the second request: it must come when stated (not a tick
    // later, 60 s on), and not before.
    let second = loop {
        if host.hits("f.xml") >= 2 {
            break first.elapsed();
        }
        assert!(
            first.elapsed() < Duration::from_secs(100),
            "no second poll within 100 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let late = chrono::Utc::now() - said;
    assert!(
        late >= chrono::Duration::zero(),
        "polled {late} before its stated time"
    );
    assert!(
        late < chrono::Duration::seconds(3),
        "polled {late} after its stated time ({second:?} after the first poll)"
    );
    d.stop().await;
}
