//! The one mock feed host of the tests: an HTTP server on port 0 of the
//! address asked for (127.0.0.1 by default, 127.0.0.x, [::1]) that answers
//! scripted replies per path and records every request.
//!
//! A reply ([`Reply`]) sets the status, header lines, body bytes, an ETag
//! that answers `If-None-Match` with 304, a delay, a hold the test releases,
//! or a body sent a byte at a time or without end. A path takes a queue of
//! replies (the last one repeats) or a closure of the request; a fallback
//! answers the paths nothing was set for (404 otherwise). POSTs are recorded
//! with their bodies (a WebSub hub is this host answering scripted statuses).
//! The host counts requests in flight, in all and per `Host` name.
//!
//! [`MockHost::start_raw`] hands each connection to a closure instead, for
//! the misbehaviours HTTP libraries refuse to produce (resets, lying
//! lengths, silence). [`MockHost::start_blocking`] runs a host on a runtime
//! of its own, for tests without one.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

/// How long a held reply waits for its release at most.
const HOLD_LIMIT: Duration = Duration::from_secs(30);

/// One scripted response of the mock host (the short form; [`Reply`] has
/// every option). A 200 with an ETag answers a matching `If-None-Match`
/// with 304.
#[derive(Clone)]
pub struct Scripted {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub etag: Option<String>,
}

impl Scripted {
    pub fn feed(content_type: &'static str, body: &str, etag: &str) -> Scripted {
        Scripted {
            status: 200,
            content_type,
            body: body.to_string(),
            etag: Some(etag.to_string()),
        }
    }
}

/// One scripted response, with every option.
#[derive(Clone, Default)]
pub struct Reply {
    pub status: u16,
    /// Header lines in order, sent as given.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Sent as `ETag`; a 200 whose ETag the request's `If-None-Match`
    /// names is answered 304.
    pub etag: Option<String>,
    /// Waits this long before answering (to observe concurrency).
    pub delay: Duration,
    /// Waits for the test's [`Hold::release`] before answering.
    pub hold: Option<Hold>,
    /// Sends the body one byte every 100 ms.
    pub dribble: bool,
    /// Sends 64 KiB chunks of spaces until the client hangs up.
    pub endless: bool,
}

impl Reply {
    /// A reply with this status and nothing else.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            ..Reply::default()
        }
    }

    /// A 200 of RSS (`application/rss+xml`) with this body.
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply::status(200)
            .header("content-type", "application/rss+xml")
            .body(body)
    }

    /// A 200 of `content_type` with an ETag (304 when it is asked for).
    pub fn feed(content_type: &str, body: impl Into<Vec<u8>>, etag: &str) -> Reply {
        Reply::status(200)
            .header("content-type", content_type)
            .body(body)
            .etag(etag)
    }

    /// A redirect with this status to `to`.
    pub fn redirect(status: u16, to: &str) -> Reply {
        Reply::status(status).header("location", to)
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = body.into();
        self
    }

    pub fn etag(mut self, etag: &str) -> Reply {
        self.etag = Some(etag.to_string());
        self
    }

    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    pub fn hold(mut self, hold: &Hold) -> Reply {
        self.hold = Some(hold.clone());
        self
    }

    pub fn dribble(mut self) -> Reply {
        self.dribble = true;
        self
    }

    pub fn endless(mut self) -> Reply {
        self.endless = true;
        self
    }
}

impl From<Scripted> for Reply {
    fn from(s: Scripted) -> Reply {
        let mut reply = Reply::status(s.status)
            .header("content-type", s.content_type)
            .body(s.body);
        reply.etag = s.etag;
        reply
    }
}

/// A gate for held replies: each request that reaches it is counted as
/// arrived, then waits for one [`Hold::release`] (30 s at most).
#[derive(Clone)]
pub struct Hold(Arc<HoldInner>);

struct HoldInner {
    arrived: Mutex<usize>,
    arrival: Condvar,
    release: tokio::sync::Semaphore,
}

impl Default for Hold {
    fn default() -> Hold {
        Hold(Arc::new(HoldInner {
            arrived: Mutex::new(0),
            arrival: Condvar::new(),
            release: tokio::sync::Semaphore::new(0),
        }))
    }
}

impl Hold {
    pub fn new() -> Hold {
        Hold::default()
    }

    /// Lets one held request (the next one to arrive, if none waits) through.
    pub fn release(&self) {
        self.0.release.add_permits(1);
    }

    /// How many requests reached the hold so far.
    pub fn arrivals(&self) -> usize {
        *self.0.arrived.lock().unwrap()
    }

    /// Blocks until `n` requests in all have arrived, for up to `within`;
    /// whether they did (a test thread's wait; async tests poll
    /// [`Hold::arrivals`]).
    pub fn wait_arrivals(&self, n: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut arrived = self.0.arrived.lock().unwrap();
        while *arrived < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            arrived = self.0.arrival.wait_timeout(arrived, left).unwrap().0;
        }
        true
    }

    async fn pass(&self) {
        *self.0.arrived.lock().unwrap() += 1;
        self.0.arrival.notify_all();
        if let Ok(Ok(permit)) = tokio::time::timeout(HOLD_LIMIT, self.0.release.acquire()).await {
            permit.forget();
        }
    }
}

/// One request as the host saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// The `Host` header without its port.
    pub host: String,
    /// The path as sent, with its leading `/`.
    pub path: String,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Seen {
    /// The value of header `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

enum Route {
    /// Replies in order; the last one repeats.
    Queue(VecDeque<Reply>),
    Dynamic(Handler),
}

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Route>>,
    fallback: Mutex<Option<Handler>>,
    seen: Mutex<Vec<Seen>>,
    requests: Arc<Mutex<Vec<(String, HeaderMap)>>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Per host (Host header without port): in flight and the most seen.
    per_host: Mutex<HashMap<String, (usize, usize)>>,
    bytes_sent: Arc<AtomicU64>,
    connections: AtomicUsize,
}

/// The mock host (see the module's notes). Clones share the same host.
#[derive(Clone)]
pub struct MockHost {
    shared: Arc<Shared>,
    /// Every request: its path without the leading `/` (percent-decoded),
    /// and its headers.
    pub requests: Arc<Mutex<Vec<(String, HeaderMap)>>>,
    pub addr: Option<SocketAddr>,
    /// The runtime of a host started by [`MockHost::start_blocking`].
    runtime: Option<Arc<tokio::runtime::Runtime>>,
}

/// Route keys: the path without its leading `/`, percent-decoded.
fn key(path: &str) -> String {
    let path = path.strip_prefix('/').unwrap_or(path);
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

impl MockHost {
    fn new() -> MockHost {
        let shared = Arc::new(Shared::default());
        MockHost {
            requests: shared.requests.clone(),
            shared,
            addr: None,
            runtime: None,
        }
    }

    /// A host on 127.0.0.1, port 0.
    pub async fn start() -> MockHost {
        MockHost::start_on("127.0.0.1").await
    }

    /// A host on `ip` (`127.0.0.2`, `::1`, ...), port 0.
    pub async fn start_on(ip: &str) -> MockHost {
        MockHost::try_start_on(ip)
            .await
            .unwrap_or_else(|e| panic!("listening on {ip}: {e}"))
    }

    /// [`MockHost::start_on`], or why it cannot listen there.
    pub async fn try_start_on(ip: &str) -> std::io::Result<MockHost> {
        let mut host = MockHost::new();
        host.addr = Some(host.try_listen(ip).await?);
        Ok(host)
    }

    /// A host on 127.0.0.1 served by a runtime of its own, for tests that
    /// have none; the runtime ends with the last clone.
    pub fn start_blocking() -> MockHost {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mut host = runtime.block_on(MockHost::start());
        host.runtime = Some(Arc::new(runtime));
        host
    }

    /// A raw TCP host on 127.0.0.1, port 0: each connection goes to
    /// `handler` (see [`read_request`]); nothing is recorded but the
    /// count of connections.
    pub async fn start_raw<F, Fut>(handler: F) -> MockHost
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut host = MockHost::new();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        host.addr = Some(listener.local_addr().unwrap());
        let shared = host.shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(handler(stream));
            }
        });
        host
    }

    /// Serves this same host on `ip`, port 0, too; that address.
    pub async fn listen(&self, ip: &str) -> SocketAddr {
        self.try_listen(ip)
            .await
            .unwrap_or_else(|e| panic!("listening on {ip}: {e}"))
    }

    async fn try_listen(&self, ip: &str) -> std::io::Result<SocketAddr> {
        let at = if ip.contains(':') {
            format!("[{}]:0", ip.trim_matches(['[', ']']))
        } else {
            format!("{ip}:0")
        };
        let listener = TcpListener::bind(at).await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .fallback(serve)
            .with_state(self.shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Ok(addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr.unwrap()
    }

    /// `http://ADDR/path` (`path` without its leading `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr(), path.trim_start_matches('/'))
    }

    /// Answers `path` (with or without its leading `/`) with `reply`.
    pub fn set(&self, path: &str, reply: impl Into<Reply>) {
        self.script(path, vec![reply.into()]);
    }

    /// Answers `path` with `replies` in order, the last one repeating.
    pub fn script(&self, path: &str, replies: Vec<Reply>) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(key(path), Route::Queue(replies.into()));
    }

    /// Answers `path` with what `handler` makes of each request.
    pub fn set_with(&self, path: &str, handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(key(path), Route::Dynamic(Arc::new(handler)));
    }

    /// Answers every path nothing was set for with `handler` (not 404).
    pub fn fallback(&self, handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) {
        *self.shared.fallback.lock().unwrap() = Some(Arc::new(handler));
    }

    /// Requests for `path` (with or without its leading `/`) so far.
    pub fn hits(&self, path: &str) -> usize {
        let path = key(path);
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| *p == path)
            .count()
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// The paths asked for, in order (with their leading `/`).
    pub fn paths(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.path).collect()
    }

    /// The bodies of the requests for `path`, as text, in order.
    pub fn bodies(&self, path: &str) -> Vec<String> {
        let path = key(path);
        self.seen()
            .into_iter()
            .filter(|s| key(&s.path) == path)
            .map(|s| String::from_utf8_lossy(&s.body).into_owned())
            .collect()
    }

    pub fn count(&self) -> usize {
        self.shared.seen.lock().unwrap().len()
    }

    /// The last request.
    pub fn last(&self) -> Seen {
        self.seen().last().cloned().expect("a request was made")
    }

    /// The most requests in flight at once so far.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Per host name: (in flight now, the most in flight at once).
    pub fn per_host(&self) -> HashMap<String, (usize, usize)> {
        self.shared.per_host.lock().unwrap().clone()
    }

    /// Bytes sent by endless replies so far.
    pub fn bytes_sent(&self) -> u64 {
        self.shared.bytes_sent.load(Ordering::SeqCst)
    }

    /// Connections accepted by a raw host.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Waits (polling) until `path` was asked for `n` times, for up to
    /// `within`; whether it was.
    pub async fn wait_hits(&self, path: &str, n: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.hits(path) < n {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        true
    }
}

/// Reads a request's head off a raw connection (until the blank line, or
/// the end).
pub async fn read_request(stream: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&byte[..n]),
        }
    }
}

async fn serve(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let headers = parts.headers;
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .rsplit_once(':')
        .map(|(h, _)| h.to_string())
        .unwrap_or_default();
    let seen = Seen {
        method: parts.method.to_string(),
        host: host.clone(),
        path: parts.uri.path().to_string(),
        path_and_query: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: headers.clone(),
        body,
    };
    let path = key(&seen.path);
    shared
        .requests
        .lock()
        .unwrap()
        .push((path.clone(), headers.clone()));
    shared.seen.lock().unwrap().push(seen.clone());
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    {
        let mut hosts = shared.per_host.lock().unwrap();
        let entry = hosts.entry(host.clone()).or_insert((0, 0));
        entry.0 += 1;
        entry.1 = entry.1.max(entry.0);
    }
    let reply = {
        let mut routes = shared.routes.lock().unwrap();
        match routes.get_mut(&path) {
            Some(Route::Queue(queue)) if queue.len() > 1 => Some(queue.pop_front().unwrap()),
            Some(Route::Queue(queue)) => queue.front().cloned(),
            Some(Route::Dynamic(handler)) => Some(handler(&seen)),
            None => None,
        }
    };
    let reply = reply
        .or_else(|| {
            let fallback = shared.fallback.lock().unwrap().clone();
            fallback.map(|handler| handler(&seen))
        })
        .unwrap_or_else(|| Reply::status(404));
    if let Some(hold) = &reply.hold {
        hold.pass().await;
    }
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    if let Some(entry) = shared.per_host.lock().unwrap().get_mut(&host) {
        entry.0 -= 1;
    }
    respond(&shared, reply, headers.get(header::IF_NONE_MATCH))
}

fn respond(shared: &Shared, reply: Reply, if_none_match: Option<&HeaderValue>) -> Response {
    let inm = if_none_match.and_then(|v| v.to_str().ok());
    if let Some(etag) = reply.etag.as_deref()
        && reply.status == 200
        && inm == Some(etag)
    {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
            .headers_mut()
            .insert(header::ETAG, etag.parse().unwrap());
        return response;
    }
    let body = if reply.dribble {
        Body::from_stream(dribble(reply.body))
    } else if reply.endless {
        let sent = shared.bytes_sent.clone();
        Body::from_stream(futures_util::stream::unfold((), move |()| {
            let sent = sent.clone();
            async move {
                tokio::task::yield_now().await;
                sent.fetch_add(65536, Ordering::SeqCst);
                Some((Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 65536])), ()))
            }
        }))
    } else {
        Body::from(reply.body)
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    for (name, value) in &reply.headers {
        response.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    if let Some(etag) = reply.etag {
        response
            .headers_mut()
            .insert(header::ETAG, etag.parse().unwrap());
    }
    response
}

/// The body one byte every 100 ms.
fn dribble(bytes: Vec<u8>) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(0usize, move |i| {
        let byte = bytes.get(i).copied();
        async move {
            let b = byte?;
            tokio::time::sleep(Duration::from_millis(100)).await;
            Some((Ok(Bytes::from(vec![b])), i + 1))
        }
    })
}
