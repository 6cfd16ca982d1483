//! The feed-rs adapter: the only module that knows feed-rs. It prepares the
//! decoded text for feed-rs (working around its gaps: RSS without a known
//! `version`, Atom 0.3 and RSS 0.90 namespaces, Atom text constructs with
//! types it rejects), runs it without letting it invent ids or judge dates,
//! and converts its model into the reader-neutral [`RawFeed`].
//!
//! How feed-rs is steered:
//! * ids: feed-rs fills a missing guid/atom:id/JSON id from a hash of the
//!   link and title (or a random UUID). Our id generator returns an empty
//!   string instead, so an empty id means "none upstream".
//! * dates: our timestamp parser records the raw text and returns a sentinel
//!   instant (far in the past) that encodes its index; the adapter maps it
//!   back to the text, and normalization parses it (and warns when it cannot).
//! * sanitizing is off: normalization sanitizes.
//!
//! Its files: this one reads an XML feed (choosing the pre-passes by the
//! root element) and runs feed-rs; [`rss`] and [`atom`] hold the text edits
//! made before feed-rs sees an RSS-family (RSS, RDF, CDF) or Atom document;
//! [`json`] reads a JSON Feed; [`convert`] maps feed-rs's model to
//! [`RawFeed`].

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use feed_rs::model;
use feed_rs::parser::{Builder, ParseErrorKind, ParseFeedError};
use url::Url;

use super::detect::XmlRoot;
use super::raw::RawFeed;
use super::xml_scan::{EntryLayout, Token, Tokenizer, apply_edits, entry_bases};
use super::{FeedFormat, ParseError};

mod atom;
mod convert;
mod json;
mod rss;

use atom::{atom_edits, root_prefix};
use convert::convert;
pub(crate) use json::read_json;
use rss::{
    cdf_edits, dublin_core_edits, item_body_edits, rdf_item_abouts, rdf_item_links, wrap_channel,
};

const ATOM10_NS: &str = "http://www.w3.org/2005/Atom";
const ATOM03_NS: &str = "http://purl.org/atom/ns#";
const RSS10_NS: &str = "http://purl.org/rss/1.0/";
const RSS090_NS: &str = "http://my.netscape.com/rdf/simple/0.9/";

/// First second of the sentinel range used for dates (about 1200 BC).
const DATE_SENTINEL_BASE: i64 = -100_000_000_000;

/// Reads an XML feed (Atom, RSS 0.9x/1.0/2.0).
pub(crate) fn read_xml(
    text: &str,
    root: &XmlRoot,
    base: Option<&Url>,
) -> Result<RawFeed, ParseError> {
    let mut warnings = Vec::new();
    let (format, prepared, layout) = prepare_xml(text, root, &mut warnings)?;
    let (feed, dates) = match run_feed_rs(prepared.as_bytes(), base) {
        Err(ParseError::Malformed(m)) if m == READER_PANIC => {
            // feed-rs panics on some author strings (an e-mail followed by
            // a multi-byte character: found by fuzzing). Read the feed again
            // without the RSS person elements rather than lose every item.
            let stripped = strip_person_elements(&prepared);
            let again = run_feed_rs(stripped.as_bytes(), base)?;
            warnings
                .push("author elements dropped: the feed parser could not read them".to_string());
            again
        }
        other => other?,
    };
    let mut raw = convert(feed, format, &dates);
    super::hints::read(&prepared, &mut raw.hints);
    if matches!(format, FeedFormat::Rss10 | FeedFormat::Rss090) {
        // The rdf:about of an RSS 1.0 item is its identifier.
        let abouts = rdf_item_abouts(&prepared);
        if abouts.len() == raw.entries.len() {
            for (entry, about) in raw.entries.iter_mut().zip(abouts) {
                if entry.id.is_none() {
                    entry.id = about.filter(|a| !a.trim().is_empty());
                }
            }
        }
    }
    // Explicit xml:base per entry (feed-rs keeps it for links only); none
    // without an `xml:base` attribute anywhere.
    if let Some(layout) = layout
        && prepared.contains("xml:base")
    {
        let bases = entry_bases(&prepared, layout, base);
        if bases.len() == raw.entries.len() {
            for (entry, bases) in raw.entries.iter_mut().zip(bases) {
                entry.summary_base = bases.summary.or_else(|| bases.entry.clone());
                entry.content_base = bases.content.or(bases.entry);
            }
        }
    }
    warnings.append(&mut raw.warnings);
    raw.warnings = warnings;
    Ok(raw)
}

/// The error for a panic inside feed-rs (caught, never propagated).
const READER_PANIC: &str = "the feed parser failed on this input";

/// `text` without RSS `<author>`, `<managingEditor>` and `<webMaster>`
/// elements (whatever their content), for a second reading after feed-rs
/// panicked on one of them.
fn strip_person_elements(text: &str) -> String {
    let mut out = text.to_string();
    for name in ["author", "managingEditor", "webMaster"] {
        let open = format!("<{name}");
        let close = format!("</{name}>");
        let mut from = 0;
        while let Some(rel) = out[from..].find(&open) {
            let start = from + rel;
            let after = out[start + open.len()..].chars().next();
            if !matches!(
                after,
                Some('>') | Some(' ') | Some('\t') | Some('\n') | Some('\r')
            ) {
                from = start + open.len();
                continue;
            }
            match out[start..].find(&close) {
                Some(end) => out.replace_range(start..start + end + close.len(), ""),
                None => break,
            }
            from = start;
        }
    }
    out
}

/// Runs feed-rs on prepared input. Returns the feed and the raw date texts
/// that the sentinel instants index.
fn run_feed_rs(input: &[u8], base: Option<&Url>) -> Result<(model::Feed, Vec<String>), ParseError> {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let hook_log = Arc::clone(&log);
    let parser = Builder::new()
        .base_uri(base.map(Url::as_str))
        .sanitize_content(false)
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(move |text| {
            let mut log = hook_log.lock().ok()?;
            let index = i64::try_from(log.len()).ok()?;
            log.push(text.to_string());
            DateTime::from_timestamp(DATE_SENTINEL_BASE + index, 0)
        })
        .build();
    let result = catch_unwind(AssertUnwindSafe(|| parser.parse(input)))
        .map_err(|_| ParseError::Malformed(READER_PANIC.into()))?;
    let feed = result.map_err(map_error)?;
    let dates = log.lock().map(|l| l.clone()).unwrap_or_default();
    Ok((feed, dates))
}

fn map_error(e: ParseFeedError) -> ParseError {
    match e {
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => ParseError::NotAFeed(
            "no feed element found (expected <rss><channel>, <feed> or <rdf:RDF>)".into(),
        ),
        ParseFeedError::JsonUnsupportedVersion(v) => {
            ParseError::NotAFeed(format!("unsupported JSON Feed version `{v}`"))
        }
        ParseFeedError::JsonSerde(e) => ParseError::Malformed(format!("invalid JSON Feed: {e}")),
        other => ParseError::Malformed(other.to_string()),
    }
}

/// The raw text behind a sentinel instant.
fn date_text(date: Option<DateTime<Utc>>, dates: &[String]) -> Option<String> {
    let index = date?.timestamp().checked_sub(DATE_SENTINEL_BASE)?;
    dates.get(usize::try_from(index).ok()?).cloned()
}

/// Decides the format and rewrites what feed-rs would reject or misread.
fn prepare_xml<'a>(
    text: &'a str,
    root: &XmlRoot,
    warnings: &mut Vec<String>,
) -> Result<(FeedFormat, Cow<'a, str>, Option<EntryLayout>), ParseError> {
    let mut edits = Vec::new();
    match root.local.as_str() {
        "rss" => {
            let version = root.version.as_deref();
            let format = FeedFormat::of_rss_version(version);
            if !matches!(version, Some("2.0" | "0.91" | "0.92" | "")) {
                // feed-rs only accepts these versions; read the others as 2.0.
                if let Some(Token::Start {
                    attrs, name_span, ..
                }) = Tokenizer::new(text).find(|t| matches!(t, Token::Start { .. }))
                {
                    match attrs.iter().find(|a| a.name == "version") {
                        Some(a) => edits.push((a.value_span.clone(), "2.0".to_string())),
                        None => {
                            edits.push((name_span.end..name_span.end, " version=\"2.0\"".into()))
                        }
                    }
                }
            }
            wrap_channel(text, &mut edits, warnings);
            if text.contains("fullitem") || text.contains("body") {
                item_body_edits(text, &mut edits);
            }
            dublin_core_edits(text, &mut edits);
            Ok((format, apply_edits(text, edits), Some(EntryLayout::Rss)))
        }
        "feed" | "entry" => {
            let atom03 = match root.namespace.as_deref() {
                Some(ATOM10_NS) => false,
                Some(ATOM03_NS) => true,
                _ => root.version.as_deref().map(str::trim) == Some("0.3"),
            };
            let atom_prefix = root_prefix(text);
            atom_edits(text, atom_prefix, atom03, &mut edits, warnings);
            let mut prepared = apply_edits(text, edits);
            let format = if atom03 {
                prepared = Cow::Owned(prepared.replace(ATOM03_NS, ATOM10_NS));
                FeedFormat::Atom03
            } else {
                FeedFormat::Atom10
            };
            Ok((format, prepared, Some(EntryLayout::Atom)))
        }
        "RDF" => {
            let mut edits = Vec::new();
            rdf_item_links(text, &mut edits);
            let prepared = apply_edits(text, edits);
            if root.default_namespace.as_deref() == Some(RSS090_NS) {
                Ok((
                    FeedFormat::Rss090,
                    Cow::Owned(prepared.replace(RSS090_NS, RSS10_NS)),
                    None,
                ))
            } else {
                Ok((FeedFormat::Rss10, prepared, None))
            }
        }
        "CHANNEL" | "channel" => {
            // A CDF document (an RSS document is rooted at <rss>).
            let mut edits = Vec::new();
            cdf_edits(text, &mut edits);
            Ok((
                FeedFormat::Cdf,
                apply_edits(text, edits),
                Some(EntryLayout::Rss),
            ))
        }
        other => Err(ParseError::NotAFeed(format!(
            "an XML document with root element <{other}>, not a feed"
        ))),
    }
}
