//! JSON Feed: the leniency feed-rs lacks (a bare version number, missing
//! title or items, numeric ids, mistyped members dropped with a warning),
//! then feed-rs, then the members it does not map.

use serde_json::Value;

use super::convert::convert;
use super::run_feed_rs;
use crate::ingest::parse::json_escapes;
use crate::ingest::parse::raw::{RawFeed, RawLink, RawText, TextKind};
use crate::ingest::parse::{FeedFormat, ParseError};

/// Reads a JSON Feed.
pub(crate) fn read_json(text: &str) -> Result<RawFeed, ParseError> {
    let mut warnings = Vec::new();
    let mut value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(first) => {
            let invalid = || ParseError::Malformed(format!("invalid JSON: {first}"));
            let (fixed, count) = json_escapes::repair(text).ok_or_else(invalid)?;
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
