//! The daemon under test, two ways: [`TestDaemon`] runs it in this process
//! on 127.0.0.1 port 0 over a folder; [`Daemon`] runs the `syndic serve`
//! binary under a pretend systemd (a notify socket the test reads). The
//! `syndic` CLI runs through [`syndic_command`], with none of the settings
//! of the shell that runs the tests.
//!
//! A daemon restarted at the address of one before it in this process gets
//! that one's listening socket again, kept open meanwhile: the port is never
//! freed, so nothing else can take it between the two.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use syndic::app::App;
use syndic::config::Config;
use syndic::daemon;
use syndic::store::Store;

/// Upper bound for waiting on a daemon; only reached when it is broken.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The listening sockets daemons of this process were given, by address.
fn sockets() -> &'static Mutex<HashMap<SocketAddr, std::net::TcpListener>> {
    static SOCKETS: OnceLock<Mutex<HashMap<SocketAddr, std::net::TcpListener>>> = OnceLock::new();
    SOCKETS.get_or_init(Default::default)
}

/// A listener on `at`: the socket of an earlier daemon at that address if
/// there was one (never freed), else a new one, kept for a restart.
pub fn listener(at: &str) -> tokio::net::TcpListener {
    let known = at.parse::<SocketAddr>().ok().and_then(|addr| {
        sockets()
            .lock()
            .unwrap()
            .get(&addr)
            .map(|l| l.try_clone().unwrap())
    });
    let socket = match known {
        Some(socket) => socket,
        None => {
            let socket = std::net::TcpListener::bind(at).unwrap();
            let addr = socket.local_addr().unwrap();
            sockets()
                .lock()
                .unwrap()
                .insert(addr, socket.try_clone().unwrap());
            socket
        }
    };
    socket.set_nonblocking(true).unwrap();
    tokio::net::TcpListener::from_std(socket).unwrap()
}

/// The app over `dir/feeds.toml` and its store, not yet serving.
pub fn app(dir: &Path) -> Arc<App> {
    let config = Config::load(&dir.join("feeds.toml")).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(&config.daemon.store).unwrap();
    App::new(config, store).unwrap()
}

/// A folder with a config and an articles folder, and the daemon on it.
pub struct TestDaemon {
    pub dir: PathBuf,
    pub app: Arc<App>,
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestDaemon {
    /// Starts the real daemon on 127.0.0.1:0 over the config in `dir`, and
    /// waits for the first refresh of every source.
    pub async fn start(dir: &Path) -> TestDaemon {
        TestDaemon::start_at(dir, "127.0.0.1:0").await
    }

    /// [`TestDaemon::start`] on `at` (an earlier daemon's address: a restart
    /// on the same socket).
    pub async fn start_at(dir: &Path, at: &str) -> TestDaemon {
        let d = TestDaemon::spawn_on(dir, listener(at));
        d.wait_first_refreshes().await;
        d
    }

    /// Starts the daemon on 127.0.0.1:0 and returns at once.
    pub fn spawn(dir: &Path) -> TestDaemon {
        TestDaemon::spawn_on(dir, listener("127.0.0.1:0"))
    }

    /// Starts the daemon on `listener` and returns at once.
    pub fn spawn_on(dir: &Path, listener: tokio::net::TcpListener) -> TestDaemon {
        let app = app(dir);
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(daemon::run(app.clone(), listener, shutdown.clone()));
        TestDaemon {
            dir: dir.to_path_buf(),
            app,
            addr,
            shutdown,
            handle,
        }
    }

    /// Waits until the scheduler's first refresh of every source is done.
    pub async fn wait_first_refreshes(&self) {
        let config = self.app.config();
        // Polled every 50 ms for up to 30 s: hostile hosts in debug builds
        // on a loaded machine can take over 10 s.
        for _ in 0..600 {
            // A daemon that could not start (a port taken) ends at once.
            assert!(
                !self.handle.is_finished(),
                "the daemon stopped before its first refreshes (could it not bind?)"
            );
            let done = config.sources.iter().all(|s| {
                self.app
                    .store
                    .poll_state(&s.id)
                    .unwrap()
                    .is_some_and(|p| p.last_attempt.is_some())
            });
            if done && self.app.refreshes_running() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let waiting: Vec<&str> = config
            .sources
            .iter()
            .filter(|s| {
                self.app
                    .store
                    .poll_state(&s.id)
                    .ok()
                    .flatten()
                    .is_none_or(|p| p.last_attempt.is_none())
            })
            .map(|s| s.id.as_str())
            .collect();
        panic!(
            "first refreshes did not finish in 30 s: {} running, not yet tried: {waiting:?}",
            self.app.refreshes_running()
        );
    }

    /// Waits for the admin listener to be up; its address.
    pub async fn wait_admin(&self) -> SocketAddr {
        for _ in 0..200 {
            if let Some(admin) = self.app.admin_addr() {
                return admin;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no admin listener");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Refreshes a source now, retrying while a scheduled one is running.
    pub async fn refresh(&self, id: &str) -> syndic::refresh::Outcome {
        for _ in 0..100 {
            if let Some(outcome) = self.app.refresh_source(id, true).await {
                return outcome;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("source {id} stayed busy");
    }

    /// A URL on the admin listener (`[daemon] admin_listen`).
    pub fn admin_url(&self, path: &str) -> String {
        let admin = self.app.admin_addr().expect("the admin listener is on");
        format!("http://{admin}{path}")
    }

    /// GET on the admin listener: the operator's pages.
    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.admin_url(path))
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.url(path))
            .send()
            .await
            .unwrap()
    }

    pub async fn json(&self, path: &str) -> serde_json::Value {
        let body = self.get(path).await.bytes().await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.handle.await.unwrap().unwrap();
    }
}

/// Opens the store at `path`, retrying for up to 2 s: sled's background
/// flusher may hold the file lock a moment after the last handle is gone.
pub fn reopen_store(path: &Path) -> Store {
    for attempt in 0.. {
        match Store::open(path) {
            Ok(store) => return store,
            Err(_) if attempt < 100 => std::thread::sleep(Duration::from_millis(20)),
            Err(err) => panic!("reopening the store: {err}"),
        }
    }
    unreachable!()
}

/// The `syndic` binary run in `dir`, with none of the settings of the
/// shell that runs the tests (config, store, systemd's variables).
pub fn syndic_command(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_syndic"));
    cmd.current_dir(dir);
    for key in SHELL_SETTINGS {
        cmd.env_remove(key);
    }
    cmd
}

/// The environment settings of the shell that runs the tests that the
/// binary would read: none reaches a daemon or CLI a test starts.
pub const SHELL_SETTINGS: [&str; 8] = [
    "SYNDIC_CONFIG",
    "SYNDIC_STORE",
    "STATE_DIRECTORY",
    "NOTIFY_SOCKET",
    "LISTEN_FDS",
    "LISTEN_PID",
    "WATCHDOG_USEC",
    "JOURNAL_STREAM",
];

/// The `syndic` binary run in `dir` with `args` ([`syndic_command`]).
pub fn syndic(dir: &Path, args: &[&str]) -> std::process::Output {
    syndic_command(dir).args(args).output().unwrap()
}

/// [`syndic`]'s success and its stdout then stderr, as one text.
pub fn syndic_text(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = syndic(dir, args);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The notifications a daemon sent, each with when it arrived.
#[derive(Default)]
struct Inbox {
    messages: Mutex<Vec<(Instant, String)>>,
    arrived: Condvar,
}

/// `syndic serve` in a folder under a pretend systemd: its notifications
/// are read from a socket of the test's, its log goes to `daemon.log`.
pub struct Daemon {
    pub child: Child,
    notify: UnixDatagram,
    inbox: Arc<Inbox>,
    /// How many notifications [`Daemon::wait_for`] has looked at.
    read: usize,
    pub addr: SocketAddr,
    /// The admin listener (operator's pages), from the READY status.
    pub admin: Option<SocketAddr>,
    pub stderr: PathBuf,
}

impl Daemon {
    /// `syndic serve` in `dir` (its `feeds.toml`) with `extra_env`, at
    /// `RUST_LOG=info`; returns once it said READY=1.
    pub fn start(dir: &Path, extra_env: &[(&str, &str)]) -> Daemon {
        Daemon::start_with(dir, &[], extra_env)
    }

    /// [`Daemon::start`] with `args` before `serve` (`--log-format json`).
    pub fn start_with(dir: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Daemon {
        let socket_path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&socket_path);
        let notify = UnixDatagram::bind(&socket_path).unwrap();
        let inbox = Arc::new(Inbox::default());
        {
            let socket = notify.try_clone().unwrap();
            let inbox = inbox.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 4096];
                // Ends when the daemon handle shuts the socket down.
                while let Ok(n) = socket.recv(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&buf[..n]).to_string();
                    inbox.messages.lock().unwrap().push((Instant::now(), text));
                    inbox.arrived.notify_all();
                }
            });
        }
        let stderr = dir.join("daemon.log");
        let mut cmd = syndic_command(dir);
        cmd.args(args)
            .arg("serve")
            .env("RUST_LOG", "info")
            .env("NOTIFY_SOCKET", &socket_path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let mut daemon = Daemon {
            child,
            notify,
            inbox,
            read: 0,
            addr: "127.0.0.1:0".parse().unwrap(),
            admin: None,
            stderr,
        };
        let ready = daemon.wait_for("READY=1");
        daemon.addr = ready
            .split("serving on ")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .unwrap_or_else(|| panic!("no address in {ready:?}"))
            .parse()
            .unwrap();
        daemon.admin = admin_addr(&ready);
        daemon
    }

    /// Waits for a notification after the ones already waited on that
    /// contains `needle`; returns it.
    pub fn wait_for(&mut self, needle: &str) -> String {
        self.wait_for_within(needle, PATIENCE)
    }

    /// [`Daemon::wait_for`] for up to `within`.
    pub fn wait_for_within(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let mut messages = self.inbox.messages.lock().unwrap();
        loop {
            while self.read < messages.len() {
                let msg = messages[self.read].1.clone();
                self.read += 1;
                if msg.contains(needle) {
                    return msg;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let got: Vec<String> = messages.iter().map(|(_, m)| m.clone()).collect();
                drop(messages);
                panic!("no {needle:?} from the daemon; got {got:?}\n{}", self.log());
            }
            messages = self.inbox.arrived.wait_timeout(messages, left).unwrap().0;
        }
    }

    /// Every notification so far.
    pub fn messages(&self) -> Vec<String> {
        self.timed_messages().into_iter().map(|(_, m)| m).collect()
    }

    /// Every notification so far, with when it arrived.
    pub fn timed_messages(&self) -> Vec<(Instant, String)> {
        self.inbox.messages.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the exit, for at most `limit` (then
    /// kills it and fails): the exit status and how long it took.
    pub fn stop_within(&mut self, limit: Duration) -> (std::process::ExitStatus, Duration) {
        let asked = Instant::now();
        self.signal("TERM");
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, asked.elapsed());
            }
            if asked.elapsed() > limit {
                self.child.kill().unwrap();
                panic!(
                    "still running {:?} after SIGTERM\n{}",
                    asked.elapsed(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path)
    }

    /// GET on the admin listener.
    pub fn admin_get(&self, path: &str) -> (u16, String) {
        http_get(self.admin.expect("the admin listener is on"), path)
    }

    /// Polls `path` until its body contains `needle` (the daemon works in
    /// the background: a refresh after a reload lands a moment later).
    pub fn get_until(&self, path: &str, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let (status, body) = self.get(path);
            if status == 200 && body.contains(needle) {
                return body;
            }
            if start.elapsed() > PATIENCE {
                panic!(
                    "{path} never contained {needle:?}: {status} {body}\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls the log until `ok` holds of it; the log.
    pub fn log_until(&self, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let log = self.log();
            if ok(&log) {
                return log;
            }
            assert!(start.elapsed() < PATIENCE, "not in the log:\n{log}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then the exit status, the log and every notification.
    pub fn stop(mut self) -> (std::process::ExitStatus, String, Vec<String>) {
        self.signal("TERM");
        let status = self.child.wait().unwrap();
        // Whatever was sent before exiting is in the socket buffer: give the
        // reader a moment to take it.
        let deadline = Instant::now() + Duration::from_millis(200);
        let mut count = self.inbox.messages.lock().unwrap().len();
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            let now = self.inbox.messages.lock().unwrap().len();
            if now == count {
                break;
            }
            count = now;
        }
        (status, self.log(), self.messages())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.notify.shutdown(std::net::Shutdown::Both);
    }
}

/// The admin listener's address in a READY status (`admin on ADDR;`).
pub fn admin_addr(status: &str) -> Option<SocketAddr> {
    status
        .split("admin on ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .map(|addr| {
            addr.parse()
                .unwrap_or_else(|_| panic!("a bad admin address in {status:?}"))
        })
}

/// A minimal HTTP/1.1 GET with `Connection: close` (for tests without a
/// runtime): status and body.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
