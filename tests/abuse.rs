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
    String::from_utf8_lossy(&common::exact::raw_exchange(addr, request).await).into_owned()
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
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(HANG, stream.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the server kept a header-less connection open"
    );
    // Closed by this limit (300 ms), not by the 10 s default: a server that
    // ignored the setting would take ten seconds.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(5),
        "closed after {took:?}, the limit is 300 ms"
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
        pressure_idle_timeout: Duration::from_secs(60),
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
            // Half send a real request at once, half connect and stall for
            // half a second before they send theirs: every one is answered.
            if i % 2 == 1 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let _ = s
                .write_all(b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await;
            let mut out = Vec::new();
            let _ = tokio::time::timeout(HANG, s.read_to_end(&mut out)).await;
            String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200")
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

/// A keep-alive client: one request, its whole answer read (by its
/// Content-Length), the connection left open. `None` if the server closed
/// it.
async fn keep_alive_request(stream: &mut TcpStream, path: &str) -> Option<()> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Some(());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_connections_lock_every_other_client_out() {
    // Issue 17: about 1,100 keep-alive connections sending a request every
    // few seconds locked every other client out. Here 2,000: 1,000 request
    // every 2 s on their connection, 500 stay idle after one request, 500
    // send their headers a byte at a time. A new client must still get the
    // feed; the bound is generous (a loaded test machine), the target is 1 s.
    let limits = Limits::for_this_process();
    let fds = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    // Each connection costs two descriptors here (client and server side).
    let connections = 2000.min(usize::try_from(fds.saturating_sub(600) / 2).unwrap_or(2000));
    assert!(
        connections >= 1000,
        "RLIMIT_NOFILE {fds} is too low for this test"
    );
    assert!(limits.max_connections >= connections, "{limits:?}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("articles")).unwrap();
    std::fs::write(dir.path().join("articles/a.md"), "# A\n\nText\n").unwrap();
    common::write_config(
        dir.path(),
        "[[source]]\nid = \"local\"\npath = \"articles\"\n",
    );
    let daemon = common::TestDaemon::start(dir.path()).await;
    let addr = daemon.addr;
    let stop = CancellationToken::new();
    let mut hogs = tokio::task::JoinSet::new();
    let opened = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for i in 0..connections {
        let (stop, opened) = (stop.clone(), opened.clone());
        hogs.spawn(async move {
            let Ok(mut s) = TcpStream::connect(addr).await else {
                return;
            };
            opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match i % 4 {
                // Idle after one request.
                0 => {
                    let _ = keep_alive_request(&mut s, "/feeds/all.rss").await;
                    stop.cancelled().await;
                }
                // Slow headers: a byte every 500 ms.
                1 => {
                    for b in b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\nX-Slow: yes\r\n\r\n" {
                        tokio::select! {
                            _ = stop.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        }
                        if s.write_all(&[*b]).await.is_err() {
                            return;
                        }
                    }
                    stop.cancelled().await;
                }
                // A request every 2 s, reconnecting when closed.
                _ => loop {
                    if keep_alive_request(&mut s, "/feeds/all.rss").await.is_none() {
                        match TcpStream::connect(addr).await {
                            Ok(again) => s = again,
                            Err(_) => return,
                        }
                    }
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    }
                },
            }
        });
    }
    // Wait until the hogs are connected.
    for _ in 0..400 {
        if opened.load(std::sync::atomic::Ordering::Relaxed) >= connections {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            raw(
                addr,
                b"GET /feeds/all.rss HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            ),
        )
        .await
        .expect("a new client was locked out");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    eprintln!("{connections} hog connections: slowest probe {slowest:?}");
    assert!(
        slowest < Duration::from_secs(5),
        "slowest probe {slowest:?}"
    );
    stop.cancel();
    while hogs.join_next().await.is_some() {}
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_sooner_under_pressure() {
    // At the cap, idle keep-alive connections get `pressure_idle_timeout`,
    // not the 10 s `header_read_timeout`: a client waiting in the backlog
    // is served soon.
    let (addr, _stop) = start(Limits {
        max_connections: 40,
        header_read_timeout: Duration::from_secs(30),
        pressure_idle_timeout: Duration::from_millis(200),
        ..Limits::default()
    })
    .await;
    // Few connections: no pressure, an idle one stays open.
    let mut calm = TcpStream::connect(addr).await.unwrap();
    keep_alive_request(&mut calm, "/").await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        keep_alive_request(&mut calm, "/").await.is_some(),
        "closed without pressure"
    );
    drop(calm);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut held = Vec::new();
    for _ in 0..40 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        keep_alive_request(&mut s, "/").await.unwrap();
        held.push(s);
    }
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(
        HANG,
        raw(
            addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ),
    )
    .await
    .expect("the waiting client was never served");
    assert!(answer.ends_with("ok"), "{answer}");
    // Well under the 30 s an idle connection may take without pressure.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // The idle ones were closed.
    let mut closed = 0;
    for s in &mut held {
        let mut b = [0u8; 1];
        if matches!(
            tokio::time::timeout(Duration::from_secs(5), s.read(&mut b)).await,
            Ok(Ok(0))
        ) {
            closed += 1;
        }
    }
    assert!(closed > 0, "no idle connection was closed");
}
