//! Misbehaving feed hosts: each scenario is served by a scripted raw TCP
//! host on 127.0.0.1 next to a healthy source. The daemon must stay up, keep
//! memory bounded, mark the bad source failing with a clear cause (or
//! recover what can be recovered), and keep refreshing the healthy one.

mod common;

use std::time::Duration;

use common::host::read_request;
use common::{MockHost, Scripted, TestDaemon, rss_feed, write_config};
use syndic::refresh::Outcome;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Misbehaviour {
    /// Announces 1 GB and streams zeros until the client gives up.
    GigabyteBody,
    /// A gzip body that inflates to 1 GiB.
    GzipBomb,
    /// One byte per second.
    Dribble,
    /// Half a body, then a TCP reset.
    ResetMidBody,
    /// Content-Length larger than the body, then close.
    WrongContentLength,
    /// Accepts, reads the request, never answers.
    NeverAnswers,
    /// A 200 with an empty body.
    Empty200,
    /// A 200 with an HTML login page.
    HtmlLogin,
    /// One XML attribute of 8 MB.
    HugeAttribute,
    /// 10,000 items in one feed.
    TenThousandItems,
    /// Elements nested 100,000 deep inside an item.
    DeepNesting,
    /// The billion-laughs entity bomb.
    BillionLaughs,
    /// Declared UTF-8, with invalid bytes.
    InvalidUtf8,
}

/// 1 GiB of spaces gzipped (about 1 MiB): one MiB deflated once, its
/// sync-flushed blocks repeated 1,024 times, then a final empty block. The
/// trailer's CRC is not that of the data: a fetch must stop at its decoded
/// size cap long before it reaches it.
fn gzip_bomb() -> Vec<u8> {
    let mut compress = flate2::Compress::new(flate2::Compression::best(), false);
    let mib = vec![b' '; 1 << 20];
    let mut chunk = Vec::with_capacity(1 << 16);
    compress
        .compress_vec(&mib, &mut chunk, flate2::FlushCompress::Sync)
        .unwrap();
    assert_eq!(
        compress.total_in(),
        mib.len() as u64,
        "chunk buffer too small"
    );
    let mut bomb = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    for _ in 0..1024 {
        bomb.extend_from_slice(&chunk);
    }
    // A final fixed-Huffman block holding only its end code; CRC32, ISIZE.
    bomb.extend_from_slice(&[0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
    bomb
}

#[test]
fn the_gzip_bomb_inflates_to_a_gibibyte() {
    use std::io::Read;
    let bomb = gzip_bomb();
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
    let mut decoder = flate2::read::GzDecoder::new(&bomb[..]);
    let mut buf = vec![0; 1 << 20];
    let mut total = 0u64;
    // Read 64 MiB of it (all spaces); the rest is the same blocks.
    while total < 64 << 20 {
        let n = decoder.read(&mut buf).unwrap();
        assert!(n > 0, "ended after {total} bytes");
        assert!(buf[..n].iter().all(|b| *b == b' '));
        total += n as u64;
    }
}

fn body_for(m: Misbehaviour) -> Vec<u8> {
    match m {
        Misbehaviour::HtmlLogin => b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form action=/login><input name=user></form></body></html>".to_vec(),
        Misbehaviour::HugeAttribute => format!(
            r#"<?xml version="1.0"?><rss version="2.0"><channel><title x="{}">T</title><link>http://h/</link><description>d</description><item><guid>a</guid><title>A</title></item></channel></rss>"#,
            "A".repeat(8 << 20)
        )
        .into_bytes(),
        Misbehaviour::TenThousandItems => {
            let items: Vec<(String, String)> =
                (0..10_000).map(|i| (format!("g{i}"), format!("Item {i}"))).collect();
            let refs: Vec<(&str, &str)> = items.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            rss_feed(&refs).into_bytes()
        }
        Misbehaviour::DeepNesting => format!(
            r#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>http://h/</link><description>d</description><item><guid>deep</guid><title>Deep</title><description>{}x{}</description></item></channel></rss>"#,
            "<a>".repeat(100_000),
            "</a>".repeat(100_000)
        )
        .into_bytes(),
        Misbehaviour::BillionLaughs => {
            let mut doc = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY lol \"lol\">\n");
            doc.push_str("<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
            for i in 2..10 {
                doc.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", format!("&lol{};", i - 1).repeat(10)));
            }
            doc.push_str("]>\n<rss version=\"2.0\"><channel><title>&lol9;</title><link>http://h/</link><description>d</description><item><guid>l</guid><title>Laughs &lol9;</title></item></channel></rss>");
            doc.into_bytes()
        }
        Misbehaviour::InvalidUtf8 => {
            let mut doc = br#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bad bytes</title><link>http://h/</link><description>d</description><item><guid>u</guid><title>Caf"#.to_vec();
            doc.extend_from_slice(&[0xe9, 0xff, 0xfe, 0xc3]);
            doc.extend_from_slice(b"</title></item></channel></rss>");
            doc
        }
        _ => Vec::new(),
    }
}

async fn misbehave(mut stream: TcpStream, m: Misbehaviour) {
    read_request(&mut stream).await;
    let head = |len: &str, extra: &str| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {len}\r\n{extra}Connection: close\r\n\r\n"
        )
    };
    match m {
        Misbehaviour::GigabyteBody => {
            let _ = stream.write_all(head("1073741824", "").as_bytes()).await;
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..(1 << 14) {
                if stream.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        }
        Misbehaviour::GzipBomb => {
            let bomb = gzip_bomb();
            let _ = stream
                .write_all(head(&bomb.len().to_string(), "Content-Encoding: gzip\r\n").as_bytes())
                .await;
            let _ = stream.write_all(&bomb).await;
        }
        Misbehaviour::Dribble => {
            let body = rss_feed(&[("d", "Dribbled")]);
            let _ = stream
                .write_all(head(&body.len().to_string(), "").as_bytes())
                .await;
            for b in body.bytes() {
                if stream.write_all(&[b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Misbehaviour::ResetMidBody => {
            let body = rss_feed(&[("r", "Reset")]);
            let _ = stream
                .write_all(head(&body.len().to_string(), "").as_bytes())
                .await;
            let _ = stream.write_all(&body.as_bytes()[..body.len() / 2]).await;
            // Linger 0 makes the close a TCP reset; with zero it never blocks.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            drop(stream);
        }
        Misbehaviour::WrongContentLength => {
            let body = rss_feed(&[("w", "Wrong length")]);
            let _ = stream
                .write_all(head(&(body.len() * 3).to_string(), "").as_bytes())
                .await;
            let _ = stream.write_all(body.as_bytes()).await;
        }
        Misbehaviour::NeverAnswers => {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Misbehaviour::Empty200 => {
            let _ = stream.write_all(head("0", "").as_bytes()).await;
        }
        other => {
            let body = body_for(other);
            let _ = stream
                .write_all(head(&body.len().to_string(), "").as_bytes())
                .await;
            let _ = stream.write_all(&body).await;
        }
    }
}

/// A raw host on 127.0.0.1 that misbehaves as `m` on every connection.
async fn start_bad_host(m: Misbehaviour) -> String {
    MockHost::start_raw(move |stream| misbehave(stream, m))
        .await
        .url("feed.xml")
}

/// This process's peak RSS: Linux only (`VmHWM`); elsewhere `None`, and
/// the memory bound is skipped visibly.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()));
    if cfg!(target_os = "linux") {
        assert!(peak.is_some(), "no VmHWM in /proc/self/status");
    }
    peak
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_hosts_fail_cleanly_and_spare_the_others() {
    use Misbehaviour::*;
    let scenarios = [
        GigabyteBody,
        GzipBomb,
        Dribble,
        ResetMidBody,
        WrongContentLength,
        NeverAnswers,
        Empty200,
        HtmlLogin,
        HugeAttribute,
        TenThousandItems,
        DeepNesting,
        BillionLaughs,
        InvalidUtf8,
    ];
    let dir = tempfile::tempdir().unwrap();
    let good = MockHost::start().await;
    good.set(
        "ok.rss",
        Scripted::feed(
            "application/rss+xml",
            &rss_feed(&[("ok1", "Fine")]),
            "\"g0\"",
        ),
    );
    let mut sources = format!(
        "[[source]]\nid = \"good\"\nurl = \"{}\"\n",
        good.url("ok.rss")
    );
    for (i, m) in scenarios.iter().enumerate() {
        let url = start_bad_host(*m).await;
        sources.push_str(&format!(
            "\n[[source]]\nid = \"bad-{i}\"\nurl = \"{url}\"\ntitle = \"{m:?}\"\n"
        ));
    }
    write_config(dir.path(), &sources);
    let before = peak_rss_kib();
    let daemon = TestDaemon::start(dir.path()).await;

    let mut report = Vec::new();
    for (i, m) in scenarios.iter().enumerate() {
        let id = format!("bad-{i}");
        let outcome = daemon.refresh(&id).await;
        let state = daemon.app.store.poll_state(&id).unwrap().unwrap();
        let stored = daemon.app.store.source_item_count(&id);
        report.push(format!(
            "{m:?}: {outcome:?}, {stored} items, status {:?}",
            state.last_status
        ));
        match m {
            // Recoverable: the items are stored.
            TenThousandItems => assert!(
                matches!(outcome, Outcome::Refreshed { new: 10_000, .. }) || stored == 10_000,
                "{m:?}: {outcome:?}"
            ),
            InvalidUtf8 | HugeAttribute | DeepNesting | BillionLaughs => {
                if let Outcome::Failed(cause) = &outcome {
                    assert!(!cause.is_empty(), "{m:?}: failure without a cause");
                } else {
                    assert!(stored >= 1, "{m:?}: neither failed nor stored: {outcome:?}");
                }
            }
            // Refused by the size caps, not by a timeout or a read error.
            GigabyteBody | GzipBomb => {
                let Outcome::Failed(cause) = &outcome else {
                    panic!("{m:?}: expected a failure, got {outcome:?}");
                };
                let cap = if *m == GzipBomb {
                    "decoded body larger than"
                } else {
                    "body larger than"
                };
                assert!(cause.contains(cap), "{m:?} failed otherwise: {cause}");
                assert!(state.consecutive_failures >= 1, "{m:?}: not marked failing");
                assert_eq!(stored, 0, "{m:?}: stored something from a broken response");
            }
            // The rest must fail, with a cause, and count as a failure.
            _ => {
                let Outcome::Failed(cause) = &outcome else {
                    panic!("{m:?}: expected a failure, got {outcome:?}");
                };
                assert!(!cause.is_empty());
                assert!(state.consecutive_failures >= 1, "{m:?}: not marked failing");
                assert_eq!(stored, 0, "{m:?}: stored something from a broken response");
            }
        }
        // The healthy source still refreshes after each bad one.
        good.set(
            "ok.rss",
            Scripted::feed(
                "application/rss+xml",
                &rss_feed(&[("ok1", "Fine"), (&format!("ok-{i}"), "More")]),
                &format!("\"g{}\"", i + 1),
            ),
        );
        let fine = daemon.refresh("good").await;
        assert!(
            matches!(fine, Outcome::Refreshed { .. }),
            "good source after {m:?}: {fine:?}"
        );
    }
    // Billion laughs must not have been expanded into a title.
    let json = daemon.json("/feeds/all.json").await;
    for item in json["items"].as_array().unwrap() {
        assert!(
            item["title"].as_str().unwrap_or("").len() < 10_000,
            "an entity bomb expanded"
        );
    }
    assert_eq!(daemon.get("/healthz").await.status(), 200);
    eprintln!("{}", report.join("\n"));
    match (before, peak_rss_kib()) {
        (Some(before), Some(after)) => {
            let grown_mib = after.saturating_sub(before) / 1024;
            eprintln!("peak RSS grew by {grown_mib} MiB over all scenarios");
            // All 13 hosts are first fetched at once at start (16 fetches
            // may run together); ~410 MiB was measured. A 1 GB body or a
            // 1 GiB gzip bomb held in memory would blow this bound.
            assert!(grown_mib < 600, "peak RSS grew by {grown_mib} MiB");
        }
        _ => common::skip::skip(
            "misbehaving_hosts_fail_cleanly_and_spare_the_others (memory bound)",
            "no peak RSS off Linux",
        ),
    }
    daemon.stop().await;
}
