//! The HTTP connection layer under the routes of [`crate::serve`]: accepts
//! connections with a cap on how many are open, and limits what one client
//! can make the daemon hold: time to send its headers (slowloris), header
//! size, and time per request. On shutdown it stops accepting and lets
//! in-flight requests finish.
//!
//! Idle time shrinks under pressure: a connection with no request in
//! flight (kept alive between requests, or still sending its headers) is
//! closed after `header_read_timeout` while under half the cap is open, and
//! after less the fuller it gets, down to `pressure_idle_timeout` at 90 %;
//! so clients that keep connections open, or send a request every few
//! seconds, cannot hold every slot, and a new client is accepted within
//! about `pressure_idle_timeout` even at the cap. The cap itself follows
//! the file descriptor limit ([`Limits::for_this_process`]).
//!
//! The public listener is served by [`run_per_thread`]: one single-threaded
//! runtime per core, each accepting and serving its own connections, like
//! nginx's workers. The admin listener uses [`run`] on the daemon's runtime.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tracing::debug;

/// What one client may cost. The defaults suit a feed server on the open
/// internet.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections open at once; more wait in the kernel's backlog. Default 1024.
    pub max_connections: usize,
    /// Time a client has to send its request headers. Default 10 s.
    pub header_read_timeout: Duration,
    /// Largest request head (request line and headers) in bytes; larger
    /// ones get 431. Default 16 KiB (hyper's floor is 8 KiB).
    pub max_header_bytes: usize,
    /// Time one request may take before it is answered 503. Default 30 s.
    pub request_timeout: Duration,
    /// The idle time a connection is allowed when 90 % of
    /// `max_connections` or more are open. Default 1 s.
    pub pressure_idle_timeout: Duration,
}

impl Limits {
    /// The defaults with `max_connections` sized to this process's file
    /// descriptors: the soft `RLIMIT_NOFILE` is raised to the hard one (at
    /// most 65,536), and the cap leaves 512 descriptors for the store, the
    /// fetches and the admin socket (at least 256 connections).
    pub fn for_this_process() -> Limits {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        let wanted = limit.maximum.map_or(65_536, |hard| hard.min(65_536));
        let soft = match limit.current {
            Some(soft) if soft < wanted => {
                let raised = Rlimit {
                    current: Some(wanted),
                    maximum: limit.maximum,
                };
                match setrlimit(Resource::Nofile, raised) {
                    Ok(()) => wanted,
                    Err(_) => soft,
                }
            }
            Some(soft) => soft,
            None => wanted,
        };
        let cap = usize::try_from(soft.saturating_sub(512)).unwrap_or(usize::MAX);
        Limits {
            max_connections: cap.clamp(256, 65_024),
            ..Limits::default()
        }
    }

    /// How long a connection may stay idle with `open` connections open.
    fn idle_limit(&self, open: usize) -> Duration {
        let max = self.max_connections.max(1) as f64;
        let load = open as f64 / max;
        let (long, short) = (
            self.header_read_timeout,
            self.pressure_idle_timeout.min(self.header_read_timeout),
        );
        if load <= 0.5 {
            long
        } else if load >= 0.9 {
            short
        } else {
            let t = (load - 0.5) / 0.4;
            long.mul_f64(1.0 - t) + short.mul_f64(t)
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            request_timeout: Duration::from_secs(30),
            pressure_idle_timeout: Duration::from_secs(1),
        }
    }
}

/// Serves `router` on `listener` until `shutdown`, then waits for open
/// connections to finish their current request.
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let pressure = Arc::new(Pressure::default());
    accept_loop(listener, router, limits, shutdown, slots, pressure).await
}

/// How many threads serve the public listener: `TOKIO_WORKER_THREADS` when
/// set (the knob that sizes the daemon's runtime), else one per core.
pub fn serving_threads() -> usize {
    std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|threads| threads.trim().parse::<usize>().ok())
        .filter(|threads| *threads > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1)
}

/// [`run`] on `threads` threads of their own, each with a single-threaded
/// runtime accepting from the same socket and serving the connections it
/// accepts: no connection's work moves between threads, so a request costs
/// no cross-thread wakeup (the work-stealing runtime spent about 10 % of a
/// 304's CPU on those). The connection cap and the pressure count are
/// shared. Returns when every thread has drained its connections after
/// `shutdown`, or with the first thread's error.
pub async fn run_per_thread(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
    threads: usize,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let pressure = Arc::new(Pressure::default());
    let listener = listener.into_std()?;
    let mut ended = Vec::new();
    for n in 0..threads.max(1) {
        let listener = listener.try_clone()?;
        let (router, limits, shutdown) = (router.clone(), limits.clone(), shutdown.clone());
        let (slots, pressure) = (slots.clone(), pressure.clone());
        let (done, ended_rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name(format!("syndic-http-{n}"))
            .spawn(move || {
                let result = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .and_then(|runtime| {
                        runtime.block_on(async move {
                            let listener = TcpListener::from_std(listener)?;
                            accept_loop(listener, router, limits, shutdown, slots, pressure).await
                        })
                    });
                let _ = done.send(result);
            })?;
        ended.push(ended_rx);
    }
    // The first thread to fail ends the wait (the daemon then stops the
    // others through `shutdown`).
    let ended = ended.into_iter().map(|ended| async move {
        ended
            .await
            .unwrap_or_else(|_| Err(std::io::Error::other("a serving thread panicked")))
    });
    futures_util::future::try_join_all(ended).await?;
    Ok(())
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
    slots: Arc<Semaphore>,
    pressure: Arc<Pressure>,
) -> std::io::Result<()> {
    let connections = TaskTracker::new();
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors and the like: back off briefly
                    // rather than spin.
                    debug!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let limits = limits.clone();
        let shutdown = shutdown.clone();
        let open = pressure.opened(&limits);
        connections.spawn(async move {
            let _permit = permit;
            serve_connection(stream, router, &limits, &open, shutdown).await;
            debug!(%peer, "connection closed");
        });
    }
    connections.close();
    connections.wait().await;
    Ok(())
}

/// How many connections are open, and a signal to the idle ones when that
/// crosses into the range where their idle time shrinks.
#[derive(Default)]
struct Pressure {
    open: AtomicUsize,
    /// Wakes every connection to recompute its idle limit.
    changed: Notify,
    /// When `changed` last fired (ms since the first connection).
    last_signal_ms: AtomicU64,
    epoch: OnceLock<Instant>,
}

impl Pressure {
    /// Counts a new connection (until the returned guard drops) and wakes
    /// the idle connections when the load is over half the cap (at most
    /// every 50 ms).
    fn opened(self: &Arc<Self>, limits: &Limits) -> OpenConnection {
        let open = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        if open * 2 > limits.max_connections {
            let epoch = *self.epoch.get_or_init(Instant::now);
            let now_ms = u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
            let last = self.last_signal_ms.load(Ordering::Relaxed);
            if now_ms.saturating_sub(last) >= 50
                && self
                    .last_signal_ms
                    .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                self.changed.notify_waiters();
            }
        }
        OpenConnection {
            pressure: self.clone(),
            in_flight: Arc::new(AtomicUsize::new(0)),
            idle_since: Arc::new(std::sync::Mutex::new(Instant::now())),
        }
    }
}

/// One open connection: its place in the count, and whether and since when
/// it has been idle.
struct OpenConnection {
    pressure: Arc<Pressure>,
    in_flight: Arc<AtomicUsize>,
    idle_since: Arc<std::sync::Mutex<Instant>>,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.pressure.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl OpenConnection {
    /// When the connection became idle; `None` while a request is in flight.
    fn idle_since(&self) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        self.idle_since.lock().ok().map(|at| *at)
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    limits: &Limits,
    open: &OpenConnection,
    shutdown: CancellationToken,
) {
    let request_timeout = limits.request_timeout;
    let (in_flight, idle_since) = (open.in_flight.clone(), open.idle_since.clone());
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let router = router.clone();
        let (in_flight, idle_since) = (in_flight.clone(), idle_since.clone());
        async move {
            in_flight.fetch_add(1, Ordering::AcqRel);
            let request = request.map(Body::new);
            let response =
                match tokio::time::timeout(request_timeout, router.oneshot(request)).await {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => timeout_response(),
                };
            if let Ok(mut at) = idle_since.lock() {
                *at = Instant::now();
            }
            in_flight.fetch_sub(1, Ordering::AcqRel);
            Ok::<_, Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    loop {
        let limit = limits.idle_limit(open.pressure.open.load(Ordering::Relaxed));
        let deadline = open.idle_since().unwrap_or_else(Instant::now) + limit;
        let changed = open.pressure.changed.notified();
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    debug!(%err, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.cancelled() => {
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
                return;
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                let limit = limits.idle_limit(open.pressure.open.load(Ordering::Relaxed));
                if open.idle_since().is_some_and(|at| at.elapsed() >= limit) {
                    // Idle too long for the current load: closed at once
                    // (no request is in flight).
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                    return;
                }
            }
            _ = changed => {}
        }
    }
}

fn timeout_response() -> Response<Body> {
    let mut response = Response::new(Body::from("request timed out\n"));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
}
