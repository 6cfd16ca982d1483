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
//! - **Documents in hand**: a source's document ([`Fetcher::get_document`])
//!   holds one of [`FetchSettings::max_concurrent`] document slots from its
//!   request until its caller drops the [`Body`] (after storing its items),
//!   so when the store falls behind, fetching waits instead of piling
//!   documents up in memory: at most that many are fetched and not yet
//!   stored, however many sources a round polls. A fetch waiting for a slot
//!   holds no host or global slot (an item page fetched while a document is
//!   in hand takes none, so it cannot wait on one).
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

use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::config::Credentials;

mod decode;
mod error;
mod resolve;
#[cfg(test)]
mod tests;

use decode::BodyDecoder;
pub use error::FetchError;
use error::chain_in_few_words;
#[doc(hidden)]
pub use resolve::HostTable;
use resolve::{GuardResolver, Lookup, Refused};

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
    /// The `Link` header(s), joined with `, ` (WebSub's `rel="hub"` and
    /// `rel="self"`).
    pub link: Option<String>,
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
        body: Body,
        /// Bytes as they came over the wire (before decoding).
        wire_bytes: u64,
    },
    /// Any other final status (4xx, 5xx, ...); the body is not read.
    Status(ResponseMeta),
}

/// Which addresses one fetch may reach (the inputs of the SSRF guard) and
/// as whom: fetches share a request only when these are equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reach {
    /// The source's configured URL. When it points at an internal address
    /// (a feed on the LAN, a host on 127.0.0.1), the fetch may go to
    /// internal addresses; otherwise it may not. Its origin is the only
    /// one `credentials` are sent to.
    pub origin: String,
    /// The source's `allow_internal`: internal addresses are reachable
    /// whatever the origin.
    pub allow_internal: bool,
    /// The source's headers, basic auth and User-Agent.
    pub credentials: Credentials,
    /// An item's web page (a `full_text` source), asked for as HTML
    /// ([`ACCEPT_PAGE`]) instead of as a feed.
    pub page: bool,
}

impl Reach {
    /// The guard as it applies to a fetch of `url` configured as is.
    pub fn of(url: &str) -> Reach {
        Reach {
            origin: url.to_string(),
            allow_internal: false,
            credentials: Credentials::default(),
            page: false,
        }
    }
}

/// A fetched body, decoded. The body of a [`Fetcher::get_document`] holds
/// its document slot until its last clone is dropped.
#[derive(Clone, Debug)]
pub struct Body {
    bytes: Arc<Vec<u8>>,
    /// Kept for its drop, which frees the slot.
    _slot: Option<Arc<OwnedSemaphorePermit>>,
}

impl Deref for Body {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

type SharedFetch = Shared<BoxFuture<'static, Result<FetchOutcome, FetchError>>>;

/// What fetches share a request: URL, validators, reach, and whether it is
/// a document (which takes a document slot).
type FetchKey = (String, Validators, Reach, bool);

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
    /// Document slots: documents fetched and not yet dropped by their
    /// caller (see the module's doc).
    documents: Arc<Semaphore>,
    inflight: Mutex<HashMap<FetchKey, SharedFetch>>,
    /// URL -> no request before this (a `Retry-After`).
    holds: Mutex<HashMap<String, DateTime<Utc>>>,
    requests: AtomicU64,
}

/// Feed media types first, then anything, as readers commonly ask.
pub const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
                          application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, \
                          application/json;q=0.7, */*;q=0.1";

/// What an item's page is asked for as (see [`Reach::page`]).
pub const ACCEPT_PAGE: &str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1";

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
                documents: Arc::new(Semaphore::new(settings.max_concurrent.max(1))),
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

    /// The `Retry-After` holds by URL (a panic elsewhere while they were
    /// locked leaves them as they were: still the best knowledge).
    fn holds(&self) -> std::sync::MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
        match self.inner.holds.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Records that `url` must not be requested before `until` (a
    /// `Retry-After`), for every source that polls it. The daemon seeds this
    /// from the stored poll states at start, so it survives restarts.
    pub fn hold(&self, url: &str, until: DateTime<Utc>) {
        let mut holds = self.holds();
        let entry = holds.entry(url.to_string()).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// Moves the hold on `url` (if any) `by` earlier: the wall clock was
    /// set back by that much since it was decided.
    pub fn move_hold_back(&self, url: &str, by: chrono::Duration) {
        let mut holds = self.holds();
        if let Some(until) = holds.get_mut(url) {
            *until -= by;
        }
    }

    /// The `Retry-After` hold on `url`, if any.
    pub fn held_until(&self, url: &str) -> Option<DateTime<Utc>> {
        let holds = self.holds();
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
        self.shared(url, previous, reach, false).await
    }

    /// [`Fetcher::get_with`] for a source's document: a body it returns
    /// holds a document slot until dropped, and no document fetch starts
    /// while all slots are held (see the module's doc). Drop the body once
    /// its items are stored; a caller that keeps more bodies than
    /// [`FetchSettings::max_concurrent`] waits forever for the next.
    pub async fn get_document(
        &self,
        url: &str,
        previous: &Validators,
        reach: &Reach,
    ) -> Result<FetchOutcome, FetchError> {
        self.shared(url, previous, reach, true).await
    }

    async fn shared(
        &self,
        url: &str,
        previous: &Validators,
        reach: &Reach,
        document: bool,
    ) -> Result<FetchOutcome, FetchError> {
        let key = (url.to_string(), previous.clone(), reach.clone(), document);
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
                        let result = inner.fetch(&key2.0, &key2.1, &key2.2, key2.3).await;
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
        document: bool,
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
        let mut slot = None;
        loop {
            let host = current.host_str().unwrap_or("").to_string();
            // The host's slot first: waiting for a busy host holds no
            // global slot.
            let host_slots = self.host_slots(&host);
            let closed = |e: tokio::sync::AcquireError| FetchError::network(e.to_string());
            let (_host_permit, _global_permit) = loop {
                let host_permit = host_slots.clone().acquire_owned().await.map_err(closed)?;
                let global_permit = self.global.clone().acquire_owned().await.map_err(closed)?;
                if !document || slot.is_some() {
                    break (host_permit, global_permit);
                }
                // A document's slot, taken with the request's slots; when
                // none is free, waited for holding neither (see the
                // module's doc).
                if let Ok(taken) = self.documents.clone().try_acquire_owned() {
                    slot = Some(taken);
                    break (host_permit, global_permit);
                }
                drop((host_permit, global_permit));
                slot = Some(
                    self.documents
                        .clone()
                        .acquire_owned()
                        .await
                        .map_err(closed)?,
                );
            };
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
            // Credentials go to the configured URL's origin only, never
            // after a redirect to another.
            let credentials = Url::parse(&reach.origin)
                .is_ok_and(|o| o.origin() == current.origin())
                .then_some(&reach.credentials);
            let hop = tokio::time::timeout_at(
                deadline,
                self.one_request(&current, previous, guarded, credentials, reach.page),
            )
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
                        FetchOutcome::Fetched { meta, body, .. } => {
                            body._slot = slot.take().map(Arc::new);
                            meta
                        }
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
        credentials: Option<&Credentials>,
        page: bool,
    ) -> Result<Step, FetchError> {
        let client = if guarded { &self.guarded } else { &self.client };
        let mut request = client.get(url.clone());
        if page {
            request = request.header(header::ACCEPT, ACCEPT_PAGE);
        }
        if let Some(credentials) = credentials {
            for (name, value) in &credentials.headers {
                request = request.header(name, value.expose());
            }
            if let Some((user, password)) = &credentials.basic_auth {
                request = request.basic_auth(user, Some(password.expose()));
            }
            if let Some(agent) = &credentials.user_agent {
                request = request.header(header::USER_AGENT, agent);
            }
        }
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
            link: {
                let all: Vec<&str> = headers
                    .get_all(header::LINK)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                (!all.is_empty()).then(|| all.join(", "))
            },
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
            body: Body {
                bytes: Arc::new(body),
                _slot: None,
            },
            wire_bytes,
        })))
    }
}

enum Step {
    Done(Box<FetchOutcome>),
    Redirect { status: u16, location: String },
}

impl Fetcher {
    /// One POST of an `application/x-www-form-urlencoded` body to a WebSub
    /// hub (a publish ping, a subscription), judged by the SSRF guard as a
    /// fetch of `origin` (see [`Fetcher::post_reaching`]).
    pub async fn post_form(
        &self,
        url: &str,
        fields: &[(&str, &str)],
        origin: &str,
    ) -> Result<u16, FetchError> {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        self.post_reaching(url, &headers, body.into_bytes(), origin)
            .await
    }

    /// One POST of `body` with `headers` to a configured URL (a WebSub hub,
    /// a webhook). Success is any 2xx; anything else, a redirect included
    /// (none is followed), is an error the caller may retry. The response
    /// body is not read. The SSRF guard applies as to a source: a URL that
    /// is public may not reach an internal address (a DNS answer that
    /// changed), one that points inside may.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<u16, FetchError> {
        self.post_reaching(url, headers, body, url).await
    }

    /// [`Fetcher::post`] to a URL a document named (a feed's WebSub hub),
    /// judged by the SSRF guard as a fetch of `origin` (the source's
    /// configured URL) would be: a public feed cannot send us inside.
    pub async fn post_reaching(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        origin: &str,
    ) -> Result<u16, FetchError> {
        let inner = &self.inner;
        let parsed = Url::parse(url).map_err(|e| FetchError::BadRedirect {
            location: url.to_string(),
            reason: e.to_string(),
        })?;
        let guarded = !tokio::time::timeout(
            inner.settings.connect_timeout,
            inner.lookup.is_internal_origin(origin),
        )
        .await
        .unwrap_or(false);
        // IP literals skip the resolver, where names are checked.
        let literal: Option<IpAddr> = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => Some(ip.into()),
            Some(url::Host::Ipv6(ip)) => Some(ip.into()),
            _ => None,
        };
        if guarded && let Some(address) = literal.filter(|ip| super::guard::is_internal(*ip)) {
            return Err(FetchError::Internal {
                url: url.to_string(),
                address,
            });
        }
        let client = if guarded {
            &inner.guarded
        } else {
            &inner.client
        };
        let mut request = client.post(parsed).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        inner.requests.fetch_add(1, Ordering::Relaxed);
        let sent = tokio::time::timeout(inner.settings.total_timeout, request.send()).await;
        let response = match sent {
            Ok(response) => response.map_err(|e| inner.classify(e))?,
            Err(_) => return Err(inner.timeout()),
        };
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

/// The links of an HTTP `Link` header value (RFC 8288) as (rel, target),
/// one pair per relation type (`rel="hub self"` gives two); rel names in
/// lower case. Targets as written (they may be relative).
pub fn link_relations(header: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>').map(|c| open + c) else {
            break;
        };
        let target = rest[open + 1..close].trim().to_string();
        let tail = &rest[close + 1..];
        // The parameters run to the next link (a `,` outside quotes).
        let mut end = tail.len();
        let mut quoted = false;
        for (i, c) in tail.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        for param in tail[..end].split(';') {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("rel") {
                for rel in value.trim().trim_matches('"').split_ascii_whitespace() {
                    out.push((rel.to_ascii_lowercase(), target.clone()));
                }
            }
        }
        rest = &tail[end..];
    }
    out
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
