//! Normalization: the reader-neutral [`RawFeed`] -> [`ParsedFeed`]. Dates to
//! UTC (with a warning when unparseable), URLs to absolute, titles to plain
//! text, summary/content sanitized, enclosures completed. Independent of the
//! reader that produced the raw model.

use std::fmt;

use url::Url;

use super::dates::parse_date;
use super::raw::{RawEnclosure, RawEntry, RawFeed, RawLink, RawPerson, RawText, TextKind};
use super::sanitize::{
    collapse_whitespace, html_to_text, looks_like_html, sanitize_html, text_to_html,
};
use super::{ParsedFeed, Warning};
use crate::model::{Enclosure, Entry, FeedHints};

/// Turns what a reader extracted into the normalized feed.
pub(crate) fn normalize(
    raw: RawFeed,
    encoding: String,
    mut warnings: Vec<Warning>,
    base_url: Option<&Url>,
) -> ParsedFeed {
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

fn normalize_entry(raw: RawEntry, ctx: &EntryCtx, w: &mut Warn) -> Entry {
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

    let summary_base = raw.summary_base.as_ref().or(fallback_base);
    let content_base = raw.content_base.as_ref().or(fallback_base);
    let summary = raw.summary.as_ref().and_then(|t| to_html(t, summary_base));
    let content = raw.content.as_ref().and_then(|t| to_html(t, content_base));
    let (summary_html, content_html) = match (summary, content) {
        (Some(s), Some(c)) if s == c => (None, Some(c)),
        (s @ Some(_), c @ Some(_)) => (s, c),
        (Some(only), None) | (None, Some(only)) => (None, Some(only)),
        (None, None) => (None, None),
    };

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

    Entry {
        upstream_id: raw.id,
        title: raw.title.as_ref().and_then(plain_text),
        link,
        published,
        updated,
        authors: names(&raw.authors),
        summary_html,
        content_html,
        categories,
        enclosures,
        slug: None,
        attachments: Vec::new(),
        ruled_by: Vec::new(),
        full_text: None,
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
