//! The only reqwest user: one polite conditional GET of a feed URL.
//!
//! - **Validators** are sent back exactly as the server sent them
//!   (`If-None-Match` / `If-Modified-Since`, RFC 9110 13.1), never made up.
//! - **Redirects** are followed by hand (at most [`MAX_REDIRECTS`] hops, loops
//!   are errors) so the caller sees each hop's status and can tell 301/308
//!   from 302/303/307 ([`ResponseMeta::permanent_target`]).
//! - **Headers**: `Accept` for feed types, `Accept-Encoding: gzip, br`
//!   (decoded here), a stable `User-Agent`; no cookies (no cookie store), no
//!   `Referer`, and only the URL asked for (no cache-busting query).
//! - **Limits**: connect timeout; a total timeout covering every hop and the
//!   body (a server dribbling bytes is cut off); the body is capped while it
//!   streams, both as received ([`FetchSettings::max_body_bytes`]) and as
//!   decoded ([`FetchSettings::max_decoded_bytes`]), so a gzip bomb is cut
//!   off at the cap instead of being inflated.
//! - **Politeness**: at most [`FetchSettings::max_per_host`] requests in
//!   flight to one host and [`FetchSettings::max_concurrent`] overall
//!   (semaphores, the host's taken first so a queue for one host never holds
//!   global slots); two callers asking for the same URL with the same
//!   validators at the same time share one request.
//! - **SSRF guard** ([`super::guard`]): a fetch whose source's configured
//!   URL resolves to public addresses only, and whose source does not set
//!   `allow_internal`, never connects to an internal address (loopback,
//!   link-local and cloud metadata, private ranges). Such fetches go through
//!   a second client whose DNS resolver refuses names that resolve inside,
//!   at connection time (so a name rebound to 169.254.169.254 after it was
//!   checked is still refused); IP literals, which skip DNS, are checked
//!   before each request.
//!
//! Freshness headers (`Cache-Control`, `Expires`, `Date`, `Retry-After`) are
//! handed back as text; [`super::poll`] decides what they mean. The body is
//! returned as bytes with its `Content-Type`: decoding the charset (BOM, HTTP
//! `charset`, XML declaration, sniffing) is the parser's job.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::sync::Semaphore;
use url::Url;

/// Most redirect hops followed for one fetch.
pub const MAX_REDIRECTS: usize = 5;
/// Default cap on requests in flight to all hosts together.
pub const DEFAULT_MAX_CONCURRENT: usize = 16;
/// Default cap on requests in flight to one host.
pub const DEFAULT_MAX_PER_HOST: usize = 2;

/// How the fetcher behaves; built from `[daemon]` and `[defaults]`.
#[derive(Clone, Debug)]
pub struct FetchSettings {
    pub user_agent: String,
    pub connect_timeout: Duration,
    /// Every hop and the whole body must arrive within this.
    pub total_timeout: Duration,
    /// Cap on the body as received (compressed or not), while streaming.
    pub max_body_bytes: u64,
    /// Cap on the body once decoded (gzip, br), while decoding.
    pub max_decoded_bytes: u64,
    /// Requests in flight, all hosts together (at least 1).
    pub max_concurrent: usize,
    /// Requests in flight to one host (at least 1).
    pub max_per_host: usize,
}

impl FetchSettings {
    /// `syndic/VERSION (+contact)`, stable across runs.
    pub fn user_agent(contact: Option<&str>) -> String {
        let version = env!("CARGO_PKG_VERSION");
        match contact {
            Some(c) => format!("syndic/{version} (+{c})"),
            None => format!("syndic/{version}"),
        }
    }
}

/// The validators of a previous response, echoed byte for byte.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// One redirect followed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    pub status: u16,
    pub from: String,
    pub to: String,
}

/// What the final response said, apart from its body.
#[derive(Clone, Debug, Default)]
pub struct ResponseMeta {
    pub status: u16,
    /// The URL the final response came from.
    pub final_url: String,
    /// The redirects followed to get there, in order.
    pub redirects: Vec<Hop>,
    /// `ETag` and `Last-Modified` exactly as received (absent when absent).
    pub validators: Validators,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub expires: Option<String>,
    pub date: Option<String>,
    pub retry_after: Option<String>,
}

impl ResponseMeta {
    /// The URL reached through permanent redirects (301/308) alone, from the
    /// start of the chain: where the requested URL has moved. `None` when
    /// the first hop was temporary or there was none.
    pub fn permanent_target(&self) -> Option<&str> {
        self.redirects
            .iter()
            .take_while(|h| h.status == 301 || h.status == 308)
            .last()
            .map(|h| h.to.as_str())
    }
}

#[derive(Clone, Debug)]
pub enum FetchOutcome {
    /// 304: nothing changed. The meta carries any validators it sent.
    NotModified(ResponseMeta),
    /// A 2xx with its decoded body.
    Fetched {
        meta: ResponseMeta,
        body: Arc<Vec<u8>>,
        /// Bytes as they came over the wire (before decoding).
        wire_bytes: u64,
    },
    /// Any other final status (4xx, 5xx, ...); the body is not read.
    Status(ResponseMeta),
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "body larger than the {limit}-byte cap; raise [defaults] max_body_bytes if the feed is really that big"
    )]
    TooLarge { limit: u64 },
    #[error(
        "decoded body larger than the {limit}-byte cap (4 x max_body_bytes): a compression bomb, or raise [defaults] max_body_bytes"
    )]
    DecodedTooLarge { limit: u64 },
    #[error("timed out (connect {}s, total {}s); raise [defaults] timeout if the host is just slow", connect.as_secs_f64(), total.as_secs_f64())]
    Timeout { connect: Duration, total: Duration },
    // URLs are shown with their secrets redacted (`crate::redact`).
    #[error("redirect loop back to {}", crate::redact::Redacted(.url))]
    RedirectLoop { url: String },
    #[error("more than {limit} redirects")]
    TooManyRedirects { limit: usize },
    #[error("bad redirect to `{}`: {}", crate::redact::Redacted(.location), crate::redact::Redacted(.reason))]
    BadRedirect { location: String, reason: String },
    #[error("cannot decode the body ({encoding}): {reason}")]
    Decoding { encoding: String, reason: String },
    #[error(
        "refused {}: it leads to {address}, an internal address, and the source's URL is public (SSRF guard); set allow_internal = true on the source if it must reach that address", crate::redact::Redacted(.url)
    )]
    Internal { url: String, address: IpAddr },
    /// A connection or protocol failure: `short` says it in a few words
    /// ("connection refused", "DNS lookup failed for ..."), `detail` is the
    /// whole chain of causes.
    #[error("{}", crate::redact::Redacted(.detail))]
    Network { short: String, detail: String },
}

impl FetchError {
    /// A failure whose few words are the detail itself.
    fn network(detail: impl Into<String>) -> FetchError {
        let detail = detail.into();
        FetchError::Network {
            short: "network error".into(),
            detail,
        }
    }

    /// The cause in a few words, read at a glance in `syndic sources`, on
    /// `/` and in `STATUS=`; the whole message ([`Display`](std::fmt::Display))
    /// follows it wherever there is room.
    pub fn summary(&self) -> String {
        match self {
            FetchError::TooLarge { .. } => "body over the size cap".into(),
            FetchError::DecodedTooLarge { .. } => "decoded body over the size cap".into(),
            FetchError::Timeout { .. } => "timed out".into(),
            FetchError::RedirectLoop { .. } => "redirect loop".into(),
            FetchError::TooManyRedirects { .. } => "too many redirects".into(),
            FetchError::BadRedirect { .. } => "bad redirect".into(),
            FetchError::Decoding { encoding, .. } => format!("cannot decode the body ({encoding})"),
            FetchError::Internal { .. } => "refused: an internal address (SSRF guard)".into(),
            FetchError::Network { short, .. } => short.clone(),
        }
    }
}

/// What a chain of error causes says in a few words: the kind of an I/O
/// error where one is in the chain, else words that DNS, TLS and HTTP
/// errors are known to carry. `host` is the request's host.
fn chain_in_few_words(
    chain: &[&(dyn std::error::Error + 'static)],
    text: &str,
    host: &str,
) -> String {
    use std::io::ErrorKind;
    let io_kind = chain
        .iter()
        .find_map(|e| e.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    let lower = text.to_ascii_lowercase();
    match io_kind {
        Some(ErrorKind::ConnectionRefused) => return format!("connection refused by {host}"),
        Some(ErrorKind::ConnectionReset) => return format!("connection reset by {host}"),
        Some(ErrorKind::ConnectionAborted) => return format!("connection aborted by {host}"),
        Some(ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable) => {
            return format!("{host} unreachable (no network?)");
        }
        _ => {}
    }
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        format!("DNS lookup failed for {host} (no network, or a wrong host name?)")
    } else if lower.contains("certificate") && lower.contains("expired") {
        format!("TLS: {host}'s certificate expired")
    } else if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        format!("TLS: {host}'s certificate is not from a trusted issuer")
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        format!("TLS: the certificate is not valid for {host}")
    } else if lower.contains("certificate") || lower.contains("tls") {
        format!("TLS handshake with {host} failed")
    } else if lower.contains("connection closed") || lower.contains("incomplete message") {
        format!("{host} closed the connection")
    } else {
        format!("cannot reach {host}")
    }
}

/// Which addresses one fetch may reach: the inputs of the SSRF guard.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reach {
    /// The source's configured URL. When it points at an internal address
    /// (a feed on the LAN, a host on 127.0.0.1), the fetch may go to
    /// internal addresses; otherwise it may not.
    pub origin: String,
    /// The source's `allow_internal`: internal addresses are reachable
    /// whatever the origin.
    pub allow_internal: bool,
}

impl Reach {
    /// The guard as it applies to a fetch of `url` configured as is.
    pub fn of(url: &str) -> Reach {
        Reach {
            origin: url.to_string(),
            allow_internal: false,
        }
    }
}

/// A fixed host-name table standing in for DNS, for tests that need a host
/// listening on 127.0.0.1 to pass for one at another address (a public
/// one, or 169.254.169.254): each name maps to the address the SSRF guard
/// judges and the socket the connection really goes to. Names not in the
/// table do not resolve. See [`Fetcher::with_hosts`].
#[doc(hidden)]
#[derive(Default)]
pub struct HostTable {
    /// Name -> answers still to give (address judged, address dialled), and
    /// the lookups so far.
    names: Mutex<HashMap<String, (VecDeque<Answer>, usize)>>,
}

type Answer = (IpAddr, SocketAddr);

impl HostTable {
    /// Adds an answer for `name`: it resolves to `ip` and is reached at
    /// `dial`. Answers added to one name are given out in turn, one per
    /// lookup, and the last one to every lookup after (a name whose address
    /// changes: DNS rebinding). A URL naming this host must not give a port:
    /// the port of `dial` is used.
    pub fn add(&self, name: &str, ip: IpAddr, dial: SocketAddr) {
        let mut names = match self.names.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        names
            .entry(name.to_ascii_lowercase())
            .or_default()
            .0
            .push_back((ip, dial));
    }

    /// How many times `name` was looked up.
    pub fn lookups(&self, name: &str) -> usize {
        let names = match self.names.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        names.get(&name.to_ascii_lowercase()).map_or(0, |e| e.1)
    }

    fn lookup(&self, name: &str) -> Option<Resolved> {
        let mut names = match self.names.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (answers, count) = names.get_mut(&name.to_ascii_lowercase())?;
        *count += 1;
        let (ip, dial) = if answers.len() > 1 {
            answers.pop_front()?
        } else {
            *answers.front()?
        };
        Some(Resolved { ip, dial })
    }
}

/// One address a name resolved to: `ip` is what the guard judges, `dial`
/// where the connection goes (the same address, except in a [`HostTable`]).
#[derive(Clone, Copy, Debug)]
struct Resolved {
    ip: IpAddr,
    dial: SocketAddr,
}

/// System resolver lookups (`getaddrinfo`, one blocking thread each) under
/// way at once, at most. A lookup cannot be cancelled: when the resolver is
/// unreachable each one holds its thread for the resolver's timeout after
/// the fetch gave up on it, and unbounded lookups (one per source due)
/// filled tokio's blocking pool, which rendering, `/metrics`, the admin
/// socket and the watchdog's store probe need too. Measured with 20,000
/// sources and no DNS: 512 threads busy, `/metrics` 10 s, `syndic sources`
/// 10 s.
const MAX_SYSTEM_LOOKUPS: usize = 16;

static SYSTEM_LOOKUPS: std::sync::LazyLock<Arc<Semaphore>> =
    std::sync::LazyLock::new(|| Arc::new(Semaphore::new(MAX_SYSTEM_LOOKUPS)));

/// Runs blocking `work` on tokio's blocking pool once one of `slots` is
/// free, holding the slot until `work` ends, even when the caller stopped
/// waiting (a timeout): so at most that many threads are ever taken.
async fn bounded_blocking<T: Send + 'static>(
    slots: &Arc<Semaphore>,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<T> {
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .map_err(std::io::Error::other)?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    })
    .await
    .map_err(std::io::Error::other)
}

/// How host names become addresses.
#[derive(Clone)]
enum Lookup {
    /// The system resolver.
    System,
    /// A fixed table (tests).
    Table(Arc<HostTable>),
}

impl Lookup {
    async fn resolve(&self, name: &str) -> std::io::Result<Vec<Resolved>> {
        match self {
            Lookup::System => {
                let name = name.to_string();
                // Port 0: the HTTP client puts in the URL's port.
                let found = bounded_blocking(&SYSTEM_LOOKUPS, move || {
                    std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), 0))
                        .map(|addrs| addrs.collect::<Vec<_>>())
                })
                .await??;
                Ok(found
                    .into_iter()
                    .map(|a| Resolved {
                        ip: a.ip(),
                        dial: a,
                    })
                    .collect())
            }
            Lookup::Table(table) => table.lookup(name).map(|r| vec![r]).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{name} is not in the host table"),
                )
            }),
        }
    }

    /// Whether the host of `url` points inside. A URL that does not parse or
    /// a name that does not resolve counts as public: the stricter side.
    async fn is_internal_origin(&self, url: &str) -> bool {
        let Ok(url) = Url::parse(url) else {
            return false;
        };
        match url.host() {
            Some(url::Host::Ipv4(ip)) => super::guard::is_internal(ip.into()),
            Some(url::Host::Ipv6(ip)) => super::guard::is_internal(ip.into()),
            Some(url::Host::Domain(name)) => match self.resolve(name).await {
                Ok(found) => super::guard::is_internal_origin(
                    &found.iter().map(|r| r.ip).collect::<Vec<_>>(),
                ),
                Err(_) => false,
            },
            None => false,
        }
    }
}

/// The HTTP client's DNS resolver: [`Lookup`], and for guarded fetches the
/// SSRF guard, applied to the addresses the connection will use.
struct GuardResolver {
    lookup: Lookup,
    guarded: bool,
}

/// The guard's refusal, carried out of the HTTP client in its error chain.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {address}, an internal address (SSRF guard)")]
struct Refused {
    host: String,
    address: IpAddr,
}

impl reqwest::dns::Resolve for GuardResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let lookup = self.lookup.clone();
        let guarded = self.guarded;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = lookup.resolve(&host).await?;
            if guarded {
                let ips: Vec<IpAddr> = found.iter().map(|r| r.ip).collect();
                if let Some(address) = super::guard::refused_address(&ips) {
                    return Err(Box::new(Refused { host, address }) as _);
                }
            }
            let addrs: reqwest::dns::Addrs = Box::new(
                found
                    .into_iter()
                    .map(|r| r.dial)
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
            Ok(addrs)
        })
    }
}

type SharedFetch = Shared<BoxFuture<'static, Result<FetchOutcome, FetchError>>>;

#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

struct Inner {
    /// For fetches the SSRF guard does not restrict, and WebSub pings.
    client: reqwest::Client,
    /// For guarded fetches: its resolver refuses internal addresses.
    guarded: reqwest::Client,
    lookup: Lookup,
    settings: FetchSettings,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    inflight: Mutex<HashMap<(String, Validators, Reach), SharedFetch>>,
    /// URL -> no request before this (a `Retry-After`).
    holds: Mutex<HashMap<String, DateTime<Utc>>>,
    requests: AtomicU64,
}

/// Feed media types first, then anything, as readers commonly ask.
pub const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
                          application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, \
                          application/json;q=0.7, */*;q=0.1";

/// The encodings we decode.
pub const ACCEPT_ENCODING: &str = "gzip, br";

impl Fetcher {
    pub fn new(settings: &FetchSettings) -> Result<Fetcher, FetchError> {
        Fetcher::build(settings, Lookup::System)
    }

    /// A fetcher that resolves host names from `hosts` instead of DNS, so a
    /// test host on 127.0.0.1 can pass for a public (or any) address.
    #[doc(hidden)]
    pub fn with_hosts(
        settings: &FetchSettings,
        hosts: Arc<HostTable>,
    ) -> Result<Fetcher, FetchError> {
        Fetcher::build(settings, Lookup::Table(hosts))
    }

    fn build(settings: &FetchSettings, lookup: Lookup) -> Result<Fetcher, FetchError> {
        let client = Fetcher::client(settings, &lookup, false)?;
        let guarded = Fetcher::client(settings, &lookup, true)?;
        Ok(Fetcher {
            inner: Arc::new(Inner {
                client,
                guarded,
                lookup,
                settings: settings.clone(),
                global: Arc::new(Semaphore::new(settings.max_concurrent.max(1))),
                hosts: Mutex::new(HashMap::new()),
                inflight: Mutex::new(HashMap::new()),
                holds: Mutex::new(HashMap::new()),
                requests: AtomicU64::new(0),
            }),
        })
    }

    fn client(
        settings: &FetchSettings,
        lookup: &Lookup,
        guarded: bool,
    ) -> Result<reqwest::Client, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static(ACCEPT_ENCODING),
        );
        reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .default_headers(headers)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.total_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            // Decoded here, under the decoded-size cap.
            .no_gzip()
            .no_brotli()
            .dns_resolver(Arc::new(GuardResolver {
                lookup: lookup.clone(),
                guarded,
            }))
            .build()
            .map_err(|e| FetchError::network(e.to_string()))
    }

    /// Records that `url` must not be requested before `until` (a
    /// `Retry-After`), for every source that polls it. The daemon seeds this
    /// from the stored poll states at start, so it survives restarts.
    pub fn hold(&self, url: &str, until: DateTime<Utc>) {
        let mut holds = match self.inner.holds.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let entry = holds.entry(url.to_string()).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// The `Retry-After` hold on `url`, if any.
    pub fn held_until(&self, url: &str) -> Option<DateTime<Utc>> {
        let holds = match self.inner.holds.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        holds.get(url).copied()
    }

    /// HTTP requests sent so far (each redirect hop counts).
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// One conditional GET of `url`, following redirects. Sends
    /// `If-None-Match` / `If-Modified-Since` only when `previous` has that
    /// validator. Concurrent calls for the same URL and validators share
    /// one request. The SSRF guard applies as for a source configured with
    /// `url` and without `allow_internal`.
    pub async fn get(&self, url: &str, previous: &Validators) -> Result<FetchOutcome, FetchError> {
        self.get_with(url, previous, &Reach::of(url)).await
    }

    /// [`Fetcher::get`] for a source: `reach` names its configured URL
    /// (which may differ from `url` after a permanent redirect) and its
    /// `allow_internal` switch.
    pub async fn get_with(
        &self,
        url: &str,
        previous: &Validators,
        reach: &Reach,
    ) -> Result<FetchOutcome, FetchError> {
        let key = (url.to_string(), previous.clone(), reach.clone());
        let shared = {
            let mut inflight = match self.inner.inflight.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            match inflight.get(&key) {
                Some(running) => running.clone(),
                None => {
                    let inner = self.inner.clone();
                    let key2 = key.clone();
                    let fut = async move {
                        let result = inner.fetch(&key2.0, &key2.1, &key2.2).await;
                        if let Ok(mut map) = inner.inflight.lock() {
                            map.remove(&key2);
                        }
                        result
                    }
                    .boxed()
                    .shared();
                    inflight.insert(key, fut.clone());
                    fut
                }
            }
        };
        shared.await
    }
}

impl Inner {
    fn timeout(&self) -> FetchError {
        FetchError::Timeout {
            connect: self.settings.connect_timeout,
            total: self.settings.total_timeout,
        }
    }

    fn classify(&self, err: reqwest::Error) -> FetchError {
        if err.is_timeout() {
            return self.timeout();
        }
        // The chain of sources says what really happened (DNS, refused, TLS).
        let mut text = err.to_string();
        let mut chain = Vec::new();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            if let Some(refused) = s.downcast_ref::<Refused>() {
                return FetchError::Internal {
                    url: err.url().map(|u| u.to_string()).unwrap_or_default(),
                    address: refused.address,
                };
            }
            text.push_str(": ");
            text.push_str(&s.to_string());
            chain.push(s);
            source = s.source();
        }
        let host = err
            .url()
            .and_then(|u| u.host_str())
            .unwrap_or("the host")
            .to_string();
        FetchError::Network {
            short: chain_in_few_words(&chain, &text, &host),
            detail: text,
        }
    }

    fn host_slots(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = match self.hosts.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        hosts
            .entry(host.to_ascii_lowercase())
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.max_per_host.max(1))))
            .clone()
    }

    async fn fetch(
        &self,
        url: &str,
        previous: &Validators,
        reach: &Reach,
    ) -> Result<FetchOutcome, FetchError> {
        let mut current = Url::parse(url).map_err(|e| FetchError::BadRedirect {
            location: url.to_string(),
            reason: e.to_string(),
        })?;
        let start = current.to_string();
        // The SSRF guard: a source whose configured URL is public may only
        // reach public addresses. A lookup that hangs counts as public.
        let guarded = !reach.allow_internal
            && !tokio::time::timeout(
                self.settings.connect_timeout,
                self.lookup.is_internal_origin(&reach.origin),
            )
            .await
            .unwrap_or(false);
        let mut redirects: Vec<Hop> = Vec::new();
        let mut deadline = None;
        loop {
            let host = current.host_str().unwrap_or("").to_string();
            // The host's slot first: waiting for a busy host holds no
            // global slot.
            let host_slots = self.host_slots(&host);
            let _host_permit = host_slots
                .acquire_owned()
                .await
                .map_err(|e| FetchError::network(e.to_string()))?;
            let _global_permit = self
                .global
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| FetchError::network(e.to_string()))?;
            // The clock starts once the first request may go.
            let deadline = *deadline
                .get_or_insert_with(|| tokio::time::Instant::now() + self.settings.total_timeout);
            // IP literals skip the resolver, where names are checked.
            if guarded {
                let literal: Option<IpAddr> = match current.host() {
                    Some(url::Host::Ipv4(ip)) => Some(ip.into()),
                    Some(url::Host::Ipv6(ip)) => Some(ip.into()),
                    _ => None,
                };
                if let Some(address) = literal.filter(|ip| super::guard::is_internal(*ip)) {
                    return Err(FetchError::Internal {
                        url: current.to_string(),
                        address,
                    });
                }
            }
            let hop =
                tokio::time::timeout_at(deadline, self.one_request(&current, previous, guarded))
                    .await;
            let step = match hop {
                Ok(step) => step?,
                Err(_) => return Err(self.timeout()),
            };
            match step {
                Step::Done(outcome) => {
                    let mut outcome = *outcome;
                    let meta = match &mut outcome {
                        FetchOutcome::NotModified(meta) | FetchOutcome::Status(meta) => meta,
                        FetchOutcome::Fetched { meta, .. } => meta,
                    };
                    meta.redirects = redirects;
                    return Ok(outcome);
                }
                Step::Redirect { status, location } => {
                    if redirects.len() >= MAX_REDIRECTS {
                        return Err(FetchError::TooManyRedirects {
                            limit: MAX_REDIRECTS,
                        });
                    }
                    let next = current
                        .join(&location)
                        .map_err(|e| FetchError::BadRedirect {
                            location: location.clone(),
                            reason: e.to_string(),
                        })?;
                    if next.scheme() != "http" && next.scheme() != "https" {
                        return Err(FetchError::BadRedirect {
                            location,
                            reason: "only http and https are followed".into(),
                        });
                    }
                    let seen =
                        next.as_str() == start || redirects.iter().any(|h| h.from == next.as_str());
                    if seen {
                        return Err(FetchError::RedirectLoop {
                            url: next.to_string(),
                        });
                    }
                    redirects.push(Hop {
                        status,
                        from: current.to_string(),
                        to: next.to_string(),
                    });
                    current = next;
                }
            }
        }
    }

    async fn one_request(
        &self,
        url: &Url,
        previous: &Validators,
        guarded: bool,
    ) -> Result<Step, FetchError> {
        let client = if guarded { &self.guarded } else { &self.client };
        let mut request = client.get(url.clone());
        if let Some(etag) = &previous.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &previous.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, lm);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut response = request.send().await.map_err(|e| self.classify(e))?;
        let status = response.status();
        let headers = response.headers();
        if matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
            && let Some(location) = header_text(headers, header::LOCATION)
        {
            return Ok(Step::Redirect {
                status: status.as_u16(),
                location,
            });
        }
        let meta = ResponseMeta {
            status: status.as_u16(),
            final_url: url.to_string(),
            redirects: Vec::new(),
            validators: Validators {
                etag: header_text(headers, header::ETAG),
                last_modified: header_text(headers, header::LAST_MODIFIED),
            },
            content_type: header_text(headers, header::CONTENT_TYPE),
            cache_control: header_text(headers, header::CACHE_CONTROL),
            expires: header_text(headers, header::EXPIRES),
            date: header_text(headers, header::DATE),
            retry_after: header_text(headers, header::RETRY_AFTER),
        };
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Step::Done(Box::new(FetchOutcome::NotModified(meta))));
        }
        if !status.is_success() {
            return Ok(Step::Done(Box::new(FetchOutcome::Status(meta))));
        }
        let limit = self.settings.max_body_bytes;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let encoding = header_text(headers, header::CONTENT_ENCODING)
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let mut decoder = BodyDecoder::new(&encoding, self.settings.max_decoded_bytes)?;
        let mut wire_bytes: u64 = 0;
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            wire_bytes += chunk.len() as u64;
            if wire_bytes > limit {
                return Err(FetchError::TooLarge { limit });
            }
            decoder.write(&chunk)?;
        }
        let body = decoder.finish()?;
        Ok(Step::Done(Box::new(FetchOutcome::Fetched {
            meta,
            body: Arc::new(body),
            wire_bytes,
        })))
    }
}

enum Step {
    Done(Box<FetchOutcome>),
    Redirect { status: u16, location: String },
}

/// A `Write` that keeps what it is given up to a cap, then refuses.
struct CappedSink {
    buf: Vec<u8>,
    cap: u64,
    exceeded: bool,
}

impl Write for CappedSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() as u64 + data.len() as u64 > self.cap {
            self.exceeded = true;
            return Err(std::io::Error::other("decoded size cap reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Decodes a body as it streams in, into a [`CappedSink`].
enum BodyDecoder {
    Identity(CappedSink),
    Gzip(Box<flate2::write::GzDecoder<CappedSink>>),
    Brotli(Box<brotli::DecompressorWriter<CappedSink>>),
}

impl BodyDecoder {
    fn new(encoding: &str, cap: u64) -> Result<BodyDecoder, FetchError> {
        let sink = CappedSink {
            buf: Vec::new(),
            cap,
            exceeded: false,
        };
        Ok(match encoding {
            "" | "identity" => BodyDecoder::Identity(sink),
            "gzip" | "x-gzip" => BodyDecoder::Gzip(Box::new(flate2::write::GzDecoder::new(sink))),
            "br" => BodyDecoder::Brotli(Box::new(brotli::DecompressorWriter::new(sink, 8192))),
            other => {
                return Err(FetchError::Decoding {
                    encoding: other.to_string(),
                    reason: "not an encoding we asked for (gzip, br)".into(),
                });
            }
        })
    }

    fn name(&self) -> &'static str {
        match self {
            BodyDecoder::Identity(_) => "identity",
            BodyDecoder::Gzip(_) => "gzip",
            BodyDecoder::Brotli(_) => "br",
        }
    }

    fn sink(&self) -> &CappedSink {
        match self {
            BodyDecoder::Identity(s) => s,
            BodyDecoder::Gzip(d) => d.get_ref(),
            BodyDecoder::Brotli(d) => d.get_ref(),
        }
    }

    fn error(&self, err: std::io::Error) -> FetchError {
        let sink = self.sink();
        if sink.exceeded {
            FetchError::DecodedTooLarge { limit: sink.cap }
        } else {
            FetchError::Decoding {
                encoding: self.name().into(),
                reason: err.to_string(),
            }
        }
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), FetchError> {
        let result = match self {
            BodyDecoder::Identity(s) => s.write_all(chunk),
            BodyDecoder::Gzip(d) => d.write_all(chunk),
            BodyDecoder::Brotli(d) => d.write_all(chunk),
        };
        result.map_err(|e| self.error(e))
    }

    fn finish(self) -> Result<Vec<u8>, FetchError> {
        match self {
            BodyDecoder::Identity(s) => Ok(s.buf),
            BodyDecoder::Gzip(mut d) => match d.try_finish() {
                Ok(()) => d.finish().map(|s| s.buf).map_err(|e| FetchError::Decoding {
                    encoding: "gzip".into(),
                    reason: e.to_string(),
                }),
                Err(e) => Err(BodyDecoder::Gzip(d).error(e)),
            },
            BodyDecoder::Brotli(mut d) => match d.close() {
                Ok(()) => match d.into_inner() {
                    Ok(s) => Ok(s.buf),
                    Err(_) => Err(FetchError::Decoding {
                        encoding: "br".into(),
                        reason: "truncated brotli stream".into(),
                    }),
                },
                Err(e) => Err(BodyDecoder::Brotli(d).error(e)),
            },
        }
    }
}

impl Fetcher {
    /// One POST of an `application/x-www-form-urlencoded` body (a WebSub
    /// publish ping). Success is any 2xx; anything else is an error the
    /// caller may retry. The response body is not read.
    pub async fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> Result<u16, FetchError> {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let response = self
            .inner
            .client
            .post(url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| self.inner.classify(e))?;
        let status = response.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            Err(FetchError::Network {
                short: format!("HTTP {}", status.as_u16()),
                detail: format!("the server answered {status}"),
            })
        }
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blocking_lookups_that_were_given_up_on_still_hold_their_slot() {
        // A lookup every 10 ms that hangs 150 ms, each given up on after
        // 5 ms: no more than the 4 slots ever run at once. (A slot held by
        // the caller, not by the thread, is free again 5 ms on: about 15
        // would run at once.)
        use std::sync::atomic::{AtomicUsize, Ordering};
        let slots = Arc::new(Semaphore::new(4));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut gave_up = 0;
        for _ in 0..40 {
            let (running, most) = (running.clone(), most.clone());
            let work = bounded_blocking(&slots, move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(150));
                running.fetch_sub(1, Ordering::SeqCst);
            });
            gave_up += usize::from(
                tokio::time::timeout(Duration::from_millis(5), work)
                    .await
                    .is_err(),
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(gave_up, 40, "every caller gave up");
        let most = most.load(Ordering::SeqCst);
        assert_eq!(most, 4, "{most} lookups ran at once with 4 slots");
    }

    #[test]
    fn a_failure_says_its_cause_in_a_few_words() {
        let dns = "error sending request for url (https://blog.example/feed.xml): client error (Connect): dns error: failed to lookup address information: Name or service not known";
        assert_eq!(
            chain_in_few_words(&[], dns, "blog.example"),
            "DNS lookup failed for blog.example (no network, or a wrong host name?)"
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            chain_in_few_words(
                &[&refused],
                "client error (Connect): tcp connect error",
                "h.example"
            ),
            "connection refused by h.example"
        );
        let expired = "client error (Connect): invalid peer certificate: Expired";
        assert_eq!(
            chain_in_few_words(&[], expired, "h.example"),
            "TLS: h.example's certificate expired"
        );
        let issuer = "client error (Connect): invalid peer certificate: UnknownIssuer";
        assert_eq!(
            chain_in_few_words(&[], issuer, "h.example"),
            "TLS: h.example's certificate is not from a trusted issuer"
        );
        assert_eq!(
            chain_in_few_words(&[], "something else", "h.example"),
            "cannot reach h.example"
        );
        let timeout = FetchError::Timeout {
            connect: Duration::from_secs(10),
            total: Duration::from_secs(30),
        };
        assert_eq!(timeout.summary(), "timed out");
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn decoders_round_trip_and_cap() {
        let data = vec![b'a'; 100_000];
        let mut d = BodyDecoder::new("gzip", 200_000).unwrap();
        for chunk in gzip(&data).chunks(100) {
            d.write(chunk).unwrap();
        }
        assert_eq!(d.finish().unwrap(), data);

        let mut d = BodyDecoder::new("gzip", 10_000).unwrap();
        let err = gzip(&data)
            .chunks(100)
            .find_map(|c| d.write(c).err())
            .expect("cap reached while streaming");
        assert!(
            matches!(err, FetchError::DecodedTooLarge { limit: 10_000 }),
            "{err:?}"
        );

        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
            w.write_all(&data).unwrap();
        }
        let mut d = BodyDecoder::new("br", 200_000).unwrap();
        d.write(&br).unwrap();
        assert_eq!(d.finish().unwrap(), data);
        let mut d = BodyDecoder::new("br", 1000).unwrap();
        assert!(matches!(
            d.write(&br),
            Err(FetchError::DecodedTooLarge { .. })
        ));

        assert!(matches!(
            BodyDecoder::new("compress", 10),
            Err(FetchError::Decoding { .. })
        ));
        let mut d = BodyDecoder::new("gzip", 100).unwrap();
        let bad = d
            .write(b"not gzip at all")
            .err()
            .or_else(|| d.finish().err());
        assert!(matches!(bad, Some(FetchError::Decoding { .. })), "{bad:?}");
    }

    #[test]
    fn permanent_target_is_the_leading_permanent_run() {
        let hop = |status, from: &str, to: &str| Hop {
            status,
            from: from.into(),
            to: to.into(),
        };
        let mut meta = ResponseMeta::default();
        assert_eq!(meta.permanent_target(), None);
        meta.redirects = vec![hop(301, "a", "b"), hop(308, "b", "c"), hop(302, "c", "d")];
        assert_eq!(meta.permanent_target(), Some("c"));
        meta.redirects = vec![hop(302, "a", "b"), hop(301, "b", "c")];
        assert_eq!(meta.permanent_target(), None);
    }
}
