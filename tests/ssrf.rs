//! The SSRF guard end to end: sources configured in `feeds.toml`, refreshed
//! through the real fetcher and pipeline, their status read from the store.
//!
//! Every test host listens on 127.0.0.1 (or [::1]). So that a host can pass
//! for a public one, or for 169.254.169.254, the fetcher gets a fixed host
//! table instead of DNS (`Fetcher::with_hosts`): `feeds.example.com` is
//! judged by the guard as 93.184.216.34 and reached at a local port. IP
//! literals are never looked up: `http://127.0.0.1:PORT/` is internal, as in
//! production. The internal hosts record every request, so "refused" means
//! nothing was asked of them.

mod common;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use common::{ConfigFile, MockHost, Reply, TestDaemon, rss_feed, write_config};
use syndic::ingest::fetch::{Fetcher, HostTable};
use syndic::refresh::{Outcome, Refresher};
use syndic::store::Store;

/// A mock host on `ip` that answers the paths given a redirect with it,
/// and any other path with a small RSS feed whose item names the host and
/// the path; it records each path it is asked for.
async fn host(ip: &str) -> MockHost {
    host_or(ip).await.unwrap()
}

async fn host_or(ip: &str) -> std::io::Result<MockHost> {
    let host = MockHost::try_start_on(ip).await?;
    let addr = host.addr();
    host.fallback(move |request| {
        Reply::ok(rss_feed(&[(&format!("{addr}{}", request.path), "Reached")]))
    });
    Ok(host)
}

/// Answers `path` on `host` with a 302 to `location`.
fn redirect(host: &MockHost, path: &str, location: &str) {
    host.set(path, Reply::redirect(302, location));
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// Addresses the guard judges: a public one and the internal ones.
const PUBLIC_IP: &str = "93.184.216.34";
const PUBLIC_IP_2: &str = "151.101.1.69";

/// The hosts of one test: `public` is the source's host (judged public),
/// `news` a second public host, `internal` a host on 127.0.0.1 reached as
/// itself and under internal names, `internal6` the same on [::1].
struct World {
    public: MockHost,
    news: MockHost,
    internal: MockHost,
    internal6: Option<MockHost>,
    table: Arc<HostTable>,
    dir: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let public = host("127.0.0.1").await;
        let news = host("127.0.0.1").await;
        let internal = host("127.0.0.1").await;
        // IPv6 loopback may be missing on a machine: that case is skipped,
        // visibly.
        let internal6 = match host_or("::1").await {
            Ok(host) => Some(host),
            Err(err) => {
                common::skip::skip(
                    "ssrf IPv6 loopback cases",
                    &format!("no IPv6 loopback here: {err}"),
                );
                None
            }
        };
        let table = Arc::new(HostTable::default());
        table.add("feeds.example.com", ip(PUBLIC_IP), public.addr());
        table.add("news.example.org", ip(PUBLIC_IP_2), news.addr());
        // Internal names (as cloud metadata and intranets are reached).
        table.add(
            "metadata.google.internal",
            ip("169.254.169.254"),
            internal.addr(),
        );
        table.add("intranet.corp", ip("10.1.2.3"), internal.addr());
        table.add("nas.lan", ip("192.168.1.10"), public.addr());
        // A public name whose next answer is the metadata address: DNS
        // rebinding between the guard's look at the origin and the connect.
        table.add("rebind.example.com", ip(PUBLIC_IP), news.addr());
        table.add("rebind.example.com", ip("169.254.169.254"), internal.addr());

        let loopback = format!("http://{}/secret", internal.addr());
        redirect(&public, "/to-loopback", &loopback);
        // Literal addresses skip the host table: were the guard to let one
        // through, the fetch would really go there. Port 0, where nothing
        // listens on any host, keeps a regression from reaching a metadata
        // service or an intranet; the test then fails on the cause.
        redirect(
            &public,
            "/to-metadata",
            "http://169.254.169.254:0/latest/meta-data/iam/security-credentials/",
        );
        redirect(&public, "/to-private", "http://10.0.0.1:0/feed.xml");
        redirect(
            &public,
            "/to-mapped",
            "http://[::ffff:169.254.169.254]:0/latest/",
        );
        redirect(
            &public,
            "/to-metadata-name",
            "http://metadata.google.internal/computeMetadata/v1/",
        );
        redirect(&public, "/to-intranet", "http://intranet.corp/feed.xml");
        redirect(&public, "/to-news", "http://news.example.org/feed.xml");
        if let Some(v6) = &internal6 {
            redirect(
                &public,
                "/to-ipv6-loopback",
                &format!("http://{}/secret", v6.addr()),
            );
        }
        World {
            public,
            news,
            internal,
            internal6,
            table,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Refreshes each source of a config with `defaults` and `sources`
    /// once, through the real pipeline; the outcome and stored status of
    /// each, by id.
    async fn refresh_all(
        &self,
        defaults: &str,
        sources: &str,
    ) -> HashMap<String, (Outcome, String)> {
        let config = ConfigFile::bare()
            .daemon("store = \"store\"\npublic_url = \"http://feeds.test\"")
            .defaults("timeout = \"5s\"")
            .defaults(defaults)
            .sources(sources)
            .all_feed("[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n")
            .load(self.dir.path());
        let store = Store::open(&config.daemon.store).unwrap();
        let fetcher =
            Fetcher::with_hosts(&syndic::app::fetch_settings(&config), self.table.clone()).unwrap();
        let refresher = Refresher {
            store: &store,
            fetcher: &fetcher,
            public_base: "http://feeds.test",
        };
        let mut out = HashMap::new();
        for source in &config.sources {
            let outcome = refresher.refresh(source, true).await;
            let status = store
                .poll_state(&source.id)
                .unwrap()
                .and_then(|s| s.last_status)
                .unwrap_or_default();
            out.insert(source.id.clone(), (outcome, status));
        }
        drop(store);
        // The next config in this folder gets a fresh store.
        let _ = std::fs::remove_dir_all(self.dir.path().join("store"));
        out
    }
}

fn source(id: &str, url: &str, extra: &str) -> String {
    format!("[[source]]\nid = \"{id}\"\nurl = \"{url}\"\n{extra}\n")
}

fn assert_refused(results: &HashMap<String, (Outcome, String)>, id: &str, address: &str) {
    let (outcome, status) = &results[id];
    let Outcome::Failed(cause) = outcome else {
        panic!("{id}: expected a refusal, got {outcome:?}");
    };
    for needle in [
        address,
        "an internal address",
        "SSRF guard",
        "allow_internal",
    ] {
        assert!(
            cause.contains(needle),
            "{id}: `{needle}` missing from {cause}"
        );
    }
    assert_eq!(status, cause, "{id}: the stored status shows the cause");
}

fn assert_refreshed(results: &HashMap<String, (Outcome, String)>, id: &str) {
    let (outcome, status) = &results[id];
    assert!(
        matches!(outcome, Outcome::Refreshed { new: 1, .. }),
        "{id}: expected the redirect to be followed, got {outcome:?} ({status})"
    );
}

#[tokio::test]
async fn redirects_from_a_public_source_into_internal_addresses_are_refused() {
    let w = World::new().await;
    let mut sources = String::new();
    let mut expected = vec![
        ("loopback", "/to-loopback", "127.0.0.1"),
        ("metadata", "/to-metadata", "169.254.169.254"),
        ("private", "/to-private", "10.0.0.1"),
        ("mapped", "/to-mapped", "::ffff:169.254.169.254"),
        ("metadata-name", "/to-metadata-name", "169.254.169.254"),
        ("intranet", "/to-intranet", "10.1.2.3"),
    ];
    if w.internal6.is_some() {
        expected.push(("ipv6-loopback", "/to-ipv6-loopback", "::1"));
    }
    for (id, path, _) in &expected {
        sources.push_str(&source(id, &format!("http://feeds.example.com{path}"), ""));
    }
    sources.push_str(&source("public", "http://feeds.example.com/to-news", ""));
    let results = w.refresh_all("", &sources).await;

    for (id, _, address) in &expected {
        assert_refused(&results, id, address);
    }
    // Nothing was asked of the internal hosts, under any name.
    assert_eq!(w.internal.paths(), Vec::<String>::new());
    if let Some(v6) = &w.internal6 {
        assert_eq!(v6.paths(), Vec::<String>::new());
    }
    // The source's own host was asked (the redirect came from it) ...
    assert!(w.public.paths().contains(&"/to-loopback".to_string()));
    // ... and a redirect to another public host is followed.
    assert_refreshed(&results, "public");
    assert_eq!(w.news.paths(), ["/feed.xml"]);
}

#[tokio::test]
async fn allow_internal_lifts_the_guard_per_source_and_by_default() {
    let w = World::new().await;
    let mut sources = String::new();
    let mut followed = vec!["loopback", "metadata-name", "intranet"];
    for (id, path) in [
        ("loopback", "/to-loopback"),
        ("metadata-name", "/to-metadata-name"),
        ("intranet", "/to-intranet"),
    ] {
        sources.push_str(&source(
            id,
            &format!("http://feeds.example.com{path}"),
            "allow_internal = true",
        ));
    }
    if w.internal6.is_some() {
        sources.push_str(&source(
            "ipv6-loopback",
            "http://feeds.example.com/to-ipv6-loopback",
            "allow_internal = true",
        ));
        followed.push("ipv6-loopback");
    }
    // A source next to them without the switch is still guarded.
    sources.push_str(&source(
        "guarded",
        "http://feeds.example.com/to-loopback",
        "",
    ));
    let results = w.refresh_all("", &sources).await;
    for id in &followed {
        assert_refreshed(&results, id);
    }
    assert_refused(&results, "guarded", "127.0.0.1");
    let mut hits = w.internal.paths();
    hits.sort();
    assert_eq!(
        hits,
        ["/computeMetadata/v1/", "/feed.xml", "/secret"],
        "each allowed source reached the internal host once; the guarded one did not"
    );
    if let Some(v6) = &w.internal6 {
        assert_eq!(v6.paths(), ["/secret"]);
    }

    // `[defaults] allow_internal = true` lifts it for every source, and a
    // source may put it back.
    let w = World::new().await;
    let sources = source("open", "http://feeds.example.com/to-loopback", "")
        + &source(
            "closed",
            "http://feeds.example.com/to-loopback",
            "allow_internal = false",
        );
    let results = w.refresh_all("allow_internal = true", &sources).await;
    assert_refreshed(&results, "open");
    assert_refused(&results, "closed", "127.0.0.1");
    assert_eq!(w.internal.paths(), ["/secret"]);
}

#[tokio::test]
async fn a_source_configured_on_an_internal_address_may_follow_redirects_inside() {
    let w = World::new().await;
    // An IP literal on loopback, and a LAN name resolving to 192.168.1.10.
    let sources = source(
        "literal",
        &format!("http://{}/to-loopback", w.public.addr()),
        "",
    ) + &source("lan-name", "http://nas.lan/to-intranet", "")
        + &source("lan-metadata", "http://nas.lan/to-metadata-name", "");
    let results = w.refresh_all("", &sources).await;
    assert_refreshed(&results, "literal");
    assert_refreshed(&results, "lan-name");
    assert_refreshed(&results, "lan-metadata");
    let mut hits = w.internal.paths();
    hits.sort();
    assert_eq!(hits, ["/computeMetadata/v1/", "/feed.xml", "/secret"]);
}

#[tokio::test]
async fn a_public_name_rebound_to_the_metadata_address_is_refused_at_connect_time() {
    let w = World::new().await;
    // The guard looks `rebind.example.com` up and finds a public address;
    // the connection's own lookup gets 169.254.169.254. Checking names only
    // before the request would let this through.
    let sources = source("rebind", "http://rebind.example.com/feed.xml", "");
    let results = w.refresh_all("", &sources).await;
    assert_refused(&results, "rebind", "169.254.169.254");
    assert_eq!(w.table.lookups("rebind.example.com"), 2);
    assert_eq!(w.internal.paths(), Vec::<String>::new());
    assert_eq!(w.news.paths(), Vec::<String>::new());
}

/// The daemon itself, from `feeds.toml`: a source on 127.0.0.1 (as every
/// test host is) keeps following redirects on loopback with the guard on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_lets_a_loopback_source_follow_loopback_redirects() {
    let w = World::new().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &source(
            "local-redirect",
            &format!("http://{}/to-loopback", w.public.addr()),
            "",
        ),
    );
    let daemon = TestDaemon::start(dir.path()).await;
    let outcome = daemon.refresh("local-redirect").await;
    assert!(
        matches!(outcome, Outcome::Refreshed { .. } | Outcome::NotModified),
        "{outcome:?}"
    );
    assert!(daemon.app.store.source_item_count("local-redirect") >= 1);
    assert!(w.internal.paths().contains(&"/secret".to_string()));
    daemon.stop().await;
}
