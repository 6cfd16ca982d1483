use super::*;
use crate::model::{Entry, ItemKey};
use chrono::TimeZone;

pub(crate) fn sample_items() -> Vec<StoredItem> {
    let mk = |id: &str, hour: u32, title: &str| {
        let key = ItemKey::derive("src", id);
        let at = Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0).unwrap();
        crate::dedup::new_item(
            "src",
            key,
            Entry {
                upstream_id: Some(id.into()),
                title: Some(title.into()),
                link: Some(format!("https://example.org/{id}")),
                authors: vec!["Ann Author".into()],
                summary_html: Some("<p>Short &amp; sweet</p>".into()),
                content_html: Some("<p>Full <b>text</b> &lt;here&gt;</p>".into()),
                categories: vec!["news".into()],
                ..Entry::default()
            },
            at,
        )
    };
    vec![mk("b", 12, "Second & last"), mk("a", 10, "First < one")]
}

/// `n` items of source `src`, item `i` first seen and published at
/// minute `i`.
pub(crate) fn many_items(n: u32) -> Vec<StoredItem> {
    (0..n)
        .map(|i| {
            let key = ItemKey::derive("src", &format!("item-{i}"));
            let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
                + chrono::Duration::minutes(i64::from(i));
            crate::dedup::new_item(
                "src",
                key,
                Entry {
                    title: Some(format!("Item {i}")),
                    link: Some(format!("https://example.org/{i}")),
                    ..Entry::default()
                },
                at,
            )
        })
        .collect()
}

pub(crate) fn meta() -> FeedMeta<'static> {
    FeedMeta::new(
        "all",
        "Everything",
        "All the things",
        "http://127.0.0.1:8080",
    )
}

#[test]
fn rendering_is_deterministic_and_etags_differ_by_content() {
    let items = sample_items();
    let a = render(&meta(), &items);
    let b = render(&meta(), &items);
    for f in Format::ALL {
        assert_eq!(a.get(f).body, b.get(f).body);
        assert_eq!(a.get(f).etag, b.get(f).etag);
        assert_eq!(a.get(f).gzip, b.get(f).gzip);
    }
    let c = render(&meta(), &items[..1]);
    assert_ne!(a.rss.etag, c.rss.etag);
    assert_eq!(
        a.rss.last_modified,
        Some(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap())
    );
}

#[test]
fn compressed_variants_decompress_to_the_body() {
    use std::io::Read;
    let r = render(&meta(), &sample_items());
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&r.atom.gzip[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, r.atom.body);
    let mut out = Vec::new();
    brotli::Decompressor::new(&r.atom.brotli[..], 4096)
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, r.atom.body);
    assert_eq!(
        r.atom.variant_etag("gz"),
        format!("{}-gz\"", &r.atom.etag[..25])
    );
}

#[test]
fn dates_are_whole_seconds_in_every_format() {
    // Regression: items dated by first_seen carry nanoseconds; RSS
    // cannot, so Atom and JSON must not either (readers compare them).
    let mut items = sample_items();
    items[0].published += chrono::Duration::nanoseconds(123_456_789);
    items[0].updated = items[0].published;
    let r = render(&meta(), &items);
    let atom = String::from_utf8(r.atom.body.to_vec()).unwrap();
    assert!(
        atom.contains("<updated>2026-03-01T12:00:00+00:00</updated>"),
        "{atom}"
    );
    assert!(!atom.contains(".123"), "{atom}");
    let json = String::from_utf8(r.json.body.to_vec()).unwrap();
    assert!(
        json.contains("\"date_published\": \"2026-03-01T12:00:00+00:00\""),
        "{json}"
    );
}

/// Items of one date (undated items first seen in one refresh) keep
/// their source's order, whatever their public ids.
#[test]
fn same_date_items_keep_the_source_order() {
    let mut items = many_items(5);
    let at = items[0].published;
    for (i, item) in items.iter_mut().enumerate() {
        item.published = at;
        item.first_seen_pos = 4 - i as u32;
    }
    sort_for_publishing(&mut items);
    let titles: Vec<_> = items
        .iter()
        .map(|i| i.entry.title.clone().unwrap())
        .collect();
    assert_eq!(titles, ["Item 4", "Item 3", "Item 2", "Item 1", "Item 0"]);
}

/// `n` undated items of `source` first seen together at `at`, in their
/// source's order (as dedup stores them).
fn undated(source: &str, n: u32, at: DateTime<Utc>) -> Vec<StoredItem> {
    (0..n)
        .map(|i| StoredItem {
            first_seen_pos: i,
            ..crate::dedup::new_item(
                source,
                ItemKey::derive(source, &format!("{source}-{i}")),
                Entry {
                    title: Some(format!("{source} {i}")),
                    ..Entry::default()
                },
                at,
            )
        })
        .collect()
}

/// The text of every `<tag>` inside the document's entries or items.
fn entry_values(xml: &str, entry: &str, tag: &str) -> Vec<String> {
    xml.split(&format!("<{entry}>"))
        .skip(1)
        .map(|e| {
            let start = e.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
            let end = e.find(&format!("</{tag}>")).unwrap();
            e[start..end].to_string()
        })
        .collect()
}

fn distinct(values: &[String]) -> bool {
    values.iter().collect::<HashSet<_>>().len() == values.len()
}

/// Undated items first seen in one refresh get one second each, stepping
/// back in their source's order from the time they were first seen; the
/// RSS, Atom and JSON documents agree.
#[test]
fn undated_items_of_one_refresh_get_distinct_dates_in_source_order() {
    let at =
        Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap() + chrono::Duration::milliseconds(250);
    let mut items = undated("src", 4, at);
    sort_for_publishing(&mut items);
    let r = render(&meta(), &items);
    let atom = String::from_utf8(r.atom.body.to_vec()).unwrap();
    assert_eq!(
        entry_values(&atom, "entry", "updated"),
        [
            "2026-05-01T08:00:00+00:00",
            "2026-05-01T07:59:59+00:00",
            "2026-05-01T07:59:58+00:00",
            "2026-05-01T07:59:57+00:00"
        ]
    );
    assert_eq!(
        entry_values(&atom, "entry", "title"),
        ["src 0", "src 1", "src 2", "src 3"]
    );
    assert_eq!(
        entry_values(&atom, "entry", "published"),
        entry_values(&atom, "entry", "updated")
    );
    let rss = String::from_utf8(r.rss.body.to_vec()).unwrap();
    assert_eq!(
        entry_values(&rss, "item", "pubDate"),
        [
            "Fri, 1 May 2026 08:00:00 +0000",
            "Fri, 1 May 2026 07:59:59 +0000",
            "Fri, 1 May 2026 07:59:58 +0000",
            "Fri, 1 May 2026 07:59:57 +0000"
        ]
    );
    let json: serde_json::Value = serde_json::from_slice(&r.json.body).unwrap();
    assert_eq!(
        json["items"][3]["date_modified"],
        "2026-05-01T07:59:57+00:00"
    );
    // Last-Modified is the newest of the dates published.
    assert_eq!(r.atom.last_modified, Some(at));
}

/// In a feed of two sources, undated items of both first seen at the same
/// instant, items that all carry the same upstream date, and an update
/// in the same second: every `updated` and every `pubDate` differs.
#[test]
fn merged_sources_first_seen_together_get_distinct_dates() {
    let at = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap();
    let mut items = undated("a", 20, at);
    items.extend(undated("b", 20, at));
    // A source whose items all say the same date.
    for mut item in undated("c", 5, at - chrono::Duration::hours(1)) {
        item.published = at;
        item.updated = at;
        items.push(item);
    }
    // An older item updated in that second.
    let mut old = undated("d", 1, at - chrono::Duration::days(3)).remove(0);
    old.updated = at;
    items.push(old);
    sort_for_publishing(&mut items);
    let r = render(&meta(), &items);
    let atom = String::from_utf8(r.atom.body.to_vec()).unwrap();
    let updated = entry_values(&atom, "entry", "updated");
    assert_eq!(updated.len(), 46);
    assert!(distinct(&updated), "{updated:?}");
    let rss = String::from_utf8(r.rss.body.to_vec()).unwrap();
    let dates = entry_values(&rss, "item", "pubDate");
    assert!(distinct(&dates), "{dates:?}");
    // Never after the time they were first seen or updated.
    assert!(
        updated
            .iter()
            .all(|u| u.as_str() <= "2026-05-01T08:00:00+00:00")
    );
    // Each source keeps its own order: "a 0" is newer than "a 1".
    let pos = |t: &str| {
        entry_values(&atom, "entry", "title")
            .iter()
            .position(|x| x == t)
            .unwrap()
    };
    let date = |t: &str| updated[pos(t)].clone();
    assert!(date("a 0") > date("a 1") && date("b 0") > date("b 19"));
    // Claims go in first-seen order: "d 0" (seen days before) keeps its
    // update second, "c 0" (an hour before) steps back once, and the
    // items of "a" and "b" seen at that very second step back behind c.
    assert_eq!(date("d 0"), "2026-05-01T08:00:00+00:00");
    assert_eq!(date("c 0"), "2026-05-01T07:59:59+00:00");
    assert_eq!(date("c 4"), "2026-05-01T07:59:55+00:00");
    assert_eq!(date("a 0"), "2026-05-01T07:59:54+00:00");
}

/// An item keeps its dates when a newer item with the same date joins the
/// feed, and the dates depend on the items alone, not on their order.
#[test]
fn distinct_dates_are_stable_and_deterministic() {
    let at = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap();
    let first = undated("a", 3, at);
    let dates = |items: &[StoredItem]| {
        let mut items = items.to_vec();
        distinct_dates(&mut items);
        items
            .iter()
            .map(|i| (i.key, (i.published, i.updated)))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let before = dates(&first);
    let mut later = undated("b", 2, at + chrono::Duration::milliseconds(10));
    later.extend(first.iter().cloned());
    let after = dates(&later);
    for (key, d) in &before {
        assert_eq!(after.get(key), Some(d));
    }
    let mut reversed = later.clone();
    reversed.reverse();
    assert_eq!(dates(&reversed), after);
    let r1 = render(&meta(), &later);
    let r2 = render(&meta(), &reversed[..]);
    // Same items, other order: the same set of dates per item (the
    // document order is the caller's).
    assert_eq!(r1.atom.last_modified, r2.atom.last_modified);
}

#[test]
fn titles_are_plain_text() {
    assert_eq!(
        plain_text("Local <script>alert(1)</script> title"),
        "Local title"
    );
    assert_eq!(plain_text("a < b & <b>c</b>"), "a < b & c");
    assert_eq!(plain_text("  two\n words "), "two words");
}

#[test]
fn xml_clean_strips_forbidden_controls() {
    assert_eq!(xml_clean("a\u{0}b\u{8}c\td\u{FFFE}"), "abc\td");
    // C1 controls: text decoded with the wrong character set.
    assert_eq!(xml_clean("don\u{92}t \u{85}x\u{a0}"), "dont x\u{a0}");
}

/// `&` and `<` become character references outside CDATA, comments and
/// processing instructions, and the document reads the same.
#[test]
fn char_refs_rewrite_text_and_attributes_only() {
    let xml = concat!(
        r#"<?xml version="1.0"?><?xml-stylesheet href="a?b&amp;c"?>"#,
        r#"<r a="x&amp;y"><!-- &amp; --><t>1&amp;1 &lt;b&gt; &#38; &quot;</t>"#,
        r#"<d><![CDATA[<p>A &amp; B</p>]]></d></r>"#
    );
    let out = String::from_utf8(char_refs(xml.as_bytes().to_vec())).unwrap();
    assert_eq!(
        out,
        concat!(
            r#"<?xml version="1.0"?><?xml-stylesheet href="a?b&amp;c"?>"#,
            r#"<r a="x&#x26;y"><!-- &amp; --><t>1&#x26;1 &#x3C;b&gt; &#38; &quot;</t>"#,
            r#"<d><![CDATA[<p>A &amp; B</p>]]></d></r>"#
        )
    );
    let texts = |doc: &str| {
        let doc = roxmltree::Document::parse(doc).unwrap();
        doc.descendants()
            .map(|n| {
                (
                    n.text().map(str::to_string),
                    n.attribute("a").map(str::to_string),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&out), texts(xml));
    // An unclosed section is copied to the end.
    assert_eq!(
        char_refs(b"<a>&amp;<![CDATA[&amp;".to_vec()),
        b"<a>&#x26;<![CDATA[&amp;"
    );
}

#[test]
fn html_without_text_or_media_has_no_content() {
    for empty in [
        "",
        " ",
        "<p> </p>",
        "<p>&nbsp;</p>",
        "<br/>",
        "<div><span>\n</span></div>",
    ] {
        assert!(!html_has_content(empty), "{empty:?}");
    }
    for full in [
        "a",
        "<p>x</p>",
        "<img src=\"https://a.org/i.png\">",
        "<p>&amp;</p>",
        "<IFRAME src=x></IFRAME>",
    ] {
        assert!(html_has_content(full), "{full:?}");
    }
}

#[test]
fn full_http_urls_only() {
    assert!(full_http_url("https://cdn.example.org/a.mp3"));
    assert!(full_http_url("http://127.0.0.1:8080/a.mp3"));
    for bad in [
        "https://example/",
        "ftp://a.org/x",
        "/a.mp3",
        "https://a.org/é.mp3",
        "mailto:a@b.org",
    ] {
        assert!(!full_http_url(bad), "{bad}");
    }
}

/// One item as every renderer gets it: markup out of names and
/// categories, empty and repeated ones dropped, HTML without anything to
/// show left out, enclosures without a full URL dropped.
#[test]
fn clean_item_leaves_plain_fields_plain_and_drops_empty_ones() {
    let mut item = sample_items().remove(0);
    item.entry.authors = vec![
        "<a href=\"https://x.org\">Ann</a> <b>Author</b>".into(),
        "Ann Author".into(),
        " ".into(),
        "AT&amp;T".into(),
    ];
    item.entry.categories = vec!["<i>news</i>".into(), "".into(), "news".into()];
    item.entry.summary_html = Some("<p> </p>".into());
    item.entry.enclosures = vec![
        crate::model::Enclosure {
            url: "https://example/".into(),
            mime_type: "audio/mpeg".into(),
            length: 0,
        },
        crate::model::Enclosure {
            url: "https://cdn.example.org/a.mp3".into(),
            mime_type: "audio/mpeg".into(),
            length: 1,
        },
    ];
    let clean = clean_item(&item);
    assert_eq!(clean.entry.authors, ["Ann Author", "AT&T"]);
    assert_eq!(clean.entry.categories, ["news"]);
    assert_eq!(clean.entry.summary_html, None);
    assert!(clean.entry.content_html.is_some());
    assert_eq!(clean.entry.enclosures.len(), 1);
    assert_eq!(
        clean.entry.enclosures[0].url,
        "https://cdn.example.org/a.mp3"
    );
}

/// An item without a title is titled by the first words of its text, and
/// one without text has its title as text where the format needs one,
/// the same in every format; no empty element is written.
#[test]
fn titles_and_texts_fall_back_the_same_in_every_format() {
    let mut items = sample_items();
    items[0].entry.title = Some(" <b></b> ".into());
    items[0].entry.summary_html = None;
    items[0].entry.content_html =
        Some("<p>One two three four five six seven eight nine ten eleven</p>".into());
    items[1].entry.title = Some("Only a title".into());
    items[1].entry.summary_html = Some("<p></p>".into());
    items[1].entry.content_html = None;
    assert_eq!(
        item_title(&items[0]),
        "One two three four five six seven eight nine ten…"
    );
    let r = render(&meta(), &items);
    let atom = String::from_utf8(r.atom.body.to_vec()).unwrap();
    let rss = String::from_utf8(r.rss.body.to_vec()).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&r.json.body).unwrap();
    assert_eq!(
        entry_values(&atom, "entry", "title"),
        [
            "One two three four five six seven eight nine ten…",
            "Only a title"
        ]
    );
    assert_eq!(
        entry_values(&rss, "item", "title"),
        entry_values(&atom, "entry", "title")
    );
    assert_eq!(
        json["items"][0]["title"],
        "One two three four five six seven eight nine ten…"
    );
    // The textless item: its title as Atom summary and JSON content_text;
    // RSS, where a title alone is enough, writes no description.
    assert!(atom.contains("<summary>Only a title</summary>"), "{atom}");
    assert_eq!(json["items"][1]["content_text"], "Only a title");
    assert!(json["items"][1].get("content_html").is_none());
    // The channel's and the first item's.
    assert_eq!(rss.matches("<description>").count(), 2, "{rss}");
    for empty in [
        "<summary></summary>",
        "<content type=\"html\"></content>",
        "<title></title>",
        "<description></description>",
        "<![CDATA[]]>",
    ] {
        assert!(!atom.contains(empty) && !rss.contains(empty), "{empty}");
    }
    // Nothing at all: the placeholder.
    items[1].entry.title = None;
    assert_eq!(item_title(&items[1]), UNTITLED);
}

#[test]
fn published_put_reports_changes_only() {
    let p = Published::default();
    assert!(p.put("all", render(&meta(), &sample_items()), 1));
    assert!(!p.put("all", render(&meta(), &sample_items()), 1));
    assert!(p.put("all", render(&meta(), &sample_items()[..1]), 1));
}

/// A rendering that read an older store than the one published (it
/// started before a refresh's write and finished after that refresh's
/// own rendering) is dropped; one of the same generation (a reload that
/// changed only the config) replaces it.
#[test]
fn published_put_never_goes_back_to_an_older_reading() {
    let p = Published::default();
    let etag = |p: &Published| p.get("all").unwrap().rss.etag.clone();
    assert!(p.put("all", render(&meta(), &sample_items()), 7));
    let newest = etag(&p);
    assert!(!p.put("all", render(&meta(), &sample_items()[..1]), 6));
    assert_eq!(etag(&p), newest);
    assert!(p.put("all", render(&meta(), &sample_items()[..1]), 7));
    assert_ne!(etag(&p), newest);
    assert!(p.put("all", render(&meta(), &sample_items()), 8));
    assert_eq!(etag(&p), newest);
}

#[test]
fn a_change_right_after_a_served_one_is_not_dated_in_the_future() {
    use crate::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let feed = FeedConfig::new("all", "All", vec!["a".into()], 10);
    // A version a client has seen, dated the second ahead of the clock (as
    // a file saved twice within one second leaves it).
    let now = Utc::now();
    let ahead = DateTime::<Utc>::from_timestamp(now.timestamp() + 1, 0).unwrap();
    store.set_feed_stamp("all", &[7; 32], ahead).unwrap();
    let (rendered, _) = render_feed_after(&store, &feed, "http://x", true).unwrap();
    let dated = rendered.rss.last_modified.unwrap();
    // The next second after the one seen, and not before the clock has
    // reached it.
    assert_eq!(dated, ahead + chrono::Duration::seconds(1));
    assert!(dated <= Utc::now(), "{dated} is ahead of {}", Utc::now());
}
