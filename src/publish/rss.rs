//! RSS 2.0 rendering with the `rss` crate: channel title, link and
//! description; `atom:link rel="self"`; per item a guid with
//! `isPermaLink="false"`, RFC 822 dates, `description` (summary) plus
//! `content:encoded` (full HTML), `dc:creator`, categories and enclosures.

use std::collections::BTreeMap;

use rss::extension::atom::AtomExtension;
use rss::extension::dublincore::DublinCoreExtension;
use rss::extension::itunes::{ITunesCategory, ITunesChannelExtension, ITunesOwner};
use rss::extension::{Extension, ExtensionMap};

use super::{FeedMeta, Format, Page, item_link, item_title, xml_clean};
use crate::model::StoredItem;

fn atom_link(href: String, rel: &str, mime_type: Option<&str>) -> atom_syndication::Link {
    atom_syndication::Link {
        href,
        rel: rel.into(),
        mime_type: mime_type.map(str::to_string),
        ..Default::default()
    }
}

pub fn render(meta: &FeedMeta, items: &[StoredItem]) -> Vec<u8> {
    let mut links = vec![atom_link(
        meta.self_url(Format::Rss),
        "self",
        Some(Format::Rss.media_type()),
    )];
    links.extend(meta.hubs.iter().map(|h| atom_link(h.clone(), "hub", None)));
    if let Some(prev) = meta.prev_archive() {
        links.push(atom_link(
            meta.archive_url(prev, Format::Rss),
            "prev-archive",
            Some(Format::Rss.media_type()),
        ));
    }
    let mut namespaces = BTreeMap::new();
    let mut extensions = ExtensionMap::default();
    if let Page::Archive { .. } = meta.page {
        links.push(atom_link(
            meta.current_url(Format::Rss),
            "current",
            Some(Format::Rss.media_type()),
        ));
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
    let channel = rss::Channel {
        title: xml_clean(meta.title),
        link: xml_clean(&meta.home_url()),
        description: xml_clean(meta.description),
        language: meta.language.map(xml_clean),
        generator: Some(format!("syndic {}", env!("CARGO_PKG_VERSION"))),
        last_build_date: meta.updated(items).map(|d| d.to_rfc2822()),
        docs: Some("https://www.rssboard.org/rss-specification".into()),
        image: meta.image.map(|url| rss::Image {
            url: xml_clean(url),
            // The RSS Board profile: the image's title and link match the
            // channel's.
            title: xml_clean(meta.title),
            link: xml_clean(&meta.home_url()),
            ..Default::default()
        }),
        dublin_core_ext: meta.author.map(|a| DublinCoreExtension {
            creators: vec![xml_clean(a)],
            ..Default::default()
        }),
        atom_ext: Some(AtomExtension { links }),
        itunes_ext: podcast_tags(meta),
        items: items.iter().map(|i| render_item(meta, i)).collect(),
        namespaces,
        extensions,
        ..Default::default()
    };
    // Writing to a Vec cannot fail for I/O reasons; the crate only errors on
    // its writer.
    let xml = channel.write_to(Vec::new()).unwrap_or_default();
    super::xslt::with_stylesheet(xml, meta.stylesheet_href())
}

/// The channel's iTunes tags when the feed is a podcast: what Apple
/// Podcasts requires (cover art, category, explicit flag; title,
/// description, language and enclosures come from the feed) and the owner
/// the W3C validator asks for.
fn podcast_tags(meta: &FeedMeta) -> Option<ITunesChannelExtension> {
    let podcast = meta.podcast?;
    let author = xml_clean(meta.feed_author());
    Some(ITunesChannelExtension {
        author: Some(author.clone()),
        image: meta.image.map(xml_clean),
        categories: vec![ITunesCategory {
            text: podcast.category.clone(),
            subcategory: podcast.subcategory.as_ref().map(|sub| {
                Box::new(ITunesCategory {
                    text: sub.clone(),
                    subcategory: None,
                })
            }),
        }],
        explicit: Some(podcast.explicit.to_string()),
        owner: Some(ITunesOwner {
            name: Some(author),
            email: Some(xml_clean(&podcast.owner_email)),
        }),
        summary: Some(xml_clean(meta.description)),
        r#type: Some("episodic".into()),
        ..Default::default()
    })
}

fn render_item(meta: &FeedMeta, item: &StoredItem) -> rss::Item {
    let entry = &item.entry;
    let sources = super::item_sources(item);
    let content = entry.content_html.as_deref().map(xml_clean);
    let summary = entry.summary_html.as_deref().map(xml_clean);
    let dc = (!entry.authors.is_empty()).then(|| DublinCoreExtension {
        creators: entry.authors.iter().map(|a| xml_clean(a)).collect(),
        ..Default::default()
    });
    rss::Item {
        title: Some(item_title(item)),
        link: Some(item_link(meta, item)),
        // The summary when there is one, else the full text: readers that
        // ignore content:encoded still show something.
        description: summary.clone().or_else(|| content.clone()),
        // With no summary, description already carries the content.
        content: if summary.is_some() { content } else { None },
        guid: Some(rss::Guid {
            value: item.public_id.clone(),
            permalink: false,
        }),
        pub_date: Some(item.published.to_rfc2822()),
        categories: entry
            .categories
            .iter()
            .map(|c| rss::Category {
                name: xml_clean(c),
                domain: None,
            })
            .collect(),
        enclosure: entry.enclosures.first().map(|e| rss::Enclosure {
            url: xml_clean(&e.url),
            length: e.length.to_string(),
            mime_type: xml_clean(&e.mime_type),
        }),
        dublin_core_ext: dc,
        source: sources.first().map(|own| rss::Source {
            url: xml_clean(own.feed_url.as_deref().unwrap_or(&meta.home_url())),
            title: Some(xml_clean(&own.id)),
        }),
        // Every source of a merged item, as atom:link rel="via".
        atom_ext: (!sources.is_empty()).then(|| AtomExtension {
            links: sources
                .iter()
                .map(|s| atom_syndication::Link {
                    href: xml_clean(s.link.as_deref().or(s.feed_url.as_deref()).unwrap_or("")),
                    rel: "via".into(),
                    title: Some(xml_clean(&s.id)),
                    ..Default::default()
                })
                .collect(),
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{meta, sample_items};
    use super::*;

    #[test]
    fn rss_has_required_elements_and_escapes_once() {
        let xml = String::from_utf8(render(&meta(), &sample_items())).unwrap();
        assert!(xml.contains("<title>Everything</title>"), "{xml}");
        assert!(xml.contains("<link>http://127.0.0.1:8080/</link>"));
        assert!(xml.contains(
            r#"<atom:link href="http://127.0.0.1:8080/feeds/all.rss" rel="self" type="application/rss+xml"/>"#
        ), "{xml}");
        assert!(xml.contains(r#"<guid isPermaLink="false">urn:uuid:"#));
        assert!(
            xml.contains("<pubDate>Sun, 1 Mar 2026 12:00:00 +0000</pubDate>"),
            "{xml}"
        );
        assert!(xml.contains("<title>Second &amp; last</title>"));
        assert!(xml.contains("<dc:creator>Ann Author</dc:creator>"));
        assert!(xml.contains("<content:encoded>"));
        assert!(xml.find("Second").unwrap() < xml.find("First").unwrap());
    }
}
