//! Daemon lifecycle benchmark (a bench binary, `harness = false`):
//! start-to-ready and stop time of the real `syndic serve` over a store of
//! 10k and 1M items, and idle CPU and RSS of a daemon with 1,000 sources.
//!
//! `cargo bench --bench lifecycle` (all), or with arguments:
//! `cargo bench --bench lifecycle -- ready 10000 1000000` / `-- idle 1000`.
//! Figures go to BENCHMARKS.md by hand.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use syndic::model::{Entry, ItemKey, PollState};
use syndic::store::{Batch, Store};

const SOURCES_FOR_ITEMS: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("ready") => {
            for n in &args[1..] {
                ready_and_stop(n.parse().expect("item count"));
            }
        }
        Some("idle") => idle(
            args.get(1)
                .map_or(1000, |n| n.parse().expect("source count")),
        ),
        _ => {
            ready_and_stop(10_000);
            ready_and_stop(1_000_000);
            idle(1000);
        }
    }
}

fn config(dir: &Path, sources: usize) {
    let mut text = String::from(
        "[daemon]\nlisten = \"127.0.0.1:0\"\nstore = \"store\"\npublic_url = \"http://bench.test\"\n\n\
         [defaults]\nrefresh = \"1h\"\nmin_interval = \"1h\"\n\n",
    );
    for i in 0..sources {
        // Never contacted: every source's stored next poll is a day away.
        text.push_str(&format!(
            "[[source]]\nid = \"s{i}\"\nurl = \"http://127.0.0.1:9/feed-{i}.xml\"\n\n"
        ));
    }
    text.push_str("[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\nlimit = 50\n\n");
    text.push_str("[[feed]]\nname = \"one\"\ntitle = \"One\"\ninclude = [\"s1\"]\nlimit = 50\n");
    std::fs::write(dir.join("feeds.toml"), text).unwrap();
}

fn not_due() -> PollState {
    PollState {
        next_poll_at: Some(Utc::now() + chrono::Duration::days(1)),
        last_success: Some(Utc::now()),
        last_status: Some("200".into()),
        ..PollState::default()
    }
}

/// Writes `items` items spread over the sources, and each source's state.
fn seed(dir: &Path, sources: usize, items: usize) -> Duration {
    let start = Instant::now();
    let store = Store::open(&dir.join("store")).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let base = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
    let per_source = items / sources.max(1);
    for s in 0..sources {
        let source = format!("s{s}");
        let mut done = 0;
        loop {
            let chunk = (per_source - done).min(5_000);
            let mut batch = Batch {
                source: source.clone(),
                poll: Some(not_due()),
                ..Batch::default()
            };
            for i in done..done + chunk {
                let upstream = format!("item-{i}");
                let key = ItemKey::derive(&source, &upstream);
                let at = base + chrono::Duration::seconds((i * sources + s) as i64);
                let entry = Entry {
                    upstream_id: Some(upstream.clone()),
                    title: Some(format!("Item {i} of {source}")),
                    link: Some(format!("https://example.org/{source}/{i}")),
                    published: Some(at),
                    summary_html: Some(format!(
                        "<p>Summary of item {i}: {}</p>",
                        "lorem ipsum ".repeat(10)
                    )),
                    ..Entry::default()
                };
                let item = syndic::dedup::new_item(&source, key, entry, at);
                batch.upserts.push((None, item));
            }
            rt.block_on(store.apply(&batch)).unwrap();
            done += chunk;
            if done >= per_source {
                break;
            }
        }
    }
    rt.block_on(store.flush()).unwrap();
    start.elapsed()
}

struct Running {
    child: std::process::Child,
    notify: UnixDatagram,
}

fn start(dir: &Path) -> (Running, Duration) {
    let socket = dir.join("notify.sock");
    let _ = std::fs::remove_file(&socket);
    let notify = UnixDatagram::bind(&socket).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(600)))
        .unwrap();
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_syndic"))
        .current_dir(dir)
        .arg("serve")
        .env("NOTIFY_SOCKET", &socket)
        .env("RUST_LOG", "warn")
        .env_remove("STATE_DIRECTORY")
        .env_remove("SYNDIC_STORE")
        .env_remove("SYNDIC_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 4096];
    loop {
        let n = notify.recv(&mut buf).expect("READY=1");
        if buf[..n].starts_with(b"READY=1") {
            break;
        }
    }
    (Running { child, notify }, started.elapsed())
}

fn stop(mut running: Running) -> Duration {
    let started = Instant::now();
    Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    let status = running.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    drop(running.notify);
    started.elapsed()
}

fn ready_and_stop(items: usize) {
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), SOURCES_FOR_ITEMS);
    let seeded = seed(dir.path(), SOURCES_FOR_ITEMS, items);
    let size = dir_size(&dir.path().join("store"));
    println!(
        "store: {items} items over {SOURCES_FOR_ITEMS} sources, {:.0} MB, seeded in {:.1?}",
        size as f64 / 1e6,
        seeded
    );
    let mut readies = Vec::new();
    let mut stops = Vec::new();
    for _ in 0..5 {
        let (running, ready) = start(dir.path());
        std::thread::sleep(Duration::from_millis(500));
        readies.push(ready);
        stops.push(stop(running));
    }
    readies.sort();
    stops.sort();
    println!(
        "{items} items: start-to-ready median {:.1?} (min {:.1?}, max {:.1?}); stop median {:.1?} (min {:.1?}, max {:.1?}) over 5 runs",
        readies[2], readies[0], readies[4], stops[2], stops[0], stops[4]
    );
}

fn idle(sources: usize) {
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), sources);
    seed(dir.path(), sources, 0);
    let (running, ready) = start(dir.path());
    let pid = running.child.id();
    // Let the first (not-due) refreshes of the first sources settle.
    std::thread::sleep(Duration::from_secs(5));
    let ticks = 100.0; // USER_HZ on Linux
    let (cpu0, t0) = (cpu_ticks(pid), Instant::now());
    std::thread::sleep(Duration::from_secs(30));
    let (cpu1, elapsed) = (cpu_ticks(pid), t0.elapsed());
    let cpu = (cpu1 - cpu0) as f64 / ticks / elapsed.as_secs_f64() * 100.0;
    let rss = rss_kib(pid);
    let stopped = stop(running);
    println!(
        "{sources} sources: ready in {ready:.1?}; idle CPU {cpu:.2}% of one core over {:.0?}; RSS {:.1} MiB; stop {stopped:.1?}",
        elapsed,
        rss as f64 / 1024.0
    );
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command (which may hold spaces) start after ')'.
    let rest = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 overall: 11 and 12 after ')'.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
