//! The feed-rs adapter: the only file that knows feed-rs. It prepares the
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

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use feed_rs::model;
use feed_rs::parser::{Builder, ParseErrorKind, ParseFeedError};
use serde_json::Value;
use url::Url;

use super::detect::XmlRoot;
use super::raw::{
    FeedLink, RawEnclosure, RawEntry, RawFeed, RawLink, RawPerson, RawText, TextKind,
};
use super::xml_scan::{
    EntryLayout, Token, Tokenizer, apply_edits, atom03_rename, entry_bases, local_name, prefix,
};
use super::{FeedFormat, ParseError};

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

/// Reads a JSON Feed.
pub(crate) fn read_json(text: &str) -> Result<RawFeed, ParseError> {
    let mut warnings = Vec::new();
    let mut value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(first) => {
            let invalid = || ParseError::Malformed(format!("invalid JSON: {first}"));
            let (fixed, count) = super::json_escapes::repair(text).ok_or_else(invalid)?;
            let value = serde_json::from_str(&fixed).map_err(|_| invalid())?;
            warnings.push(format!(
                "{count} invalid JSON string escape(s) (a lone surrogate, an unknown escape or a raw control character) repaired, bad ones as U+FFFD; the first: {first}"
            ));
            value
        }
    };
    let Some(obj) = value.as_object_mut() else {
        return Err(ParseError::NotAFeed(
            "a JSON value that is not an object".into(),
        ));
    };
    let version = obj
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    // A bare version number ("1.1", as gofeed's fixtures have) is accepted
    // when the object also has an `items` array.
    let bare = matches!(version.as_str(), "1" | "1.0" | "1.1")
        && obj.get("items").is_some_and(Value::is_array);
    let Some(minor) = version
        .strip_prefix("https://jsonfeed.org/version/")
        .or_else(|| version.strip_prefix("http://jsonfeed.org/version/"))
        .or(bare.then_some(version.as_str()))
    else {
        return Err(ParseError::NotAFeed(
            "JSON without a jsonfeed.org `version`: not a JSON Feed".into(),
        ));
    };
    let format = match minor.trim_end_matches('/') {
        "1" | "1.0" => FeedFormat::JsonFeed10,
        "1.1" => FeedFormat::JsonFeed11,
        other => {
            warnings.push(format!("unknown JSON Feed version `{other}`, read as 1.1"));
            FeedFormat::JsonFeed11
        }
    };
    // Leniency feed-rs lacks: title and items are optional, ids may be numbers.
    obj.insert(
        "version".into(),
        Value::String("https://jsonfeed.org/version/1.1".into()),
    );
    if !obj.get("title").is_some_and(Value::is_string) {
        obj.insert("title".into(), Value::String(String::new()));
    }
    if !obj.get("items").is_some_and(Value::is_array) {
        if obj.contains_key("items") {
            warnings.push("`items` is not an array; ignored".into());
        }
        obj.insert("items".into(), Value::Array(Vec::new()));
    }
    drop_mistyped(obj, FEED_STRINGS, &mut warnings, "feed");
    if let Some(Value::Array(items)) = obj.get_mut("items") {
        items.retain(Value::is_object);
        for (i, item) in items.iter_mut().enumerate() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            if let Some(id) = item.get_mut("id") {
                match id {
                    Value::Number(n) => *id = Value::String(n.to_string()),
                    Value::String(_) => {}
                    _ => *id = Value::Null,
                }
            }
            drop_mistyped(
                item,
                ITEM_STRINGS,
                &mut warnings,
                &format!("item {}", i + 1),
            );
        }
    }
    let str_field = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };

    let bytes = serde_json::to_vec(&value).map_err(|e| ParseError::Malformed(e.to_string()))?;
    let (feed, dates) = run_feed_rs(&bytes, None)?;
    let mut raw = convert(feed, format, &dates);
    raw.home_page_url = str_field(&value, "home_page_url");
    raw.feed_url = str_field(&value, "feed_url");
    raw.icon = str_field(&value, "icon").or_else(|| str_field(&value, "favicon"));
    raw.description = str_field(&value, "description").map(|d| RawText::new(TextKind::Plain, d));
    raw.language = str_field(&value, "language");
    let items: &[Value] = value
        .get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if items.len() == raw.entries.len() {
        for (entry, item) in raw.entries.iter_mut().zip(items) {
            let external = str_field(item, "external_url");
            let link = str_field(item, "url").or_else(|| external.clone());
            entry.links = link
                .map(|href| RawLink {
                    href,
                    rel: "alternate".into(),
                    media_type: None,
                })
                .into_iter()
                .chain(external.map(|href| RawLink {
                    href,
                    rel: "related".into(),
                    media_type: None,
                }))
                .collect();
            entry.summary = str_field(item, "summary").map(|s| RawText::new(TextKind::Plain, s));
        }
    }
    warnings.append(&mut raw.warnings);
    raw.warnings = warnings;
    Ok(raw)
}

/// JSON Feed members feed-rs reads as strings.
const FEED_STRINGS: &[&str] = &[
    "home_page_url",
    "feed_url",
    "language",
    "description",
    "icon",
    "favicon",
];
const ITEM_STRINGS: &[&str] = &[
    "url",
    "external_url",
    "title",
    "content_html",
    "content_text",
    "summary",
    "date_published",
    "date_modified",
];

/// Removes (with a warning) JSON Feed members whose type would make feed-rs
/// reject the whole feed: non-string scalars, authors that are not objects,
/// tags that are not strings, attachments without string url and mime_type.
fn drop_mistyped(
    obj: &mut serde_json::Map<String, Value>,
    strings: &[&str],
    warnings: &mut Vec<String>,
    what: &str,
) {
    let mut dropped = Vec::new();
    for key in strings {
        if obj
            .get(*key)
            .is_some_and(|v| !v.is_string() && !v.is_null())
        {
            obj.remove(*key);
            dropped.push(key.to_string());
        }
    }
    let person_ok = |p: &Value| {
        p.as_object().is_some_and(|p| {
            ["name", "url"]
                .iter()
                .all(|k| p.get(*k).is_none_or(|v| v.is_string() || v.is_null()))
        })
    };
    if obj.get("author").is_some_and(|a| !person_ok(a)) {
        obj.remove("author");
        dropped.push("author".into());
    }
    if let Some(Value::Array(authors)) = obj.get_mut("authors") {
        authors.retain(person_ok);
    } else if obj.get("authors").is_some_and(|a| !a.is_null()) {
        obj.remove("authors");
        dropped.push("authors".into());
    }
    if let Some(Value::Array(tags)) = obj.get_mut("tags") {
        tags.retain(Value::is_string);
    } else if obj.get("tags").is_some_and(|t| !t.is_null()) {
        obj.remove("tags");
        dropped.push("tags".into());
    }
    if let Some(Value::Array(attachments)) = obj.get_mut("attachments") {
        attachments.retain(|a| {
            a.get("url").is_some_and(Value::is_string)
                && a.get("mime_type").is_some_and(Value::is_string)
                && a.get("title").is_none_or(|t| t.is_string() || t.is_null())
                && a.get("size_in_bytes")
                    .is_none_or(|n| n.is_u64() || n.is_null())
        });
    } else if obj.get("attachments").is_some_and(|a| !a.is_null()) {
        obj.remove("attachments");
        dropped.push("attachments".into());
    }
    if !dropped.is_empty() {
        warnings.push(format!("{what}: ignored mistyped {}", dropped.join(", ")));
    }
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

/// An `<rss>` without `<channel>` (items or nothing directly inside): wraps
/// the root's content in a channel, which feed-rs requires.
fn wrap_channel(
    text: &str,
    edits: &mut Vec<(std::ops::Range<usize>, String)>,
    warnings: &mut Vec<String>,
) {
    let mut root: Option<(&str, std::ops::Range<usize>, bool)> = None;
    let mut root_end: Option<std::ops::Range<usize>> = None;
    for token in Tokenizer::new(text) {
        match token {
            Token::Start {
                name,
                span,
                self_closing,
                ..
            } => {
                if root.is_none() {
                    root = Some((name, span, self_closing));
                } else if local_name(name) == "channel" {
                    return;
                }
            }
            Token::End { name, name_span } => {
                if root.as_ref().is_some_and(|(r, _, _)| *r == name) {
                    // The `<` of `</rss>` is two bytes before the name.
                    root_end = Some(name_span.start.saturating_sub(2)..name_span.start);
                }
            }
            Token::Doctype { .. } => {}
        }
    }
    let (Some((_, span, false)), Some(end)) = (root, root_end) else {
        return;
    };
    warnings.push("no <channel> in <rss>: read its content as the channel".into());
    edits.push((span.end..span.end, "<channel>".into()));
    edits.push((end.start..end.start, "</channel>".into()));
}

/// CDF (`<CHANNEL HREF>` with `<TITLE>`, `<ABSTRACT>`, `<ITEM HREF
/// LASTMOD>`) rewritten as RSS 2.0: the root channel becomes
/// `<rss><channel>`, HREF a `<link>`, ABSTRACT a `<description>`, LASTMOD a
/// `<dc:date>`. Nested channels are renamed so that they are ignored.
fn cdf_edits(text: &str, edits: &mut Vec<(std::ops::Range<usize>, String)>) {
    let mut depth = 0usize;
    for token in Tokenizer::new(text) {
        match token {
            Token::Start {
                name,
                ref span,
                self_closing,
                ..
            } => {
                let span = span.clone();
                let upper = local_name(name).to_ascii_uppercase();
                let href = token.attr("HREF").or_else(|| token.attr("href"));
                let lastmod = token.attr("LASTMOD").or_else(|| token.attr("lastmod"));
                let extra = |out: &mut String| {
                    if let Some(h) = &href {
                        out.push_str(&format!("<link>{}</link>", super::sanitize::escape(h)));
                    }
                    if let Some(d) = &lastmod {
                        out.push_str(&format!(
                            "<dc:date>{}</dc:date>",
                            super::sanitize::escape(d)
                        ));
                    }
                };
                let mut out = String::new();
                match upper.as_str() {
                    "CHANNEL" => {
                        depth += 1;
                        if depth == 1 {
                            out.push_str(
                                "<rss version=\"2.0\" \
                                 xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>",
                            );
                            extra(&mut out);
                        } else {
                            out.push_str("<x-cdf-channel>");
                        }
                        if self_closing {
                            depth -= 1;
                            out.push_str(if depth == 0 {
                                "</channel></rss>"
                            } else {
                                "</x-cdf-channel>"
                            });
                        }
                    }
                    "ITEM" => {
                        out.push_str("<item>");
                        extra(&mut out);
                        if self_closing {
                            out.push_str("</item>");
                        }
                    }
                    "TITLE" if !self_closing => out.push_str("<title>"),
                    "ABSTRACT" if !self_closing => out.push_str("<description>"),
                    _ => continue,
                }
                edits.push((span, out));
            }
            Token::End { name, name_span } => {
                let end = text[name_span.end..]
                    .find('>')
                    .map_or(name_span.end, |i| name_span.end + i + 1);
                let range = name_span.start.saturating_sub(2)..end;
                let replacement = match local_name(name).to_ascii_uppercase().as_str() {
                    "CHANNEL" => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            "</channel></rss>"
                        } else {
                            "</x-cdf-channel>"
                        }
                    }
                    "ITEM" => "</item>",
                    "TITLE" => "</title>",
                    "ABSTRACT" => "</description>",
                    _ => continue,
                };
                edits.push((range, replacement.to_string()));
            }
            Token::Doctype { .. } => {}
        }
    }
}

/// The `rdf:about` of each RSS 0.90/1.0 `<item>`, in document order.
fn rdf_item_abouts(text: &str) -> Vec<Option<String>> {
    Tokenizer::new(text)
        .filter(|t| matches!(t, Token::Start { name, .. } if local_name(name) == "item"))
        .map(|t| t.attr("rdf:about").or_else(|| t.attr("about")))
        .collect()
}

/// RSS 1.0 items without `<link>` (their `rdf:about` is their URI, which
/// the spec says should equal the link): feed-rs drops them, so the
/// `rdf:about` is given to them as `<link>`.
fn rdf_item_links(text: &str, edits: &mut Vec<(std::ops::Range<usize>, String)>) {
    // (end of the item's start tag, raw rdf:about, has a link)
    let mut open: Option<(usize, Option<&str>, bool)> = None;
    for token in Tokenizer::new(text) {
        match token {
            Token::Start {
                name,
                span,
                attrs,
                self_closing,
                ..
            } => match local_name(name) {
                "item" if !self_closing => {
                    let about = attrs
                        .iter()
                        .find(|a| local_name(a.name) == "about")
                        .map(|a| a.value);
                    open = Some((span.end, about, false));
                }
                "link" => {
                    if let Some(item) = open.as_mut() {
                        item.2 = true;
                    }
                }
                _ => {}
            },
            Token::End { name, .. } if local_name(name) == "item" => {
                if let Some((at, Some(about), false)) = open.take() {
                    edits.push((at..at, format!("<link>{about}</link>")));
                }
            }
            _ => {}
        }
    }
}

/// Dublin Core elements feed-rs does not read in RSS 2.0, renamed to their
/// RSS equivalents inside `<item>` and `<channel>` (prefix `dc` only):
/// every `dc:subject` becomes a `category`; `dc:title` and
/// `dc:description` become `title`/`description` (and a channel's
/// `dc:language` its `language`) when those are missing;
/// `dc:author` becomes `dc:creator` when there is no creator or author; a
/// channel's first `author`, `dc:creator` or `dc:author` becomes its
/// `managingEditor` when it has none; `media:category` becomes a
/// `category`, `itunes:summary` the `description` and an item's
/// `itunes:author` its `author` when those are missing; a channel's
/// `itunes:image` (or `itunes:link rel="image"`) its `<image>` when it has
/// none.
fn dublin_core_edits(text: &str, edits: &mut Vec<(std::ops::Range<usize>, String)>) {
    type Child<'a> = (
        &'a str,
        std::ops::Range<usize>,
        Option<std::ops::Range<usize>>,
    );
    struct Frame<'a> {
        name: &'a str,
        /// Direct children: (name, start name span, end name span).
        children: Vec<Child<'a>>,
        /// Image URLs of `itunes:image` / `itunes:link rel="image"` children:
        /// (whole start tag, URL).
        images: Vec<(std::ops::Range<usize>, String)>,
    }
    let mut stack: Vec<Frame> = Vec::new();
    for token in Tokenizer::new(text) {
        match token {
            Token::Start {
                name,
                ref name_span,
                ref span,
                self_closing,
                ..
            } => {
                // Only the children of items and channels are renamed.
                if let Some(parent) = stack
                    .last_mut()
                    .filter(|p| matches!(local_name(p.name), "item" | "channel"))
                {
                    let is_image = name == "itunes:image"
                        || (name == "itunes:link" && token.attr("rel").as_deref() == Some("image"));
                    let image_url = if is_image {
                        token
                            .attr("href")
                            .or_else(|| token.attr("url"))
                            .filter(|u| !u.trim().is_empty())
                    } else {
                        None
                    };
                    parent.children.push((name, name_span.clone(), None));
                    if let Some(url) = image_url {
                        parent.images.push((span.clone(), url));
                    }
                }
                if !self_closing {
                    stack.push(Frame {
                        name,
                        children: Vec::new(),
                        images: Vec::new(),
                    });
                }
            }
            Token::End { name, name_span } => {
                let Some(pos) = stack.iter().rposition(|f| f.name == name) else {
                    continue;
                };
                let frame = stack.swap_remove(pos);
                stack.truncate(pos);
                if let Some(parent) = stack.last_mut()
                    && let Some(child) = parent
                        .children
                        .iter_mut()
                        .rev()
                        .find(|c| c.0 == name && c.2.is_none())
                {
                    child.2 = Some(name_span);
                }
                if !matches!(local_name(frame.name), "item" | "channel") {
                    continue;
                }
                let has = |n: &str| frame.children.iter().any(|c| c.0 == n);
                let channel = local_name(frame.name) == "channel";
                if channel
                    && !has("image")
                    && let Some((tag, url)) = frame.images.first()
                {
                    // Inserted before the itunes element (which stays).
                    edits.push((
                        tag.start..tag.start,
                        format!("<image><url>{}</url></image>", super::sanitize::escape(url)),
                    ));
                }
                let mut editor_taken = has("managingEditor");
                for (child, start, end) in &frame.children {
                    let renamed = match *child {
                        // A channel's author (feedparser reads these too).
                        "author" | "dc:creator" | "dc:author" if channel && !editor_taken => {
                            editor_taken = true;
                            "managingEditor"
                        }
                        "dc:subject" | "media:category" => "category",
                        "dc:language" if channel && !has("language") => "language",
                        "itunes:summary" if !has("description") && !has("dc:description") => {
                            "description"
                        }
                        "itunes:subtitle"
                            if channel
                                && !has("description")
                                && !has("dc:description")
                                && !has("itunes:summary") =>
                        {
                            "description"
                        }
                        "itunes:author" if !channel && !has("author") && !has("dc:creator") => {
                            "author"
                        }
                        "dc:title" if !has("title") => "title",
                        "dc:description" if !has("description") => "description",
                        "dc:author" if !has("dc:creator") && !has("author") => "dc:creator",
                        _ => continue,
                    };
                    if let Some(end) = end {
                        edits.push((start.clone(), renamed.to_string()));
                        edits.push((end.clone(), renamed.to_string()));
                    }
                }
            }
            Token::Doctype { .. } => {}
        }
    }
}

const CONTENT_ENCODED_START: &str =
    "<content:encoded xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">";

/// RSS items that carry their full text in `<fullitem>` (escaped HTML) or
/// in an inline XHTML `<body>` / `<xhtml:body>` (feedparser reads both as
/// content; feed-rs ignores them): rewritten as `<content:encoded>`, the
/// XHTML serialized into a CDATA section.
fn item_body_edits(text: &str, edits: &mut Vec<(std::ops::Range<usize>, String)>) {
    let mut stack: Vec<&str> = Vec::new();
    // (local name, start tag span) of the body being rewritten.
    let mut open: Option<(&str, std::ops::Range<usize>, usize)> = None;
    for token in Tokenizer::new(text) {
        match token {
            Token::Start {
                name,
                span,
                self_closing,
                ..
            } => {
                let local = local_name(name);
                if open.is_none()
                    && !self_closing
                    && matches!(local, "fullitem" | "body")
                    && stack.last().is_some_and(|p| local_name(p) == "item")
                {
                    open = Some((local, span, stack.len()));
                }
                if !self_closing {
                    stack.push(name);
                }
            }
            Token::End { name, name_span } => {
                if let Some(pos) = stack.iter().rposition(|n| *n == name) {
                    stack.truncate(pos);
                }
                let Some((local, start, depth)) = open.clone() else {
                    continue;
                };
                if stack.len() != depth || local_name(name) != local {
                    continue;
                }
                open = None;
                let end_start = name_span.start.saturating_sub(2);
                let end_end = text[name_span.end..]
                    .find('>')
                    .map_or(name_span.end, |i| name_span.end + i + 1);
                let inner = text.get(start.end..end_start).unwrap_or("");
                if local == "fullitem" {
                    edits.push((start, CONTENT_ENCODED_START.to_string()));
                    edits.push((end_start..end_end, "</content:encoded>".into()));
                } else if !inner.contains("]]>") && !inner.contains("<![CDATA[") {
                    edits.push((start, format!("{CONTENT_ENCODED_START}<![CDATA[")));
                    edits.push((end_start..end_end, "]]></content:encoded>".into()));
                }
            }
            Token::Doctype { .. } => {}
        }
    }
}

/// The prefix of the root element's name.
fn root_prefix(text: &str) -> Option<&str> {
    Tokenizer::new(text)
        .find_map(|t| match t {
            Token::Start { name, .. } => Some(prefix(name)),
            _ => None,
        })
        .flatten()
}

/// Edits for Atom documents: Atom 0.3 element names, and text constructs or
/// content whose `type` feed-rs rejects (it fails the whole feed on them).
fn atom_edits(
    text: &str,
    atom_prefix: Option<&str>,
    atom03: bool,
    edits: &mut Vec<(std::ops::Range<usize>, String)>,
    warnings: &mut Vec<String>,
) {
    const IGNORED: &str = "x-syndic-ignored";
    // Name of an element being dropped (renamed), until its end tag.
    let mut dropping: Option<&str> = None;
    // A base64 text construct being decoded: (name, where its text starts).
    let mut base64: Option<(&str, usize)> = None;
    let qualify = |local: &str| match atom_prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_string(),
    };
    for token in Tokenizer::new(text) {
        match &token {
            Token::Start {
                name,
                name_span,
                attrs,
                self_closing,
                span,
            } => {
                if dropping.is_some() || base64.is_some() || prefix(name) != atom_prefix {
                    continue;
                }
                let mut local = local_name(name);
                if atom03 && let Some(renamed) = atom03_rename(local) {
                    edits.push((name_span.clone(), qualify(renamed)));
                    local = renamed;
                }
                let is_text = matches!(local, "title" | "subtitle" | "summary" | "rights");
                if !is_text && local != "content" {
                    continue;
                }
                let type_attr = attrs.iter().find(|a| a.name == "type");
                let has_src = attrs.iter().any(|a| a.name == "src");
                // Atom 0.3 `mode="base64"`; Atom 1.0 content of a non-text,
                // non-XML media type (RFC 4287 4.1.3.3: base64).
                let mode = attrs.iter().find(|a| a.name == "mode");
                let declared = type_attr.map(|a| a.value.trim().to_ascii_lowercase());
                let binary_type = declared.as_deref().is_some_and(|t| {
                    t.contains('/') && !t.starts_with("text/") && !t.ends_with("xml")
                });
                if !has_src
                    && !self_closing
                    && (mode.is_some_and(|m| m.value.trim() == "base64") || binary_type)
                {
                    if let Some(m) = mode {
                        edits.push((m.span.clone(), String::new()));
                    }
                    if binary_type && let Some(a) = type_attr {
                        edits.push((a.value_span.clone(), "html".into()));
                    }
                    base64 = Some((name, span.end));
                    if binary_type {
                        continue;
                    }
                    // Otherwise the type (if any) is handled as for any
                    // text construct, below.
                }
                let wanted: Option<&str> = if has_src {
                    None
                } else {
                    let Some(declared) = type_attr.map(|a| a.value) else {
                        continue;
                    };
                    match declared.trim().to_ascii_lowercase().as_str() {
                        "text" | "text/plain" | "" => Some("text"),
                        "html" | "text/html" => Some("html"),
                        "xhtml" | "application/xhtml+xml" => Some("xhtml"),
                        t if t.starts_with("text/") => Some("text"),
                        _ => None,
                    }
                };
                match (wanted, type_attr) {
                    (Some(w), Some(a)) if a.value != w => {
                        edits.push((a.value_span.clone(), w.to_string()))
                    }
                    (Some(_), _) => {}
                    (None, _) => {
                        // Out-of-line (src) or non-text content: feed-rs may
                        // reject it and we would not show it: drop it.
                        if !has_src {
                            warnings.push(format!(
                                "ignored <{local}> of type `{}`",
                                type_attr.map(|a| a.value).unwrap_or("")
                            ));
                        }
                        edits.push((name_span.clone(), IGNORED.to_string()));
                        if !self_closing {
                            dropping = Some(name);
                        }
                    }
                }
            }
            Token::End { name, name_span } => {
                if let Some((open, inner_start)) = base64
                    && *name == open
                {
                    base64 = None;
                    let inner_end = name_span.start.saturating_sub(2);
                    let inner = text.get(inner_start..inner_end).unwrap_or("");
                    let compact: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
                    use base64::Engine as _;
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(compact.as_bytes())
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok());
                    let replacement = match decoded {
                        Some(d) => super::sanitize::escape(&d),
                        None => {
                            warnings.push(format!(
                                "<{}>: base64 content that is not UTF-8 text ignored",
                                local_name(name)
                            ));
                            String::new()
                        }
                    };
                    if inner_start <= inner_end {
                        edits.push((inner_start..inner_end, replacement));
                    }
                }
                if let Some(open) = dropping {
                    if *name == open {
                        edits.push((name_span.clone(), IGNORED.to_string()));
                        dropping = None;
                    }
                    continue;
                }
                if atom03
                    && prefix(name) == atom_prefix
                    && let Some(renamed) = atom03_rename(local_name(name))
                {
                    edits.push((name_span.clone(), qualify(renamed)));
                }
            }
            Token::Doctype { .. } => {}
        }
    }
}

/// feed-rs model -> raw model.
fn convert(feed: model::Feed, format: FeedFormat, dates: &[String]) -> RawFeed {
    let is_atom = matches!(format, FeedFormat::Atom03 | FeedFormat::Atom10);
    let is_json = matches!(format, FeedFormat::JsonFeed10 | FeedFormat::JsonFeed11);
    let is_rss2ish = matches!(
        format,
        FeedFormat::Rss
            | FeedFormat::Rss091
            | FeedFormat::Rss092
            | FeedFormat::Rss093
            | FeedFormat::Rss094
            | FeedFormat::Rss20
    );
    let title_kind = |t: &model::Text| -> TextKind {
        // RSS and JSON Feed titles are meant as plain text but often carry
        // entities or tags; only Atom says which it is.
        if is_atom {
            kind_of(t.content_type.to_string().as_str()).unwrap_or(TextKind::Plain)
        } else {
            TextKind::MaybeHtml
        }
    };

    let mut raw = RawFeed::new(format);
    raw.title = feed
        .title
        .as_ref()
        .map(|t| RawText::new(title_kind(t), t.content.clone()));
    raw.description = feed
        .description
        .as_ref()
        .map(|t| RawText::new(title_kind(t), t.content.clone()));
    raw.language = feed.language.clone();
    raw.ttl_minutes = feed.ttl;
    raw.icon = feed
        .logo
        .as_ref()
        .or(feed.icon.as_ref())
        .map(|i| i.uri.clone());
    raw.set_feed_links(feed.links.iter().map(|l| FeedLink {
        rel: l.rel.as_deref(),
        media_type: l.media_type.as_deref(),
        href: &l.href,
        may_be_home: l.target.is_none(),
    }));
    raw.authors = feed.authors.iter().map(person).collect();
    if raw.authors.is_empty() {
        raw.authors = feed
            .contributors
            .iter()
            .filter(|p| p.role.as_deref() == Some("managingEditor"))
            .map(person)
            .collect();
    }

    for e in feed.entries {
        let mut entry = RawEntry {
            id: Some(e.id.trim().to_string()).filter(|id| !id.is_empty()),
            id_may_be_link: is_rss2ish,
            title: e
                .title
                .as_ref()
                .map(|t| RawText::new(title_kind(t), t.content.clone())),
            ..RawEntry::default()
        };
        entry.published = date_text(e.published, dates);
        // RSS copies the published date into `updated` when it has none.
        if !(e.updated.is_some() && e.updated == e.published) {
            entry.updated = date_text(e.updated, dates);
        }
        for link in &e.links {
            if link.target.is_some() || link.href.trim().is_empty() {
                continue;
            }
            let rel = link.rel.clone().unwrap_or_else(|| "alternate".into());
            if rel.eq_ignore_ascii_case("enclosure") || (is_json && link.media_type.is_some()) {
                entry.enclosures.push(RawEnclosure {
                    url: link.href.trim().to_string(),
                    mime_type: link.media_type.clone(),
                    length: link.length,
                });
            } else {
                entry.links.push(RawLink {
                    href: link.href.trim().to_string(),
                    rel,
                    media_type: link.media_type.clone(),
                });
            }
        }
        for media in &e.media {
            for content in &media.content {
                if let Some(url) = &content.url {
                    entry.enclosures.push(RawEnclosure {
                        url: url.to_string(),
                        mime_type: content.content_type.as_ref().map(|m| m.to_string()),
                        length: content.size,
                    });
                }
            }
        }
        entry.authors = e.authors.iter().map(person).collect();
        entry.categories = e
            .categories
            .iter()
            .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
            .collect();
        entry.summary = e.summary.as_ref().map(|t| {
            let kind = if is_atom || is_json {
                kind_of(t.content_type.to_string().as_str()).unwrap_or(TextKind::Plain)
            } else {
                TextKind::Html
            };
            RawText::new(kind, t.content.clone())
        });
        entry.content = e.content.as_ref().and_then(|c| {
            let body = c.body.clone()?;
            let kind = if is_atom || is_json {
                kind_of(c.content_type.to_string().as_str())?
            } else {
                TextKind::Html
            };
            Some(RawText::new(kind, body))
        });
        raw.entries.push(entry);
    }
    raw
}

/// Text kind of a feed-rs content type; `None` for non-text media.
fn kind_of(content_type: &str) -> Option<TextKind> {
    let ct = content_type.to_ascii_lowercase();
    if ct.starts_with("text/html") {
        Some(TextKind::Html)
    } else if ct.contains("xhtml") {
        Some(TextKind::Xhtml)
    } else if ct.starts_with("text/") {
        Some(TextKind::Plain)
    } else {
        None
    }
}

fn person(p: &model::Person) -> RawPerson {
    RawPerson {
        name: p.name.clone(),
        email: p.email.clone(),
    }
}
