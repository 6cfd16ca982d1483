//! feed-rs's model mapped to the reader-neutral [`RawFeed`].

use feed_rs::model;

use super::date_text;
use crate::ingest::parse::FeedFormat;
use crate::ingest::parse::raw::{
    FeedLink, RawEnclosure, RawEntry, RawFeed, RawLink, RawPerson, RawText, TextKind,
};

/// feed-rs model -> raw model.
pub(super) fn convert(feed: model::Feed, format: FeedFormat, dates: &[String]) -> RawFeed {
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
