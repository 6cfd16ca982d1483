//! The JSON Feed 1.1-style view of a [`ParsedFeed`], for
//! `syndic parse FILE --json`: JSON Feed fields plus `format`, `encoding`
//! and `warnings`. Absent values are omitted; lists are always present.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::ParsedFeed;
use super::sanitize::html_to_text;

fn rfc3339(date: &DateTime<Utc>) -> Value {
    Value::String(date.to_rfc3339_opts(SecondsFormat::Secs, true))
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_string(), value);
    }
}

fn string(value: &Option<String>) -> Option<Value> {
    value.clone().map(Value::String)
}

fn people(names: &[String]) -> Value {
    Value::Array(names.iter().map(|n| json!({ "name": n })).collect())
}

/// JSON Feed 1.1-style view for `syndic parse FILE --json`: title,
/// home_page_url, feed_url, description, language, icon, authors[{name}],
/// items[{id, url, external_url, title, content_html, content_text (the
/// content as plain text), summary, date_published,
/// date_modified, authors, tags, attachments[{url, mime_type,
/// size_in_bytes}]}], plus "format" (`rss2.0`, `atom1.0`, ...), "encoding",
/// "warnings". `summary` is
/// plain text (as JSON Feed wants); `size_in_bytes` is omitted when unknown.
pub fn to_json_view(feed: &ParsedFeed) -> serde_json::Value {
    let mut root = Map::new();
    root.insert("version".into(), json!("https://jsonfeed.org/version/1.1"));
    put(&mut root, "title", string(&feed.title));
    put(&mut root, "home_page_url", string(&feed.home_page_url));
    put(&mut root, "feed_url", string(&feed.feed_url));
    put(&mut root, "description", string(&feed.description));
    put(&mut root, "language", string(&feed.language));
    put(&mut root, "icon", string(&feed.icon));
    root.insert("authors".into(), people(&feed.authors));
    let items: Vec<Value> = feed
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut item = Map::new();
            put(&mut item, "id", string(&e.upstream_id));
            put(&mut item, "url", string(&e.link));
            put(
                &mut item,
                "external_url",
                feed.external_urls
                    .get(i)
                    .cloned()
                    .flatten()
                    .map(Value::String),
            );
            put(&mut item, "title", string(&e.title));
            put(&mut item, "content_html", string(&e.content_html));
            put(
                &mut item,
                "content_text",
                e.content_html
                    .as_deref()
                    .map(|c| Value::String(html_to_text(c))),
            );
            put(
                &mut item,
                "summary",
                e.summary_html
                    .as_deref()
                    .map(|s| Value::String(html_to_text(s))),
            );
            put(
                &mut item,
                "date_published",
                e.published.as_ref().map(rfc3339),
            );
            put(&mut item, "date_modified", e.updated.as_ref().map(rfc3339));
            item.insert("authors".into(), people(&e.authors));
            item.insert("tags".into(), json!(e.categories));
            let attachments: Vec<Value> = e
                .enclosures
                .iter()
                .map(|a| {
                    let mut att = Map::new();
                    att.insert("url".into(), json!(a.url));
                    att.insert("mime_type".into(), json!(a.mime_type));
                    if a.length > 0 {
                        att.insert("size_in_bytes".into(), json!(a.length));
                    }
                    Value::Object(att)
                })
                .collect();
            item.insert("attachments".into(), Value::Array(attachments));
            Value::Object(item)
        })
        .collect();
    root.insert("items".into(), Value::Array(items));
    root.insert("format".into(), json!(feed.format.to_string()));
    root.insert("encoding".into(), json!(feed.encoding));
    root.insert("warnings".into(), json!(feed.warnings));
    Value::Object(root)
}
