//! Atom 1.0 rendering with `atom_syndication`: one id, title, updated and
//! author at feed level, one `rel="self"` link; entries with their minted
//! id, typed text constructs (titles as text, summary and content as html,
//! escaped once), published and updated in RFC 3339.

use std::collections::BTreeMap;

use atom_syndication::extension::{Extension, ExtensionMap};
use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Text};
use chrono::{DateTime, FixedOffset, SubsecRound, TimeZone, Utc};

use super::{FeedMeta, Format, Page, item_link, item_title, xml_clean};
use crate::model::StoredItem;

/// A date for Atom, to the second like the RSS and JSON renderings, so
/// every format carries the same date.
fn fixed(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.trunc_subsecs(0).fixed_offset()
}

fn html(value: String) -> Text {
    Text {
        value,
        r#type: atom_syndication::TextType::Html,
        ..Default::default()
    }
}

fn link(href: String, rel: &str, mime_type: Option<&str>) -> Link {
    Link {
        href,
        rel: rel.into(),
        mime_type: mime_type.map(str::to_string),
        ..Default::default()
    }
}

pub fn render(meta: &FeedMeta, items: &[StoredItem]) -> Vec<u8> {
    // An empty feed still needs a stable `updated`: the Unix epoch.
    let updated = meta
        .updated(items)
        .or_else(|| Utc.timestamp_opt(0, 0).single())
        .unwrap_or_default();
    let atom = Some(Format::Atom.media_type());
    let mut links = vec![
        link(meta.self_url(Format::Atom), "self", atom),
        link(xml_clean(&meta.home_url()), "alternate", Some("text/html")),
    ];
    links.extend(meta.hubs.iter().map(|h| link(h.clone(), "hub", None)));
    if let Some(prev) = meta.prev_archive() {
        links.push(link(
            meta.archive_url(prev, Format::Atom),
            "prev-archive",
            atom,
        ));
    }
    let mut namespaces = BTreeMap::new();
    let mut extensions = ExtensionMap::default();
    if let Page::Archive { .. } = meta.page {
        links.push(link(meta.current_url(Format::Atom), "current", atom));
        namespaces.insert(
            "fh".to_string(),
            "http://purl.org/syndication/history/1.0".to_string(),
        );
        let archive = Extension {
            name: "fh:archive".into(),
            ..Default::default()
        };
        extensions.insert(
            "fh".to_string(),
            BTreeMap::from([("archive".to_string(), vec![archive])]),
        );
    }
    let feed = Feed {
        title: Text::plain(xml_clean(meta.title)),
        subtitle: Some(Text::plain(xml_clean(meta.description))),
        id: meta.feed_id(),
        updated: fixed(updated),
        // Feed-level author covers entries that name none (RFC 4287 4.1.1).
        authors: vec![Person {
            name: xml_clean(meta.feed_author()),
            ..Default::default()
        }],
        generator: Some(Generator {
            value: "syndic".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            uri: None,
        }),
        lang: meta.language.map(xml_clean),
        icon: meta.icon.map(xml_clean),
        logo: meta.image.map(xml_clean),
        links,
        entries: items.iter().map(|i| render_entry(meta, i)).collect(),
        namespaces,
        extensions,
        ..Default::default()
    };
    let xml = feed.write_to(Vec::new()).unwrap_or_default();
    super::xslt::with_stylesheet(xml, meta.stylesheet_href())
}

fn render_entry(meta: &FeedMeta, item: &StoredItem) -> Entry {
    let e = &item.entry;
    let sources = super::item_sources(item);
    Entry {
        title: Text::plain(item_title(item)),
        id: item.public_id.clone(),
        updated: fixed(item.updated),
        published: Some(fixed(item.published)),
        authors: e
            .authors
            .iter()
            .map(|a| Person {
                name: xml_clean(a),
                ..Default::default()
            })
            .collect(),
        links: vec![Link {
            href: item_link(meta, item),
            rel: "alternate".into(),
            mime_type: Some("text/html".into()),
            ..Default::default()
        }]
        .into_iter()
        // Every source of a merged item, as rel="via".
        .chain(sources.iter().map(|s| Link {
            href: xml_clean(s.link.as_deref().or(s.feed_url.as_deref()).unwrap_or("")),
            rel: "via".into(),
            title: Some(xml_clean(&s.id)),
            ..Default::default()
        }))
        .chain(e.enclosures.iter().map(|enc| Link {
            href: xml_clean(&enc.url),
            rel: "enclosure".into(),
            mime_type: Some(xml_clean(&enc.mime_type)),
            length: (enc.length > 0).then(|| enc.length.to_string()),
            ..Default::default()
        }))
        .collect(),
        categories: e
            .categories
            .iter()
            .map(|c| Category {
                term: xml_clean(c),
                ..Default::default()
            })
            .collect(),
        // An item without text has its title as text (`Missing textual
        // content` otherwise), as in JSON Feed.
        summary: match e.summary_html.as_deref() {
            Some(s) => Some(html(xml_clean(s))),
            None => super::fallback_text(item).map(Text::plain),
        },
        content: e.content_html.as_deref().map(|c| Content {
            value: Some(xml_clean(c)),
            content_type: Some("html".into()),
            ..Default::default()
        }),
        source: sources.first().map(|own| atom_syndication::Source {
            title: Text::plain(xml_clean(&own.id)),
            id: xml_clean(own.feed_url.as_deref().unwrap_or(&meta.home_url())),
            updated: fixed(item.updated),
            links: own
                .feed_url
                .iter()
                .map(|u| Link {
                    href: xml_clean(u),
                    rel: "self".into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{meta, sample_items};
    use super::*;

    #[test]
    fn atom_has_ids_self_link_and_html_escaped_once() {
        let xml = String::from_utf8(render(&meta(), &sample_items())).unwrap();
        assert!(xml.contains("<id>urn:uuid:"), "{xml}");
        assert!(
            xml.contains(r#"href="http://127.0.0.1:8080/feeds/all.atom" rel="self""#),
            "{xml}"
        );
        assert!(
            xml.contains("<updated>2026-03-01T12:00:00+00:00</updated>"),
            "{xml}"
        );
        assert!(xml.contains("<title>First &lt; one</title>"), "{xml}");
        // HTML content is escaped exactly once: `&lt;here&gt;` in the HTML
        // becomes `&amp;lt;here&amp;gt;` in XML.
        assert!(xml.contains(r#"<content type="html">&lt;p&gt;Full &lt;b&gt;text&lt;/b&gt; &amp;lt;here&amp;gt;&lt;/p&gt;</content>"#), "{xml}");
    }
}
