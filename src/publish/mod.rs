//! Publishing: selects the items of each `[[feed]]`, renders them as RSS 2.0,
//! Atom 1.0 and JSON Feed 1.1, and keeps the rendered bytes (with gzip and
//! brotli variants made once, at render time) for the server to hand out.
//!
//! Rendering is deterministic: the same items give the same bytes and so the
//! same ETag, across restarts. Feed dates come from the newest content, never
//! from the time of rendering.

mod atom;
mod json;
mod rss;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::{Arc, RwLock};

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
}

/// What a renderer needs to know about the feed besides its items.
pub struct FeedMeta<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    /// The public base URL, without a trailing slash.
    pub base: &'a str,
}

impl FeedMeta<'_> {
    /// The URL this feed is served at in `format` (its rel="self").
    pub fn self_url(&self, format: Format) -> String {
        format!("{}/feeds/{}.{}", self.base, self.name, format.extension())
    }

    /// The human page the feed belongs to.
    pub fn home_url(&self) -> String {
        format!("{}/", self.base)
    }

    /// A stable feed id (Atom `id`): a `urn:uuid:` from the feed's name.
    pub fn feed_id(&self) -> String {
        let digest = Sha256::digest(format!("syndic feed\0{}", self.name).as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        crate::dedup::mint_public_id(&crate::model::ItemKey(key))
    }
}

/// One rendered document and its precompressed variants.
#[derive(Debug)]
pub struct Rendered {
    pub format: Format,
    pub body: Vec<u8>,
    pub gzip: Vec<u8>,
    pub brotli: Vec<u8>,
    /// Strong ETag of the identity body, quoted. The compressed variants use
    /// the same tag with `-gz` / `-br` appended inside the quotes.
    pub etag: String,
    /// The newest item's update time; `None` for an empty feed.
    pub last_modified: Option<DateTime<Utc>>,
    pub item_count: usize,
}

impl Rendered {
    fn new(format: Format, body: Vec<u8>, items: &[StoredItem]) -> Rendered {
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", hex::encode(&digest[..12]));
        Rendered {
            format,
            gzip: gzip(&body),
            brotli: brotli(&body),
            etag,
            last_modified: newest_update(items),
            item_count: items.len(),
            body,
        }
    }

    /// The ETag of a compressed variant (`"tag-gz"`).
    pub fn variant_etag(&self, suffix: &str) -> String {
        format!("{}-{}\"", &self.etag[..self.etag.len() - 1], suffix)
    }
}

/// The three documents of one feed.
#[derive(Debug)]
pub struct RenderedFeed {
    pub rss: Rendered,
    pub atom: Rendered,
    pub json: Rendered,
}

impl RenderedFeed {
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

/// Renders the three formats of one feed from its items (newest first).
pub fn render(meta: &FeedMeta, items: &[StoredItem]) -> RenderedFeed {
    RenderedFeed {
        rss: Rendered::new(Format::Rss, rss::render(meta, items), items),
        atom: Rendered::new(Format::Atom, atom::render(meta, items), items),
        json: Rendered::new(Format::Json, json::render(meta, items), items),
    }
}

/// Reads a feed's items from the store in publishing order.
pub fn select_items(store: &Store, feed: &FeedConfig) -> Result<Vec<StoredItem>, StoreError> {
    let sources: HashSet<&str> = feed.sources.iter().map(String::as_str).collect();
    let mut items = store.newest_items(&sources, feed.limit)?;
    // The store orders by (published, key); ties are broken by public id
    // too, so the order never depends on anything but the items.
    items.sort_by(|a, b| {
        b.published
            .cmp(&a.published)
            .then_with(|| a.public_id.cmp(&b.public_id))
    });
    Ok(items)
}

/// The rendered feeds, shared between the refresh tasks that replace them
/// and the server that reads them.
#[derive(Clone, Default)]
pub struct Published {
    feeds: Arc<RwLock<HashMap<String, Arc<RenderedFeed>>>>,
}

impl Published {
    pub fn get(&self, name: &str) -> Option<Arc<RenderedFeed>> {
        self.feeds.read().ok()?.get(name).cloned()
    }

    /// Stores a new rendering; returns true when its bytes differ from the
    /// one it replaces.
    pub fn put(&self, name: &str, feed: RenderedFeed) -> bool {
        let Ok(mut feeds) = self.feeds.write() else {
            return false;
        };
        let changed = feeds.get(name).is_none_or(|old| {
            Format::ALL
                .iter()
                .any(|f| old.get(*f).etag != feed.get(*f).etag)
        });
        if changed {
            feeds.insert(name.to_string(), Arc::new(feed));
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

fn gzip(body: &[u8]) -> Vec<u8> {
    // GzEncoder writes mtime 0 and no file name, so the bytes are
    // deterministic. Writing to a Vec cannot fail.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

fn brotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
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
    text.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= '\u{20}' && c != '\u{FFFE}' && c != '\u{FFFF}')
        })
        .collect()
}

/// The item's title as published: its own, else a start of its text, else
/// a placeholder, so every format has one.
pub fn item_title(item: &StoredItem) -> String {
    if let Some(title) = item.entry.title.as_deref().map(plain_text)
        && !title.is_empty()
    {
        return title;
    }
    "(untitled)".to_string()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Entry, ItemKey};
    use chrono::TimeZone;

    pub(crate) fn sample_items() -> Vec<StoredItem> {
        let mk = |id: &str, hour: u32, title: &str| {
            let key = ItemKey::derive("src", id);
            let at = Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0).unwrap();
            StoredItem {
                key,
                source: "src".into(),
                public_id: crate::dedup::mint_public_id(&key),
                entry: Entry {
                    upstream_id: Some(id.into()),
                    title: Some(title.into()),
                    link: Some(format!("https://example.org/{id}")),
                    authors: vec!["Ann Author".into()],
                    summary_html: Some("<p>Short &amp; sweet</p>".into()),
                    content_html: Some("<p>Full <b>text</b> &lt;here&gt;</p>".into()),
                    categories: vec!["news".into()],
                    ..Entry::default()
                },
                first_seen: at,
                published: at,
                updated: at,
                digest: [0; 16],
            }
        };
        vec![mk("b", 12, "Second & last"), mk("a", 10, "First < one")]
    }

    pub(crate) fn meta() -> FeedMeta<'static> {
        FeedMeta {
            name: "all",
            title: "Everything",
            description: "All the things",
            base: "http://127.0.0.1:8080",
        }
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
        flate2::read::GzDecoder::new(r.atom.gzip.as_slice())
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, r.atom.body);
        let mut out = Vec::new();
        brotli::Decompressor::new(r.atom.brotli.as_slice(), 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, r.atom.body);
        assert_eq!(
            r.atom.variant_etag("gz"),
            format!("{}-gz\"", &r.atom.etag[..25])
        );
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
    }

    #[test]
    fn published_put_reports_changes_only() {
        let p = Published::default();
        assert!(p.put("all", render(&meta(), &sample_items())));
        assert!(!p.put("all", render(&meta(), &sample_items())));
        assert!(p.put("all", render(&meta(), &sample_items()[..1])));
    }
}
