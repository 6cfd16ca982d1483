//! The HTTP surface (axum). Feeds are served from bytes rendered ahead of
//! time: a request only picks the variant and answers the validators.
//!
//! Two surfaces: the public listener (`[daemon] listen`) serves what
//! subscribers need; the admin listener (`[daemon] admin_listen`, loopback
//! by default) serves that too, plus the operator's pages. The public
//! listener answers 404 for the operator's routes unless `[daemon]
//! public_status = true`.
//!
//! | route | surface | what |
//! |---|---|---|
//! | `/feeds/{name}.rss` `.atom` `.json` | public | an output feed (the formats it offers): ETag, Last-Modified, 304, gzip/br, HEAD, CORS, WebSub `Link`; a browser (HTML preferred, no feed type asked for) gets the feed's page |
//! | `/feeds/{name}.html` | public | the feed's page: its items and how to subscribe, with autodiscovery links |
//! | `/feeds/{name}/archive/{n}.{ext}` | public | an RFC 5005 archive page, oldest first by publication date; a full one is cached for a day |
//! | `/feeds/feed.xsl` | public | the XSLT stylesheet that makes RSS/Atom readable in a browser |
//! | `/articles/{slug}` | public | the HTML page of a local article |
//! | `/articles/{slug}/{path}` | public | a file beside the article that it refers to (image, enclosure): Range (206), Last-Modified, 304 |
//! | `/items/{key}` | public | the HTML page of an item that has no link of its own |
//! | `/` | public | an HTML index of the feeds (on the admin surface: of the feeds and the sources' health) |
//! | `/healthz`, `/readyz` | both | liveness; readiness (store open, first render done) |
//! | `/opml` | operator | the sources as an OPML 2.0 subscription list |
//! | `/metrics` | operator | Prometheus text format ([`crate::metrics`]) |
//!
//! Every response says `X-Content-Type-Options: nosniff`; every HTML page
//! also gets a Content-Security-Policy without scripts, a Referrer-Policy
//! and `X-Frame-Options` ([`security_headers`]).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

mod callback;
mod negotiate;

use crate::app::{App, PageCache};
use crate::model::{ItemKey, StoredItem};
use crate::publish::{FeedMeta, Format, Rendered, archive, escape_html, page, websub};
use negotiate::{Coding, choose_coding};
use sha2::Digest;

/// The routes of the public listener: what subscribers need, and the
/// operator's pages too when `[daemon] public_status = true` (read at start).
pub fn public_router(app: Arc<App>) -> Router {
    let operator = app.config().daemon.public_status;
    router(app, operator)
}

/// The routes of the admin listener (`[daemon] admin_listen`): the public
/// ones and the operator's pages.
pub fn admin_router(app: Arc<App>) -> Router {
    router(app, true)
}

fn router(app: Arc<App>, operator: bool) -> Router {
    let routes = Router::new()
        .route("/feeds/{file}", get(feed))
        .route("/feeds/{name}/archive/{file}", get(archive_page))
        .route("/articles/{slug}", get(article))
        .route("/articles/{slug}/{*path}", get(attachment))
        .route("/items/{key}", get(item_page))
        .route(
            "/websub/{source}",
            get(callback::verify).post(callback::push),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz));
    let routes = if operator {
        routes
            .route("/", get(operator_index))
            .route("/opml", get(opml))
            .route("/metrics", get(metrics))
    } else {
        routes.route("/", get(public_index))
    };
    routes
        .fallback(|| async { not_found() })
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app)
}

/// The Content-Security-Policy of every HTML page: no scripts, no plugins,
/// no frames, no forms; styles only inline (the pages' own `<style>`);
/// images and media from anywhere, as articles from other sites need.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; img-src * data:; media-src *; \
     style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Headers for pages that show content syndic did not write: `nosniff` on
/// every response; on HTML, the [`CONTENT_SECURITY_POLICY`], no referrer
/// (readers' clicks and remote images learn nothing of where they came
/// from) and no framing.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.trim_start()
                .get(..9)
                .is_some_and(|m| m.eq_ignore_ascii_case("text/html"))
        });
    if html {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    let health = app.store.health();
    if !health.writable {
        // The cause (paths, OS errors) is for the operator: the log,
        // `syndic sources`, STATUS= and the admin listener's index.
        let since = health.since.map(|t| t.to_rfc3339()).unwrap_or_default();
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store not writable since {since}\n"),
        )
            .into_response()
    } else if app.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response()
    }
}

async fn feed(
    State(app): State<Arc<App>>,
    Path(file): Path<String>,
    request: axum::extract::Request,
) -> Response {
    // The request itself, not a `HeaderMap` (which would copy the headers).
    let headers = request.headers();
    if file == "feed.xsl" {
        return (
            [
                (header::CONTENT_TYPE, crate::publish::xslt::CONTENT_TYPE),
                (header::CACHE_CONTROL, "public, max-age=86400"),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
            crate::publish::xslt::STYLESHEET,
        )
            .into_response();
    }
    let Some((name, ext)) = file.rsplit_once('.') else {
        return not_found();
    };
    let config = app.config();
    let format = match ext {
        "html" => Some(Format::Html),
        _ => Format::from_extension(ext),
    };
    let (Some(format), Some(feed_config)) = (format, config.feed(name)) else {
        return not_found();
    };
    if format != Format::Html && !feed_config.offers(format.extension()) {
        return not_found();
    }
    let Some(feed) = app.published.get(name) else {
        return not_found();
    };
    // A browser would show the XML as text: it gets the feed's page, at
    // the same address (`Vary: Accept`).
    let document = if negotiate::prefers_html(headers) {
        Format::Html
    } else {
        format
    };
    let link = if feed_config.hubs.is_empty() {
        None
    } else {
        let base = config.daemon.public_base();
        let hubs: Vec<String> = feed_config.hubs.iter().map(|h| h.to_string()).collect();
        websub::link_header(
            &FeedMeta::new(name, "", "", &base).current_url(format),
            &hubs,
        )
    };
    let policy = FeedHeaders {
        max_age: app.feed_max_age(&config, name),
        link,
        vary_accept: format != Format::Html,
    };
    let response = respond_with_feed(feed.get(document), headers, &policy);
    let bytes = axum::body::HttpBody::size_hint(response.body())
        .exact()
        .unwrap_or(0);
    app.metrics
        .record_request(name, response.status().as_u16(), bytes);
    response
}

async fn archive_page(
    State(app): State<Arc<App>>,
    Path((name, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some((index, ext)) = file.rsplit_once('.') else {
        return not_found();
    };
    let config = app.config();
    let (Some(format), Some(feed_config), Ok(index)) = (
        Format::from_extension(ext),
        config.feed(&name),
        index.parse::<usize>(),
    ) else {
        return not_found();
    };
    if !feed_config.offers(format.extension()) || !feed_config.archive {
        return not_found();
    }
    let Some(current) = app.published.get(&name) else {
        return not_found();
    };
    let cached = current
        .archives
        .lock()
        .ok()
        .and_then(|pages| pages.get(&index).cloned());
    let page = match cached {
        Some(page) => page,
        None => {
            // Reads the store and may wait out a stamp's second: off the
            // async threads.
            let (store, feed, base) = (
                app.store.clone(),
                feed_config.clone(),
                config.daemon.public_base(),
            );
            let rendered = tokio::task::spawn_blocking(move || {
                archive::render_page(&store, &feed, &base, index)
            })
            .await;
            let Ok(rendered) = rendered else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            match rendered {
                Ok(Some(page)) => {
                    let page = Arc::new(page);
                    if let Ok(mut pages) = current.archives.lock() {
                        pages.insert(index, page.clone());
                    }
                    page
                }
                Ok(None) => return not_found(),
                Err(err) => {
                    return (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response();
                }
            }
        }
    };
    let full = archive::is_full(&page, feed_config.limit);
    let policy = FeedHeaders {
        max_age: if full {
            archive::FULL_PAGE_MAX_AGE
        } else {
            app.feed_max_age(&config, &name)
        },
        link: None,
        vary_accept: false,
    };
    respond_with_feed(page.get(format), &headers, &policy)
}

async fn opml(State(app): State<Arc<App>>) -> Response {
    let config = app.config();
    (
        [
            (header::CONTENT_TYPE, "text/x-opml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        crate::publish::opml::export(&config),
    )
        .into_response()
}

/// The caching policy of one feed document.
pub struct FeedHeaders {
    /// `Cache-Control: max-age`, in seconds.
    pub max_age: u64,
    /// The WebSub `Link` header, when the feed has hubs.
    pub link: Option<String>,
    /// Whether the document depends on `Accept` (a feed's address, which
    /// gives browsers its page).
    pub vary_accept: bool,
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let scraped = app.clone();
    // Poll states and item counts come from the store: off the async threads.
    match tokio::task::spawn_blocking(move || crate::app::metrics_text(&scraped)).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The 200 or 304 for one rendered document (or the 406 when every coding
/// is refused): the conditional-GET logic of every feed document, which the
/// `conditional` fuzz target drives with arbitrary request headers.
pub fn respond_with_feed(
    rendered: &Rendered,
    headers: &HeaderMap,
    policy: &FeedHeaders,
) -> Response {
    let Some(coding) = choose_coding(headers) else {
        return not_acceptable();
    };
    let (body, etag, encoding) = match coding {
        Coding::Identity => (&rendered.body, &rendered.etags[0], None),
        Coding::Gzip => (&rendered.gzip, &rendered.etags[1], Some("gzip")),
        Coding::Brotli => (&rendered.brotli, &rendered.etags[2], Some("br")),
    };
    // Last-Modified is never later than Date (RFC 9110 8.8.2.1): a date
    // ahead of the clock (two changes in one second; an archive page's
    // future-dated item) is sent as "now", but If-Modified-Since is weighed
    // against the real date, so that no client misses a change.
    let now = Utc::now();
    let last_modified = match (rendered.last_modified, &rendered.last_modified_http) {
        (Some(at), Some(text)) if at <= now => Some(text.clone()),
        (Some(_), _) => Some(Bytes::from(http_date(now))),
        (None, _) => None,
    };
    if last_modified.is_some() {
        rendered.note_served();
    }
    let not_modified = negotiate::not_modified(headers, rendered, rendered.last_modified);
    // The header values are shared bytes made with the document, or
    // static: a response copies no header but Cache-Control.
    let shared = |bytes: &Bytes| HeaderValue::from_maybe_shared(bytes.clone());
    let (Ok(etag), Ok(cache_control)) = (
        shared(etag),
        HeaderValue::try_from(format!("public, max-age={}", policy.max_age)),
    ) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut response = Response::new(Body::empty());
    let out = response.headers_mut();
    out.insert(header::ETAG, etag);
    out.insert(
        header::VARY,
        HeaderValue::from_static(if policy.vary_accept {
            "Accept-Encoding, Accept"
        } else {
            "Accept-Encoding"
        }),
    );
    out.insert(header::CACHE_CONTROL, cache_control);
    out.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    out.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("ETag, Last-Modified, Link"),
    );
    if let Some(Ok(lm)) = last_modified.as_ref().map(shared) {
        out.insert(header::LAST_MODIFIED, lm);
    }
    if let Some(Ok(link)) = policy.link.as_deref().map(HeaderValue::from_str) {
        out.insert(header::LINK, link);
    }
    if not_modified {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return response;
    }
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(rendered.format.content_type()),
    );
    if let Some(encoding) = encoding {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    *response.body_mut() = Body::from(body.clone());
    response
}

/// 406 (RFC 9110 15.5.7): the request refused identity and every coding
/// we store (br, gzip).
fn not_acceptable() -> Response {
    (
        StatusCode::NOT_ACCEPTABLE,
        [
            (header::VARY, "Accept-Encoding"),
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        ],
        "406 Not Acceptable: this feed is available as br, gzip or identity; Accept-Encoding refuses all three\n",
    )
        .into_response()
}

fn http_date(at: DateTime<Utc>) -> String {
    httpdate::fmt_http_date(at.into())
}

async fn article(
    State(app): State<Arc<App>>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    match app.store.item_by_slug(&slug) {
        Ok(Some(item)) => {
            let head = item_alternates(&app, &item);
            app.pages.respond(&slug, &item, &head, &headers)
        }
        Ok(None) => not_found(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

/// A file beside a local article that the article refers to (its entry
/// lists it): served from the folder with `Range` (206/416),
/// `Last-Modified` and 304 by tower-http, its type from its extension.
/// The path is checked again against the folder's real path at each
/// request. The file may be anything a writer saved (an SVG, an HTML page),
/// so it runs no script and is not framed (a sandboxing CSP).
async fn attachment(
    State(app): State<Arc<App>>,
    Path((slug, path)): Path<(String, String)>,
    request: axum::extract::Request,
) -> Response {
    let item = match app.store.item_by_slug(&slug) {
        Ok(Some(item)) => item,
        Ok(None) => return not_found(),
        Err(err) => return (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    };
    if !item.entry.attachments.contains(&path) {
        return not_found();
    }
    let config = app.config();
    let Some(crate::config::SourceKind::Local { path: folder }) =
        config.source(&item.source).map(|s| &s.kind)
    else {
        return not_found();
    };
    let article = item.entry.upstream_id.as_deref().unwrap_or_default();
    let Some(file) = crate::ingest::local::attachment_file(folder, article, &path) else {
        return not_found();
    };
    use tower::ServiceExt as _;
    let mut response = match tower_http::services::ServeFile::new(file)
        .oneshot(request)
        .await
    {
        Ok(response) => response.map(Body::new),
        Err(err) => return (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(ATTACHMENT_POLICY),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// The Content-Security-Policy of an article's attachment.
const ATTACHMENT_POLICY: &str =
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox";

// `PageCache` is defined in `crate::app` (the app carries it); how it
// answers is here.
impl PageCache {
    /// The most page bytes kept.
    pub const MAX_BYTES: usize = 32 * 1024 * 1024;

    /// How many pages were rendered since start.
    pub fn renders(&self) -> u64 {
        self.renders.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The page's ETag: its item's content digest and date, and its
    /// `<head>` links (the feeds that include it).
    fn etag(item: &StoredItem, head: &str) -> String {
        let head: [u8; 32] = sha2::Sha256::digest(head.as_bytes()).into();
        format!(
            "\"p1-{}-{}-{}\"",
            hex::encode(item.digest),
            item.published.timestamp(),
            hex::encode(&head[..4])
        )
    }

    fn respond(&self, slug: &str, item: &StoredItem, head: &str, headers: &HeaderMap) -> Response {
        use std::sync::atomic::Ordering;
        let etag = Self::etag(item, head);
        let matches = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|inm| {
                inm.split(',')
                    .map(str::trim)
                    .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
            });
        let builder = Response::builder()
            .header(header::ETAG, &etag)
            .header(header::CACHE_CONTROL, "no-cache");
        if matches {
            return builder
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        let cached = self.pages.lock().ok().and_then(|pages| {
            pages
                .get(slug)
                .filter(|(tag, _)| *tag == etag)
                .map(|(_, body)| body.clone())
        });
        let body = match cached {
            Some(body) => body,
            None => {
                self.renders.fetch_add(1, Ordering::Relaxed);
                let body = bytes::Bytes::from(item_html(item, head));
                if let Ok(mut pages) = self.pages.lock() {
                    let mut total = self.bytes.load(Ordering::Relaxed);
                    if let Some((_, old)) = pages.remove(slug) {
                        total = total.saturating_sub(old.len());
                    }
                    if total + body.len() > Self::MAX_BYTES {
                        pages.clear();
                        total = 0;
                    }
                    if body.len() <= Self::MAX_BYTES {
                        total += body.len();
                        pages.insert(slug.to_string(), (etag.clone(), body.clone()));
                    }
                    self.bytes.store(total, Ordering::Relaxed);
                }
                body
            }
        };
        builder
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .status(StatusCode::OK)
            .body(Body::from(body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }
}

async fn item_page(State(app): State<Arc<App>>, Path(key): Path<String>) -> Response {
    let Some(key) = ItemKey::from_hex(&key) else {
        return not_found();
    };
    match app.store.item(&key) {
        Ok(Some(item)) => page_response(item_html(&item, &item_alternates(&app, &item))),
        Ok(None) => not_found(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

fn page(title: &str, head: &str, body: &str) -> Response {
    page_response(page::html(title, head, body))
}

fn page_response(html: String) -> Response {
    ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response()
}

/// The autodiscovery links of the feeds `wanted` picks, in config order.
fn feed_alternates(app: &App, wanted: impl Fn(&crate::config::FeedConfig) -> bool) -> String {
    let config = app.config();
    let base = config.daemon.public_base();
    let mut head = String::new();
    for feed in config.feeds.iter().filter(|f| wanted(f)) {
        let formats: Vec<Format> = Format::ALL
            .into_iter()
            .filter(|f| feed.offers(f.extension()))
            .collect();
        head.push_str(&page::alternate_links(
            &base,
            &feed.name,
            &feed.title,
            &formats,
        ));
    }
    head
}

/// The autodiscovery links of an item's page: the feeds that include its
/// source.
fn item_alternates(app: &App, item: &StoredItem) -> String {
    feed_alternates(app, |feed| feed.sources.contains(&item.source))
}

fn item_html(item: &StoredItem, head: &str) -> String {
    let e = &item.entry;
    let title = e.title.clone().unwrap_or_else(|| "(untitled)".into());
    let mut body = format!(
        "<article><h1>{}</h1><p><time datetime=\"{}\">{}</time>",
        escape_html(&title),
        item.published.to_rfc3339(),
        item.published.format("%e %B %Y")
    );
    if !e.authors.is_empty() {
        body.push_str(&format!(" · {}", escape_html(&e.authors.join(", "))));
    }
    body.push_str("</p>\n");
    // Stored HTML was sanitized at ingest; it is cleaned again on the way
    // out, as in the feeds.
    if let Some(content) = e.content_html.as_deref().or(e.summary_html.as_deref()) {
        let base = e.link.as_deref().and_then(|l| url::Url::parse(l).ok());
        body.push_str(&crate::publish::sanitize::clean_html(
            content,
            base.as_ref(),
        ));
    }
    body.push_str("</article>");
    page::html(&title, head, &body)
}

/// The public index: the feeds and how to subscribe.
async fn public_index(State(app): State<Arc<App>>) -> Response {
    let mut body = String::from(INTRO);
    if let Some(rejected) = app.reload_rejected() {
        body.push_str(&format!(
            "<p class=\"bad\"><strong>{}</strong></p>\n",
            escape_html(&crate::redact::text(&rejected))
        ));
    }
    feeds_table(&app, &mut body);
    recent_items(&app, &mut body);
    page("syndic", &feed_alternates(&app, |_| true), &body)
}

/// The index's "Recent items": the newest items of all published feeds
/// (one story in two feeds once), each with the feed it is in.
fn recent_items(app: &App, body: &mut String) {
    let config = app.config();
    let mut seen = std::collections::HashSet::new();
    let mut recent: Vec<(crate::publish::RecentItem, &crate::config::FeedConfig)> = Vec::new();
    for feed in &config.feeds {
        let Some(published) = app.published.get(&feed.name) else {
            continue;
        };
        for item in &published.recent {
            recent.push((item.clone(), feed));
        }
    }
    recent.sort_by_key(|(item, _)| std::cmp::Reverse(item.published));
    recent.retain(|(item, _)| seen.insert(item.key.clone()));
    recent.truncate(crate::publish::RECENT_ITEMS);
    if recent.is_empty() {
        return;
    }
    body.push_str("<h2>Recent items</h2>\n<ul class=\"recent\">\n");
    for (item, feed) in recent {
        body.push_str(&format!(
            "<li><a href=\"{}\">{}</a> <time datetime=\"{}\">{}</time> · <a href=\"/feeds/{}.html\">{}</a></li>\n",
            escape_html(&item.link),
            escape_html(&item.title),
            item.published.to_rfc3339(),
            item.published.format("%e %B %Y"),
            escape_html(&feed.name),
            escape_html(&feed.title),
        ));
    }
    body.push_str("</ul>\n");
}

/// The top of the index: what this is and how to subscribe.
const INTRO: &str = "<h1>syndic</h1>\n<p>This server publishes the feeds below. To follow one, \
open its page, or copy one of its addresses (RSS, Atom or JSON Feed) into a feed reader.</p>\n<h2>Feeds</h2>\n";

/// The operator's index: the feeds, and every source's health.
async fn operator_index(State(app): State<Arc<App>>) -> Response {
    let mut body = String::from(INTRO);
    if let Some(rejected) = app.reload_rejected() {
        body.push_str(&format!(
            "<p class=\"bad\"><strong>{}</strong></p>\n",
            escape_html(&crate::redact::text(&rejected))
        ));
    }
    feeds_table(&app, &mut body);
    recent_items(&app, &mut body);
    sources_table(&app, &mut body);
    page("syndic", &feed_alternates(&app, |_| true), &body)
}

fn feeds_table(app: &App, body: &mut String) {
    let config = app.config();
    body.push_str(
        "<table><tr><th>feed</th><th>items</th><th>formats</th><th>published</th></tr>\n",
    );
    for feed in &config.feeds {
        let count = app
            .published
            .get(&feed.name)
            .map(|f| f.rss.item_count)
            .unwrap_or(0);
        let links: Vec<String> = Format::ALL
            .iter()
            .filter(|f| feed.offers(f.extension()))
            .map(|f| {
                format!(
                    "<a href=\"/feeds/{}.{ext}\">{ext}</a>",
                    escape_html(&feed.name),
                    ext = f.extension()
                )
            })
            .collect();
        let published = match &feed.refresh {
            Some(schedule) => schedule.to_string(),
            None => "at each change".to_string(),
        };
        body.push_str(&format!(
            "<tr><td><a href=\"/feeds/{}.html\">{}</a><br><small>{}</small></td><td>{count}</td><td>{}</td><td>{}</td></tr>\n",
            escape_html(&feed.name),
            escape_html(&feed.title),
            escape_html(&feed.description),
            links.join(" · "),
            escape_html(&published)
        ));
    }
    body.push_str("</table>\n");
}

fn sources_table(app: &App, body: &mut String) {
    let config = app.config();
    body.push_str("<h2>Sources</h2>\n<p><a href=\"/opml\">OPML subscription list</a> · <a href=\"/metrics\">metrics</a></p>\n<div class=\"wide\"><table class=\"src\"><tr><th>source</th><th>items</th><th>url in use</th><th>last status</th><th>last success</th><th>failures</th><th>next poll</th><th>why</th><th>saved by 304s</th><th>parse warnings</th></tr>\n");
    for source in &config.sources {
        let state = app
            .store
            .poll_state(&source.id)
            .ok()
            .flatten()
            .unwrap_or_default();
        let health = crate::refresh::SourceHealth::of(source, &state);
        let fmt = |d: Option<DateTime<Utc>>| {
            d.map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "never".into())
        };
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} bytes</td><td>{}</td></tr>\n",
            escape_html(&source.id),
            app.store.source_item_count(&source.id),
            escape_html(&health.url),
            if health.failing { "bad" } else { "ok" },
            status_cell(&source.id, &health),
            fmt(state.last_success),
            state.consecutive_failures,
            fmt(health.next_poll),
            escape_html(&match (&health.next_article, crate::websub::describe(&app.store, &source.id)) {
                (Some(event), _) => format!("{}; next scheduled article: {event}", health.why),
                (None, Some(websub)) => format!("{}; WebSub {websub}", health.why),
                (None, None) => health.why.clone(),
            }),
            state.bytes_saved,
            parse_warnings_cell(&state),
        ));
    }
    body.push_str("</table></div>");
}

/// The index page's cell for a source's last status: its few words first,
/// then the whole message and, when it fails, how to retry now.
fn status_cell(id: &str, health: &crate::refresh::SourceHealth) -> String {
    let short = crate::refresh::short_cause(&health.status);
    let mut cell = escape_html(short);
    if short.len() < health.status.len() {
        cell.push_str("<br><small>");
        cell.push_str(&escape_html(&health.status[short.len()..]));
        cell.push_str("</small>");
    }
    if health.failing {
        cell.push_str("<br><small>");
        cell.push_str(&escape_html(&crate::refresh::retry_hint(id)));
        cell.push_str("</small>");
    }
    cell
}

/// The index page's cell for the warnings of a source's last parse: their
/// count and the first three.
fn parse_warnings_cell(state: &crate::model::PollState) -> String {
    let count = state.parse_warning_total();
    if count == 0 {
        return "0".into();
    }
    let mut cell = format!("<span class=\"bad\">{count}</span>");
    for warning in state.parse_warnings.iter().take(3) {
        cell.push_str("<br><small>");
        cell.push_str(&escape_html(&crate::redact::text(warning)));
        cell.push_str("</small>");
    }
    cell
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered() -> Rendered {
        let meta = crate::publish::FeedMeta::new("t", "T", "D", "http://x");
        crate::publish::render(&meta, &[]).rss
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn if_none_match_uses_weak_comparison_and_accepts_variants() {
        let r = rendered();
        let inm = |v: &str| negotiate::none_match(&headers(&[(header::IF_NONE_MATCH, v)]), &r);
        assert!(inm(&r.etag));
        assert!(inm(&format!("W/{}", r.etag)));
        assert!(inm(&format!("\"zzz\", {}", r.variant_etag("gz"))));
        assert!(inm("*"));
        assert!(!inm("\"zzz\""));
    }

    fn policy(max_age: u64) -> FeedHeaders {
        FeedHeaders {
            max_age,
            link: None,
            vary_accept: false,
        }
    }

    #[test]
    fn conditional_requests_give_304_with_validators() {
        let r = rendered();
        let resp = respond_with_feed(
            &r,
            &headers(&[(header::IF_NONE_MATCH, &r.etag)]),
            &policy(60),
        );
        assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(resp.headers()[header::ETAG], r.etag.as_str());
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "public, max-age=60");
        let resp = respond_with_feed(
            &r,
            &headers(&[(header::IF_NONE_MATCH, "\"other\"")]),
            &policy(60),
        );
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "application/rss+xml; charset=utf-8"
        );
        let resp = respond_with_feed(
            &r,
            &headers(&[(header::ACCEPT_ENCODING, "gzip")]),
            &policy(60),
        );
        assert_eq!(resp.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(resp.headers()[header::ETAG], r.variant_etag("gz").as_str());
    }

    /// RFC 9110 13.1.3 and 13.2.2: `If-Modified-Since` is one HTTP-date,
    /// compared at whole seconds, and only read without `If-None-Match`.
    #[test]
    fn if_modified_since_is_one_date_compared_to_the_second() {
        use chrono::TimeZone;
        use negotiate::not_modified;
        let r = rendered();
        let modified = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let since = |v: &str| headers(&[(header::IF_MODIFIED_SINCE, v)]);
        let at_noon = since("Sun, 01 Mar 2026 12:00:00 GMT");
        assert!(not_modified(&at_noon, &r, Some(modified)), "same second");
        assert!(not_modified(
            &since("Sun, 01 Mar 2026 12:00:01 GMT"),
            &r,
            Some(modified)
        ));
        assert!(!not_modified(
            &since("Sun, 01 Mar 2026 11:59:59 GMT"),
            &r,
            Some(modified)
        ));
        // The document's time has sub-seconds; the header has none.
        let later_in_that_second = modified + chrono::Duration::milliseconds(600);
        assert!(not_modified(&at_noon, &r, Some(later_in_that_second)));
        assert!(!not_modified(&at_noon, &r, None), "no date to compare");
        assert!(!not_modified(&since("yesterday"), &r, Some(modified)));
        let mut two = at_noon.clone();
        two.append(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_static("Sun, 01 Mar 2026 12:00:00 GMT"),
        );
        assert!(
            !not_modified(&two, &r, Some(modified)),
            "two dates: ignored"
        );
        // If-None-Match decides when present, whatever the date says.
        let mut both = at_noon;
        both.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert!(!not_modified(&both, &r, Some(modified)));
    }
}
