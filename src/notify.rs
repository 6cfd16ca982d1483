//! The systemd service manager protocol (`sd_notify(3)`): one datagram per
//! message on the Unix socket named by `$NOTIFY_SOCKET`. The daemon says
//! `READY=1` once the store is open and every feed rendered once, keeps a
//! `STATUS=` line current, pings `WATCHDOG=1` while its store and scheduler
//! are alive, and brackets reloads and the stop with `RELOADING=1` /
//! `STOPPING=1`. Without `$NOTIFY_SOCKET` (not under systemd, or a unit
//! that is not `Type=notify`) every call is a no-op.
//!
//! Plain std sockets (`std::os::unix::net`), no libsystemd.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use tracing::debug;

/// Where notifications go; `Notifier::disabled()` drops them all.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    target: Option<Target>,
}

#[derive(Debug, Clone)]
enum Target {
    Path(PathBuf),
    /// `@name`: a Linux abstract-namespace socket.
    Abstract(Vec<u8>),
}

impl Notifier {
    /// A notifier for `$NOTIFY_SOCKET`, or a no-op one when it is unset.
    pub fn from_env() -> Notifier {
        Notifier::for_socket(std::env::var_os("NOTIFY_SOCKET").map(PathBuf::from))
    }

    /// A notifier that sends to `socket` (an absolute path, or `@name` for
    /// an abstract socket); `None` or an empty value sends nothing.
    pub fn for_socket(socket: Option<PathBuf>) -> Notifier {
        let target = socket.and_then(|path| {
            let raw = path.as_os_str().as_encoded_bytes();
            match raw.first() {
                None => None,
                Some(b'@') => Some(Target::Abstract(raw.get(1..).unwrap_or_default().to_vec())),
                Some(_) => Some(Target::Path(path)),
            }
        });
        Notifier { target }
    }

    pub fn disabled() -> Notifier {
        Notifier::default()
    }

    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends one message (`KEY=value` lines). Failures are logged at debug
    /// level only: a lost notification must never stop the daemon.
    pub fn send(&self, message: &str) {
        let Some(target) = &self.target else {
            return;
        };
        if let Err(err) = send_to(target, message.as_bytes()) {
            debug!(%err, message, "sd_notify failed");
        }
    }

    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={}", one_line(status)));
    }

    pub fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1\nSTATUS=stopping");
    }

    /// `RELOADING=1` with the `MONOTONIC_USEC=` systemd 253+ asks for
    /// (older versions ignore it). Send [`Notifier::ready`] when done.
    pub fn reloading(&self) {
        self.send(&format!(
            "RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading the configuration",
            monotonic_usec()
        ));
    }
}

/// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC` (as
/// `sd_watchdog_enabled(3)` advises), when it is set for this process.
pub fn watchdog_interval() -> Option<Duration> {
    watchdog_interval_from(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

/// The pure part of [`watchdog_interval`].
pub fn watchdog_interval_from(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok() != Some(me)
    {
        return None;
    }
    Some(Duration::from_micros(usec / 2))
}

/// `CLOCK_MONOTONIC` in microseconds.
fn monotonic_usec() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (ts.tv_sec.max(0) as u64)
        .saturating_mul(1_000_000)
        .saturating_add((ts.tv_nsec.max(0) as u64) / 1_000)
}

/// A STATUS value is one line.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn send_to(target: &Target, message: &[u8]) -> std::io::Result<usize> {
    let socket = UnixDatagram::unbound()?;
    // Never wait on the receiver: a full queue (a manager not reading) must
    // not block a runtime thread; the message is dropped and logged.
    socket.set_nonblocking(true)?;
    match target {
        Target::Path(path) => socket.send_to(message, path),
        Target::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(message, &addr)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_arrive_on_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier::for_socket(Some(path));
        notifier.ready("2 sources ok\nbad");
        notifier.watchdog();
        notifier.reloading();
        notifier.stopping();
        let mut buf = [0u8; 512];
        let mut got = Vec::new();
        for _ in 0..4 {
            let n = listener.recv(&mut buf).unwrap();
            got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
        }
        assert_eq!(got[0], "READY=1\nSTATUS=2 sources ok bad");
        assert_eq!(got[1], "WATCHDOG=1");
        assert!(got[2].starts_with("RELOADING=1\nMONOTONIC_USEC="));
        let usec: u64 = got[2].lines().nth(1).unwrap()["MONOTONIC_USEC=".len()..]
            .parse()
            .unwrap();
        assert!(usec > 0);
        assert_eq!(got[3], "STOPPING=1\nSTATUS=stopping");
    }

    #[test]
    fn abstract_sockets_are_supported() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("syndic-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&addr).unwrap();
        Notifier::for_socket(Some(PathBuf::from(format!("@{name}")))).watchdog();
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1");
    }

    #[test]
    fn unset_socket_is_a_no_op() {
        assert!(!Notifier::for_socket(None).is_enabled());
        assert!(!Notifier::for_socket(Some(PathBuf::new())).is_enabled());
        Notifier::disabled().ready("x");
    }

    #[test]
    fn watchdog_interval_is_half_and_only_for_our_pid() {
        assert_eq!(
            watchdog_interval_from(Some("30000000"), None, 7),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            watchdog_interval_from(Some("30000000"), Some("7"), 7),
            Some(Duration::from_secs(15))
        );
        assert_eq!(watchdog_interval_from(Some("30000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval_from(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval_from(Some("x"), None, 7), None);
        assert_eq!(watchdog_interval_from(None, None, 7), None);
    }
}
