//! Ingest memory benchmark (issue 14; a bench binary, not a timed test):
//! the real daemon (`syndic serve`, a child process) ingests one big
//! document, and this reports the daemon's resident memory: before the
//! ingest (idle), its peak (VmHWM) and after the ingest has settled.
//!
//! - `remote N`: one remote source whose feed holds N items (about 360
//!   bytes each: N = 20,000 is a 7.2 MB body), served from 127.0.0.1. The
//!   response is held back until the idle figure is taken (the store open,
//!   the request sent, nothing ingested).
//! - `local N`: one local folder source; N small `.md` files are moved
//!   into its (empty) folder at once after the daemon's first scan, and
//!   the next scan (every 2 s) ingests them all.
//!
//! A third argument `nonear` sets `near_duplicates = false`; a fourth, the
//! seconds to watch the daemon after the ingest (default 10).
//!
//! Run: `cargo bench --bench ingest_memory -- remote 20000` (or
//! `-- local 20000`, `-- remote 20000 nonear`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::Response;

const SOURCE: &str = "big";

/// A deterministic text of `words` words drawn from a 5,000-word
/// vocabulary, seeded by `seed`.
fn words(seed: u64, words: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..words)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("w{}", x % 5000)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn feed(items: usize) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel>\
         <title>Big</title><link>http://big.example/</link><description>d</description>",
    );
    for i in 0..items {
        xml.push_str(&format!(
            "<item><guid>big-{i}</guid><title>Item {i} of the big feed</title>\
             <link>http://big.example/{i}</link>\
             <description>&lt;p&gt;{}.&lt;/p&gt;</description>\
             <pubDate>Mon, 02 Mar 2026 {:02}:{:02}:{:02} GMT</pubDate></item>",
            words(i as u64 + 1, 28),
            (i / 3600) % 24,
            (i / 60) % 60,
            i % 60
        ));
    }
    xml.push_str("</channel></rss>");
    xml
}

fn article(i: usize) -> String {
    format!(
        "---\ntitle: \"Article {i}\"\ndate: 2026-03-02T{:02}:{:02}:{:02}Z\n---\n\n{}.\n",
        (i / 3600) % 24,
        (i / 60) % 60,
        i % 60,
        words(i as u64 + 7, 60)
    )
}

/// (VmRSS, VmHWM) of `pid` in KiB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time the process has used (user + system), in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line (11 and 12 after
    // the name and state); clock ticks of 1/100 s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mode = args.first().map_or("remote", String::as_str).to_string();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let near = args.get(2).map(String::as_str) != Some("nonear");
    let settle: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(10);

    let dir = tempfile::tempdir().unwrap();
    let asked = Arc::new(AtomicBool::new(false));
    let released = Arc::new(AtomicBool::new(false));
    let source = match mode.as_str() {
        "remote" => {
            let body = Arc::new(feed(n));
            println!("feed body: {:.1} MB, {n} items", body.len() as f64 / 1e6);
            let asked = asked.clone();
            let released = released.clone();
            let app = Router::new().fallback(move || {
                let body = body.clone();
                let asked = asked.clone();
                let released = released.clone();
                async move {
                    // The answer waits until the idle figure is read.
                    asked.store(true, Ordering::SeqCst);
                    while !released.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Response::builder()
                        .header("content-type", "application/rss+xml")
                        .header("etag", "\"v1\"")
                        .body(axum::body::Body::from(body.as_bytes().to_vec()))
                        .unwrap()
                }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            format!("url = \"http://{addr}/feed.xml\"\nallow_internal = true\n")
        }
        "local" => {
            std::fs::create_dir(dir.path().join("articles")).unwrap();
            let staging = dir.path().join("staging");
            std::fs::create_dir(&staging).unwrap();
            for i in 0..n {
                std::fs::write(staging.join(format!("a{i:05}.md")), article(i)).unwrap();
            }
            println!("{n} article files written");
            "path = \"articles\"\nrefresh = \"2s\"\n".to_string()
        }
        other => panic!("mode `{other}`: remote or local"),
    };
    let config = dir.path().join("feeds.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"off\"\nstore = \"store\"\n\
             contact = \"mailto:bench@example.org\"\n[defaults]\nnear_duplicates = {near}\n\
             [[source]]\nid = \"{SOURCE}\"\n{source}\
             [[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n"
        ),
    )
    .unwrap();

    // SYNDIC_BIN: another build of the daemon (a baseline to compare).
    let bin = std::env::var("SYNDIC_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_syndic").into());
    let daemon = |stderr: Stdio| {
        Command::new(&bin)
            .arg("--config")
            .arg(&config)
            .args(["--log-format", "json", "serve"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start the daemon")
    };
    let mut child = daemon(Stdio::piped());
    let pid = child.id();
    // The log lines of the source's refreshes.
    let (tx, rx) = mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains(&format!("\"source\":\"{SOURCE}\""))
                && (line.contains("\"refreshed\"")
                    || line.contains("refresh failed")
                    || line.contains("watching the article folder"))
            {
                let _ = tx.send(line);
            }
        }
    });
    // The peak is VmHWM; the sampler keeps the highest VmRSS seen too,
    // and with INGEST_TRACE=1 prints VmRSS every half second.
    let highest = Arc::new(AtomicU64::new(0));
    {
        let highest = highest.clone();
        let trace = std::env::var_os("INGEST_TRACE").is_some();
        let began = Instant::now();
        std::thread::spawn(move || {
            let mut ticks = 0u64;
            loop {
                let (rss, _) = memory(pid);
                if rss == 0 {
                    break;
                }
                highest.fetch_max(rss, Ordering::Relaxed);
                if trace && ticks.is_multiple_of(50) {
                    eprintln!(
                        "{:6.1} s  VmRSS {}",
                        began.elapsed().as_secs_f64(),
                        mib(rss)
                    );
                }
                ticks += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
        });
    }

    let idle;
    let started;
    if mode == "remote" {
        while !asked.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_secs(1));
        idle = memory(pid);
        released.store(true, Ordering::SeqCst);
        started = Instant::now();
    } else {
        // The folder is watched, then scanned empty at once (a scan that
        // stores nothing is logged at debug level only).
        let first = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the folder watched");
        assert!(first.contains("watching the article folder"), "{first}");
        std::thread::sleep(Duration::from_secs(3));
        idle = memory(pid);
        std::fs::remove_dir(dir.path().join("articles")).unwrap();
        std::fs::rename(dir.path().join("staging"), dir.path().join("articles")).unwrap();
        started = Instant::now();
    }
    let line = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(1800))
            .expect("the ingest finishes within 30 minutes");
        if !line.contains("\"new\":0,") {
            break line;
        }
    };
    let took = started.elapsed();
    let at_end = memory(pid);
    let cpu_at_end = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(settle));
    let settled = memory(pid);
    // A local folder is rescanned every 2 s: what those rescans of an
    // unchanged folder cost, and how long an edit of one file takes to be
    // stored (the watcher sees it; the log line says `updated`).
    let mut rescans = None;
    if mode == "local" {
        let idle_cpu = cpu_seconds(pid) - cpu_at_end;
        std::fs::write(
            dir.path().join("articles").join("a00007.md"),
            format!("{}\nEdited.\n", article(7)),
        )
        .unwrap();
        let edited = Instant::now();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(120))
                .expect("the edit is stored within 2 minutes");
            if line.contains("\"updated\":1") {
                break;
            }
        }
        rescans = Some((idle_cpu, edited.elapsed()));
    }
    let _ = child.kill();
    let _ = child.wait();
    // The level the stored items cost at rest: a new daemon on the same
    // store, watched as long.
    let mut fresh = daemon(Stdio::null());
    std::thread::sleep(Duration::from_secs(settle));
    let restarted = memory(fresh.id());
    let _ = fresh.kill();
    let _ = fresh.wait();
    let fields = line
        .split("\"fields\":")
        .nth(1)
        .and_then(|f| f.split('}').next())
        .unwrap_or(&line);
    println!(
        "ingest_memory: {mode} {n}, near_duplicates = {near}: {fields}}} in {:.1} s",
        took.as_secs_f64()
    );
    println!(
        "| idle RSS | peak RSS (VmHWM) | RSS when stored | RSS {settle} s later | \
         restarted on that store, {settle} s |"
    );
    println!("|---|---|---|---|---|");
    println!(
        "| {} | {} | {} | {} | {} |",
        mib(idle.0),
        mib(settled.1.max(highest.load(Ordering::Relaxed))),
        mib(at_end.0),
        mib(settled.0),
        mib(restarted.0)
    );
    if let Some((cpu, edit)) = rescans {
        println!(
            "unchanged folder, rescanned every 2 s: {cpu:.2} s of CPU in {settle} s; \
             one edited file stored {:.0} ms after its write",
            edit.as_secs_f64() * 1000.0
        );
    }
}
