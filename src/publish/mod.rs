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
pub mod page;
pub mod preview;
mod rss;
pub mod sanitize;
pub mod webhook;
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

mod item;
mod published;
pub use item::*;
pub use published::*;

/// The documents of a feed: the three feed formats ([`Format::ALL`]) and
/// the feed's HTML page for people ([`page::feed_page`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Rss,
    Atom,
    Json,
    Html,
}

impl Format {
    /// The feed formats (every document but the HTML page).
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    /// The file extension the feed is served under.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
            Format::Html => "html",
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
            Format::Html => "text/html; charset=utf-8",
        }
    }

    /// The media type without parameters, as used in `type=` of links.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
            Format::Json => "application/feed+json",
            Format::Html => "text/html",
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
    /// The feed formats the feed is offered in (its page links to them).
    pub formats: Vec<Format>,
    /// Set when the feed is a podcast: the RSS carries the iTunes tags.
    pub podcast: Option<&'a crate::config::Podcast>,
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
            formats: Format::ALL.to_vec(),
            podcast: None,
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
            formats: Format::ALL
                .into_iter()
                .filter(|f| feed.offers(f.extension()))
                .collect(),
            podcast: feed.podcast.as_ref(),
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
    /// `None` for an empty feed without a stamp. Not ahead of the clock
    /// (see `hold_until`) unless the clock stepped back; the server then
    /// compares `If-Modified-Since` with it but never sends a later
    /// `Last-Modified` than its `Date`.
    pub last_modified: Option<DateTime<Utc>>,
    /// [`last_modified`](Self::last_modified) as an HTTP date, made once
    /// (shared bytes: a response header clones a pointer).
    pub last_modified_http: Option<Bytes>,
    /// The ETags of the identity, gzip and brotli bodies, made once.
    pub etags: [Bytes; 3],
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
            Bytes::from(format!("\"{tag}\"")),
            Bytes::from(format!("\"{tag}-gz\"")),
            Bytes::from(format!("\"{tag}-br\"")),
        ];
        let last_modified = meta.updated(items);
        Rendered {
            format,
            gzip: Bytes::from(gzip(&body)),
            brotli: Bytes::from(brotli(&body)),
            etag: format!("\"{tag}\""),
            etags,
            last_modified,
            last_modified_http: last_modified
                .map(|at| Bytes::from(httpdate::fmt_http_date(at.into()))),
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

/// The documents of one feed: three formats and its page.
#[derive(Debug)]
pub struct RenderedFeed {
    pub rss: Rendered,
    pub atom: Rendered,
    pub json: Rendered,
    /// The feed's HTML page ([`page::feed_page`]).
    pub html: Rendered,
    /// The page this is (current, or an archive page).
    pub page: Page,
    /// The document's newest items, for the index page's "Recent items".
    pub recent: Vec<RecentItem>,
    /// Archive pages rendered on demand since this rendering, by index.
    /// Dropped with it, so an item edit re-renders them.
    pub archives: Mutex<HashMap<usize, Arc<RenderedFeed>>>,
}

impl RenderedFeed {
    /// Whether any client has seen this rendering's `Last-Modified`.
    pub fn was_served(&self) -> bool {
        Format::ALL.iter().chain([&Format::Html]).any(|f| {
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
            Format::Html => &self.html,
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

/// How many of a document's newest items it keeps for the index page.
pub const RECENT_ITEMS: usize = 10;

/// One of a published document's newest items, as the index page lists it:
/// what was published, not what the store holds (a feed with a publish
/// schedule shows its items when it publishes them).
#[derive(Debug, Clone, PartialEq)]
pub struct RecentItem {
    /// The item's key (hex): one story in two feeds is listed once.
    pub key: String,
    pub title: String,
    pub link: String,
    pub published: DateTime<Utc>,
}

/// The rendered documents (with their compressed variants) of the bodies.
fn assemble(meta: &FeedMeta, bodies: [Vec<u8>; 3], items: &[StoredItem]) -> RenderedFeed {
    let [rss, atom, json] = bodies;
    // Only the newest few get a title and link made (a document may hold a
    // thousand items).
    let mut newest: Vec<&StoredItem> = items.iter().collect();
    newest.sort_by_key(|item| std::cmp::Reverse(item.published));
    newest.truncate(RECENT_ITEMS);
    let recent = newest
        .into_iter()
        .map(|item| RecentItem {
            key: item.key.to_hex(),
            title: item_title(item),
            link: item_link(meta, item),
            published: item.published,
        })
        .collect();
    RenderedFeed {
        rss: Rendered::new(Format::Rss, rss, meta, items),
        atom: Rendered::new(Format::Atom, atom, meta, items),
        json: Rendered::new(Format::Json, json, meta, items),
        html: Rendered::new(Format::Html, page::feed_page(meta, items), meta, items),
        page: meta.page,
        recent,
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
/// cannot be written only makes the next rendering a change too. `key`
/// names the stamp: the feed's name for its current document, the name and
/// page for an archive page ([`archive::stamp_key`]).
fn render_stamped(
    store: &Store,
    key: &str,
    meta: FeedMeta,
    items: &[StoredItem],
    now: DateTime<Utc>,
    previous_served: bool,
) -> RenderedFeed {
    let mut items: Vec<StoredItem> = items.iter().map(clean_item).collect();
    distinct_dates(&mut items);
    let stamp = store.feed_stamp(key);
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
            key,
            meta,
            &items,
            changed_at(Some(at), now, previous_served),
        );
    }
    restamp(
        store,
        key,
        meta,
        &items,
        changed_at(None, now, previous_served),
    )
}

fn restamp(
    store: &Store,
    key: &str,
    meta: FeedMeta,
    items: &[StoredItem],
    at: DateTime<Utc>,
) -> RenderedFeed {
    hold_until(at);
    let meta = FeedMeta {
        updated: Some(at),
        ..meta
    };
    let bodies = render_bodies(&meta, items);
    if let Err(err) = store.set_feed_stamp(key, &bodies_digest(&bodies), at) {
        tracing::warn!(feed = key, %err, "feed stamp not written; the next rendering counts as a change");
    }
    assemble(&meta, bodies, items)
}

/// The longest a change is held back so that its date is not ahead of the
/// clock (see [`hold_until`]).
pub const MAX_HOLD: chrono::TimeDelta = chrono::TimeDelta::seconds(2);

/// Waits until `at` when it is ahead of the clock by at most [`MAX_HOLD`]:
/// a change dated the second after one a client has seen ([`changed_at`])
/// is published when that second has come, so that a feed's dates
/// (`lastBuildDate`, Atom `updated`, `Last-Modified`) never lie in the
/// future, however often a file is saved. Renders run on blocking threads.
/// Further ahead (the clock stepped back) it does not wait.
fn hold_until(at: DateTime<Utc>) {
    let ahead = at - Utc::now();
    if ahead > chrono::TimeDelta::zero()
        && ahead <= MAX_HOLD
        && let Ok(ahead) = ahead.to_std()
    {
        std::thread::sleep(ahead);
    }
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

/// What a feed makes of one item: published as its rules rewrote it
/// (with the places of the rules that did), or left out, with why.
pub enum Judged {
    Published(StoredItem, Vec<String>),
    LeftOut(StoredItem, String),
}

/// Judges one item for a feed: a podcast takes only items with an
/// enclosure; then the feed's rules (its keyword lists among them) choose
/// and rewrite it (see `rules`).
pub fn judge(feed: &FeedConfig, mut item: StoredItem) -> Judged {
    if feed.podcast.is_some() && !item.entry.enclosures.iter().any(|e| full_http_url(&e.url)) {
        // A podcast publishes episodes: items with something to play.
        return Judged::LeftOut(item, "no enclosure to play (a podcast)".to_string());
    }
    if feed.rules.is_empty() {
        return Judged::Published(item, Vec::new());
    }
    let base = item
        .entry
        .link
        .as_deref()
        .and_then(|l| url::Url::parse(l).ok());
    let clean = |html: &str| crate::ingest::parse::sanitize_html(html, base.as_ref());
    match crate::rules::apply(&feed.rules, &mut item.entry, &clean) {
        crate::rules::Verdict::Kept(by) => {
            let by = by.into_iter().map(str::to_string).collect();
            Judged::Published(item, by)
        }
        crate::rules::Verdict::Dropped(at) => {
            Judged::LeftOut(item, format!("dropped by the rule at {at}"))
        }
    }
}

/// An item as a feed publishes it, or `None` when the feed leaves it out
/// (see [`judge`]).
pub fn pick(feed: &FeedConfig, item: StoredItem) -> Option<StoredItem> {
    match judge(feed, item) {
        Judged::Published(item, _) => Some(item),
        Judged::LeftOut(..) => None,
    }
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
/// `limit` items of its sources that its rules keep, as they rewrite them.
pub fn select_items(store: &Store, feed: &FeedConfig) -> Result<Vec<StoredItem>, StoreError> {
    let sources: HashSet<&str> = feed.sources.iter().map(String::as_str).collect();
    let mut items = store.newest_items_where(&sources, feed.limit, |i| pick(feed, i))?;
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
        render_stamped(store, &feed.name, meta, &items, Utc::now(), previous_served),
        items.len(),
    ))
}

#[cfg(test)]
mod tests;
