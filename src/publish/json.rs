//! JSON Feed 1.1 rendering (https://www.jsonfeed.org/version/1.1/): field
//! order fixed by the structs below, so output is deterministic.

use serde::Serialize;

use super::{FeedMeta, Format, item_link, item_title};
use crate::model::StoredItem;

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: String,
    feed_url: String,
    description: &'a str,
    /// The next (older) page: JSON Feed's way to chain RFC 5005 archives.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    favicon: Option<&'a str>,
    authors: Vec<JsonAuthor>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<JsonHub>,
    items: Vec<JsonItem>,
}

#[derive(Serialize)]
struct JsonHub {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
}

#[derive(Serialize)]
struct JsonItem {
    id: String,
    url: String,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<JsonAuthor>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<JsonAttachment>,
    /// JSON Feed extension (keys starting with `_`): every source of an
    /// item that merged cross-source duplicates.
    #[serde(rename = "_syndic", skip_serializing_if = "Option::is_none")]
    syndic: Option<JsonSyndic>,
}

#[derive(Serialize)]
struct JsonSyndic {
    sources: Vec<JsonSource>,
}

#[derive(Serialize)]
struct JsonSource {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    feed_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    merged_by: Option<String>,
}

#[derive(Serialize)]
struct JsonAuthor {
    name: String,
}

#[derive(Serialize)]
struct JsonAttachment {
    url: String,
    mime_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_in_bytes: Option<u64>,
}

pub fn render(meta: &FeedMeta, items: &[StoredItem]) -> Vec<u8> {
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: meta.title,
        home_page_url: meta.home_url(),
        feed_url: meta.self_url(Format::Json),
        description: meta.description,
        next_url: meta
            .prev_archive()
            .map(|p| meta.archive_url(p, Format::Json)),
        language: meta.language,
        icon: meta.image,
        favicon: meta.icon,
        authors: vec![JsonAuthor {
            name: meta.feed_author().to_string(),
        }],
        hubs: meta
            .hubs
            .iter()
            .map(|h| JsonHub {
                kind: "WebSub",
                url: h.clone(),
            })
            .collect(),
        items: items.iter().map(|i| render_item(meta, i)).collect(),
    };
    // Plain structs of strings serialize without error.
    serde_json::to_vec_pretty(&feed).unwrap_or_default()
}

/// RFC 3339 to the second, like the RSS and Atom renderings.
fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn render_item(meta: &FeedMeta, item: &StoredItem) -> JsonItem {
    let e = &item.entry;
    JsonItem {
        id: item.public_id.clone(),
        url: item_link(meta, item),
        title: item_title(item),
        // JSON Feed needs content_html or content_text: the content, else
        // the summary, else (no text at all) the title as content_text.
        content_html: e.content_html.clone().or_else(|| e.summary_html.clone()),
        content_text: super::fallback_text(item),
        summary: e
            .summary_html
            .as_ref()
            .and(e.content_html.as_ref())
            .and(e.summary_html.clone()),
        date_published: rfc3339(item.published),
        date_modified: rfc3339(item.updated),
        authors: e
            .authors
            .iter()
            .map(|a| JsonAuthor { name: a.clone() })
            .collect(),
        tags: e.categories.clone(),
        attachments: e
            .enclosures
            .iter()
            .map(|a| JsonAttachment {
                url: a.url.clone(),
                mime_type: a.mime_type.clone(),
                size_in_bytes: (a.length > 0).then_some(a.length),
            })
            .collect(),
        syndic: {
            let sources = super::item_sources(item);
            (!sources.is_empty()).then(|| JsonSyndic {
                sources: sources
                    .into_iter()
                    .map(|s| JsonSource {
                        id: s.id,
                        feed_url: s.feed_url,
                        url: s.link,
                        merged_by: s.merged_by,
                    })
                    .collect(),
            })
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{meta, sample_items};
    use super::*;

    #[test]
    fn json_feed_has_version_urls_and_string_ids() {
        let body = render(&meta(), &sample_items());
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["version"], "https://jsonfeed.org/version/1.1");
        assert_eq!(v["feed_url"], "http://127.0.0.1:8080/feeds/all.json");
        assert_eq!(v["items"][0]["title"], "Second & last");
        assert!(
            v["items"][0]["id"]
                .as_str()
                .unwrap()
                .starts_with("urn:uuid:")
        );
        assert_eq!(v["items"][0]["date_published"], "2026-03-01T12:00:00+00:00");
        assert_eq!(v["items"][1]["authors"][0]["name"], "Ann Author");
    }
}
