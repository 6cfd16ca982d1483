//! feedparser's result dict, as far as our [`ParsedFeed`] can express it:
//! the names an `Expect:` line may use (`bozo`, `feed`, `entries`,
//! `encoding`, `version`), each mapped onto our model. Keys our model has
//! no field for are left out, so clauses about them are not applicable.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Timelike, Utc};
use syndic::ingest::parse::{FeedFormat, ParsedFeed};
use syndic::model::Entry;

use crate::expect::V;

fn opt(v: Option<V>) -> V {
    v.unwrap_or(V::Missing)
}

fn text(s: &Option<String>) -> V {
    opt(s.clone().map(V::Text))
}

/// A title: our titles are plain text, so a title made only of markup
/// (`<img src=..>`) has no text and is absent; it compares as "".
fn plain(s: &Option<String>) -> V {
    V::Text(s.clone().unwrap_or_default())
}

fn obj(pairs: Vec<(&str, V)>) -> V {
    V::Obj(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// feedparser's `time.struct_time` 9-tuple, in UTC.
fn struct_time(d: &Option<DateTime<Utc>>) -> V {
    let Some(d) = d else {
        return V::Missing;
    };
    V::Tuple(vec![
        V::Int(i64::from(d.year())),
        V::Int(i64::from(d.month())),
        V::Int(i64::from(d.day())),
        V::Int(i64::from(d.hour())),
        V::Int(i64::from(d.minute())),
        V::Int(i64::from(d.second())),
        V::Int(i64::from(d.weekday().num_days_from_monday())),
        V::Int(i64::from(d.ordinal())),
        V::Int(0),
    ])
}

/// feedparser's `version` string for a format; `Na` where feedparser
/// distinguishes variants we do not (rss091n/rss091u).
fn version(format: FeedFormat) -> V {
    let v = match format {
        FeedFormat::Rss090 => "rss090",
        FeedFormat::Rss091 => return V::Na,
        FeedFormat::Rss092 => "rss092",
        FeedFormat::Rss093 => "rss093",
        FeedFormat::Rss094 => "rss094",
        FeedFormat::Rss => "rss",
        FeedFormat::Rss10 => "rss10",
        FeedFormat::Rss20 => "rss20",
        FeedFormat::Atom03 => "atom03",
        FeedFormat::Atom10 => "atom10",
        FeedFormat::JsonFeed10 => "json1",
        FeedFormat::JsonFeed11 => "json11",
        FeedFormat::Cdf => "cdf",
    };
    V::Str(v.into())
}

fn person(name: Option<&String>) -> (V, V) {
    let name = opt(name.cloned().map(V::Text));
    (name.clone(), obj(vec![("name", name)]))
}

fn entry(e: &Entry) -> V {
    let title = plain(&e.title);
    let summary = opt(e
        .summary_html
        .clone()
        .or_else(|| e.content_html.clone())
        .map(V::Html));
    let content = match &e.content_html {
        Some(c) => V::List(vec![obj(vec![("value", V::Html(c.clone()))])]),
        None => V::Missing,
    };
    let id = text(&e.upstream_id);
    let (author, author_detail) = person(e.authors.first());
    let tags = V::List(
        e.categories
            .iter()
            .map(|c| obj(vec![("term", V::Text(c.clone()))]))
            .collect(),
    );
    let enclosures = V::List(
        e.enclosures
            .iter()
            .map(|a| {
                let href = V::Str(a.url.clone());
                let length = if a.length > 0 {
                    V::Str(a.length.to_string())
                } else {
                    V::Missing
                };
                let mime = if a.mime_type.is_empty() {
                    V::Missing
                } else {
                    V::Str(a.mime_type.clone())
                };
                obj(vec![
                    ("href", href.clone()),
                    ("url", href),
                    ("length", length),
                    ("type", mime),
                ])
            })
            .collect(),
    );
    let updated = if e.updated.is_some() {
        &e.updated
    } else {
        &e.published
    };
    obj(vec![
        ("title", title.clone()),
        ("title_detail", obj(vec![("value", title)])),
        ("link", opt(e.link.clone().map(V::Str))),
        ("id", id.clone()),
        ("guid", id),
        ("author", author),
        ("author_detail", author_detail),
        ("published_parsed", struct_time(&e.published)),
        ("issued_parsed", struct_time(&e.published)),
        ("updated_parsed", struct_time(updated)),
        ("modified_parsed", struct_time(updated)),
        ("summary", summary.clone()),
        ("description", summary.clone()),
        ("summary_detail", obj(vec![("value", summary.clone())])),
        ("description_detail", obj(vec![("value", summary)])),
        ("content", content),
        ("tags", tags),
        ("enclosures", enclosures),
    ])
}

/// The names in scope for an Expect line, for a feed that parsed.
pub fn env(feed: &ParsedFeed, bozo: bool) -> BTreeMap<String, V> {
    let title = plain(&feed.title);
    let description = plain(&feed.description);
    let (author, author_detail) = person(feed.authors.first());
    let feed_obj = obj(vec![
        ("title", title.clone()),
        ("title_detail", obj(vec![("value", title)])),
        ("link", opt(feed.home_page_url.clone().map(V::Str))),
        ("subtitle", description.clone()),
        ("tagline", description.clone()),
        ("description", description.clone()),
        ("subtitle_detail", obj(vec![("value", description.clone())])),
        ("tagline_detail", obj(vec![("value", description)])),
        ("language", opt(feed.language.clone().map(V::Str))),
        ("author", author),
        ("author_detail", author_detail),
        (
            "image",
            obj(vec![("href", opt(feed.icon.clone().map(V::Str)))]),
        ),
    ]);
    let mut env = BTreeMap::new();
    env.insert("bozo".to_string(), V::Bool(bozo));
    env.insert("feed".to_string(), feed_obj);
    env.insert(
        "entries".to_string(),
        V::List(feed.entries.iter().map(entry).collect()),
    );
    env.insert("encoding".to_string(), V::Encoding(feed.encoding.clone()));
    env.insert("version".to_string(), version(feed.format));
    env
}

/// The names in scope when our parser gave up: feedparser would still
/// return a (bozo) result, with an empty feed and no entries.
pub fn env_failed() -> BTreeMap<String, V> {
    let empty = ParsedFeed {
        format: FeedFormat::Rss,
        encoding: String::new(),
        title: None,
        home_page_url: None,
        feed_url: None,
        hubs: Vec::new(),
        description: None,
        language: None,
        icon: None,
        authors: Vec::new(),
        ttl_minutes: None,
        hints: Default::default(),
        entries: Vec::new(),
        external_urls: Vec::new(),
        warnings: Vec::new(),
    };
    let mut env = env(&empty, true);
    env.insert("encoding".to_string(), V::Na);
    env.insert("version".to_string(), V::Str(String::new()));
    env
}
