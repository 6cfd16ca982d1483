//! Fixtures of the exactness conformance tests (`conformance_*`): the real
//! daemon on 127.0.0.1 with a source whose items a test writes straight
//! into the store, and raw HTTP/1.1 requests whose header lines the test
//! controls exactly (repeated lines, odd case), which a client library
//! would normalize.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::TestDaemon;
use syndic::app::App;
use syndic::config::Config;
use syndic::daemon;
use syndic::model::{Entry, ItemKey, StoredItem};
use syndic::store::{Batch, Store};

/// A remote source nothing can answer for (port 0: no listener can bind it,
/// so a connection is refused at once, whatever runs on the machine): its
/// items come from [`put_items`].
pub const EXT_SOURCE: &str = "[[source]]\nid = \"ext\"\nurl = \"http://127.0.0.1:0/feed.xml\"\nrefresh = \"2h\"\nmin_interval = \"1m\"\n";

pub const ALL_FEED: &str =
    "[[feed]]\nname = \"all\"\ntitle = \"All\"\ndescription = \"Everything\"\ninclude = [\"*\"]\n";

/// Starts the daemon over `dir` (its config written from `body`) on `at`.
pub async fn start_at(dir: &Path, body: &str, at: &str) -> TestDaemon {
    let listener = tokio::net::TcpListener::bind(at).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let text = format!(
        "[daemon]\nlisten = \"127.0.0.1:0\"\nstore = \"store\"\npublic_url = \"http://{addr}\"\n\n\
         [defaults]\nrefresh = \"1h\"\nmin_interval = \"1m\"\ntimeout = \"2s\"\n\n{body}"
    );
    std::fs::write(dir.join("feeds.toml"), text).unwrap();
    let config = Config::load(&dir.join("feeds.toml")).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(&config.daemon.store).unwrap();
    let app = App::new(config, store).unwrap();
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(daemon::run(app.clone(), listener, shutdown.clone()));
    let d = TestDaemon {
        dir: dir.to_path_buf(),
        app,
        addr,
        shutdown,
        handle,
    };
    for _ in 0..400 {
        let config = d.app.config();
        if config.sources.iter().all(|s| {
            d.app
                .store
                .poll_state(&s.id)
                .unwrap()
                .is_some_and(|p| p.last_attempt.is_some())
        }) && d.app.refreshes_running() == 0
        {
            d.app.render_feeds(None);
            return d;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("first refreshes did not finish");
}

/// [`start_at`] on a free port, with the `ext` source and the `all` feed.
pub async fn start(dir: &Path) -> TestDaemon {
    start_at(dir, &format!("{EXT_SOURCE}\n{ALL_FEED}"), "127.0.0.1:0").await
}

/// An item of `source` with upstream id `id`, published and updated `at`.
pub fn stored(source: &str, id: &str, at: DateTime<Utc>) -> StoredItem {
    let key = ItemKey::derive(source, id);
    let entry = Entry {
        upstream_id: Some(id.into()),
        title: Some(format!("Item {id}")),
        link: Some(format!("https://example.org/{id}")),
        summary_html: Some(format!("<p>About {id}</p>")),
        ..Entry::default()
    };
    StoredItem {
        first_seen: at,
        ..syndic::dedup::new_item(source, key, entry, at)
    }
}

/// Writes items into the store as a refresh would, and renders.
pub async fn put_items(d: &TestDaemon, source: &str, items: Vec<StoredItem>) {
    let poll = d.app.store.poll_state(source).unwrap().unwrap_or_default();
    let mut upserts = Vec::new();
    for item in items {
        let old = d.app.store.item(&item.key).unwrap();
        upserts.push((old, item));
    }
    let batch = Batch {
        source: source.into(),
        upserts,
        poll: Some(poll),
        ..Batch::default()
    };
    d.app.store.apply(&batch).await.unwrap();
    d.app.render_feeds(Some(source));
}

/// A fixed date in the past.
pub fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::days(n)
}

/// The daemon ([`start`]) with two items of `ext`, on days 1 and 2.
pub async fn feed_with_items() -> (tempfile::TempDir, TestDaemon) {
    let dir = tempfile::tempdir().unwrap();
    let d = start(dir.path()).await;
    put_items(
        &d,
        "ext",
        vec![stored("ext", "a", day(1)), stored("ext", "b", day(2))],
    )
    .await;
    (dir, d)
}

/// A response read off the wire.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    /// Header lines in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Raw {
    /// The value of the one header line `name`, if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `GET path` with exactly these header lines (plus Host and
/// `Connection: close`), read to the end.
pub async fn raw_get(addr: SocketAddr, path: &str, lines: &[(&str, &str)]) -> Raw {
    raw_request(addr, "GET", path, lines).await
}

pub async fn raw_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    lines: &[(&str, &str)],
) -> Raw {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in lines {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut bytes))
        .await
        .expect("response within 20 s")
        .unwrap();
    parse_response(&bytes, method == "HEAD")
}

fn parse_response(bytes: &[u8], head: bool) -> Raw {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete header");
    let text = std::str::from_utf8(&bytes[..split]).unwrap();
    let mut lines = text.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    if chunked && !head {
        body = dechunk(&body);
    }
    Raw {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(
            std::str::from_utf8(&data[..line_end])
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
