//! The daemon binary under a pretend systemd: sd_notify messages captured
//! on a test `NOTIFY_SOCKET`, SIGHUP reloads (valid and invalid configs),
//! SIGTERM during a refresh, `/metrics` parsed as Prometheus text, and the
//! CLI talking to the running daemon over the admin socket.

mod common;

use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::daemon::{PATIENCE, admin_addr};
use common::{ConfigFile, Daemon, Feed, Hold, Item, MockHost, Reply, http_get, syndic_command};

/// The `all` feed of these tests: everything, no limit.
const ALL: &str = "[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";

/// The common config with a 10 s timeout, `sources`, the `all` feed, then
/// `feeds`.
fn config(sources: &str, feeds: &str) -> String {
    config_with_timeout(sources, feeds, "10s")
}

/// [`config`] with the fetch timeout given.
fn config_with_timeout(sources: &str, feeds: &str, timeout: &str) -> String {
    ConfigFile::new()
        .without_daemon(&["contact"])
        .defaults(&format!("timeout = \"{timeout}\""))
        .all_feed(ALL)
        .sources(sources)
        .feeds(feeds)
        .text()
}

fn write(path: &Path, text: &str) {
    common::write_file(
        path.parent().unwrap(),
        path.file_name().unwrap().to_str().unwrap(),
        text,
    );
}

const SOURCE_A: &str = "[[source]]\nid = \"a\"\npath = \"a\"\n";

/// The CLI in `dir`, logging at info.
fn syndic(dir: &Path) -> Command {
    let mut cmd = syndic_command(dir);
    cmd.env("RUST_LOG", "info");
    cmd
}

fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

#[test]
fn ready_status_and_stopping_reach_the_notify_socket() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a/one.md"), "# Post A\n\nHello.\n");
    write(&dir.path().join("feeds.toml"), &config(SOURCE_A, ""));
    let mut daemon = Daemon::start(dir.path(), &[("WATCHDOG_USEC", "400000")]);
    // The READY=1 message (a WATCHDOG=1 ping may already follow it).
    let ready = daemon
        .messages()
        .into_iter()
        .find(|m| m.contains("READY=1"))
        .unwrap();
    assert!(
        ready.starts_with("READY=1\nSTATUS=serving on 127.0.0.1:"),
        "{ready}"
    );
    assert!(ready.contains("1 feeds"), "{ready}");
    // The watchdog pings while the store and scheduler answer.
    daemon.wait_for("WATCHDOG=1");
    // Readiness: the feed was rendered before READY=1 (the article itself
    // arrives with the first refresh, right after).
    assert_eq!(daemon.get("/readyz").0, 200);
    daemon.get_until("/feeds/all.json", "Post A");
    let (status, log, messages) = daemon.stop();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(
        messages.iter().any(|m| m.starts_with("STOPPING=1")),
        "{messages:?}"
    );
    assert!(log.contains("stopped"), "{log}");
}

#[test]
fn sighup_applies_a_valid_config_and_keeps_the_old_one_when_invalid() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a/one.md"), "# Post A\n\nHello.\n");
    write(&dir.path().join("b/two.md"), "# Post B\n\nHi.\n");
    write(&dir.path().join("feeds.toml"), &config(SOURCE_A, ""));
    let mut daemon = Daemon::start(dir.path(), &[]);
    daemon.get_until("/feeds/all.json", "Post A");
    let metrics = daemon.admin_get("/metrics").1;
    assert_eq!(
        metric(&metrics, "syndic_source_polls_total", &[("source", "a")]),
        Some(1.0)
    );
    let a_success = metric(
        &metrics,
        "syndic_source_last_success_timestamp_seconds",
        &[("source", "a")],
    )
    .unwrap();

    // A valid new config: a source and a feed added.
    let extra_feed = "\n[[feed]]\nname = \"bonly\"\ntitle = \"B only\"\ninclude = [\"b\"]\n";
    write(
        &dir.path().join("feeds.toml"),
        &config(
            &format!("{SOURCE_A}\n[[source]]\nid = \"b\"\npath = \"b\"\n"),
            extra_feed,
        ),
    );
    daemon.signal("HUP");
    let reloading = daemon.wait_for("RELOADING=1");
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    daemon.wait_for("READY=1");
    let bonly = daemon.get_until("/feeds/bonly.json", "Post B");
    assert!(!bonly.contains("Post A"), "{bonly}");
    daemon.get_until("/feeds/all.json", "Post B");
    // The unchanged source kept its poll state and was not polled again.
    let metrics = daemon.admin_get("/metrics").1;
    assert_eq!(
        metric(&metrics, "syndic_source_polls_total", &[("source", "a")]),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &metrics,
            "syndic_source_last_success_timestamp_seconds",
            &[("source", "a")]
        ),
        Some(a_success)
    );
    assert_eq!(
        metric(&metrics, "syndic_source_items", &[("source", "b")]),
        Some(1.0)
    );

    // An invalid config: rejected, logged with its errors, old one kept.
    write(
        &dir.path().join("feeds.toml"),
        "[[source]]\nid = \"Bad Id\"\npath = \"a\"\n",
    );
    daemon.signal("HUP");
    daemon.wait_for("RELOADING=1");
    daemon.wait_for("READY=1");
    assert!(daemon.get("/feeds/bonly.json").1.contains("Post B"));
    assert_eq!(daemon.get("/feeds/all.json").0, 200);

    // A valid config again: source b and its feed removed.
    write(&dir.path().join("feeds.toml"), &config(SOURCE_A, ""));
    daemon.signal("HUP");
    daemon.wait_for("RELOADING=1");
    daemon.wait_for("READY=1");
    assert_eq!(daemon.get("/feeds/bonly.json").0, 404);
    let (status, log, _) = daemon.stop();
    assert!(status.success(), "{log}");
    assert!(log.contains("reload rejected"), "{log}");
    assert!(
        log.contains("Bad Id"),
        "the config errors are in the log:\n{log}"
    );
    assert!(log.contains("old one keeps running"), "{log}");
    assert!(log.contains("invalid source id"), "{log}");
    assert!(log.contains("configuration reloaded"), "{log}");
}

/// A daemon whose first refresh of source `slow` (beside `other_sources`)
/// is held by a mock host serving `items`: returns once the host has the
/// request, with the host and its hold (each poll waits for a release).
fn daemon_with_a_held_refresh(
    dir: &Path,
    items: &[(&str, &str)],
    other_sources: &str,
    feeds: &str,
    timeout: &str,
) -> (Daemon, MockHost, Hold) {
    let feed = Feed::rss("Slow", "http://slow.example/")
        .items(items.iter().map(|(guid, title)| {
            Item::new(guid, title)
                .link(&format!("http://slow.example/{guid}"))
                .date(common::feed::at(2026, 3, 2, 10))
        }))
        .render();
    let hold = Hold::new();
    let host = MockHost::start_blocking();
    host.set(
        "feed.xml",
        Reply::ok(feed).header("etag", "\"v1\"").hold(&hold),
    );
    let slow = format!(
        "[[source]]\nid = \"slow\"\nurl = \"{}\"\n",
        host.url("feed.xml")
    );
    write(
        &dir.join("feeds.toml"),
        &config_with_timeout(&format!("{other_sources}\n{slow}"), feeds, timeout),
    );
    let daemon = Daemon::start(dir, &[]);
    assert!(
        hold.wait_arrivals(1, PATIENCE),
        "the daemon polled the host"
    );
    (daemon, host, hold)
}

#[test]
fn sigterm_during_a_refresh_finishes_it_stores_everything_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, _host, hold) = daemon_with_a_held_refresh(
        dir.path(),
        &[("g1", "Slow one"), ("g2", "Slow two")],
        "",
        "",
        "10s",
    );
    // Stop while the response is still pending, then let it through.
    daemon.signal("TERM");
    std::thread::sleep(Duration::from_millis(200));
    hold.release();
    let mut daemon = daemon;
    let status = daemon.child.wait().unwrap();
    let log = daemon.log();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("refreshed"), "{log}");
    drop(daemon);
    // The store was flushed: a fresh process sees both items.
    let json = rendered_all(dir.path());
    assert!(
        json.contains("Slow one") && json.contains("Slow two"),
        "{json}"
    );
}

/// `syndic render all --format json` in `dir`, by a fresh process.
fn rendered_all(dir: &Path) -> String {
    let out = syndic(dir)
        .args(["render", "all", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sigterm_with_a_refresh_stuck_past_the_grace_period_exits_0_in_time_and_keeps_the_store() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a/one.md"), "# Post A\n\nHello.\n");
    // The fetch may take two minutes: far past the stop's grace period.
    let (mut daemon, _host, hold) =
        daemon_with_a_held_refresh(dir.path(), &[("g1", "Stuck one")], SOURCE_A, "", "120s");
    daemon.get_until("/feeds/all.json", "Post A");

    // It waits the grace period for the refresh, then stops: well before
    // systemd's TimeoutStopSec (45 s) would kill it.
    stops_after_the_grace(
        &mut daemon,
        syndic::daemon::SHUTDOWN_GRACE,
        "refreshes still running after the grace period were abandoned",
    );
    hold.release();
    drop(daemon);
    // The store was flushed and is whole: what was stored before the stop
    // is served, and nothing of the abandoned refresh.
    let json = rendered_all(dir.path());
    assert!(json.contains("Post A"), "{json}");
    assert!(!json.contains("Stuck one"), "{json}");
}

#[test]
fn sigterm_with_a_client_that_never_reads_cuts_it_off_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    // Big articles: their feed (6 MB) is larger than the kernel buffers
    // (4 MB at most here) a client that reads nothing leaves room for.
    let words: String = (0..180_000).map(|i| format!("w{} ", i % 977)).collect();
    for i in 0..6 {
        write(
            &dir.path().join(format!("a/big{i}.md")),
            &format!("# Big {i}\n\n{words}\n"),
        );
    }
    write(&dir.path().join("feeds.toml"), &config(SOURCE_A, ""));
    let mut daemon = Daemon::start(dir.path(), &[]);
    assert!(daemon.get_until("/feeds/all.rss", "Big 5").len() > 5_000_000);
    // A client with a small receive window asks for the feed and reads
    // nothing: the response cannot be written out.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let addr = daemon.addr;
    let _client = runtime.block_on(async move {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(addr).await.unwrap();
        use tokio::io::AsyncWriteExt;
        stream
            .write_all(
                b"GET /feeds/all.rss HTTP/1.1\r\nHost: t\r\nAccept-Encoding: identity\r\n\r\n",
            )
            .await
            .unwrap();
        stream
    });
    std::thread::sleep(Duration::from_millis(300));
    stops_after_the_grace(
        &mut daemon,
        syndic::daemon::HTTP_GRACE,
        "requests still running after the grace period were cut off",
    );
}

/// SIGTERM to `daemon`, which must exit 0 once `grace` has run out (not
/// before, nor long after) and log `said`.
fn stops_after_the_grace(daemon: &mut Daemon, grace: Duration, said: &str) {
    let (status, took) = daemon.stop_within(grace + Duration::from_secs(15));
    let log = daemon.log();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains(said), "{log}");
    assert!(
        took >= grace - Duration::from_millis(500) && took < grace + Duration::from_secs(10),
        "stopped after {took:?} (grace {grace:?})\n{log}"
    );
}

#[test]
fn metrics_are_valid_prometheus_text_with_feed_and_source_values() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a/one.md"), "# Post A\n\nHello.\n");
    write(&dir.path().join("a/two.md"), "# Post A2\n\nHello.\n");
    write(&dir.path().join("feeds.toml"), &config(SOURCE_A, ""));
    let daemon = Daemon::start(dir.path(), &[]);
    daemon.get_until("/feeds/all.json", "Post A2");
    let etag_probe = http_get(daemon.addr, "/feeds/all.rss");
    assert_eq!(etag_probe.0, 200);
    assert_eq!(daemon.get("/feeds/nope.rss").0, 404);
    // The operator's pages are not on the public port.
    assert_eq!(daemon.get("/metrics").0, 404);
    let text = daemon.admin_get("/metrics").1;
    // Strictly parsed: every family has HELP and TYPE, every sample a value.
    for line in text.lines() {
        assert!(
            line.starts_with("# HELP syndic_")
                || line.starts_with("# TYPE syndic_")
                || line.starts_with("syndic_"),
            "unexpected line {line:?}"
        );
        if !line.starts_with('#') {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "bad value in {line:?}");
        }
    }
    let get = |name, labels: &[(&str, &str)]| metric(&text, name, labels);
    assert_eq!(get("syndic_source_items", &[("source", "a")]), Some(2.0));
    assert_eq!(
        get("syndic_source_consecutive_failures", &[("source", "a")]),
        Some(0.0)
    );
    assert_eq!(get("syndic_source_up", &[("source", "a")]), Some(1.0));
    assert_eq!(get("syndic_feed_items", &[("feed", "all")]), Some(2.0));
    assert!(get("syndic_feed_renders_total", &[("feed", "all")]).unwrap() >= 2.0);
    // The JSON polls (at least one 200) and the RSS request.
    assert!(
        get(
            "syndic_feed_requests_total",
            &[("feed", "all"), ("status", "200")]
        )
        .unwrap()
            >= 2.0
    );
    assert!(get("syndic_feed_served_bytes_total", &[("feed", "all")]).unwrap() > 100.0);
    assert!(get("syndic_store_size_bytes", &[]).unwrap() > 0.0);
    assert!(get("syndic_store_index_memory_bytes", &[]).unwrap() > 0.0);
    assert_eq!(get("syndic_store_items", &[]), Some(2.0));
    assert!(get("syndic_uptime_seconds", &[]).unwrap() > 0.0);
    let (status, log, _) = daemon.stop();
    assert!(status.success(), "{log}");
}

#[test]
fn a_cli_fetch_during_the_daemons_own_refresh_is_told_it_is_busy_and_admin_clients_are_served_at_once()
 {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, _host, hold) =
        daemon_with_a_held_refresh(dir.path(), &[("g1", "Slow one")], "", "", "10s");
    // The daemon's own refresh of `slow` waits on the host: a fetch of it
    // from the CLI is skipped, said so, and is no failure.
    let out = syndic(dir.path()).args(["fetch", "slow"]).output().unwrap();
    assert_ok(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "slow: skipped: a refresh is already running"
    );
    // Two admin clients at once, while that refresh is still held: both
    // answered, each with the whole table.
    let clients: Vec<_> = (0..2)
        .map(|_| {
            syndic(dir.path())
                .args(["sources", "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for client in clients {
        let out = client.wait_with_output().unwrap();
        assert_ok(&out);
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(rows[0]["id"], "slow", "{rows}");
    }
    // Let the held refresh through: its item is stored and served.
    hold.release();
    daemon.get_until("/feeds/all.json", "Slow one");
}

#[test]
fn sighup_during_a_refresh_reloads_and_the_refresh_still_lands() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a/one.md"), "# Post A\n\nHello.\n");
    let (mut daemon, _host, hold) =
        daemon_with_a_held_refresh(dir.path(), &[("g1", "Slow one")], SOURCE_A, "", "10s");
    // While that poll is held: a feed added, and a reload.
    let held = std::fs::read_to_string(dir.path().join("feeds.toml")).unwrap();
    let extra = "\n[[feed]]\nname = \"aonly\"\ntitle = \"A only\"\ninclude = [\"a\"]\n";
    write(&dir.path().join("feeds.toml"), &format!("{held}{extra}"));
    daemon.signal("HUP");
    daemon.wait_for("RELOADING=1");
    daemon.wait_for("READY=1");
    daemon.get_until("/feeds/aonly.json", "Post A");
    // The held refresh, begun under the old config, is stored and published.
    hold.release();
    daemon.get_until("/feeds/all.json", "Slow one");
    // The unchanged source was not polled again by the reload.
    assert!(
        !hold.wait_arrivals(2, Duration::from_millis(500)),
        "the reload polled the unchanged source again"
    );
    let (status, log, _) = daemon.stop();
    assert!(status.success(), "{log}");
    assert!(log.contains("configuration reloaded"), "{log}");
}

#[test]
fn cli_commands_reach_the_running_daemon_over_the_admin_socket() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a/one.md"), "# Post A\n\nHello.\n");
    write(&dir.path().join("feeds.toml"), &config(SOURCE_A, ""));
    let mut daemon = Daemon::start(dir.path(), &[]);
    daemon.get_until("/feeds/all.json", "Post A");
    let socket = dir.path().join("store/admin.sock");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "owner-only admin socket");

    // The daemon holds the store: these only work through the socket.
    let out = syndic(dir.path())
        .args(["sources", "--json"])
        .output()
        .unwrap();
    assert_ok(&out);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["id"], "a");
    assert_eq!(rows[0]["items"], 1);
    assert_eq!(rows[0]["last_status"], "local");

    write(&dir.path().join("a/two.md"), "# Post A2\n\nMore.\n");
    let out = syndic(dir.path()).arg("fetch").output().unwrap();
    assert_ok(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "a: 1 new, 0 updated, 0 removed, 1 unchanged"
    );
    // The daemon re-rendered: the new article is served and rendered.
    daemon.get_until("/feeds/all.json", "Post A2");
    let out = syndic(dir.path())
        .args(["render", "all", "--format", "atom"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("<title>Post A2</title>"));
    // explain, by the published id the feed shows.
    let feed: serde_json::Value =
        serde_json::from_str(&daemon.get_until("/feeds/all.json", "Post A2")).unwrap();
    let item = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Post A2")
        .unwrap();
    let id = item["id"].as_str().unwrap();
    let out = syndic(dir.path()).args(["explain", id]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_ok(&out);
    assert!(text.contains(&format!("public id:   {id}")), "{text}");
    assert!(text.contains("upstream id: two.md"), "{text}");
    let out = syndic(dir.path())
        .args(["explain", "urn:uuid:nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no item `urn:uuid:nope`"));
    let out = syndic(dir.path()).args(["fetch", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no source `nope`"));
    let out = syndic(dir.path())
        .args(["render", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // A daemon killed outright leaves its socket behind: the CLI falls back
    // to opening the store itself.
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
    assert!(socket.exists());
    let out = syndic(dir.path()).arg("sources").output().unwrap();
    assert_ok(&out);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.lines().nth(1).unwrap().starts_with("a "), "{table}");
    // A restarted daemon replaces the stale socket.
    let daemon = Daemon::start(dir.path(), &[]);
    let out = syndic(dir.path())
        .args(["sources", "--json"])
        .output()
        .unwrap();
    assert_ok(&out);
    let (status, log, _) = daemon.stop();
    assert!(status.success(), "{log}");
    assert!(!socket.exists(), "the socket is removed on a clean stop");
}

/// Fails the test with the command's stderr when it did not succeed.
#[track_caller]
fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until `path` exists (the daemon works in the background).
fn wait_for_file(path: &Path, daemon: &Daemon) {
    let start = std::time::Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < PATIENCE,
            "{} never came back\n{}",
            path.display(),
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_deleted_admin_socket_is_named_by_the_cli_and_made_again_by_sighup_and_the_watchdog() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a/one.md"), "# Post A\n\nHello.\n");
    write(&dir.path().join("feeds.toml"), &config(SOURCE_A, ""));
    // A watchdog tick every 150 ms (WATCHDOG_USEC / 2 in notify).
    let daemon = Daemon::start(dir.path(), &[("WATCHDOG_USEC", "300000")]);
    daemon.get_until("/feeds/all.json", "Post A");
    let socket = dir.path().join("store/admin.sock");

    // store-check next to the daemon: the daemon reads its open store.
    let out = syndic(dir.path()).arg("store-check").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 items"), "{stdout}");
    assert!(stdout.contains("no damage found"), "{stdout}");

    // Without its socket, the CLI says what is missing and how to get it
    // back, not "stop the daemon first" (the watchdog may make it again
    // before the CLI asks: the message is checked for certain below).
    std::fs::remove_file(&socket).unwrap();
    let out = syndic(dir.path()).arg("sources").output().unwrap();
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("admin socket"), "{stderr}");
        assert!(stderr.contains("systemctl reload syndic"), "{stderr}");
        assert!(!stderr.contains("Stop the daemon first"), "{stderr}");
    }
    // The watchdog's tick makes it again.
    wait_for_file(&socket, &daemon);
    let out = syndic(dir.path())
        .args(["sources", "--json"])
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(
        daemon.log().contains("created it again"),
        "{}",
        daemon.log()
    );
    let (status, log, _) = daemon.stop();
    assert!(status.success(), "{log}");
    assert!(!socket.exists(), "the socket is removed on a clean stop");

    // Without a watchdog: the message, for certain, then SIGHUP.
    let mut daemon = Daemon::start(dir.path(), &[]);
    std::fs::remove_file(&socket).unwrap();
    for args in [&["sources"][..], &["store-check"][..]] {
        let out = syndic(dir.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("admin.sock is missing"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("systemctl reload syndic"), "{stderr}");
        assert!(stderr.contains("(pid "), "names the daemon: {stderr}");
    }
    daemon.signal("HUP");
    daemon.wait_for("READY=1");
    wait_for_file(&socket, &daemon);
    let out = syndic(dir.path()).arg("sources").output().unwrap();
    assert_ok(&out);
    let (status, log, _) = daemon.stop();
    assert!(status.success(), "{log}");
}

#[test]
fn logs_carry_journal_priorities_under_systemd_and_json_on_request() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a/one.md"), "# Post A\n\nHello.\n");
    write(&dir.path().join("feeds.toml"), &config(SOURCE_A, ""));
    // stderr is "the journal stream": JOURNAL_STREAM names its device:inode.
    let log_path = dir.path().join("journal.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let meta = log.metadata().unwrap();
    let out = syndic(dir.path())
        .arg("fetch")
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .stderr(log)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(&log_path).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("refreshed"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.starts_with("<6> INFO syndic::refresh: refreshed source=a new=1"),
        "{line}"
    );

    // A stale JOURNAL_STREAM (stderr redirected elsewhere): normal lines.
    let out = syndic(dir.path())
        .arg("fetch")
        .env("JOURNAL_STREAM", "1:1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("<6>"), "{text}");

    // --log-format json: one JSON object per line with structured fields.
    write(&dir.path().join("a/two.md"), "# Post B\n\nHello.\n");
    let out = syndic(dir.path())
        .args(["--log-format", "json", "fetch"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    let event: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["fields"]["message"] == "refreshed")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(event["level"], "INFO");
    assert_eq!(event["fields"]["source"], "a");
    assert_eq!(event["fields"]["new"], 1);
}

#[test]
fn serve_uses_the_socket_systemd_passes() {
    // systemd-socket-activate(1) does what syndic.socket does: binds, then
    // starts the service with the socket as fd 3 and LISTEN_FDS=1.
    let Some(activate) = [
        "/usr/bin/systemd-socket-activate",
        "/bin/systemd-socket-activate",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists()) else {
        common::skip::skip(
            "serve_uses_the_socket_systemd_passes",
            "systemd-socket-activate is not installed",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a/one.md"), "# Post A\n\nHello.\n");
    write(&dir.path().join("feeds.toml"), &config(SOURCE_A, ""));
    // The two sockets are the test's, bound here and kept: a port let go
    // for the activator to bind again could be taken in between. They reach
    // systemd-socket-activate as fds 3 and 4 with LISTEN_FDS, as systemd
    // hands sockets on, and it hands them on to syndic the same way.
    let public = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = public.local_addr().unwrap();
    let admin_socket = TcpListener::bind("127.0.0.1:0").unwrap();
    let admin = admin_socket.local_addr().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&socket_path).unwrap();
    notify.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut cmd = Command::new("sh");
    cmd.current_dir(dir.path())
        .arg("-c")
        .arg("exec 3<&0 4<&1 0</dev/null 1>/dev/null; export LISTEN_FDS=2 LISTEN_PID=$$; exec \"$@\"")
        .arg("sh")
        .arg(activate)
        .arg(format!("--setenv=NOTIFY_SOCKET={}", socket_path.display()))
        .arg("--setenv=RUST_LOG=info")
        .arg(env!("CARGO_BIN_EXE_syndic"))
        .arg("serve")
        .stdin(Stdio::from(OwnedFd::from(public.try_clone().unwrap())))
        .stdout(Stdio::from(OwnedFd::from(admin_socket.try_clone().unwrap())))
        .stderr(Stdio::piped());
    for key in common::daemon::SHELL_SETTINGS {
        cmd.env_remove(key);
    }
    /// Kills the activator (and so syndic, which it became) if the test fails.
    struct Guard(Child);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut guard = Guard(cmd.spawn().unwrap());
    let process = &mut guard.0;
    // It says when it listens; connect only then.
    let mut stderr = std::io::BufReader::new(process.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("Listening") {
        line.clear();
        let n = std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        assert!(n > 0, "systemd-socket-activate ended before listening");
    }
    // Keep draining its (and syndic's) log so neither blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    // The first connection starts the service (Accept=no semantics).
    let getter = std::thread::spawn(move || http_get(addr, "/healthz"));
    let mut buf = vec![0u8; 4096];
    let ready = loop {
        let n = notify
            .recv(&mut buf)
            .expect("READY=1 from the activated daemon");
        let msg = String::from_utf8_lossy(&buf[..n]).to_string();
        if msg.contains("READY=1") {
            break msg;
        }
    };
    assert!(ready.contains(&format!("serving on {addr}")), "{ready}");
    assert_eq!(getter.join().unwrap(), (200, "ok\n".to_string()));
    // The second socket is the admin listener: the operator's pages are
    // there, not on the public one.
    assert_eq!(admin_addr(&ready), Some(admin));
    assert_eq!(http_get(admin, "/metrics").0, 200);
    assert_eq!(http_get(addr, "/metrics").0, 404);
    Command::new("kill")
        .args(["-TERM", &process.id().to_string()])
        .status()
        .unwrap();
    let status = process.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn unchanged_rescans_log_nothing_at_info_and_each_change_logs_once() {
    // Issue 21: the daemon logged an INFO line for the articles folder at
    // every rescan, every minute, when nothing had changed.
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a/first.md"), "# First\n\nText.\n");
    write(
        &dir.path().join("feeds.toml"),
        &config(
            "[[source]]\nid = \"a\"\npath = \"a\"\nrefresh = \"1s\"\n",
            "",
        ),
    );
    let daemon = Daemon::start(dir.path(), &[]);
    let refreshed = |log: &str| {
        log.lines()
            .filter(|l| l.contains("refreshed") && l.contains("INFO"))
            .count()
    };
    // The first scan stores the file: one INFO. Then 3 s of rescans.
    let deadline = std::time::Instant::now() + PATIENCE;
    while refreshed(&daemon.log()) == 0 {
        assert!(std::time::Instant::now() < deadline, "{}", daemon.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    let log = daemon.log();
    assert_eq!(refreshed(&log), 1, "{log}");
    // A change: one more.
    write(&dir.path().join("a/second.md"), "# Second\n\nMore.\n");
    while refreshed(&daemon.log()) < 2 {
        assert!(std::time::Instant::now() < deadline, "{}", daemon.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    let log = daemon.log();
    assert_eq!(refreshed(&log), 2, "{log}");
    assert!(log.contains("new=1"), "{log}");
}
