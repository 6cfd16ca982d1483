//! Publishing: selects the items of each `[[feed]]`, renders them as RSS 2.0,
//! Atom 1.0 and JSON Feed 1.1, and keeps the rendered bytes (with gzip and
//! brotli variants made once, at render time) for the server to hand out.
//!
//! Rendering is deterministic: the same items give the same bytes and so the
//! same ETag, across restarts. Feed dates come from the newest content, never
//! from the time of rendering.

pub mod archive;
mod atom;
mod json;
pub mod opml;
mod rss;
pub mod sanitize;
pub mod websub;
pub mod xslt;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::config::FeedConfig;
use crate::model::StoredItem;
use crate::store::{Store, StoreError};

/// The output formats every feed is offered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    /// The file extension the feed is served under.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    pub fn from_extension(ext: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.extension() == ext)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }

    /// The media type without parameters, as used in `type=` of links.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
            Format::Json => "application/feed+json",
        }
    }
}

/// Which document of a feed is being rendered (RFC 5005).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// The subscription document at `/feeds/{name}.{ext}`; `prev_archive` is
    /// the newest archive page, when items go beyond the limit.
    Current { prev_archive: Option<usize> },
    /// Archive page `index` (1 = oldest) at
    /// `/feeds/{name}/archive/{index}.{ext}`.
    Archive { index: usize },
}

/// What a renderer needs to know about the feed besides its items.
pub struct FeedMeta<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    /// The public base URL, without a trailing slash.
    pub base: &'a str,
    /// The feed's own web page, when configured (else the base's `/`).
    pub link: Option<&'a str>,
    pub language: Option<&'a str>,
    pub author: Option<&'a str>,
    pub image: Option<&'a str>,
    pub icon: Option<&'a str>,
    /// WebSub hubs announced with `rel="hub"`.
    pub hubs: Vec<String>,
    pub page: Page,
    /// When the document's bytes last changed: its `lastBuildDate`, Atom
    /// `updated` and `Last-Modified`. `None` (archive pages, tests): the
    /// newest item's `updated`.
    pub updated: Option<DateTime<Utc>>,
}

impl<'a> FeedMeta<'a> {
    /// A feed with only a name, title, description and base; no options.
    pub fn new(name: &'a str, title: &'a str, description: &'a str, base: &'a str) -> Self {
        FeedMeta {
            name,
            title,
            description,
            base,
            link: None,
            language: None,
            author: None,
            image: None,
            icon: None,
            hubs: Vec::new(),
            page: Page::Current { prev_archive: None },
            updated: None,
        }
    }

    /// The metadata of a configured feed's current document.
    pub fn from_config(feed: &'a FeedConfig, base: &'a str) -> Self {
        FeedMeta {
            link: feed.link.as_ref().map(url::Url::as_str),
            language: feed.language.as_deref(),
            author: feed.author.as_deref(),
            image: feed.image.as_ref().map(url::Url::as_str),
            icon: feed.icon.as_ref().map(url::Url::as_str),
            hubs: feed.hubs.iter().map(|h| h.to_string()).collect(),
            ..FeedMeta::new(&feed.name, &feed.title, &feed.description, base)
        }
    }

    /// The URL this document is served at in `format` (its rel="self").
    pub fn self_url(&self, format: Format) -> String {
        match self.page {
            Page::Current { .. } => self.current_url(format),
            Page::Archive { index } => self.archive_url(index, format),
        }
    }

    /// The URL of the feed's subscription document in `format`.
    pub fn current_url(&self, format: Format) -> String {
        format!("{}/feeds/{}.{}", self.base, self.name, format.extension())
    }

    /// The URL of archive page `index` in `format`.
    pub fn archive_url(&self, index: usize, format: Format) -> String {
        format!(
            "{}/feeds/{}/archive/{index}.{}",
            self.base,
            self.name,
            format.extension()
        )
    }

    /// The archive page this document links to as `prev-archive`.
    pub fn prev_archive(&self) -> Option<usize> {
        match self.page {
            Page::Current { prev_archive } => prev_archive,
            Page::Archive { index } => index.checked_sub(1).filter(|i| *i > 0),
        }
    }

    /// The human page the feed belongs to.
    pub fn home_url(&self) -> String {
        match self.link {
            Some(link) => link.to_string(),
            None => format!("{}/", self.base),
        }
    }

    /// The document's date: when its bytes last changed, else the newest
    /// item's `updated`.
    pub fn updated(&self, items: &[StoredItem]) -> Option<DateTime<Utc>> {
        self.updated.or_else(|| newest_update(items))
    }

    /// The author named at feed level: the configured one, else the title
    /// (Atom needs one at feed level or in every entry).
    pub fn feed_author(&self) -> &str {
        self.author.unwrap_or(self.title)
    }

    /// The href of the browser stylesheet, relative to this document.
    pub fn stylesheet_href(&self) -> &'static str {
        match self.page {
            Page::Current { .. } => "feed.xsl",
            Page::Archive { .. } => "../../feed.xsl",
        }
    }

    /// A stable feed id (Atom `id`): a `urn:uuid:` from the feed's name.
    /// Archive pages share it (RFC 5005: the same logical feed).
    pub fn feed_id(&self) -> String {
        let digest: [u8; 32] =
            Sha256::digest(format!("syndic feed\0{}", self.name).as_bytes()).into();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        crate::dedup::mint_public_id(&crate::model::ItemKey(key))
    }
}

/// One rendered document and its precompressed variants. The bodies are
/// reference counted: serving one clones a pointer, not the bytes.
#[derive(Debug)]
pub struct Rendered {
    pub format: Format,
    pub body: Bytes,
    pub gzip: Bytes,
    pub brotli: Bytes,
    /// Strong ETag of the identity body, quoted. The compressed variants use
    /// the same tag with `-gz` / `-br` appended inside the quotes.
    pub etag: String,
    /// When the document's bytes last changed ([`FeedMeta::updated`]);
    /// `None` for an empty feed without a stamp. May be up to a second
    /// ahead of the clock after two changes within one second: the server
    /// compares `If-Modified-Since` with it but never sends a later
    /// `Last-Modified` than its `Date`.
    pub last_modified: Option<DateTime<Utc>>,
    /// [`last_modified`](Self::last_modified) as an HTTP date, made once.
    pub last_modified_http: Option<String>,
    /// The ETags of the identity, gzip and brotli bodies, made once.
    pub etags: [String; 3],
    pub item_count: usize,
    /// Set when a response has carried this document's `Last-Modified`
    /// (see [`Rendered::note_served`]).
    served: std::sync::atomic::AtomicBool,
}

impl Rendered {
    fn new(format: Format, body: Vec<u8>, meta: &FeedMeta, items: &[StoredItem]) -> Rendered {
        let digest: [u8; 32] = Sha256::digest(&body).into();
        let tag = hex::encode(&digest[..12]);
        let etags = [
            format!("\"{tag}\""),
            format!("\"{tag}-gz\""),
            format!("\"{tag}-br\""),
        ];
        let last_modified = meta.updated(items);
        Rendered {
            format,
            gzip: Bytes::from(gzip(&body)),
            brotli: Bytes::from(brotli(&body)),
            etag: etags[0].clone(),
            etags,
            last_modified,
            last_modified_http: last_modified.map(|at| httpdate::fmt_http_date(at.into())),
            item_count: items.len(),
            body: Bytes::from(body),
            served: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Notes that a client has seen this document's `Last-Modified`: a
    /// change within the same second must then be dated a second later.
    pub fn note_served(&self) {
        use std::sync::atomic::Ordering;
        if !self.served.load(Ordering::Relaxed) {
            self.served.store(true, Ordering::Relaxed);
        }
    }

    /// The ETag of a compressed variant (`"tag-gz"`).
    pub fn variant_etag(&self, suffix: &str) -> String {
        let bare = self.etag.strip_suffix('"').unwrap_or(&self.etag);
        format!("{bare}-{suffix}\"")
    }
}

/// The three documents of one feed.
#[derive(Debug)]
pub struct RenderedFeed {
    pub rss: Rendered,
    pub atom: Rendered,
    pub json: Rendered,
    /// The page this is (current, or an archive page).
    pub page: Page,
    /// Archive pages rendered on demand since this rendering, by index.
    /// Dropped with it, so an item edit re-renders them.
    pub archives: Mutex<HashMap<usize, Arc<RenderedFeed>>>,
}

impl RenderedFeed {
    /// Whether any client has seen this rendering's `Last-Modified`.
    pub fn was_served(&self) -> bool {
        Format::ALL.iter().any(|f| {
            self.get(*f)
                .served
                .load(std::sync::atomic::Ordering::Relaxed)
        })
    }

    pub fn get(&self, format: Format) -> &Rendered {
        match format {
            Format::Rss => &self.rss,
            Format::Atom => &self.atom,
            Format::Json => &self.json,
        }
    }
}

/// The newest `updated` among the items.
pub fn newest_update(items: &[StoredItem]) -> Option<DateTime<Utc>> {
    items.iter().map(|i| i.updated).max()
}

/// Renders the three formats of one document from its items (newest
/// first). Item HTML is sanitized again here, whatever the store holds.
pub fn render(meta: &FeedMeta, items: &[StoredItem]) -> RenderedFeed {
    let mut items: Vec<StoredItem> = items.iter().map(clean_item).collect();
    distinct_dates(&mut items);
    assemble(meta, render_bodies(meta, &items), &items)
}

/// The RSS, Atom and JSON bodies of a document whose items are clean.
fn render_bodies(meta: &FeedMeta, items: &[StoredItem]) -> [Vec<u8>; 3] {
    [
        char_refs(rss::render(meta, items)),
        char_refs(atom::render(meta, items)),
        json::render(meta, items),
    ]
}

/// The rendered documents (with their compressed variants) of the bodies.
fn assemble(meta: &FeedMeta, bodies: [Vec<u8>; 3], items: &[StoredItem]) -> RenderedFeed {
    let [rss, atom, json] = bodies;
    RenderedFeed {
        rss: Rendered::new(Format::Rss, rss, meta, items),
        atom: Rendered::new(Format::Atom, atom, meta, items),
        json: Rendered::new(Format::Json, json, meta, items),
        page: meta.page,
        archives: Mutex::new(HashMap::new()),
    }
}

/// Gives every item of one document its own `published` and its own
/// `updated` second (dates are published to the second): readers and the
/// W3C validator take two entries with the same `updated` for a mistake, and
/// undated items first seen in one refresh (or a feed that dates every item
/// alike) would all share one. Items claim their dates in the order they
/// were first seen (`first_seen`, then `first_seen_pos`, their place in the
/// source, then key), so an item keeps its dates when newer ones arrive;
/// one whose published or updated second is taken moves both back by whole
/// seconds until both are free. Undated items of one refresh thus step back
/// one second each in the order their source listed them, and never into
/// the future. Deterministic: the same items give the same dates, so the
/// same ETag.
fn distinct_dates(items: &mut [StoredItem]) {
    let mut order: Vec<(DateTime<Utc>, u32, crate::model::ItemKey, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.first_seen, item.first_seen_pos, item.key, i))
        .collect();
    order.sort_unstable();
    let mut published: HashSet<i64> = HashSet::with_capacity(items.len());
    let mut updated: HashSet<i64> = HashSet::with_capacity(items.len());
    for (_, _, _, i) in order {
        let Some(item) = items.get_mut(i) else {
            continue;
        };
        let p = item.published.timestamp();
        let u = item.updated.timestamp().max(p);
        let mut back: i64 = 0;
        while published.contains(&(p - back)) || updated.contains(&(u - back)) {
            back += 1;
        }
        published.insert(p - back);
        updated.insert(u - back);
        if back > 0 {
            let shift = chrono::Duration::seconds(back);
            let up = item.updated.max(item.published);
            item.published -= shift;
            item.updated = up - shift;
        }
    }
}

/// The digest of a document's three bodies: what its stamp remembers.
fn bodies_digest(bodies: &[Vec<u8>; 3]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for body in bodies {
        hasher.update((body.len() as u64).to_be_bytes());
        hasher.update(body);
    }
    hasher.finalize().into()
}

/// Renders a feed's current document with its date ([`FeedMeta::updated`])
/// from the feed's stamp in the store: the time its bytes last changed.
/// The bytes are first made with the stamp's date; when they are the ones
/// the stamp remembers, nothing changed. Otherwise the date moves to now
/// (to the second after the stamp's, when that is not earlier, so that a
/// client holding the old `Last-Modified` always sees the change) and the
/// new bytes and date are stamped. Kept across restarts; a stamp that
/// cannot be written only makes the next rendering a change too.
fn render_stamped(
    store: &Store,
    meta: FeedMeta,
    items: &[StoredItem],
    now: DateTime<Utc>,
    previous_served: bool,
) -> RenderedFeed {
    let mut items: Vec<StoredItem> = items.iter().map(clean_item).collect();
    distinct_dates(&mut items);
    let stamp = store.feed_stamp(meta.name);
    if let Some((digest, at)) = stamp {
        let meta = FeedMeta {
            updated: Some(at),
            ..meta
        };
        let bodies = render_bodies(&meta, &items);
        if bodies_digest(&bodies) == digest {
            return assemble(&meta, bodies, &items);
        }
        return restamp(
            store,
            meta,
            &items,
            changed_at(Some(at), now, previous_served),
        );
    }
    restamp(store, meta, &items, changed_at(None, now, previous_served))
}

fn restamp(store: &Store, meta: FeedMeta, items: &[StoredItem], at: DateTime<Utc>) -> RenderedFeed {
    let meta = FeedMeta {
        updated: Some(at),
        ..meta
    };
    let bodies = render_bodies(&meta, items);
    if let Err(err) = store.set_feed_stamp(meta.name, &bodies_digest(&bodies), at) {
        tracing::warn!(feed = meta.name, %err, "feed stamp not written; the next rendering counts as a change");
    }
    assemble(&meta, bodies, items)
}

/// The date of a change at `now` after a previous one at `previous`:
/// `now` to the second; but when the previous date is not earlier and a
/// client has seen it (`previous_served`), the second after it: two
/// versions a client may hold must not share a `Last-Modified`. A version
/// nobody fetched may share its second with the next.
pub fn changed_at(
    previous: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    previous_served: bool,
) -> DateTime<Utc> {
    let now = DateTime::<Utc>::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    match previous {
        Some(previous) if previous >= now && previous_served => {
            previous + chrono::Duration::seconds(1)
        }
        Some(previous) => previous.max(now),
        None => now,
    }
}

/// The item as every format publishes it, whatever the store holds: its
/// HTML sanitized with relative URLs made absolute against its own link,
/// and left out when it has nothing to show (no text, no image or media);
/// author names and categories as plain text, without empty or repeated
/// ones; enclosures only at full http(s) URLs.
fn clean_item(item: &StoredItem) -> StoredItem {
    let mut item = item.clone();
    let base = item
        .entry
        .link
        .as_deref()
        .and_then(|l| url::Url::parse(l).ok());
    for field in [&mut item.entry.summary_html, &mut item.entry.content_html] {
        if let Some(html) = field.take() {
            let html = sanitize::clean_html(&html, base.as_ref());
            *field = html_has_content(&html).then_some(html);
        }
    }
    item.entry.authors = plain_list(&item.entry.authors);
    item.entry.categories = plain_list(&item.entry.categories);
    item.entry.enclosures.retain(|e| full_http_url(&e.url));
    item
}

/// Each text as plain text ([`plain_text`]), without empty or repeated ones.
fn plain_list(texts: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(texts.len());
    for text in texts {
        let text = plain_text(text);
        if !text.is_empty() && !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

/// Whether some HTML shows anything: text outside its tags, or an image or
/// other embedded media. `<p> </p>` or `<br>` alone is nothing to say.
fn html_has_content(html: &str) -> bool {
    const MEDIA: [&str; 9] = [
        "<img", "<video", "<audio", "<iframe", "<object", "<embed", "<svg", "<picture", "<math",
    ];
    let mut in_tag = false;
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            '&' if !in_tag => {
                // A no-break space alone is no text either.
                let lower = rest.get(..6).unwrap_or(rest).to_ascii_lowercase();
                if !(lower == "&nbsp;" || lower == "&#160;") {
                    return true;
                }
                rest = rest.get(6..).unwrap_or_default();
                continue;
            }
            c if !in_tag && !c.is_whitespace() => return true,
            _ => {}
        }
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    let lower = html.to_ascii_lowercase();
    MEDIA.iter().any(|tag| lower.contains(tag))
}

/// Whether a URL is one every format can carry as a full URL: http or
/// https, ASCII, with a dotted host name or an IP address (the W3C
/// validator refuses `https://example/` as an enclosure URL).
pub fn full_http_url(text: &str) -> bool {
    let Ok(url) = url::Url::parse(text) else {
        return false;
    };
    matches!(url.scheme(), "http" | "https")
        && text.is_ascii()
        && !text.contains(' ')
        && match url.host() {
            Some(url::Host::Domain(d)) => d.trim_end_matches('.').contains('.'),
            Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
            None => false,
        }
}

/// The RSS Profile's advice for character data, applied to a rendered RSS
/// or Atom document: `&` and `<` in text and attribute values are written as
/// the character references `&#x26;` and `&#x3C;` instead of `&amp;` and
/// `&lt;`, so a reader (and the W3C validator) can tell a title that says
/// `1&1` or `a < b` from one with entity-encoded markup. The document means
/// exactly the same to an XML parser; CDATA sections, comments and
/// processing instructions are left as they are.
pub fn char_refs(xml: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(xml.len() + xml.len() / 32);
    let mut rest = xml.as_slice();
    while let Some(i) = memchr::memchr2(b'&', b'<', rest) {
        let (head, tail) = rest.split_at(i);
        out.extend_from_slice(head);
        let (written, skip): (&[u8], usize) = if tail.starts_with(b"&amp;") {
            (b"&#x26;", 5)
        } else if tail.starts_with(b"&lt;") {
            (b"&#x3C;", 4)
        } else {
            let close: &[u8] = if tail.starts_with(b"<![CDATA[") {
                b"]]>"
            } else if tail.starts_with(b"<!--") {
                b"-->"
            } else if tail.starts_with(b"<?") {
                b"?>"
            } else {
                b""
            };
            let end = if close.is_empty() {
                1
            } else {
                memchr::memmem::find(tail, close).map_or(tail.len(), |at| at + close.len())
            };
            (tail.get(..end).unwrap_or(tail), end)
        };
        out.extend_from_slice(written);
        rest = tail.get(skip..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    out
}

/// Whether an item passes a feed's keyword filters: with
/// `include_keywords`, its title or text must contain one of them; it must
/// contain none of `exclude_keywords`. Case-insensitive; markup is ignored.
pub fn passes_filters(feed: &FeedConfig, item: &StoredItem) -> bool {
    if feed.include_keywords.is_empty() && feed.exclude_keywords.is_empty() {
        return true;
    }
    let e = &item.entry;
    let mut text = e.title.clone().unwrap_or_default();
    for html in [&e.summary_html, &e.content_html].into_iter().flatten() {
        text.push('\n');
        text.push_str(&strip_tags(html));
    }
    let text = text.to_lowercase();
    let has = |w: &String| text.contains(&w.to_lowercase());
    (feed.include_keywords.is_empty() || feed.include_keywords.iter().any(has))
        && !feed.exclude_keywords.iter().any(has)
}

/// The text of some HTML without its tags (entities left as they are).
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The publishing order: newest first; items of the same date (undated
/// items first seen together) in the order their source listed them; then
/// by public id, so the order never depends on anything but the items.
pub fn sort_for_publishing(items: &mut [StoredItem]) {
    items.sort_by(|a, b| {
        b.published
            .cmp(&a.published)
            .then_with(|| a.first_seen_pos.cmp(&b.first_seen_pos))
            .then_with(|| a.public_id.cmp(&b.public_id))
    });
}

/// Reads a feed's items from the store in publishing order: the newest
/// `limit` items of its sources that pass its keyword filters.
pub fn select_items(store: &Store, feed: &FeedConfig) -> Result<Vec<StoredItem>, StoreError> {
    let sources: HashSet<&str> = feed.sources.iter().map(String::as_str).collect();
    let mut items = store.newest_items_where(&sources, feed.limit, |i| passes_filters(feed, i))?;
    sort_for_publishing(&mut items);
    Ok(items)
}

/// Renders a configured feed's current document from the store, with its
/// `prev-archive` link when items go beyond the limit.
pub fn render_feed(
    store: &Store,
    feed: &FeedConfig,
    base: &str,
) -> Result<(RenderedFeed, usize), StoreError> {
    render_feed_after(store, feed, base, true)
}

/// [`render_feed`], told whether a client has seen the rendering it
/// replaces (see [`changed_at`]).
pub fn render_feed_after(
    store: &Store,
    feed: &FeedConfig,
    base: &str,
    previous_served: bool,
) -> Result<(RenderedFeed, usize), StoreError> {
    let items = select_items(store, feed)?;
    let prev_archive = if feed.archive && items.len() >= feed.limit {
        archive::newest_page(store, feed)?
    } else {
        None
    };
    let meta = FeedMeta {
        page: Page::Current { prev_archive },
        ..FeedMeta::from_config(feed, base)
    };
    Ok((
        render_stamped(store, meta, &items, Utc::now(), previous_served),
        items.len(),
    ))
}

/// The rendered feeds, shared between the refresh tasks that replace them
/// and the server that reads them.
///
/// Each rendering carries the store generation read before its items were
/// (see `Store::generation`): two renderings at once (the one at start or
/// reload, and one after a refresh) may finish in either order, and the one
/// that read the older store never replaces the newer one.
#[derive(Clone, Default)]
pub struct Published {
    feeds: Arc<RwLock<HashMap<String, Stamped>>>,
}

/// A published rendering and the store generation it was made from.
type Stamped = (u64, Arc<RenderedFeed>);

impl Published {
    pub fn get(&self, name: &str) -> Option<Arc<RenderedFeed>> {
        self.feeds
            .read()
            .ok()?
            .get(name)
            .map(|(_, feed)| feed.clone())
    }

    /// Stores a new rendering made from the store at `generation`; returns
    /// true when its bytes differ from the one it replaces. A rendering of
    /// an older generation than the one published is dropped (false).
    pub fn put(&self, name: &str, feed: RenderedFeed, generation: u64) -> bool {
        let Ok(mut feeds) = self.feeds.write() else {
            return false;
        };
        if let Some((newest, _)) = feeds.get(name)
            && *newest > generation
        {
            return false;
        }
        let changed = feeds.get(name).is_none_or(|(_, old)| {
            Format::ALL
                .iter()
                .any(|f| old.get(*f).etag != feed.get(*f).etag)
        });
        if changed {
            feeds.insert(name.to_string(), (generation, Arc::new(feed)));
        } else if let Some((read_at, old)) = feeds.get_mut(name) {
            *read_at = generation;
            if let Ok(mut pages) = old.archives.lock() {
                // The subscription document is the same, but an item that
                // now lives only in an archive page may have been edited.
                pages.clear();
            }
        }
        changed
    }

    /// Drops feeds that are no longer configured.
    pub fn retain(&self, names: &HashSet<&str>) {
        if let Ok(mut feeds) = self.feeds.write() {
            feeds.retain(|name, _| names.contains(name.as_str()));
        }
    }
}

/// gzip level of the precompressed variant (0-9).
const GZIP_LEVEL: u32 = 9;
/// brotli quality of the precompressed variant (0-11).
const BROTLI_QUALITY: u32 = 5;

fn gzip(body: &[u8]) -> Vec<u8> {
    // GzEncoder writes mtime 0 and no file name, so the bytes are
    // deterministic. Writing to a Vec cannot fail.
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

fn brotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, 22);
        let _ = writer.write_all(body);
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Removes the characters XML 1.0 forbids (C0 controls but tab, LF, CR;
/// U+FFFE, U+FFFF), whatever came in upstream.
pub fn xml_clean(text: &str) -> String {
    text.chars().filter(|&c| xml_allowed(c)).collect()
}

/// Whether XML 1.0 allows the character, and it is not a C1 control
/// (U+0080-U+009F: allowed, but "discouraged", and in feeds always text
/// decoded with the wrong character set).
pub fn xml_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
        || (c >= '\u{20}'
            && !('\u{7F}'..='\u{9F}').contains(&c)
            && c != '\u{FFFE}'
            && c != '\u{FFFF}')
}

/// The title of an item that has neither a title nor any text.
pub const UNTITLED: &str = "(untitled)";

/// At most this many words of an item's text make the title of an item
/// that has none.
const TITLE_WORDS: usize = 10;

/// The item's title as published, the same in every format: its own (as
/// plain text), else the first words of its text (summary, else content;
/// at most [`TITLE_WORDS`] words, `…` when cut), else [`UNTITLED`].
pub fn item_title(item: &StoredItem) -> String {
    if let Some(title) = item.entry.title.as_deref().map(plain_text)
        && !title.is_empty()
    {
        return title;
    }
    let e = &item.entry;
    let text = e
        .summary_html
        .as_deref()
        .or(e.content_html.as_deref())
        .map(plain_text)
        .unwrap_or_default();
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.len() {
        0 => UNTITLED.to_string(),
        n if n <= TITLE_WORDS => words.join(" "),
        _ => format!(
            "{}…",
            words.get(..TITLE_WORDS).unwrap_or_default().join(" ")
        ),
    }
}

/// The item's text as plain text for the formats that need one when the
/// item has no HTML (Atom `summary`, JSON Feed `content_text`): its title
/// ([`item_title`]). `None` when it has a summary or content.
pub fn fallback_text(item: &StoredItem) -> Option<String> {
    let e = &item.entry;
    (e.summary_html.is_none() && e.content_html.is_none()).then(|| item_title(item))
}

/// Text that is safe wherever a reader might render it as HTML (many treat
/// RSS titles so): tags are dropped (script and style with their content),
/// entities decoded, whitespace collapsed. `a < b` stays `a < b`.
pub fn plain_text(text: &str) -> String {
    if !text.contains('<') && !text.contains('&') {
        return xml_clean(&text.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    let stripped = ammonia::Builder::empty().clean(text).to_string();
    let decoded = stripped
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    xml_clean(&decoded.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The item's link: its own, else its page under the public URL.
pub fn item_link(meta: &FeedMeta, item: &StoredItem) -> String {
    match &item.entry.link {
        Some(link) => xml_clean(link),
        None => format!("{}/items/{}", meta.base, item.key.to_hex()),
    }
}

/// One source of an item that merged cross-source duplicates.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemSource {
    pub id: String,
    /// The source's feed address, when remote.
    pub feed_url: Option<String>,
    /// The item's link in that source (its original link).
    pub link: Option<String>,
    /// How that source's copy was merged; `None` for the item's own source.
    pub merged_by: Option<String>,
}

/// Every source an item came from, its own first, when it merged
/// duplicates from other sources; empty otherwise.
pub fn item_sources(item: &StoredItem) -> Vec<ItemSource> {
    if item.merged.is_empty() {
        return Vec::new();
    }
    // Feed addresses are published: their secrets (a token, a password) as
    // `***`.
    let own = ItemSource {
        id: item.source.clone(),
        feed_url: item.feed_url.as_deref().map(crate::redact::url),
        link: item.entry.link.clone(),
        merged_by: None,
    };
    std::iter::once(own)
        .chain(item.merged.iter().map(|m| ItemSource {
            id: m.source.clone(),
            feed_url: m.feed_url.as_deref().map(crate::redact::url),
            link: m.link.clone(),
            merged_by: Some(m.rule.to_string()),
        }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Entry, ItemKey};
    use chrono::TimeZone;

    pub(crate) fn sample_items() -> Vec<StoredItem> {
        let mk = |id: &str, hour: u32, title: &str| {
            let key = ItemKey::derive("src", id);
            let at = Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0).unwrap();
            crate::dedup::new_item(
                "src",
                key,
                Entry {
                    upstream_id: Some(id.into()),
                    title: Some(title.into()),
                    link: Some(format!("https://example.org/{id}")),
                    authors: vec!["Ann Author".into()],
                    summary_html: Some("<p>Short &amp; sweet</p>".into()),
                    content_html: Some("<p>Full <b>text</b> &lt;here&gt;</p>".into()),
                    categories: vec!["news".into()],
                    ..Entry::default()
                },
                at,
            )
        };
        vec![mk("b", 12, "Second & last"), mk("a", 10, "First < one")]
    }

    /// `n` items of source `src`, item `i` first seen and published at
    /// minute `i`.
    pub(crate) fn many_items(n: u32) -> Vec<StoredItem> {
        (0..n)
            .map(|i| {
                let key = ItemKey::derive("src", &format!("item-{i}"));
                let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
                    + chrono::Duration::minutes(i64::from(i));
                crate::dedup::new_item(
                    "src",
                    key,
                    Entry {
                        title: Some(format!("Item {i}")),
                        link: Some(format!("https://example.org/{i}")),
                        ..Entry::default()
                    },
                    at,
                )
            })
            .collect()
    }

    pub(crate) fn meta() -> FeedMeta<'static> {
        FeedMeta::new(
            "all",
            "Everything",
            "All the things",
            "http://127.0.0.1:8080",
        )
    }

    #[test]
    fn rendering_is_deterministic_and_etags_differ_by_content() {
        let items = sample_items();
        let a = render(&meta(), &items);
        let b = render(&meta(), &items);
        for f in Format::ALL {
            assert_eq!(a.get(f).body, b.get(f).body);
            assert_eq!(a.get(f).etag, b.get(f).etag);
            assert_eq!(a.get(f).gzip, b.get(f).gzip);
        }
        let c = render(&meta(), &items[..1]);
        assert_ne!(a.rss.etag, c.rss.etag);
        assert_eq!(
            a.rss.last_modified,
            Some(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap())
        );
    }

    #[test]
    fn compressed_variants_decompress_to_the_body() {
        use std::io::Read;
        let r = render(&meta(), &sample_items());
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&r.atom.gzip[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, r.atom.body);
        let mut out = Vec::new();
        brotli::Decompressor::new(&r.atom.brotli[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, r.atom.body);
        assert_eq!(
            r.atom.variant_etag("gz"),
            format!("{}-gz\"", &r.atom.etag[..25])
        );
    }

    #[test]
    fn dates_are_whole_seconds_in_every_format() {
        // Regression: items dated by first_seen carry nanoseconds; RSS
        // cannot, so Atom and JSON must not either (readers compare them).
        let mut items = sample_items();
        items[0].published += chrono::Duration::nanoseconds(123_456_789);
        items[0].updated = items[0].published;
        let r = render(&meta(), &items);
        let atom = String::from_utf8(r.atom.body.to_vec()).unwrap();
        assert!(
            atom.contains("<updated>2026-03-01T12:00:00+00:00</updated>"),
            "{atom}"
        );
        assert!(!atom.contains(".123"), "{atom}");
        let json = String::from_utf8(r.json.body.to_vec()).unwrap();
        assert!(
            json.contains("\"date_published\": \"2026-03-01T12:00:00+00:00\""),
            "{json}"
        );
    }

    /// Items of one date (undated items first seen in one refresh) keep
    /// their source's order, whatever their public ids.
    #[test]
    fn same_date_items_keep_the_source_order() {
        let mut items = many_items(5);
        let at = items[0].published;
        for (i, item) in items.iter_mut().enumerate() {
            item.published = at;
            item.first_seen_pos = 4 - i as u32;
        }
        sort_for_publishing(&mut items);
        let titles: Vec<_> = items
            .iter()
            .map(|i| i.entry.title.clone().unwrap())
            .collect();
        assert_eq!(titles, ["Item 4", "Item 3", "Item 2", "Item 1", "Item 0"]);
    }

    /// `n` undated items of `source` first seen together at `at`, in their
    /// source's order (as dedup stores them).
    fn undated(source: &str, n: u32, at: DateTime<Utc>) -> Vec<StoredItem> {
        (0..n)
            .map(|i| StoredItem {
                first_seen_pos: i,
                ..crate::dedup::new_item(
                    source,
                    ItemKey::derive(source, &format!("{source}-{i}")),
                    Entry {
                        title: Some(format!("{source} {i}")),
                        ..Entry::default()
                    },
                    at,
                )
            })
            .collect()
    }

    /// The text of every `<tag>` inside the document's entries or items.
    fn entry_values(xml: &str, entry: &str, tag: &str) -> Vec<String> {
        xml.split(&format!("<{entry}>"))
            .skip(1)
            .map(|e| {
                let start = e.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
                let end = e.find(&format!("</{tag}>")).unwrap();
                e[start..end].to_string()
            })
            .collect()
    }

    fn distinct(values: &[String]) -> bool {
        values.iter().collect::<HashSet<_>>().len() == values.len()
    }

    /// Undated items first seen in one refresh get one second each, stepping
    /// back in their source's order from the time they were first seen; the
    /// RSS, Atom and JSON documents agree.
    #[test]
    fn undated_items_of_one_refresh_get_distinct_dates_in_source_order() {
        let at = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap()
            + chrono::Duration::milliseconds(250);
        let mut items = undated("src", 4, at);
        sort_for_publishing(&mut items);
        let r = render(&meta(), &items);
        let atom = String::from_utf8(r.atom.body.to_vec()).unwrap();
        assert_eq!(
            entry_values(&atom, "entry", "updated"),
            [
                "2026-05-01T08:00:00+00:00",
                "2026-05-01T07:59:59+00:00",
                "2026-05-01T07:59:58+00:00",
                "2026-05-01T07:59:57+00:00"
            ]
        );
        assert_eq!(
            entry_values(&atom, "entry", "title"),
            ["src 0", "src 1", "src 2", "src 3"]
        );
        assert_eq!(
            entry_values(&atom, "entry", "published"),
            entry_values(&atom, "entry", "updated")
        );
        let rss = String::from_utf8(r.rss.body.to_vec()).unwrap();
        assert_eq!(
            entry_values(&rss, "item", "pubDate"),
            [
                "Fri, 1 May 2026 08:00:00 +0000",
                "Fri, 1 May 2026 07:59:59 +0000",
                "Fri, 1 May 2026 07:59:58 +0000",
                "Fri, 1 May 2026 07:59:57 +0000"
            ]
        );
        let json: serde_json::Value = serde_json::from_slice(&r.json.body).unwrap();
        assert_eq!(
            json["items"][3]["date_modified"],
            "2026-05-01T07:59:57+00:00"
        );
        // Last-Modified is the newest of the dates published.
        assert_eq!(r.atom.last_modified, Some(at));
    }

    /// In a feed of two sources, undated items of both first seen at the same
    /// instant, items that all carry the same upstream date, and an update
    /// in the same second: every `updated` and every `pubDate` differs.
    #[test]
    fn merged_sources_first_seen_together_get_distinct_dates() {
        let at = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap();
        let mut items = undated("a", 20, at);
        items.extend(undated("b", 20, at));
        // A source whose items all say the same date.
        for mut item in undated("c", 5, at - chrono::Duration::hours(1)) {
            item.published = at;
            item.updated = at;
            items.push(item);
        }
        // An older item updated in that second.
        let mut old = undated("d", 1, at - chrono::Duration::days(3)).remove(0);
        old.updated = at;
        items.push(old);
        sort_for_publishing(&mut items);
        let r = render(&meta(), &items);
        let atom = String::from_utf8(r.atom.body.to_vec()).unwrap();
        let updated = entry_values(&atom, "entry", "updated");
        assert_eq!(updated.len(), 46);
        assert!(distinct(&updated), "{updated:?}");
        let rss = String::from_utf8(r.rss.body.to_vec()).unwrap();
        let dates = entry_values(&rss, "item", "pubDate");
        assert!(distinct(&dates), "{dates:?}");
        // Never after the time they were first seen or updated.
        assert!(
            updated
                .iter()
                .all(|u| u.as_str() <= "2026-05-01T08:00:00+00:00")
        );
        // Each source keeps its own order: "a 0" is newer than "a 1".
        let pos = |t: &str| {
            entry_values(&atom, "entry", "title")
                .iter()
                .position(|x| x == t)
                .unwrap()
        };
        let date = |t: &str| updated[pos(t)].clone();
        assert!(date("a 0") > date("a 1") && date("b 0") > date("b 19"));
        // Claims go in first-seen order: "d 0" (seen days before) keeps its
        // update second, "c 0" (an hour before) steps back once, and the
        // items of "a" and "b" seen at that very second step back behind c.
        assert_eq!(date("d 0"), "2026-05-01T08:00:00+00:00");
        assert_eq!(date("c 0"), "2026-05-01T07:59:59+00:00");
        assert_eq!(date("c 4"), "2026-05-01T07:59:55+00:00");
        assert_eq!(date("a 0"), "2026-05-01T07:59:54+00:00");
    }

    /// An item keeps its dates when a newer item with the same date joins the
    /// feed, and the dates depend on the items alone, not on their order.
    #[test]
    fn distinct_dates_are_stable_and_deterministic() {
        let at = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap();
        let first = undated("a", 3, at);
        let dates = |items: &[StoredItem]| {
            let mut items = items.to_vec();
            distinct_dates(&mut items);
            items
                .iter()
                .map(|i| (i.key, (i.published, i.updated)))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let before = dates(&first);
        let mut later = undated("b", 2, at + chrono::Duration::milliseconds(10));
        later.extend(first.iter().cloned());
        let after = dates(&later);
        for (key, d) in &before {
            assert_eq!(after.get(key), Some(d));
        }
        let mut reversed = later.clone();
        reversed.reverse();
        assert_eq!(dates(&reversed), after);
        let r1 = render(&meta(), &later);
        let r2 = render(&meta(), &reversed[..]);
        // Same items, other order: the same set of dates per item (the
        // document order is the caller's).
        assert_eq!(r1.atom.last_modified, r2.atom.last_modified);
    }

    #[test]
    fn titles_are_plain_text() {
        assert_eq!(
            plain_text("Local <script>alert(1)</script> title"),
            "Local title"
        );
        assert_eq!(plain_text("a < b & <b>c</b>"), "a < b & c");
        assert_eq!(plain_text("  two\n words "), "two words");
    }

    #[test]
    fn xml_clean_strips_forbidden_controls() {
        assert_eq!(xml_clean("a\u{0}b\u{8}c\td\u{FFFE}"), "abc\td");
        // C1 controls: text decoded with the wrong character set.
        assert_eq!(xml_clean("don\u{92}t \u{85}x\u{a0}"), "dont x\u{a0}");
    }

    /// `&` and `<` become character references outside CDATA, comments and
    /// processing instructions, and the document reads the same.
    #[test]
    fn char_refs_rewrite_text_and_attributes_only() {
        let xml = concat!(
            r#"<?xml version="1.0"?><?xml-stylesheet href="a?b&amp;c"?>"#,
            r#"<r a="x&amp;y"><!-- &amp; --><t>1&amp;1 &lt;b&gt; &#38; &quot;</t>"#,
            r#"<d><![CDATA[<p>A &amp; B</p>]]></d></r>"#
        );
        let out = String::from_utf8(char_refs(xml.as_bytes().to_vec())).unwrap();
        assert_eq!(
            out,
            concat!(
                r#"<?xml version="1.0"?><?xml-stylesheet href="a?b&amp;c"?>"#,
                r#"<r a="x&#x26;y"><!-- &amp; --><t>1&#x26;1 &#x3C;b&gt; &#38; &quot;</t>"#,
                r#"<d><![CDATA[<p>A &amp; B</p>]]></d></r>"#
            )
        );
        let texts = |doc: &str| {
            let doc = roxmltree::Document::parse(doc).unwrap();
            doc.descendants()
                .map(|n| {
                    (
                        n.text().map(str::to_string),
                        n.attribute("a").map(str::to_string),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(texts(&out), texts(xml));
        // An unclosed section is copied to the end.
        assert_eq!(
            char_refs(b"<a>&amp;<![CDATA[&amp;".to_vec()),
            b"<a>&#x26;<![CDATA[&amp;"
        );
    }

    #[test]
    fn html_without_text_or_media_has_no_content() {
        for empty in [
            "",
            " ",
            "<p> </p>",
            "<p>&nbsp;</p>",
            "<br/>",
            "<div><span>\n</span></div>",
        ] {
            assert!(!html_has_content(empty), "{empty:?}");
        }
        for full in [
            "a",
            "<p>x</p>",
            "<img src=\"https://a.org/i.png\">",
            "<p>&amp;</p>",
            "<IFRAME src=x></IFRAME>",
        ] {
            assert!(html_has_content(full), "{full:?}");
        }
    }

    #[test]
    fn full_http_urls_only() {
        assert!(full_http_url("https://cdn.example.org/a.mp3"));
        assert!(full_http_url("http://127.0.0.1:8080/a.mp3"));
        for bad in [
            "https://example/",
            "ftp://a.org/x",
            "/a.mp3",
            "https://a.org/é.mp3",
            "mailto:a@b.org",
        ] {
            assert!(!full_http_url(bad), "{bad}");
        }
    }

    /// One item as every renderer gets it: markup out of names and
    /// categories, empty and repeated ones dropped, HTML without anything to
    /// show left out, enclosures without a full URL dropped.
    #[test]
    fn clean_item_leaves_plain_fields_plain_and_drops_empty_ones() {
        let mut item = sample_items().remove(0);
        item.entry.authors = vec![
            "<a href=\"https://x.org\">Ann</a> <b>Author</b>".into(),
            "Ann Author".into(),
            " ".into(),
            "AT&amp;T".into(),
        ];
        item.entry.categories = vec!["<i>news</i>".into(), "".into(), "news".into()];
        item.entry.summary_html = Some("<p> </p>".into());
        item.entry.enclosures = vec![
            crate::model::Enclosure {
                url: "https://example/".into(),
                mime_type: "audio/mpeg".into(),
                length: 0,
            },
            crate::model::Enclosure {
                url: "https://cdn.example.org/a.mp3".into(),
                mime_type: "audio/mpeg".into(),
                length: 1,
            },
        ];
        let clean = clean_item(&item);
        assert_eq!(clean.entry.authors, ["Ann Author", "AT&T"]);
        assert_eq!(clean.entry.categories, ["news"]);
        assert_eq!(clean.entry.summary_html, None);
        assert!(clean.entry.content_html.is_some());
        assert_eq!(clean.entry.enclosures.len(), 1);
        assert_eq!(
            clean.entry.enclosures[0].url,
            "https://cdn.example.org/a.mp3"
        );
    }

    /// An item without a title is titled by the first words of its text, and
    /// one without text has its title as text where the format needs one,
    /// the same in every format; no empty element is written.
    #[test]
    fn titles_and_texts_fall_back_the_same_in_every_format() {
        let mut items = sample_items();
        items[0].entry.title = Some(" <b></b> ".into());
        items[0].entry.summary_html = None;
        items[0].entry.content_html =
            Some("<p>One two three four five six seven eight nine ten eleven</p>".into());
        items[1].entry.title = Some("Only a title".into());
        items[1].entry.summary_html = Some("<p></p>".into());
        items[1].entry.content_html = None;
        assert_eq!(
            item_title(&items[0]),
            "One two three four five six seven eight nine ten…"
        );
        let r = render(&meta(), &items);
        let atom = String::from_utf8(r.atom.body.to_vec()).unwrap();
        let rss = String::from_utf8(r.rss.body.to_vec()).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&r.json.body).unwrap();
        assert_eq!(
            entry_values(&atom, "entry", "title"),
            [
                "One two three four five six seven eight nine ten…",
                "Only a title"
            ]
        );
        assert_eq!(
            entry_values(&rss, "item", "title"),
            entry_values(&atom, "entry", "title")
        );
        assert_eq!(
            json["items"][0]["title"],
            "One two three four five six seven eight nine ten…"
        );
        // The textless item: its title as Atom summary and JSON content_text;
        // RSS, where a title alone is enough, writes no description.
        assert!(atom.contains("<summary>Only a title</summary>"), "{atom}");
        assert_eq!(json["items"][1]["content_text"], "Only a title");
        assert!(json["items"][1].get("content_html").is_none());
        // The channel's and the first item's.
        assert_eq!(rss.matches("<description>").count(), 2, "{rss}");
        for empty in [
            "<summary></summary>",
            "<content type=\"html\"></content>",
            "<title></title>",
            "<description></description>",
            "<![CDATA[]]>",
        ] {
            assert!(!atom.contains(empty) && !rss.contains(empty), "{empty}");
        }
        // Nothing at all: the placeholder.
        items[1].entry.title = None;
        assert_eq!(item_title(&items[1]), UNTITLED);
    }

    #[test]
    fn published_put_reports_changes_only() {
        let p = Published::default();
        assert!(p.put("all", render(&meta(), &sample_items()), 1));
        assert!(!p.put("all", render(&meta(), &sample_items()), 1));
        assert!(p.put("all", render(&meta(), &sample_items()[..1]), 1));
    }

    /// A rendering that read an older store than the one published (it
    /// started before a refresh's write and finished after that refresh's
    /// own rendering) is dropped; one of the same generation (a reload that
    /// changed only the config) replaces it.
    #[test]
    fn published_put_never_goes_back_to_an_older_reading() {
        let p = Published::default();
        let etag = |p: &Published| p.get("all").unwrap().rss.etag.clone();
        assert!(p.put("all", render(&meta(), &sample_items()), 7));
        let newest = etag(&p);
        assert!(!p.put("all", render(&meta(), &sample_items()[..1]), 6));
        assert_eq!(etag(&p), newest);
        assert!(p.put("all", render(&meta(), &sample_items()[..1]), 7));
        assert_ne!(etag(&p), newest);
        assert!(p.put("all", render(&meta(), &sample_items()), 8));
        assert_eq!(etag(&p), newest);
    }
}
