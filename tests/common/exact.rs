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

use super::{ConfigFile, TestDaemon};
use syndic::model::{Entry, ItemKey, StoredItem};
use syndic::store::Batch;

/// A remote source nothing can answer for (port 0: no listener can bind it,
/// so a connection is refused at once, whatever runs on the machine): its
/// items come from [`put_items`].
pub const EXT_SOURCE: &str = "[[source]]\nid = \"ext\"\nurl = \"http://127.0.0.1:0/feed.xml\"\nrefresh = \"2h\"\nmin_interval = \"1m\"\n";

pub const ALL_FEED: &str =
    "[[feed]]\nname = \"all\"\ntitle = \"All\"\ndescription = \"Everything\"\ninclude = [\"*\"]\n";

/// Starts the daemon over `dir` (its config written from `body`: sources
/// and feeds) on `at`, `public_url` its own address; an earlier daemon's
/// address restarts on that one's socket (see [`super::daemon`]).
pub async fn start_at(dir: &Path, body: &str, at: &str) -> TestDaemon {
    let listener = super::daemon::listener(at);
    let addr = listener.local_addr().unwrap();
    ConfigFile::new()
        .without_daemon(&["contact"])
        .daemon(&format!("public_url = \"http://{addr}\""))
        .defaults("timeout = \"2s\"")
        .no_all_feed()
        .sources(body)
        .write(dir);
    let d = TestDaemon::spawn_on(dir, listener);
    d.wait_first_refreshes().await;
    // The render that follows a refresh may still be on its way on a
    // loaded machine: render now (the same bytes either way).
    d.app.render_feeds(None);
    d
}

/// [`start_at`] on a free port, with the `ext` source and the `all` feed.
pub async fn start(dir: &Path) -> TestDaemon {
    start_at(dir, &format!("{EXT_SOURCE}\n{ALL_FEED}"), "127.0.0.1:0").await
}

/// An item of `source` with upstream id `id`, published and updated `at`.
pub fn stored(source: &str, id: &str, at: DateTime<Utc>) -> StoredItem {
    stored_with(source, id, at, at, None)
}

/// An item of `source` with upstream id `id`, published and updated `at`,
/// first seen `seen`, with `content` as its content if given.
pub fn stored_with(
    source: &str,
    id: &str,
    at: DateTime<Utc>,
    seen: DateTime<Utc>,
    content: Option<&str>,
) -> StoredItem {
    let key = ItemKey::derive(source, id);
    let entry = Entry {
        upstream_id: Some(id.into()),
        title: Some(format!("Item {id}")),
        link: Some(format!("https://example.org/{id}")),
        summary_html: Some(format!("<p>About {id}</p>")),
        content_html: content.map(str::to_string),
        ..Entry::default()
    };
    StoredItem {
        first_seen: seen,
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
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in lines {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let bytes = raw_exchange(addr, request.as_bytes()).await;
    parse_response(&bytes, method == "HEAD")
}

/// Sends `request` byte for byte and reads the answer until the server
/// closes the connection (20 s at most); what was read before an error.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut bytes))
        .await
        .expect("the server closed the connection within 20 s");
    bytes
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
