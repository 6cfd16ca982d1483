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

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use feed_rs::model;
use feed_rs::parser::{Builder, ParseErrorKind, ParseFeedError};
use serde_json::Value;
use url::Url;

use super::detect::XmlRoot;
use super::raw::{RawEnclosure, RawEntry, RawFeed, RawLink, RawPerson, RawText, TextKind};
use super::xml_scan::{
    EntryLayout, Token, Tokenizer, apply_edits, entry_bases, local_name, prefix,
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
    let (feed, dates) = run_feed_rs(prepared.as_bytes(), base)?;
    let mut raw = convert(feed, format, &dates);
    // Explicit xml:base per entry (feed-rs keeps it for links only).
    if let Some(layout) = layout {
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
    let mut value: Value = serde_json::from_str(text)
        .map_err(|e| ParseError::Malformed(format!("invalid JSON: {e}")))?;
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
    let Some(minor) = version
        .strip_prefix("https://jsonfeed.org/version/")
        .or_else(|| version.strip_prefix("http://jsonfeed.org/version/"))
    else {
        return Err(ParseError::NotAFeed(
            "JSON without a jsonfeed.org `version`: not a JSON Feed".into(),
        ));
    };
    let mut warnings = Vec::new();
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
            let link = str_field(item, "url").or_else(|| str_field(item, "external_url"));
            entry.links = link
                .map(|href| RawLink {
                    href,
                    rel: "alternate".into(),
                    media_type: None,
                })
                .into_iter()
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
        .map_err(|_| ParseError::Malformed("the feed parser failed on this input".into()))?;
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
fn prepare_xml(
    text: &str,
    root: &XmlRoot,
    warnings: &mut Vec<String>,
) -> Result<(FeedFormat, String, Option<EntryLayout>), ParseError> {
    let mut edits = Vec::new();
    match root.local.as_str() {
        "rss" => {
            let version = root.version.as_deref();
            let format = match version.map(str::trim) {
                Some(v) if v == "2" || v.starts_with("2.") => FeedFormat::Rss20,
                Some("0.91") => FeedFormat::Rss091,
                Some("0.92") => FeedFormat::Rss092,
                _ => FeedFormat::Rss,
            };
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
                prepared = prepared.replace(ATOM03_NS, ATOM10_NS);
                FeedFormat::Atom03
            } else {
                FeedFormat::Atom10
            };
            Ok((format, prepared, Some(EntryLayout::Atom)))
        }
        "RDF" => {
            if root.default_namespace.as_deref() == Some(RSS090_NS) {
                Ok((FeedFormat::Rss090, text.replace(RSS090_NS, RSS10_NS), None))
            } else {
                Ok((FeedFormat::Rss10, text.to_string(), None))
            }
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
                ..
            } => {
                if dropping.is_some() || prefix(name) != atom_prefix {
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

/// Atom 0.3 elements that Atom 1.0 renamed.
fn atom03_rename(local: &str) -> Option<&'static str> {
    match local {
        "issued" => Some("published"),
        "modified" => Some("updated"),
        "tagline" => Some("subtitle"),
        "copyright" => Some("rights"),
        _ => None,
    }
}

/// feed-rs model -> raw model.
fn convert(feed: model::Feed, format: FeedFormat, dates: &[String]) -> RawFeed {
    let is_atom = matches!(format, FeedFormat::Atom03 | FeedFormat::Atom10);
    let is_json = matches!(format, FeedFormat::JsonFeed10 | FeedFormat::JsonFeed11);
    let is_rss2ish = matches!(
        format,
        FeedFormat::Rss | FeedFormat::Rss091 | FeedFormat::Rss092 | FeedFormat::Rss20
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
    let alternate = |l: &&model::Link| {
        l.target.is_none()
            && l.rel
                .as_deref()
                .is_none_or(|r| r.eq_ignore_ascii_case("alternate"))
    };
    raw.home_page_url = feed
        .links
        .iter()
        .filter(alternate)
        .find(|l| l.media_type.as_deref().is_none_or(|t| t.contains("html")))
        .or_else(|| feed.links.iter().find(alternate))
        .map(|l| l.href.clone());
    raw.feed_url = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("self"))
        .map(|l| l.href.clone());
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
