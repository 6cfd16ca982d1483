//! The store on a full disk (a small tmpfs; mounting one needs root, so the
//! test prints `SKIP:` and passes where it cannot): the refresh fails with
//! the store's error and the source shows it (`sources`, `/`, `/metrics`),
//! the store's own health shows (`/readyz` 503, `syndic_store_writable`,
//! systemd `STATUS=`), nothing spins (CPU and memory flat), the watchdog
//! keeps being fed, and once space returns writes resume by themselves (no
//! restart) with nothing lost that was acknowledged before.

#[path = "common/skip.rs"]
mod skip;

use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn write_articles(dir: &Path, from: usize, to: usize, words: usize) {
    for i in from..to {
        let text: String = (0..words)
            .map(|w| format!("w{} ", (i * 13 + w) % 9973))
            .collect();
        std::fs::write(
            dir.join(format!("a{i}.md")),
            format!(
                "---\ntitle: Article {i}\ndate: 2026-02-{:02}T00:{:02}:00Z\n---\n{text}\n",
                i % 28 + 1,
                i % 60
            ),
        )
        .unwrap();
    }
}

/// `GET path` on 127.0.0.1:port: (status, body).
fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name_and_labels} missing in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// CPU seconds (user + system) and resident KiB of `pid`.
fn usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    (ticks / 100.0, rss)
}

#[test]
fn a_full_disk_fails_refreshes_visibly_and_writes_resume_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(&mnt)
        .output();
    match mounted {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            skip::skip(
                "a_full_disk_fails_refreshes_visibly_and_writes_resume_without_a_restart",
                &format!(
                    "cannot mount a tmpfs (needs root): {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            );
            return;
        }
        Err(err) => {
            skip::skip(
                "a_full_disk_fails_refreshes_visibly_and_writes_resume_without_a_restart",
                &format!("cannot run mount: {err}"),
            );
            return;
        }
    }
    let _mounted = Mounted(mnt.clone());
    let articles = dir.path().join("articles");
    std::fs::create_dir(&articles).unwrap();
    write_articles(&articles, 0, 50, 100);
    let store = mnt.join("store");
    let config = dir.path().join("feeds.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"off\"\npublic_status = true\nstore = \"{}\"\n\n\
             [[source]]\nid = \"local\"\npath = \"{}\"\nrefresh = \"1h\"\n\n\
             [[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\nlimit = 1000\n",
            store.display(),
            articles.display()
        ),
    )
    .unwrap();
    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let messages: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    {
        let messages = messages.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                if let Ok(n) = notify.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).to_string();
                    messages.lock().unwrap().push((Instant::now(), text));
                }
            }
        });
    }
    let log = std::fs::File::create(dir.path().join("daemon.log")).unwrap();
    let daemon = Daemon(
        Command::new(env!("CARGO_BIN_EXE_syndic"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env("NOTIFY_SOCKET", &notify_path)
            .env("WATCHDOG_USEC", "2000000")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let pid = daemon.0.id();
    let cli = |args: &[&str]| -> Output {
        Command::new(env!("CARGO_BIN_EXE_syndic"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env_remove("NOTIFY_SOCKET")
            .output()
            .unwrap()
    };
    let wait_for = |what: &str, limit: Duration, ok: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !ok() {
            assert!(
                start.elapsed() < limit,
                "{what} not within {limit:?}; log:\n{}",
                std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    // The daemon picks its port; READY's status line says which.
    let serving_port = || -> Option<u16> {
        messages.lock().unwrap().iter().find_map(|(_, message)| {
            let addr = message.split("serving on ").nth(1)?.split(';').next()?;
            addr.parse::<std::net::SocketAddr>().ok().map(|a| a.port())
        })
    };
    wait_for("READY with the address", Duration::from_secs(60), &|| {
        serving_port().is_some()
    });
    let port = serving_port().unwrap();
    let ready = || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && get(port, "/readyz").0 == 200
    };
    wait_for("ready", Duration::from_secs(60), &ready);
    let items = |cli: &dyn Fn(&[&str]) -> Output| -> usize {
        let out = cli(&["render", "all", "--format", "json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let feed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        feed["items"].as_array().unwrap().len()
    };
    wait_for("the first refresh", Duration::from_secs(30), &|| {
        items(&cli) == 50
    });

    // Fill the disk.
    {
        let mut filler = std::fs::File::create(mnt.join("filler")).unwrap();
        let chunk = vec![7u8; 64 * 1024];
        while filler.write_all(&chunk).is_ok() {}
        let _ = filler.sync_all();
    }
    write_articles(&articles, 50, 250, 400);
    let out = cli(&["fetch", "local"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("local: FAILED: store:"), "{stdout}");

    // The source shows it.
    let out = cli(&["sources", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        rows[0]["consecutive_failures"].as_u64().unwrap() >= 1,
        "{rows}"
    );
    let status = rows[0]["last_status"].as_str().unwrap().to_string();
    assert!(status.starts_with("store:"), "{status}");
    let (_, index) = get(port, "/");
    assert!(
        index.contains("store:"),
        "the index page names the store error"
    );
    let (_, metrics) = get(port, "/metrics");
    assert_eq!(metric(&metrics, "syndic_source_up{source=\"local\"}"), 0.0);
    assert!(metric(&metrics, "syndic_source_failures_total{source=\"local\"}") >= 1.0);
    // The store's health shows.
    assert_eq!(metric(&metrics, "syndic_store_writable"), 0.0);
    let (code, body) = get(port, "/readyz");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("store not writable"), "{body}");
    wait_for("STATUS= naming the store", Duration::from_secs(15), &|| {
        messages
            .lock()
            .unwrap()
            .iter()
            .any(|(_, m)| m.contains("STATUS=") && m.contains("STORE NOT WRITABLE"))
    });
    // Serving goes on.
    assert_eq!(get(port, "/feeds/all.json").0, 200);

    // No spin: CPU and memory flat for 10 s of outage (with scrapes and a
    // second failing fetch), and the watchdog still fed.
    let (cpu0, rss0) = usage(pid);
    let started = Instant::now();
    let out = cli(&["fetch", "local"]);
    assert_eq!(out.status.code(), Some(1));
    while started.elapsed() < Duration::from_secs(10) {
        let (_, metrics) = get(port, "/metrics");
        assert_eq!(metric(&metrics, "syndic_store_writable"), 0.0);
        std::thread::sleep(Duration::from_millis(500));
    }
    let (cpu1, rss1) = usage(pid);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = (cpu1 - cpu0) / elapsed;
    println!(
        "outage: {:.1}% CPU, RSS {rss0} -> {rss1} KiB over {elapsed:.1} s",
        cpu * 100.0
    );
    assert!(cpu < 0.25, "{:.0}% CPU during the outage", cpu * 100.0);
    assert!(rss1 < rss0 + 30 * 1024, "RSS grew {rss0} -> {rss1} KiB");
    let pings = messages
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, m)| *at >= started && m == "WATCHDOG=1")
        .count();
    assert!(pings >= 5, "{pings} watchdog pings in 10 s of outage");

    // Space returns: writes resume by themselves, no restart.
    std::fs::remove_file(mnt.join("filler")).unwrap();
    wait_for("/readyz 200 again", Duration::from_secs(30), &|| {
        get(port, "/readyz").0 == 200
    });
    let (_, metrics) = get(port, "/metrics");
    assert_eq!(metric(&metrics, "syndic_store_writable"), 1.0);
    let out = cli(&["fetch", "local"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("200 new"), "{stdout}");
    assert_eq!(items(&cli), 250, "nothing acknowledged was lost");
    let out = cli(&["sources", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["consecutive_failures"], 0, "{rows}");
    let recovered = messages
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(_, m)| m.starts_with("STATUS="))
        .map(|(_, m)| m.clone())
        .unwrap();
    assert!(!recovered.contains("NOT WRITABLE"), "{recovered}");
    // Same process all along, and it stops cleanly.
    let mut daemon = daemon;
    assert!(daemon.0.try_wait().unwrap().is_none(), "the daemon exited");
    terminate(pid);
    let status = daemon.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    // Everything is still there after a restart on the same store.
    let out = cli(&["render", "all", "--format", "json"]);
    let feed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(feed["items"].as_array().unwrap().len(), 250);
}

fn terminate(pid: u32) {
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
}
