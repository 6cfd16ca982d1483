//! Regression tests of the "no panic on outside input" audit (issue 8):
//! each case once crashed the daemon, or would have.

mod common;

use common::{ConfigFile, MockHost, Scripted, rss_feed};
use syndic::config::Config;
use syndic::refresh::{Outcome, Refresher};
use syndic::store::Store;

/// Refreshes every source of a config whose `[defaults]` holds `defaults`
/// (one remote source on a mock host, one local folder); the outcomes.
async fn refresh_with_defaults(defaults: &str) -> Result<Vec<Outcome>, String> {
    let host = MockHost::start().await;
    host.set(
        "feed.xml",
        Scripted::feed("application/rss+xml", &rss_feed(&[("a", "A")]), "\"1\""),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("notes")).unwrap();
    std::fs::write(dir.path().join("notes/one.md"), "# One\n\nText.\n").unwrap();
    let file = ConfigFile::bare()
        .daemon("store = \"store\"\npublic_url = \"http://feeds.test\"")
        .defaults(defaults)
        .remote("remote", &host.url("feed.xml"))
        .local("notes", "notes")
        .all_feed("[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n");
    let path = file.write(dir.path());
    let config = Config::load(&path).map_err(|e| e.to_string())?;
    let store = Store::open(&config.daemon.store).unwrap();
    let fetcher =
        syndic::ingest::fetch::Fetcher::new(&syndic::app::fetch_settings(&config)).unwrap();
    let refresher = Refresher {
        store: &store,
        fetcher: &fetcher,
        public_base: "http://feeds.test",
    };
    let mut outcomes = Vec::new();
    for source in &config.sources {
        outcomes.push(refresher.refresh(source, true).await);
    }
    Ok(outcomes)
}

/// `tombstone_ttl` or `max_age` of 100,000,000 weeks used to pass the
/// config check, and then every refresh of every source panicked computing
/// "now plus that" (`DateTime + TimeDelta overflowed`). Durations are now
/// capped at 36500 days, with an error at the key.
#[tokio::test]
async fn durations_beyond_any_date_are_config_errors_not_a_crashed_refresh() {
    for (key, line) in [
        ("tombstone_ttl", "tombstone_ttl = \"100000000w\""),
        ("max_age", "max_age = \"100000000w\""),
        ("refresh", "refresh = \"100000000w\""),
        ("min_interval", "min_interval = \"100000000w\""),
        ("timeout", "timeout = \"15250284452471w\""),
    ] {
        let result = refresh_with_defaults(line).await;
        let Err(err) = result else {
            panic!("{key}: accepted: {result:?}");
        };
        assert!(
            err.contains("feeds.toml:6:") && err.contains(&format!("defaults: {key}")),
            "{key}: {err}"
        );
        assert!(err.contains("longer than 36500d"), "{key}: {err}");
    }
}

/// The longest durations accepted work all the way through a refresh.
#[tokio::test]
async fn the_longest_accepted_durations_refresh_normally() {
    let outcomes = refresh_with_defaults(
        "tombstone_ttl = \"36500d\"\nmax_age = \"36500d\"\nrefresh = \"36500d\"\n\
         min_interval = \"36500d\"\ntimeout = \"36500d\"",
    )
    .await
    .unwrap();
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Outcome::Refreshed { new: 1, .. }),
            "{outcomes:?}"
        );
    }
}
