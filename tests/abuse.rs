//! Abusive clients: slowloris, huge headers, too many connections, slow
//! handlers, path traversal, and a load of concurrent connections. The
//! daemon must keep serving everyone else.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use syndic::server::{self, Limits};

/// Guards against a hang; never a timing assertion.
const HANG: Duration = Duration::from_secs(20);

async fn start(limits: Limits) -> (std::net::SocketAddr, CancellationToken) {
    let router = Router::new().route("/", get(|| async { "ok" })).route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(server::run(listener, router, limits, shutdown.clone()));
    (addr, shutdown)
}

/// Sends raw bytes and reads the whole answer until the server closes.
async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(HANG, stream.read_to_end(&mut out))
        .await
        .expect("server never closed the connection");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn slowloris_connections_are_closed_after_the_header_timeout() {
    let (addr, _stop) = start(Limits {
        header_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // A request line, then nothing: the headers never end.
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(HANG, stream.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the server kept a header-less connection open"
    );
    // Others are still served.
    assert!(
        raw(
            addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .await
        .ends_with("ok")
    );
}

#[tokio::test]
async fn oversized_headers_are_refused() {
    let (addr, _stop) = start(Limits::default()).await;
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Junk: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let answer = raw(addr, big.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "a 64 KiB header was accepted: {}",
        &answer[..answer.len().min(80)]
    );
    assert!(
        raw(
            addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .await
        .ends_with("ok")
    );
}

#[tokio::test]
async fn slow_requests_are_cut_off_by_the_request_timeout() {
    let (addr, _stop) = start(Limits {
        request_timeout: Duration::from_millis(200),
        ..Limits::default()
    })
    .await;
    let answer = raw(
        addr,
        b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
}

#[tokio::test]
async fn the_connection_cap_holds_extra_clients_until_a_slot_frees() {
    let (addr, _stop) = start(Limits {
        max_connections: 2,
        header_read_timeout: Duration::from_secs(60),
        ..Limits::default()
    })
    .await;
    // Two idle connections take both slots (their headers never finish).
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let third = tokio::spawn(raw(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served past the cap of 2"
    );
    drop(held.pop());
    let answer = tokio::time::timeout(HANG, third).await.unwrap().unwrap();
    assert!(answer.ends_with("ok"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_and_unknown_paths_get_404_on_the_real_daemon() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("articles")).unwrap();
    std::fs::write(dir.path().join("articles/a.md"), "# A\n\nText\n").unwrap();
    common::write_config(
        dir.path(),
        "[[source]]\nid = \"local\"\npath = \"articles\"\n",
    );
    let daemon = common::TestDaemon::start(dir.path()).await;
    for path in [
        "/feeds/../store",
        "/feeds/..%2fstore",
        "/feeds/%2e%2e/feeds.toml",
        "/../../etc/passwd",
        "/articles/../feeds.toml",
        "/store/db",
        "/feeds/all.rss/../../feeds.toml",
        "/feeds/",
        "/feeds/.rss",
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let answer = raw(daemon.addr, request.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 404"), "{path}: {answer}");
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_concurrent_connections_leave_the_daemon_serving() {
    let connections: usize = std::env::var("SYNDIC_LOAD_CONNECTIONS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("articles")).unwrap();
    std::fs::write(dir.path().join("articles/a.md"), "# A\n\nText\n").unwrap();
    common::write_config(
        dir.path(),
        "[[source]]\nid = \"local\"\npath = \"articles\"\n",
    );
    let daemon = common::TestDaemon::start(dir.path()).await;
    let addr = daemon.addr;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..connections {
        tasks.spawn(async move {
            let Ok(mut s) = TcpStream::connect(addr).await else {
                return false;
            };
            // Half send a real request, half connect and stall.
            if i % 2 == 0 {
                let _ = s
                    .write_all(
                        b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    )
                    .await;
                let mut out = Vec::new();
                let _ = tokio::time::timeout(HANG, s.read_to_end(&mut out)).await;
                String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200")
            } else {
                tokio::time::sleep(Duration::from_millis(500)).await;
                true
            }
        });
    }
    let mut ok = 0;
    while let Some(done) = tasks.join_next().await {
        if done.unwrap() {
            ok += 1;
        }
    }
    assert_eq!(ok, connections, "some clients were not served");
    // And a fresh client afterwards.
    assert_eq!(daemon.get("/healthz").await.status(), 200);
    daemon.stop().await;
}
