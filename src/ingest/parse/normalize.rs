//! Normalization: the reader-neutral [`RawFeed`] -> [`ParsedFeed`]. Dates to
//! UTC (with a warning when unparseable), URLs to absolute, titles to plain
//! text, enclosures completed; summary and content are kept raw, with their
//! base, in an [`Unfinished`] entry until [`Unfinished::finish`] sanitizes
//! them (the refresh finishes only entries it has not seen before).
//! Independent of the reader that produced the raw model.

use std::fmt;

use url::Url;

use super::dates::parse_date;
use super::raw::{RawEnclosure, RawEntry, RawFeed, RawLink, RawPerson, RawText, TextKind};
use super::sanitize::{
    collapse_whitespace, html_to_text, looks_like_html, sanitize_html, text_to_html,
};
use super::{ParsedFeed, Warning};
use crate::model::{Enclosure, Entry, FeedHints};

/// A normalized entry whose summary and content are still the feed's raw
/// markup: everything else of the [`Entry`] is final. [`Unfinished::finish`]
/// sanitizes them; [`Unfinished::digest`] names everything the finished
/// entry is made of, so that an entry with a digest seen before needs no
/// sanitizing to be known unchanged.
#[derive(Clone, Debug, PartialEq)]
pub struct Unfinished {
    /// The entry, without summary and content.
    entry: Entry,
    summary: Option<Fragment>,
    content: Option<Fragment>,
}

/// A summary or content as the feed wrote it, with the base its relative
/// URLs resolve against.
#[derive(Clone, Debug, PartialEq)]
struct Fragment {
    text: RawText,
    base: Option<Url>,
}

impl Unfinished {
    /// The entry as far as it is final: no summary or content.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }

    /// A digest of everything [`Unfinished::finish`] makes the entry from
    /// (the raw summary and content with their bases, the rest of the
    /// entry), of the code that makes it (the crate's version) and of
    /// `context` (what else shapes it: a source's rules), so that equal
    /// digests mean equal finished entries.
    pub fn digest(&self, context: &[u8]) -> [u8; 16] {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(b"syndic unfinished entry\0");
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        hasher.update([0]);
        hasher.update((context.len() as u64).to_le_bytes());
        hasher.update(context);
        hasher.update(serde_json::to_vec(&self.entry).unwrap_or_default());
        for fragment in [&self.summary, &self.content] {
            match fragment {
                None => hasher.update([0]),
                Some(f) => {
                    let kind: u8 = match f.text.kind {
                        TextKind::Plain => 1,
                        TextKind::Html => 2,
                        TextKind::Xhtml => 3,
                        TextKind::MaybeHtml => 4,
                    };
                    hasher.update([kind]);
                    hasher.update((f.text.value.len() as u64).to_le_bytes());
                    hasher.update(f.text.value.as_bytes());
                    hasher.update(f.base.as_ref().map_or("", Url::as_str).as_bytes());
                    hasher.update([0]);
                }
            }
        }
        let digest: [u8; 32] = hasher.finalize().into();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }

    /// The entry with its summary and content sanitized (a summary equal
    /// to the content is dropped).
    pub fn finish(self) -> Entry {
        let summary = self.summary.as_ref().and_then(Fragment::to_html);
        let content = self.content.as_ref().and_then(Fragment::to_html);
        let (summary_html, content_html) = match (summary, content) {
            (Some(s), Some(c)) if s == c => (None, Some(c)),
            (s @ Some(_), c @ Some(_)) => (s, c),
            (Some(only), None) | (None, Some(only)) => (None, Some(only)),
            (None, None) => (None, None),
        };
        Entry {
            summary_html,
            content_html,
            ..self.entry
        }
    }

    /// The entry without its summary and content, standing for a finished
    /// entry whose [`Entry::content_digest`] is `digest` (known from an
    /// earlier refresh of the same [`Unfinished::digest`]). Only ever
    /// compared, never stored: see [`Entry::known_digest`].
    pub fn hollow(self, digest: [u8; 16]) -> Entry {
        Entry {
            known_digest: Some(digest),
            ..self.entry
        }
    }
}

impl Fragment {
    /// The fragment as sanitized HTML; `None` when empty.
    fn to_html(&self) -> Option<String> {
        to_html(&self.text, self.base.as_ref())
    }
}

/// Turns what a reader extracted into the normalized feed.
pub(crate) fn normalize(
    raw: RawFeed,
    encoding: String,
    mut warnings: Vec<Warning>,
    base_url: Option<&Url>,
) -> ParsedFeed<Unfinished> {
    warnings.extend(raw.warnings.into_iter().map(Warning::lenient));
    let mut w = Warn {
        warnings: &mut warnings,
    };

    let home_page_url = raw
        .home_page_url
        .as_deref()
        .and_then(|u| absolute(u, &[base_url], &"feed link", &mut w));
    let feed_url = raw
        .feed_url
        .as_deref()
        .and_then(|u| absolute(u, &[base_url], &"feed self link", &mut w));
    let hubs = raw
        .hubs
        .iter()
        .filter_map(|u| absolute(u, &[base_url], &"feed hub link", &mut w))
        .collect();
    let home = home_page_url.as_deref().and_then(|u| Url::parse(u).ok());
    let feed_self = feed_url.as_deref().and_then(|u| Url::parse(u).ok());
    let icon = raw
        .icon
        .as_deref()
        .and_then(|u| absolute(u, &[base_url, home.as_ref()], &"feed icon", &mut w));

    let mut entries = Vec::with_capacity(raw.entries.len());
    let mut external_urls = Vec::with_capacity(raw.entries.len());
    for (i, raw_entry) in raw.entries.into_iter().enumerate() {
        let ctx = EntryCtx {
            number: i + 1,
            base_url,
            home: home.as_ref(),
            feed_self: feed_self.as_ref(),
        };
        let external = raw_entry
            .links
            .iter()
            .find(|l| l.rel.eq_ignore_ascii_case("related") || l.rel.eq_ignore_ascii_case("via"))
            .and_then(|l| {
                absolute(
                    &l.href,
                    &[base_url, home.as_ref()],
                    &format_args!("item {} external url", i + 1),
                    &mut w,
                )
            });
        external_urls.push(external);
        entries.push(normalize_entry(raw_entry, &ctx, &mut w));
    }

    ParsedFeed {
        format: raw.format,
        encoding,
        title: raw.title.as_ref().and_then(plain_text),
        home_page_url,
        feed_url,
        hubs,
        description: raw.description.as_ref().and_then(plain_text),
        language: raw
            .language
            .map(|l| l.trim().replace('_', "-"))
            .filter(|l| !l.is_empty()),
        icon,
        authors: names(&raw.authors),
        ttl_minutes: raw.ttl_minutes,
        hints: FeedHints {
            ttl_secs: raw
                .ttl_minutes
                .filter(|m| *m > 0)
                .map(|m| u64::from(m) * 60),
            ..raw.hints
        },
        entries,
        external_urls,
        warnings,
    }
}

struct Warn<'a> {
    warnings: &'a mut Vec<Warning>,
}

impl Warn<'_> {
    fn push(&mut self, message: String) {
        // Bound the list on pathological feeds.
        if self.warnings.len() < 200 {
            self.warnings.push(Warning::lenient(message));
        }
    }
}

struct EntryCtx<'a> {
    /// 1-based position, for warnings.
    number: usize,
    base_url: Option<&'a Url>,
    home: Option<&'a Url>,
    feed_self: Option<&'a Url>,
}

fn normalize_entry(mut raw: RawEntry, ctx: &EntryCtx, w: &mut Warn) -> Unfinished {
    // Only formatted when a warning names it.
    let what = format_args!("item {}", ctx.number);
    let link_bases = [ctx.base_url, ctx.home, ctx.feed_self];

    let link_url = pick_link(&raw.links)
        .and_then(|href| absolute_url(href, &link_bases, &format_args!("{what} link"), w))
        .or_else(|| {
            // An RSS guid is a permalink unless it says otherwise.
            let id = raw.id.as_deref().filter(|_| raw.id_may_be_link)?;
            let url = Url::parse(id).ok()?;
            matches!(url.scheme(), "http" | "https").then_some(url)
        });
    let link = link_url.as_ref().map(|u| u.as_str().to_string());
    let fallback_base = link_url.as_ref().or(ctx.home).or(ctx.base_url);

    let date = |text: Option<&str>, w: &mut Warn| {
        let text = text?.trim();
        if text.is_empty() {
            return None;
        }
        let parsed = parse_date(text);
        if parsed.is_none() {
            w.push(format!("{what}: unparseable date `{text}`"));
        }
        parsed
    };
    let published = date(raw.published.as_deref(), w);
    let updated = date(raw.updated.as_deref(), w);

    let summary = raw.summary.take().map(|text| Fragment {
        text,
        base: raw.summary_base.clone().or_else(|| fallback_base.cloned()),
    });
    let content = raw.content.take().map(|text| Fragment {
        text,
        base: raw.content_base.clone().or_else(|| fallback_base.cloned()),
    });

    let mut categories: Vec<String> = Vec::new();
    for c in &raw.categories {
        let c = collapse_whitespace(c);
        if !c.is_empty() && !categories.contains(&c) {
            categories.push(c);
        }
    }

    let mut enclosures: Vec<Enclosure> = Vec::new();
    for e in &raw.enclosures {
        let bases = [ctx.base_url, link_url.as_ref(), ctx.home, ctx.feed_self];
        if let Some(enclosure) = enclosure(e, &bases, &what, w)
            && !enclosures.iter().any(|x| x.url == enclosure.url)
        {
            enclosures.push(enclosure);
        }
    }

    let entry = Entry {
        upstream_id: raw.id,
        title: raw.title.as_ref().and_then(plain_text),
        link,
        published,
        updated,
        authors: names(&raw.authors),
        categories,
        enclosures,
        ..Entry::default()
    };
    Unfinished {
        entry,
        summary,
        content,
    }
}

/// The item's page: an `alternate` link (HTML first), else the first link
/// that is not about the feed machinery.
fn pick_link(links: &[RawLink]) -> Option<&str> {
    let alternate = |l: &&RawLink| l.rel.eq_ignore_ascii_case("alternate");
    links
        .iter()
        .filter(alternate)
        .find(|l| l.media_type.as_deref().is_none_or(|t| t.contains("html")))
        .or_else(|| links.iter().find(alternate))
        .or_else(|| {
            links.iter().find(|l| {
                !matches!(
                    l.rel.to_ascii_lowercase().as_str(),
                    "self" | "edit" | "edit-media" | "replies" | "license" | "hub" | "enclosure"
                )
            })
        })
        .map(|l| l.href.as_str())
}

/// Makes `href` absolute against the first base that works. Unsafe schemes
/// and unresolvable relative URLs give `None` and a warning.
fn absolute(
    href: &str,
    bases: &[Option<&Url>],
    what: &dyn fmt::Display,
    w: &mut Warn,
) -> Option<String> {
    absolute_url(href, bases, what, w).map(String::from)
}

/// [`absolute`], as a parsed URL.
fn absolute_url(
    href: &str,
    bases: &[Option<&Url>],
    what: &dyn fmt::Display,
    w: &mut Warn,
) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let url = match Url::parse(href) {
        Ok(url) => Some(url),
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            bases.iter().flatten().find_map(|b| b.join(href).ok())
        }
        Err(_) => None,
    };
    match url {
        Some(url) if matches!(url.scheme(), "javascript" | "data" | "vbscript" | "file") => {
            w.push(format!("{what}: dropped unsafe URL `{}`", short(href)));
            None
        }
        Some(url) => Some(url),
        None => {
            w.push(format!(
                "{what}: cannot make `{}` an absolute URL",
                short(href)
            ));
            None
        }
    }
}

fn short(text: &str) -> String {
    let mut s: String = text.chars().take(80).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

/// A title-like text as plain text; `None` when empty.
fn plain_text(text: &RawText) -> Option<String> {
    let plain = match text.kind {
        TextKind::Plain => collapse_whitespace(&text.value),
        TextKind::Html | TextKind::Xhtml => html_to_text(&text.value),
        TextKind::MaybeHtml if looks_like_html(&text.value) => html_to_text(&text.value),
        TextKind::MaybeHtml => collapse_whitespace(&text.value),
    };
    (!plain.is_empty()).then_some(plain)
}

/// A summary or content as sanitized HTML; `None` when empty.
fn to_html(text: &RawText, base: Option<&Url>) -> Option<String> {
    let html = match text.kind {
        TextKind::Plain => text_to_html(&text.value),
        TextKind::Html | TextKind::Xhtml | TextKind::MaybeHtml => sanitize_html(&text.value, base),
    };
    let html = html.trim();
    (!html.is_empty()).then(|| html.to_string())
}

/// Display names (or emails when there is no name), without duplicates.
fn names(people: &[RawPerson]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in people {
        let name = p
            .name
            .as_deref()
            .map(|n| {
                // RSS `email (Name)` leaves the parentheses on the name.
                let n = n.trim();
                let n = n
                    .strip_prefix('(')
                    .and_then(|n| n.strip_suffix(')'))
                    .unwrap_or(n);
                collapse_whitespace(n)
            })
            .filter(|n| !n.is_empty())
            .or_else(|| {
                p.email
                    .as_deref()
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_string)
            });
        if let Some(name) = name
            && !out.contains(&name)
        {
            out.push(name);
        }
    }
    out
}

fn enclosure(
    e: &RawEnclosure,
    bases: &[Option<&Url>],
    what: &dyn fmt::Display,
    w: &mut Warn,
) -> Option<Enclosure> {
    let url = absolute(&e.url, bases, &format_args!("{what} enclosure"), w)?;
    let mime_type = e
        .mime_type
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| guess_mime(&url).to_string());
    Some(Enclosure {
        url,
        mime_type,
        length: e.length.unwrap_or(0),
    })
}

/// A media type from the URL's extension, for enclosures that have none.
fn guess_mime(url: &str) -> &'static str {
    let path = Url::parse(url)
        .map(|u| u.path().to_ascii_lowercase())
        .unwrap_or_default();
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "ogg" | "oga" => "audio/ogg",
        "opus" => "audio/opus",
        "wav" => "audio/wav",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ParseOptions, parse_feed, parse_feed_unfinished};

    fn rss(description: &str) -> String {
        format!(
            "<rss version=\"2.0\"><channel><title>T</title><item><guid>g</guid>\
             <title>One</title><description>{description}</description></item></channel></rss>"
        )
    }

    fn digest(body: &str, base: &str) -> [u8; 16] {
        let opts = ParseOptions {
            content_type: None,
            base_url: Some(base),
        };
        let feed = parse_feed_unfinished(body.as_bytes(), &opts).unwrap();
        feed.entries[0].digest(&[])
    }

    #[test]
    fn an_unfinished_digest_changes_with_what_the_finished_entry_is_made_of() {
        let body = rss("&lt;a href=\"/x\"&gt;x&lt;/a&gt;");
        let base = "https://a.example/feed";
        assert_eq!(digest(&body, base), digest(&body, base));
        // Other markup, another base for its relative link, another title.
        assert_ne!(
            digest(&body, base),
            digest(&rss("&lt;a href=\"/y\"&gt;x&lt;/a&gt;"), base)
        );
        assert_ne!(digest(&body, base), digest(&body, "https://b.example/feed"));
        assert_ne!(
            digest(&body, base),
            digest(&body.replace("<title>One", "<title>Two"), base)
        );
    }

    #[test]
    fn finished_is_parse_feed_and_hollow_keeps_only_the_digest() {
        let body = rss("&lt;p&gt;Hi&lt;script&gt;x()&lt;/script&gt;&lt;/p&gt;");
        let opts = ParseOptions::default();
        let whole = parse_feed(body.as_bytes(), &opts).unwrap();
        let unfinished = parse_feed_unfinished(body.as_bytes(), &opts).unwrap();
        assert_eq!(unfinished.clone().finish(), whole);
        let finished = &whole.entries[0];
        assert_eq!(finished.content_html.as_deref(), Some("<p>Hi</p>"));
        let entry = unfinished.entries[0].clone();
        assert_eq!(entry.entry().content_html, None);
        let hollow = entry.hollow(finished.content_digest());
        assert_eq!(hollow.content_html, None);
        assert_eq!(hollow.title, finished.title);
        assert_eq!(hollow.content_digest(), finished.content_digest());
    }
}
