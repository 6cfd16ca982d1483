//! Feed parsing: the bytes of a fetched feed -> a normalized [`ParsedFeed`].
//! Pure functions, no I/O.
//!
//! Pipeline, one path for every document: [`charset`] decodes the bytes to
//! UTF-8 (BOM, Content-Type charset, XML declaration, UTF-8, windows-1252
//! fallback); [`recover`] repairs broken XML (HTML entities, bare `&`,
//! invalid characters, truncation; JSON is left alone); [`detect`] sniffs
//! the content (HTML page, JSON, XML root); [`feedrs`] (the only module that
//! knows feed-rs) prepares the text for feed-rs, runs it and converts its
//! model into the intermediate [`raw::RawFeed`], with the polling hints
//! feed-rs does not read taken from the same text by [`hints`];
//! [`normalize`] turns that into [`ParsedFeed`] (dates, URLs, plain-text
//! titles; summaries and content kept raw in an [`Unfinished`] entry until
//! its `finish` runs them through [`sanitize_html`], ammonia with one
//! policy built once: [`parse_feed`] finishes every entry, a refresh only
//! those it has not seen; [`recover`] decodes HTML entities with
//! markup5ever's table). Every helper module serves that one path:
//! [`xml_scan`] is the small tag scanner of `detect`, `hints` and the
//! adapter's edits; [`dates`] the date parser; [`legacy`] the code pages
//! encoding_rs lacks (for `charset`); [`json_escapes`] the repair of bad
//! JSON string escapes; [`json_view`] the `syndic parse --json` view.
//!
//! Speed: a clean document is not copied between the steps (decoding,
//! repair and the adapter's edits borrow when they change nothing), and the
//! adapter's passes run only when a substring check shows they can apply.

use std::fmt;

use crate::model::{Entry, FeedHints};

mod charset;
mod dates;
mod detect;
mod feedrs;
mod hints;
mod json_escapes;
mod json_view;
mod legacy;
mod normalize;
mod raw;
mod recover;
mod sanitize;
mod warning;
pub use sanitize::escape_html;
mod xml_scan;

#[cfg(test)]
mod tests;

pub(crate) use charset::charset_param;
pub use json_view::to_json_view;
pub use normalize::Unfinished;
pub(crate) use sanitize::html_to_text;
pub use sanitize::sanitize_html;
pub use warning::{Warning, WarningKind};

/// The syndication format (and version) a document was read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FeedFormat {
    /// RSS 0.90 (RDF-based, Netscape namespace).
    Rss090,
    Rss091,
    Rss092,
    Rss093,
    Rss094,
    /// RSS with a missing or unrecognised `version` (read as RSS 2.0).
    Rss,
    /// RSS 1.0 (RDF).
    Rss10,
    Rss20,
    Atom03,
    Atom10,
    JsonFeed10,
    JsonFeed11,
    /// Microsoft's Channel Definition Format (1997), read as RSS.
    Cdf,
}

impl FeedFormat {
    /// The RSS format an `<rss version="...">` names (`None`: no version).
    pub(crate) fn of_rss_version(version: Option<&str>) -> FeedFormat {
        match version.map(str::trim) {
            Some(v) if v == "2" || v.starts_with("2.") => FeedFormat::Rss20,
            Some("0.91") => FeedFormat::Rss091,
            Some("0.92") => FeedFormat::Rss092,
            Some("0.93") => FeedFormat::Rss093,
            Some("0.94") => FeedFormat::Rss094,
            _ => FeedFormat::Rss,
        }
    }
}

/// The names `syndic parse --json` prints: `rss2.0`, `atom1.0`, `rss1.0`,
/// `json1.1`, ... (`rss` for RSS without a known version).
impl fmt::Display for FeedFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FeedFormat::Rss090 => "rss0.90",
            FeedFormat::Rss091 => "rss0.91",
            FeedFormat::Rss092 => "rss0.92",
            FeedFormat::Rss093 => "rss0.93",
            FeedFormat::Rss094 => "rss0.94",
            FeedFormat::Rss => "rss",
            FeedFormat::Rss10 => "rss1.0",
            FeedFormat::Rss20 => "rss2.0",
            FeedFormat::Atom03 => "atom0.3",
            FeedFormat::Atom10 => "atom1.0",
            FeedFormat::JsonFeed10 => "json1.0",
            FeedFormat::JsonFeed11 => "json1.1",
            FeedFormat::Cdf => "cdf",
        })
    }
}

/// A feed, normalized; its entries finished ([`Entry`], the default) or
/// not yet sanitized ([`Unfinished`], from [`parse_feed_unfinished`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedFeed<E = Entry> {
    pub format: FeedFormat,
    /// The charset actually used to decode, e.g. `utf-8`, `windows-1252`.
    pub encoding: String,
    /// Plain text.
    pub title: Option<String>,
    pub home_page_url: Option<String>,
    pub feed_url: Option<String>,
    /// WebSub hubs the document names (`link rel="hub"`), absolute.
    pub hubs: Vec<String>,
    /// Plain text.
    pub description: Option<String>,
    pub language: Option<String>,
    pub icon: Option<String>,
    pub authors: Vec<String>,
    /// RSS `<ttl>`.
    pub ttl_minutes: Option<u32>,
    /// How often the feed asks to be polled: `<ttl>`, `<skipHours>`,
    /// `<skipDays>`, `sy:updatePeriod` / `sy:updateFrequency`.
    pub hints: FeedHints,
    pub entries: Vec<E>,
    /// Parallel to `entries`: the item's `external_url` (JSON Feed
    /// `external_url`, Atom `link rel="related"`), absolute.
    pub external_urls: Vec<Option<String>>,
    /// Recoveries and problems that did not stop the parse.
    pub warnings: Vec<Warning>,
}

impl ParsedFeed<Unfinished> {
    /// The feed with every entry finished (sanitized).
    pub fn finish(self) -> ParsedFeed {
        ParsedFeed {
            format: self.format,
            encoding: self.encoding,
            title: self.title,
            home_page_url: self.home_page_url,
            feed_url: self.feed_url,
            hubs: self.hubs,
            description: self.description,
            language: self.language,
            icon: self.icon,
            authors: self.authors,
            ttl_minutes: self.ttl_minutes,
            hints: self.hints,
            entries: self.entries.into_iter().map(Unfinished::finish).collect(),
            external_urls: self.external_urls,
            warnings: self.warnings,
        }
    }
}

/// What the caller knows about the body besides its bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParseOptions<'a> {
    /// The HTTP `Content-Type`, for its `charset`.
    pub content_type: Option<&'a str>,
    /// The URL the feed was fetched from: the base for relative URLs.
    pub base_url: Option<&'a str>,
}

/// Why a body could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not a feed at all (an HTML page, another XML vocabulary, ...).
    #[error("not a feed: {0}")]
    NotAFeed(String),
    /// A feed, but broken beyond what the parser recovers from.
    #[error("malformed feed: {0}")]
    Malformed(String),
    /// No content.
    #[error("empty document")]
    Empty,
}

/// True when a warning says the document itself was broken (see
/// [`WarningKind::is_bozo`]).
pub fn is_bozo_warning(warning: &Warning) -> bool {
    warning.kind.is_bozo()
}

/// True when a warning says the document was truncated (and repaired by
/// keeping the complete items): the response was probably cut short, so its
/// cache validators should not be trusted.
pub fn is_truncation_warning(warning: &Warning) -> bool {
    warning.kind == WarningKind::Truncated
}

/// Parses the bytes of a feed (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed
/// 1.0/1.1), recognised by content, into a normalized [`ParsedFeed`].
/// Never panics.
pub fn parse_feed(bytes: &[u8], opts: &ParseOptions) -> Result<ParsedFeed, ParseError> {
    parse_feed_unfinished(bytes, opts).map(ParsedFeed::finish)
}

/// [`parse_feed`] without the sanitizing of summaries and content, the
/// costly part (ammonia): each entry's [`Unfinished::finish`] does it. A
/// refresh finishes only the entries whose [`Unfinished::digest`] it has
/// not seen before.
pub fn parse_feed_unfinished(
    bytes: &[u8],
    opts: &ParseOptions,
) -> Result<ParsedFeed<Unfinished>, ParseError> {
    let (raw, encoding, warnings, base_url) = read_raw(bytes, opts)?;
    Ok(normalize::normalize(
        raw,
        encoding,
        warnings,
        base_url.as_ref(),
    ))
}

/// What [`read_raw`] returns: the raw model, the charset, the warnings so
/// far and the parsed base URL.
type ReadRaw = (raw::RawFeed, String, Vec<Warning>, Option<url::Url>);

/// The steps of [`parse_feed`] before normalization: decoding, repair,
/// content sniffing and the feed-rs adapter.
fn read_raw(bytes: &[u8], opts: &ParseOptions) -> Result<ReadRaw, ParseError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::Empty);
    }
    let decoded = charset::decode(bytes, opts.content_type);
    let mut warnings = decoded.warnings;
    let base_url = opts.base_url.and_then(|b| {
        let parsed = sanitize::parse_base(b);
        if parsed.is_none() {
            warnings.push(Warning::lenient(format!(
                "ignored base URL `{b}`: not an absolute URL"
            )));
        }
        parsed
    });
    let text: &str = &decoded.text;
    let repaired = if text.trim_start().starts_with(['{', '[']) {
        None
    } else {
        let r = recover::repair(text);
        if r.truncated_before_items {
            return Err(ParseError::Malformed(
                "the document breaks off before its first complete item \
                 (truncated download?)"
                    .into(),
            ));
        }
        warnings.extend(r.warnings);
        Some(r.text)
    };
    let text = repaired.as_deref().unwrap_or(text);
    let raw = match detect::detect(text)? {
        detect::Body::Json => feedrs::read_json(text)?,
        detect::Body::Xml(root) => feedrs::read_xml(text, &root, base_url.as_ref())?,
    };
    Ok((raw, decoded.encoding, warnings, base_url))
}
