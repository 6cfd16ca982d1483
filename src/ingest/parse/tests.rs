//! Tests of the parse module tree through its public API, on inline
//! fixtures, plus an opt-in smoke test over a feed corpus (`SYNDIC_CORPUS`).

use super::*;
use crate::model::Enclosure;
use chrono::{TimeZone, Utc};

fn parse(text: &str) -> ParsedFeed {
    parse_feed(text.as_bytes(), &ParseOptions::default()).expect("parses")
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<chrono::DateTime<Utc>> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).single()
}

const RSS2: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>Example &amp;amp; Co</title>
    <link>https://example.com/</link>
    <atom:link rel="self" type="application/rss+xml" href="https://example.com/feed.xml"/>
    <description>News from &lt;b&gt;Example&lt;/b&gt;</description>
    <language>en-US</language>
    <ttl>60</ttl>
    <image><url>https://example.com/logo.png</url><title>x</title><link>https://example.com/</link></image>
    <item>
      <title>First &lt;em&gt;post&lt;/em&gt;</title>
      <link>https://example.com/posts/1</link>
      <guid isPermaLink="false">post-1@example.com</guid>
      <pubDate>Tue, 02 Jan 2024 10:30:00 +0100</pubDate>
      <dc:creator>Jane Doe</dc:creator>
      <category>Rust</category>
      <category>News</category>
      <description>A short &lt;b&gt;summary&lt;/b&gt;.</description>
      <content:encoded><![CDATA[<p onclick="evil()">Full <a href="/about">text</a><script>alert(1)</script></p>]]></content:encoded>
      <enclosure url="https://example.com/ep1.mp3" length="12345" type="audio/mpeg"/>
    </item>
    <item>
      <title>Second</title>
      <link>/posts/2</link>
      <guid>https://example.com/posts/2</guid>
      <pubDate>Foo</pubDate>
      <description>Only a description</description>
    </item>
  </channel>
</rss>"#;

#[test]
fn rss20_full_item() {
    let feed = parse(RSS2);
    assert_eq!(feed.format, FeedFormat::Rss20);
    assert_eq!(feed.format.to_string(), "rss2.0");
    assert_eq!(feed.encoding, "utf-8");
    assert_eq!(feed.title.as_deref(), Some("Example & Co"));
    assert_eq!(feed.home_page_url.as_deref(), Some("https://example.com/"));
    assert_eq!(
        feed.feed_url.as_deref(),
        Some("https://example.com/feed.xml")
    );
    assert_eq!(feed.description.as_deref(), Some("News from Example"));
    assert_eq!(feed.language.as_deref(), Some("en-us"));
    assert_eq!(feed.ttl_minutes, Some(60));
    assert_eq!(feed.icon.as_deref(), Some("https://example.com/logo.png"));
    assert_eq!(feed.entries.len(), 2);

    let e = &feed.entries[0];
    assert_eq!(e.upstream_id.as_deref(), Some("post-1@example.com"));
    assert_eq!(e.title.as_deref(), Some("First post"));
    assert_eq!(e.link.as_deref(), Some("https://example.com/posts/1"));
    assert_eq!(e.published, utc(2024, 1, 2, 9, 30, 0));
    assert_eq!(e.updated, None, "RSS has no updated date here");
    assert_eq!(e.authors, vec!["Jane Doe".to_string()]);
    assert_eq!(e.categories, vec!["Rust".to_string(), "News".to_string()]);
    assert_eq!(e.summary_html.as_deref(), Some("A short <b>summary</b>."));
    let content = e.content_html.as_deref().unwrap();
    assert!(
        content.contains("Full <a href=\"https://example.com/about\""),
        "{content}"
    );
    assert!(
        !content.contains("onclick") && !content.contains("script") && !content.contains("alert")
    );
    assert_eq!(
        e.enclosures,
        vec![Enclosure {
            url: "https://example.com/ep1.mp3".into(),
            mime_type: "audio/mpeg".into(),
            length: 12345,
        }]
    );
    assert!(e.slug.is_none());
}

#[test]
fn rss20_relative_link_lone_description_and_bad_date() {
    let feed = parse(RSS2);
    let e = &feed.entries[1];
    // Relative link resolved against the channel link.
    assert_eq!(e.link.as_deref(), Some("https://example.com/posts/2"));
    assert_eq!(
        e.upstream_id.as_deref(),
        Some("https://example.com/posts/2")
    );
    // Only a description: it becomes the content, no summary.
    assert_eq!(e.content_html.as_deref(), Some("Only a description"));
    assert_eq!(e.summary_html, None);
    // The unparseable date keeps the item and is reported.
    assert_eq!(e.published, None);
    assert!(
        feed.warnings
            .iter()
            .any(|w| w == "item 2: unparseable date `Foo`"),
        "{:?}",
        feed.warnings
    );
}

#[test]
fn rss_author_forms() {
    let feed = parse(
        r#"<rss version="2.0"><channel><title>t</title>
        <item><author>jane@example.com (Jane Doe)</author><guid>1</guid></item>
        <item><author>Jane Doe &lt;jane@example.com&gt;</author><guid>2</guid></item>
        <item><author>jane@example.com</author><guid>3</guid></item>
        </channel></rss>"#,
    );
    let authors: Vec<&[String]> = feed.entries.iter().map(|e| e.authors.as_slice()).collect();
    assert_eq!(
        authors,
        vec![
            &["Jane Doe".to_string()][..],
            &["Jane Doe".to_string()][..],
            &["jane@example.com".to_string()][..],
        ]
    );
}

#[test]
fn rss_without_guid_has_no_upstream_id() {
    let feed = parse(
        r#"<rss version="2.0"><channel><title>T</title><link>http://example.org/</link>
        <item><title>No guid</title><link>http://example.org/a</link></item>
        <item><title>No guid, no link</title><description>x</description></item>
        </channel></rss>"#,
    );
    assert_eq!(feed.entries.len(), 2);
    assert_eq!(
        feed.entries[0].upstream_id, None,
        "feed-rs must not invent ids"
    );
    assert_eq!(
        feed.entries[0].link.as_deref(),
        Some("http://example.org/a")
    );
    assert_eq!(feed.entries[1].upstream_id, None);
    assert_eq!(feed.entries[1].link, None);
}

#[test]
fn base_url_resolves_relative_links() {
    let opts = ParseOptions {
        content_type: Some("application/rss+xml"),
        base_url: Some("https://news.example/feeds/main.xml"),
    };
    let feed = parse_feed(
        br#"<rss version="2.0"><channel><title>T</title><link>/</link>
        <item><link>story/7</link><guid>7</guid><description>&lt;img src="i.png"&gt;</description></item>
        </channel></rss>"#,
        &opts,
    )
    .unwrap();
    assert_eq!(feed.home_page_url.as_deref(), Some("https://news.example/"));
    let e = &feed.entries[0];
    assert_eq!(
        e.link.as_deref(),
        Some("https://news.example/feeds/story/7")
    );
    // Relative URLs in content resolve against the item's link.
    assert_eq!(
        e.content_html.as_deref(),
        Some("<img src=\"https://news.example/feeds/story/i.png\" />")
    );
    // A guid that is not a URL is not used as the link.
    assert_eq!(e.upstream_id.as_deref(), Some("7"));
}

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://example.org/blog/" xml:lang="en">
  <title type="html">Example &lt;b&gt;Blog&lt;/b&gt;</title>
  <subtitle>All about &lt;things&gt;</subtitle>
  <link href="./"/>
  <link rel="self" href="feed.atom"/>
  <icon>/favicon.ico</icon>
  <id>urn:uuid:60a76c80-d399-11d9-b91C-0003939e0af6</id>
  <updated>2024-01-02T03:04:05Z</updated>
  <author><name>Ann</name></author>
  <author><email>bob@example.org</email></author>
  <entry xml:base="2024/">
    <title type="text">First &amp; foremost</title>
    <link rel="alternate" type="text/html" href="first.html"/>
    <link rel="enclosure" type="audio/mpeg" length="1234" href="/media/a.mp3"/>
    <id>tag:example.org,2024:1</id>
    <published>2024-01-01T10:00:00+02:00</published>
    <updated>2024-01-02T00:00:00Z</updated>
    <category term="rust" label="Rust"/>
    <category term="web"/>
    <summary type="text">Short &lt;b&gt; text</summary>
    <content type="html" xml:base="http://cdn.example.net/img/">&lt;p style="color:red"&gt;Hi &lt;img src="pic.png"&gt;&lt;/p&gt;</content>
  </entry>
  <entry>
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">An <em>xhtml</em>   title</div></title>
    <link href="second.html"/>
    <updated>not a date</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>See <a href="other.html">this</a></p></div></content>
  </entry>
</feed>"#;

#[test]
fn atom10_xml_base_and_typed_content() {
    let feed = parse(ATOM);
    assert_eq!(feed.format, FeedFormat::Atom10);
    assert_eq!(feed.format.to_string(), "atom1.0");
    assert_eq!(feed.title.as_deref(), Some("Example Blog"));
    assert_eq!(feed.description.as_deref(), Some("All about <things>"));
    assert_eq!(
        feed.home_page_url.as_deref(),
        Some("http://example.org/blog/")
    );
    assert_eq!(
        feed.feed_url.as_deref(),
        Some("http://example.org/blog/feed.atom")
    );
    assert_eq!(feed.icon.as_deref(), Some("http://example.org/favicon.ico"));
    assert_eq!(feed.language.as_deref(), Some("en"));
    assert_eq!(
        feed.authors,
        vec!["Ann".to_string(), "bob@example.org".to_string()]
    );

    let e = &feed.entries[0];
    assert_eq!(e.upstream_id.as_deref(), Some("tag:example.org,2024:1"));
    assert_eq!(e.title.as_deref(), Some("First & foremost"));
    assert_eq!(
        e.link.as_deref(),
        Some("http://example.org/blog/2024/first.html")
    );
    assert_eq!(e.published, utc(2024, 1, 1, 8, 0, 0));
    assert_eq!(e.updated, utc(2024, 1, 2, 0, 0, 0));
    assert_eq!(e.categories, vec!["Rust".to_string(), "web".to_string()]);
    assert_eq!(e.summary_html.as_deref(), Some("Short &lt;b&gt; text"));
    assert_eq!(
        e.content_html.as_deref(),
        Some("<p style=\"color:red\">Hi <img src=\"http://cdn.example.net/img/pic.png\" /></p>")
    );
    assert_eq!(
        e.enclosures,
        vec![Enclosure {
            url: "http://example.org/media/a.mp3".into(),
            mime_type: "audio/mpeg".into(),
            length: 1234,
        }]
    );

    let e = &feed.entries[1];
    assert_eq!(e.upstream_id, None);
    assert_eq!(e.title.as_deref(), Some("An xhtml title"));
    assert_eq!(
        e.link.as_deref(),
        Some("http://example.org/blog/second.html")
    );
    assert_eq!(e.updated, None);
    let content = e.content_html.as_deref().unwrap();
    assert!(
        content.contains("<a href=\"http://example.org/blog/other.html\""),
        "{content}"
    );
    assert!(
        feed.warnings
            .iter()
            .any(|w| w.contains("item 2: unparseable date `not a date`"))
    );
}

#[test]
fn rss10_rdf() {
    let feed = parse(
        r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="http://example.org/rss.rdf">
    <title>RDF Site</title>
    <link>http://example.org/</link>
    <description>An RSS 1.0 feed</description>
    <dc:language>fr</dc:language>
  </channel>
  <item rdf:about="http://example.org/one">
    <title>One</title>
    <link>http://example.org/one</link>
    <description>First &lt;i&gt;item&lt;/i&gt;</description>
    <dc:date>2003-12-13T18:30:02Z</dc:date>
    <dc:creator>Marie</dc:creator>
  </item>
</rdf:RDF>"#,
    );
    assert_eq!(feed.format, FeedFormat::Rss10);
    assert_eq!(feed.format.to_string(), "rss1.0");
    assert_eq!(feed.title.as_deref(), Some("RDF Site"));
    assert_eq!(feed.language.as_deref(), Some("fr"));
    assert_eq!(feed.entries.len(), 1);
    let e = &feed.entries[0];
    assert_eq!(e.title.as_deref(), Some("One"));
    assert_eq!(e.link.as_deref(), Some("http://example.org/one"));
    assert_eq!(e.published, utc(2003, 12, 13, 18, 30, 2));
    assert_eq!(e.authors, vec!["Marie".to_string()]);
    assert_eq!(e.content_html.as_deref(), Some("First <i>item</i>"));
}

const JSON_FEED: &str = r#"{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "JSON Example",
  "home_page_url": "https://json.example/",
  "feed_url": "https://json.example/feed.json",
  "description": "A JSON Feed",
  "language": "en",
  "icon": "https://json.example/icon.png",
  "authors": [{"name": "Jo"}],
  "items": [
    {
      "id": "1",
      "url": "https://json.example/1",
      "title": "Hello",
      "content_html": "<p>Hello <b>world</b><img src=x onerror=alert(1)></p>",
      "summary": "Greeting",
      "date_published": "2024-02-03T04:05:06-05:00",
      "date_modified": "2024-02-04T00:00:00Z",
      "tags": ["a", "b"],
      "attachments": [{"url": "https://json.example/1.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 99}]
    },
    {
      "id": 2,
      "url": "/2",
      "content_text": "Line one\nLine <two>"
    }
  ]
}"#;

#[test]
fn json_feed_11() {
    let feed = parse(JSON_FEED);
    assert_eq!(feed.format, FeedFormat::JsonFeed11);
    assert_eq!(feed.format.to_string(), "json1.1");
    assert_eq!(feed.title.as_deref(), Some("JSON Example"));
    assert_eq!(feed.home_page_url.as_deref(), Some("https://json.example/"));
    assert_eq!(
        feed.feed_url.as_deref(),
        Some("https://json.example/feed.json")
    );
    assert_eq!(feed.description.as_deref(), Some("A JSON Feed"));
    assert_eq!(feed.icon.as_deref(), Some("https://json.example/icon.png"));
    assert_eq!(feed.authors, vec!["Jo".to_string()]);

    let e = &feed.entries[0];
    assert_eq!(e.upstream_id.as_deref(), Some("1"));
    assert_eq!(e.link.as_deref(), Some("https://json.example/1"));
    assert_eq!(e.title.as_deref(), Some("Hello"));
    // Relative URLs in content resolve against the item's url.
    assert_eq!(
        e.content_html.as_deref(),
        Some("<p>Hello <b>world</b><img src=\"https://json.example/x\" /></p>")
    );
    assert_eq!(e.summary_html.as_deref(), Some("Greeting"));
    assert_eq!(e.published, utc(2024, 2, 3, 9, 5, 6));
    assert_eq!(e.updated, utc(2024, 2, 4, 0, 0, 0));
    assert_eq!(e.categories, vec!["a".to_string(), "b".to_string()]);
    assert_eq!(
        e.authors,
        vec!["Jo".to_string()],
        "items inherit the feed's authors"
    );
    assert_eq!(
        e.enclosures,
        vec![Enclosure {
            url: "https://json.example/1.mp3".into(),
            mime_type: "audio/mpeg".into(),
            length: 99,
        }]
    );

    let e = &feed.entries[1];
    assert_eq!(
        e.upstream_id.as_deref(),
        Some("2"),
        "numeric ids become strings"
    );
    assert_eq!(e.link.as_deref(), Some("https://json.example/2"));
    assert_eq!(
        e.content_html.as_deref(),
        Some("Line one<br />Line &lt;two&gt;")
    );
    assert_eq!(e.summary_html, None);
}

#[test]
fn json_feed_leniency() {
    // No title, a mistyped member, bad tags and an incomplete attachment:
    // the feed is still read, and the recoveries are reported.
    let feed = parse(
        r#"{"version": "https://jsonfeed.org/version/1", "items": [
            {"id": "a", "url": "https://j.example/a", "title": 5,
             "tags": ["ok", 3], "attachments": [{"url": "https://j.example/x.mp3"}],
             "content_text": "Hi"}
        ]}"#,
    );
    assert_eq!(feed.format, FeedFormat::JsonFeed10);
    assert_eq!(feed.title, None);
    let e = &feed.entries[0];
    assert_eq!(e.title, None);
    assert_eq!(e.categories, vec!["ok".to_string()]);
    assert!(e.enclosures.is_empty());
    assert_eq!(e.content_html.as_deref(), Some("Hi"));
    assert_eq!(
        feed.warnings,
        vec!["item 1: ignored mistyped title".to_string()]
    );
}

#[test]
fn json_view_shape() {
    let feed = parse(JSON_FEED);
    let view = to_json_view(&feed);
    assert_eq!(view["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(view["title"], "JSON Example");
    assert_eq!(view["format"], "json1.1");
    assert_eq!(view["encoding"], "utf-8");
    assert_eq!(view["authors"][0]["name"], "Jo");
    assert!(view["warnings"].as_array().unwrap().is_empty());
    let item = &view["items"][0];
    assert_eq!(item["id"], "1");
    assert_eq!(item["url"], "https://json.example/1");
    assert_eq!(item["summary"], "Greeting");
    assert_eq!(item["date_published"], "2024-02-03T09:05:06Z");
    assert_eq!(item["date_modified"], "2024-02-04T00:00:00Z");
    assert_eq!(item["tags"][1], "b");
    assert_eq!(item["attachments"][0]["mime_type"], "audio/mpeg");
    assert_eq!(item["attachments"][0]["size_in_bytes"], 99);
    assert!(view["items"][1].get("title").is_none());

    // An RSS feed's view has the same shape.
    let view = to_json_view(&parse(RSS2));
    assert_eq!(view["format"], "rss2.0");
    assert_eq!(view["items"][0]["authors"][0]["name"], "Jane Doe");
    assert_eq!(view["items"][1]["date_published"], serde_json::Value::Null);
    assert!(!view["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn windows_1252_declared_feed() {
    let mut bytes = b"<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<rss version=\"2.0\"><channel><title>Caf".to_vec();
    bytes.push(0xE9); // é
    bytes.extend_from_slice(b" \x80</title><item><title>na");
    bytes.push(0xEF); // ï
    bytes.extend_from_slice(b"ve</title><guid>x</guid></item></channel></rss>");
    let feed = parse_feed(&bytes, &ParseOptions::default()).unwrap();
    assert_eq!(feed.encoding, "windows-1252");
    assert_eq!(feed.title.as_deref(), Some("Café €"));
    assert_eq!(feed.entries[0].title.as_deref(), Some("naïve"));
    assert!(feed.warnings.is_empty(), "{:?}", feed.warnings);

    // iso-8859-1 is decoded as windows-1252 (as browsers do), with a note.
    let mut raw =
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>Caf"
            .to_vec();
    raw.push(0xE9);
    raw.extend_from_slice(b"</title></channel></rss>");
    let feed = parse_feed(&raw, &ParseOptions::default()).unwrap();
    assert_eq!(feed.encoding, "windows-1252");
    assert_eq!(feed.title.as_deref(), Some("Café"));
    assert_eq!(
        feed.warnings,
        vec!["decoded as windows-1252 (declared iso-8859-1)".to_string()]
    );

    // The Content-Type charset wins over the declaration.
    let opts = ParseOptions {
        content_type: Some("text/xml; charset=windows-1252"),
        base_url: None,
    };
    let mut raw =
        b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Caf"
            .to_vec();
    raw.push(0xE9);
    raw.extend_from_slice(b"</title></channel></rss>");
    let feed = parse_feed(&raw, &opts).unwrap();
    assert_eq!(feed.encoding, "windows-1252");
    assert_eq!(feed.title.as_deref(), Some("Café"));
}

#[test]
fn undeclared_invalid_utf8_falls_back_to_windows_1252() {
    let mut raw = b"<rss version=\"2.0\"><channel><title>Caf".to_vec();
    raw.push(0xE9);
    raw.extend_from_slice(b"</title></channel></rss>");
    let feed = parse_feed(&raw, &ParseOptions::default()).unwrap();
    assert_eq!(feed.encoding, "windows-1252");
    assert_eq!(feed.title.as_deref(), Some("Café"));
    assert_eq!(feed.warnings.len(), 1);
}

#[test]
fn utf16_with_bom() {
    let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Ünïcödé ✓</title><entry><id>e1</id><title>日本語</title></entry></feed>";
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let feed = parse_feed(&le, &ParseOptions::default()).unwrap();
    assert_eq!(feed.encoding, "utf-16le");
    assert_eq!(feed.title.as_deref(), Some("Ünïcödé ✓"));
    assert_eq!(feed.entries[0].title.as_deref(), Some("日本語"));

    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    let feed = parse_feed(&be, &ParseOptions::default()).unwrap();
    assert_eq!(feed.encoding, "utf-16be");
    assert_eq!(feed.entries[0].upstream_id.as_deref(), Some("e1"));

    // A UTF-8 BOM is skipped too.
    let mut bom8 = vec![0xEF, 0xBB, 0xBF];
    bom8.extend_from_slice(text.replace("UTF-16", "UTF-8").as_bytes());
    let feed = parse_feed(&bom8, &ParseOptions::default()).unwrap();
    assert_eq!(feed.encoding, "utf-8");
    assert_eq!(feed.title.as_deref(), Some("Ünïcödé ✓"));
}

#[test]
fn html_page_is_not_a_feed() {
    for page in [
        "<!DOCTYPE html><html><head><title>Hi</title></head><body></body></html>",
        "\n  <HTML><body>hello</body></HTML>",
        "<?xml version=\"1.0\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"x\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\"></html>",
    ] {
        match parse_feed(page.as_bytes(), &ParseOptions::default()) {
            Err(ParseError::NotAFeed(msg)) => {
                assert!(msg.contains("HTML page"), "{msg}");
                let shown = ParseError::NotAFeed(msg).to_string();
                assert!(shown.contains("looks like an HTML page, not a feed"));
            }
            other => panic!("expected NotAFeed, got {other:?}"),
        }
    }
    // Other XML vocabularies and non-feed JSON are not feeds either.
    assert!(matches!(
        parse_feed(
            b"<opml version=\"2.0\"><body/></opml>",
            &ParseOptions::default()
        ),
        Err(ParseError::NotAFeed(_))
    ));
    assert!(matches!(
        parse_feed(b"{\"hello\": 1}", &ParseOptions::default()),
        Err(ParseError::NotAFeed(_))
    ));
}

#[test]
fn empty_body() {
    for body in [&b""[..], b"  \r\n\t"] {
        assert!(matches!(
            parse_feed(body, &ParseOptions::default()),
            Err(ParseError::Empty)
        ));
    }
    assert!(matches!(
        parse_feed(&[0xEF, 0xBB, 0xBF, b' '], &ParseOptions::default()),
        Err(ParseError::Empty)
    ));
}

#[test]
fn truncated_documents_fail_without_panic() {
    // XML: recovered, keeping the items before the break, with a warning.
    let full = parse(RSS2);
    let cut = RSS2.rfind("</item>").expect("fixture has items");
    let truncated = &RSS2[..cut + 3];
    let feed = parse_feed(truncated.as_bytes(), &ParseOptions::default())
        .expect("truncated XML is recovered");
    assert_eq!(feed.entries.len(), full.entries.len() - 1);
    assert_eq!(feed.entries[0].title, full.entries[0].title);
    assert!(
        feed.warnings
            .iter()
            .any(|w| w.contains("truncated") && is_bozo_warning(w)),
        "{:?}",
        feed.warnings
    );
    let json = &JSON_FEED[..JSON_FEED.len() / 2];
    assert!(matches!(
        parse_feed(json.as_bytes(), &ParseOptions::default()),
        Err(ParseError::Malformed(_))
    ));
    // No prefix of any fixture may panic (Ok or Err are both fine), even
    // one cut inside a multi-byte character.
    for doc in [RSS2, ATOM, JSON_FEED] {
        for cut in (0..doc.len()).step_by(5) {
            let _ = parse_feed(&doc.as_bytes()[..cut], &ParseOptions::default());
        }
    }
}

#[test]
fn older_formats_and_missing_versions() {
    let feed = parse(
        r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old</title>
        <tagline>Atom 0.3</tagline>
        <entry><title>E</title><link rel="alternate" type="text/html" href="http://example.org/e"/>
        <id>tag:e</id><issued>2003-12-13T08:29:29-04:00</issued><modified>2003-12-13T18:30:02Z</modified>
        <content type="text/html" mode="escaped">&lt;p&gt;hi&lt;/p&gt;</content></entry></feed>"#,
    );
    assert_eq!(feed.format.to_string(), "atom0.3");
    assert_eq!(feed.description.as_deref(), Some("Atom 0.3"));
    let e = &feed.entries[0];
    assert_eq!(e.link.as_deref(), Some("http://example.org/e"));
    assert_eq!(e.published, utc(2003, 12, 13, 12, 29, 29));
    assert_eq!(e.updated, utc(2003, 12, 13, 18, 30, 2));
    assert_eq!(e.content_html.as_deref(), Some("<p>hi</p>"));

    let feed = parse(r#"<rss version="0.91"><channel><title>Old</title></channel></rss>"#);
    assert_eq!(feed.format.to_string(), "rss0.91");
    let feed = parse(r#"<rss><channel><item><title>x</title></item></channel></rss>"#);
    assert_eq!(feed.format.to_string(), "rss");
    assert_eq!(feed.entries[0].title.as_deref(), Some("x"));
    let feed = parse(r#"<rss version="2.0"><item><title>no channel</title></item></rss>"#);
    assert_eq!(feed.entries[0].title.as_deref(), Some("no channel"));
    let feed = parse(
        r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
        <channel><title>Netscape</title><link>http://example.org/</link></channel>
        <item><title>I</title><link>http://example.org/i</link></item></rdf:RDF>"#,
    );
    assert_eq!(feed.format.to_string(), "rss0.90");
    assert_eq!(feed.title.as_deref(), Some("Netscape"));
    assert_eq!(
        feed.entries[0].link.as_deref(),
        Some("http://example.org/i")
    );

    let feed = parse(r#"{"version":"https://jsonfeed.org/version/1","title":"J","items":[]}"#);
    assert_eq!(feed.format.to_string(), "json1.0");
}

#[test]
fn sanitize_removes_active_content() {
    let base = url::Url::parse("https://example.com/posts/1/").unwrap();
    let dirty = r#"<p onclick="steal()" style="color:red">Hello <a href="javascript:alert(1)">bad</a>
<a href="  JaVaScRiPt:alert(2)">bad2</a> <a href="vbscript:x">bad3</a> <a href="page.html">good</a>
<img src="img/cat.png" alt="cat"><img src="data:image/png;base64,AAAA">
<script>alert(3)</script><style>p{}</style><iframe src="https://evil.example/"></iframe>
<object data="x.swf"></object><embed src="y.swf"><form action="/f"><input name="q"></form></p>"#;
    let clean = sanitize_html(dirty, Some(&base));
    for banned in [
        "onclick",
        "<style",
        "p{}",
        "javascript",
        "JaVaScRiPt",
        "vbscript",
        "data:",
        "<script",
        "alert(3)",
        "<iframe",
        "<object",
        "<embed",
        "<form",
        "<input",
    ] {
        assert!(!clean.contains(banned), "`{banned}` left in {clean}");
    }
    assert!(
        clean.contains(r#"<img src="https://example.com/posts/1/img/cat.png" alt="cat" />"#),
        "{clean}"
    );
    assert!(
        clean.contains(r#"href="https://example.com/posts/1/page.html""#),
        "{clean}"
    );
    assert!(clean.contains("noopener noreferrer"));

    // Without a base, relative URLs are kept as they are.
    let clean = sanitize_html(r#"<img src="img/cat.png"><a href="/x">x</a>"#, None);
    assert_eq!(
        clean,
        r#"<img src="img/cat.png" /><a href="/x" rel="noopener noreferrer">x</a>"#
    );
}

#[test]
fn no_panic_on_hostile_inputs() {
    let inputs: Vec<Vec<u8>> = vec![
        b"<".to_vec(),
        b"{".to_vec(),
        b"<rss version=\"2.0\"><channel><item><pubDate>99999999999999999999</pubDate></item></channel></rss>".to_vec(),
        b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><content type=\"image/png\"/></entry></feed>".to_vec(),
        b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><content src=\"x\">body</content><title type=\"bogus\">t</title></entry></feed>".to_vec(),
        b"<rss version=\"2.0\"><channel><item><media:content xmlns:media=\"http://search.yahoo.com/mrss/\" url=\"http://x/a.mp4\" duration=\"99999999999999999999999\"/></item></channel></rss>".to_vec(),
        vec![0xFF, 0xFE, 0x00],
        vec![0x00, 0x00, 0xFE, 0xFF, 0x00, 0x11, 0x00, 0x00],
        b"<?xml version=\"1.0\" encoding=\"x-made-up\"?><rss version=\"2.0\"><channel/></rss>".to_vec(),
        b"<!DOCTYPE rss [<!ENTITY e \"x\">]><rss version=\"2.0\"><channel><title>&e;&nbsp;</title></channel></rss>".to_vec(),
    ];
    for input in inputs {
        let _ = parse_feed(&input, &ParseOptions::default());
    }
}

/// Regression (found by `cargo fuzz run parse_feed`): an XML declaration
/// naming an encoding in the middle of a document made quick-xml panic
/// inside feed-rs (`set_encoding() called after prefix buffer was drained`).
/// It is dropped with a warning and the feed is read.
#[test]
fn misplaced_xml_declaration_is_recovered() {
    let doc = "<rss version=\"2.0\"><channel><title>T</title><link>http://x/</link>\
               <description>d</description><item><guid>1</guid><title>One</title>\
               <description>text<?xml version=\"1.0\" encoding=\"KOI8-R\"?>more</description></item>\
               </channel></rss>";
    let feed = parse_feed(doc.as_bytes(), &ParseOptions::default()).expect("recovered");
    assert_eq!(feed.entries.len(), 1);
    assert_eq!(feed.entries[0].title.as_deref(), Some("One"));
    assert!(
        feed.warnings
            .iter()
            .any(|w| w.contains("XML declaration inside the document")),
        "{:?}",
        feed.warnings
    );
    // A stylesheet PI is not a declaration and stays harmless.
    let styled = doc.replace(
        "<?xml version=\"1.0\" encoding=\"KOI8-R\"?>",
        "<?xml-stylesheet href=\"a.xsl\"?>",
    );
    let feed = parse_feed(styled.as_bytes(), &ParseOptions::default()).expect("parsed");
    assert!(!feed.warnings.iter().any(|w| w.contains("XML declaration")));
}

/// Regression (found by `cargo fuzz run parse_feed`): feed-rs panicked
/// slicing an author string whose e-mail is followed by a multi-byte
/// character (`start byte index .. is not a char boundary`). The feed is
/// read again without its author elements, and its items are kept.
#[test]
fn author_that_panics_the_reader_is_dropped_not_the_feed() {
    let doc = "<rss version=\"2.0\"><channel><title>T</title><link>http://x/</link>\
               <description>d</description><managingEditor>x a@b.co½y</managingEditor>\
               <item><guid>1</guid><title>One</title><author>z a@b.co½ (N)</author></item>\
               </channel></rss>";
    let feed = parse_feed(doc.as_bytes(), &ParseOptions::default()).expect("items kept");
    assert_eq!(feed.entries.len(), 1);
    assert_eq!(feed.entries[0].title.as_deref(), Some("One"));
    assert!(
        feed.warnings
            .iter()
            .any(|w| w.contains("author elements dropped")),
        "{:?}",
        feed.warnings
    );
}

/// Every file below `dir` (recursively) that `keep` accepts.
fn files_under(
    dir: &std::path::Path,
    keep: impl Fn(&std::path::Path) -> bool,
) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if keep(&path) {
                files.push(path);
            }
        }
    }
    files
}

/// Smoke test over the shared corpus; skipped unless `SYNDIC_CORPUS` is set.
#[test]
fn shared_corpus_smoke() {
    let Some(root) = std::env::var_os("SYNDIC_CORPUS") else {
        crate::test_skip::skip("shared_corpus_smoke", "SYNDIC_CORPUS is not set");
        return;
    };
    let dir = std::path::Path::new(&root).join("feedparser/tests/wellformed");
    let files = files_under(&dir, |path| {
        path.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "xml" | "rss" | "atom" | "rdf" | "json"))
    });
    assert!(!files.is_empty(), "no feed files under {}", dir.display());
    let started = std::time::Instant::now();
    let mut ok = 0usize;
    for path in &files {
        let bytes = std::fs::read(path).expect("readable corpus file");
        if parse_feed(&bytes, &ParseOptions::default()).is_ok() {
            ok += 1;
        }
    }
    let rate = ok as f64 / files.len() as f64;
    eprintln!(
        "corpus: {ok}/{} parsed Ok ({:.1}%) in {:?}",
        files.len(),
        rate * 100.0,
        started.elapsed()
    );
    assert!(rate >= 0.75, "only {:.1}% parsed", rate * 100.0);
}

#[test]
fn json_view_has_external_url_content_text_and_issue_format_names() {
    let json = r#"{"version": "1.1", "title": "T", "items": [
        {"id": "1", "url": "https://example.com/1", "external_url": "https://elsewhere.example/a",
         "content_html": "<p>Hello <b>world</b></p>"}]}"#;
    let feed = parse(json);
    assert_eq!(feed.format.to_string(), "json1.1");
    let view = to_json_view(&feed);
    let item = &view["items"][0];
    assert_eq!(item["url"], "https://example.com/1");
    assert_eq!(item["external_url"], "https://elsewhere.example/a");
    assert_eq!(item["content_text"], "Hello world");
    assert_eq!(view["format"], "json1.1");
    assert_eq!(view["warnings"], serde_json::json!([]));
}

#[test]
fn recovery_warnings_reach_the_json_view() {
    let doc = "junk<rss version=\"2.0\"><channel><title>Caf&eacute; & co</title>\
               <item><title>one</title><link>http://x/1</link></item><item><title>tw";
    let feed = parse_feed(doc.as_bytes(), &ParseOptions::default()).expect("recovered");
    assert_eq!(feed.title.as_deref(), Some("Caf\u{e9} & co"));
    assert_eq!(feed.entries.len(), 1);
    let view = to_json_view(&feed);
    let warnings: Vec<String> = serde_json::from_value(view["warnings"].clone()).expect("list");
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    assert!(feed.warnings.iter().all(is_bozo_warning), "{warnings:?}");
    assert_eq!(
        feed.warnings, warnings,
        "the view shows each warning's text"
    );
    assert_eq!(view["format"], "rss2.0");
}

#[test]
fn ebcdic_and_dos_codepages_decode() {
    // cp437: 0x80 is Ç.
    let mut doc =
        b"<?xml version=\"1.0\" encoding=\"ibm437\"?><rss version=\"2.0\"><channel><title>"
            .to_vec();
    doc.push(0x80);
    doc.extend_from_slice(b"</title></channel></rss>");
    let feed = parse_feed(&doc, &ParseOptions::default()).expect("cp437 feed");
    assert_eq!(feed.title.as_deref(), Some("\u{c7}"));
    assert_eq!(feed.encoding, "cp437");
}

#[test]
fn sanitizer_keeps_harmless_attributes_and_drops_forms_and_styles() {
    let html = r#"<span abbr="x" class="c" bgcolor="red" style="color: red; background: url(javascript:x); position: fixed; width: expression(alert()); height: e\78pression(x)" onclick="x()">t</span><form action="http://evil/"><input name="p"></form><audio src="javascript:alert(1)"></audio><section>s</section>"#;
    let clean = sanitize_html(html, None);
    assert!(clean.contains(r#"style="color:red""#), "{clean}");
    assert!(clean.contains(r#"abbr="x""#), "{clean}");
    assert!(clean.contains(r#"bgcolor="red""#), "{clean}");
    assert!(clean.contains("<section>s</section>"), "{clean}");
    for banned in [
        "position",
        "expression",
        "e\\78",
        "url(",
        "onclick",
        "<form",
        "<input",
        "action",
        "javascript",
    ] {
        assert!(!clean.contains(banned), "{banned} kept in {clean}");
    }
}

#[test]
fn rss_item_body_and_fullitem_are_content() {
    let doc = r#"<rss version="2.0"><channel><title>t</title>
        <item><title>a</title><body xmlns="http://www.w3.org/1999/xhtml"><p>Hello <b>there</b></p></body></item>
        <item><title>b</title><fullitem>&lt;i&gt;full&lt;/i&gt; text</fullitem></item>
        </channel></rss>"#;
    let feed = parse(doc);
    assert_eq!(
        feed.entries[0].content_html.as_deref(),
        Some("<p>Hello <b>there</b></p>")
    );
    assert_eq!(
        feed.entries[1].content_html.as_deref(),
        Some("<i>full</i> text")
    );
}

#[test]
fn gb2312_is_read_as_gb18030() {
    // "中" in GBK/GB18030.
    let mut doc =
        b"<?xml version=\"1.0\" encoding=\"gb2312\"?><rss version=\"2.0\"><channel><title>"
            .to_vec();
    doc.extend_from_slice(&[0xD6, 0xD0]);
    doc.extend_from_slice(b"</title></channel></rss>");
    let feed = parse_feed(&doc, &ParseOptions::default()).expect("gb2312 feed");
    assert_eq!(feed.title.as_deref(), Some("\u{4e2d}"));
    assert_eq!(feed.encoding, "gb18030");
}

#[test]
fn rss10_items_without_link_are_kept_and_rdf_about_is_their_id() {
    let doc = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
      <channel rdf:about="http://example.org/index.rdf"><title>t</title><link>http://example.org/</link></channel>
      <item rdf:about="http://example.org/entry/1"><title>One</title></item>
      <item rdf:about="urn:x:2"><title>Two</title><link>http://example.org/two</link></item>
    </rdf:RDF>"#;
    let feed = parse(doc);
    assert_eq!(feed.entries.len(), 2);
    assert_eq!(
        feed.entries[0].upstream_id.as_deref(),
        Some("http://example.org/entry/1")
    );
    assert_eq!(
        feed.entries[0].link.as_deref(),
        Some("http://example.org/entry/1")
    );
    assert_eq!(feed.entries[1].upstream_id.as_deref(), Some("urn:x:2"));
    assert_eq!(
        feed.entries[1].link.as_deref(),
        Some("http://example.org/two")
    );
}

#[test]
fn atom_base64_text_constructs_are_decoded() {
    // "Example <b>Atom</b>"
    let doc = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title mode="base64">
        RXhhbXBsZSA8Yj5BdG9tPC9iPg==</title><entry><id>urn:1</id>
        <content type="application/octet-stream">RXhhbXBsZSA8Yj5BdG9tPC9iPg==</content></entry></feed>"#;
    let feed = parse(doc);
    assert_eq!(feed.title.as_deref(), Some("Example <b>Atom</b>"));
    assert_eq!(
        feed.entries[0].content_html.as_deref(),
        Some("Example <b>Atom</b>")
    );
}

#[test]
fn cdf_channels_are_read() {
    let doc = r#"<CHANNEL HREF="http://www.example.org/"><TITLE>Example feed</TITLE>
        <ABSTRACT>About it</ABSTRACT>
        <ITEM HREF="http://www.example.org/1" LASTMOD="2004-04-06T23:05:43-05:00">
        <TITLE>Example item</TITLE><ABSTRACT>Item text</ABSTRACT></ITEM></CHANNEL>"#;
    let feed = parse(doc);
    assert_eq!(feed.format.to_string(), "cdf");
    assert_eq!(feed.title.as_deref(), Some("Example feed"));
    assert_eq!(feed.description.as_deref(), Some("About it"));
    assert_eq!(
        feed.home_page_url.as_deref(),
        Some("http://www.example.org/")
    );
    let e = &feed.entries[0];
    assert_eq!(e.title.as_deref(), Some("Example item"));
    assert_eq!(e.link.as_deref(), Some("http://www.example.org/1"));
    assert_eq!(e.published, utc(2004, 4, 7, 4, 5, 43));
}

#[test]
fn dublin_core_fallbacks_in_rss2() {
    let doc = r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
        <dc:title>Channel via dc</dc:title><dc:creator>Example editor</dc:creator>
        <dc:language>en</dc:language>
        <item><dc:title>Item via dc</dc:title><dc:description>Body</dc:description>
        <dc:subject>One</dc:subject><dc:subject>Two</dc:subject></item>
        <item><title>Own title</title><dc:title>ignored</dc:title></item>
        </channel></rss>"#;
    let feed = parse(doc);
    assert_eq!(feed.title.as_deref(), Some("Channel via dc"));
    assert_eq!(feed.authors, vec!["Example editor".to_string()]);
    assert_eq!(feed.language.as_deref(), Some("en"));
    let e = &feed.entries[0];
    assert_eq!(e.title.as_deref(), Some("Item via dc"));
    assert_eq!(e.content_html.as_deref(), Some("Body"));
    assert_eq!(e.categories, vec!["One".to_string(), "Two".to_string()]);
    assert_eq!(feed.entries[1].title.as_deref(), Some("Own title"));
}

#[test]
fn itunes_and_media_fallbacks_in_rss2() {
    let doc = r#"<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
        xmlns:media="http://search.yahoo.com/mrss/"><channel><title>P</title>
        <itunes:image href="http://example.com/logo.jpg"/>
        <itunes:summary>Show notes</itunes:summary>
        <item><title>E1</title><itunes:author>Mark</itunes:author>
        <itunes:summary>Episode</itunes:summary><media:category>cat1</media:category></item>
        </channel></rss>"#;
    let feed = parse(doc);
    assert_eq!(feed.icon.as_deref(), Some("http://example.com/logo.jpg"));
    assert_eq!(feed.description.as_deref(), Some("Show notes"));
    let e = &feed.entries[0];
    assert_eq!(e.authors, vec!["Mark".to_string()]);
    assert_eq!(e.content_html.as_deref(), Some("Episode"));
    assert_eq!(e.categories, vec!["cat1".to_string()]);
}

#[test]
fn rss_093_and_094_are_named() {
    for (v, name) in [("0.93", "rss0.93"), ("0.94", "rss0.94")] {
        let doc = format!(
            "<rss version=\"{v}\"><channel><title>t</title><item><title>i</title></item></channel></rss>"
        );
        let feed = parse(&doc);
        assert_eq!(feed.format.to_string(), name);
        assert_eq!(feed.entries.len(), 1);
    }
}

/// An RSS 1.0 item without a `<link>` takes its `rdf:about` as its link
/// (the adapter's `rdf_item_links`); an empty `rdf:about` gives feed-rs an
/// empty `<link>`, hence no link, and the item is dropped.
#[test]
fn rss1_items_with_an_empty_about_are_dropped() {
    let doc = |about: &str| {
        format!(
            "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" \
             xmlns=\"http://purl.org/rss/1.0/\"><channel><title>T</title></channel>\
             <item rdf:about=\"{about}\"><title>one</title></item>\
             <item rdf:about=\"https://x.example/2\"><link>https://x.example/2</link></item></rdf:RDF>"
        )
    };
    let feed = parse_feed(doc("").as_bytes(), &ParseOptions::default()).unwrap();
    assert_eq!(feed.entries.len(), 1);
}
