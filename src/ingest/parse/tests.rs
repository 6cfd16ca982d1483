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

/// Every corpus file, sorted; `None` (and a note naming `test`) when
/// `SYNDIC_CORPUS` is not set.
fn all_corpus_files(test: &str) -> Option<Vec<std::path::PathBuf>> {
    let Some(root) = std::env::var_os("SYNDIC_CORPUS") else {
        eprintln!("SYNDIC_CORPUS not set: {test} skipped");
        return None;
    };
    let mut files = files_under(std::path::Path::new(&root), |_| true);
    files.sort();
    Some(files)
}

/// Smoke test over the shared corpus; skipped unless `SYNDIC_CORPUS` is set.
#[test]
fn shared_corpus_smoke() {
    let Some(root) = std::env::var_os("SYNDIC_CORPUS") else {
        eprintln!("SYNDIC_CORPUS not set: corpus smoke test skipped");
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

/// The sanitizer's fast path against ammonia on every summary and content
/// fragment of the corpus (with and without a base URL), and the text fast
/// path against ammonia's tag stripper on those and the titles: equal
/// output whenever a fast path accepts. Skipped unless `SYNDIC_CORPUS` is
/// set.
#[test]
fn shared_sanitizer_fast_path_matches_ammonia_on_corpus() {
    let Some(files) = all_corpus_files("sanitizer differential test") else {
        return;
    };
    let base = url::Url::parse("https://example.org/feed/dir/").ok();
    let (mut fragments, mut accepted) = (0usize, 0usize);
    let (mut texts_seen, mut texts_taken) = (0usize, 0usize);
    let mut mismatches = Vec::new();
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let Ok((raw, ..)) = read_raw(&bytes, &ParseOptions::default()) else {
            continue;
        };
        let texts = raw
            .entries
            .iter()
            .flat_map(|e| [e.title.as_ref(), e.summary.as_ref(), e.content.as_ref()])
            .chain([raw.title.as_ref(), raw.description.as_ref()])
            .flatten()
            .filter(|t| t.kind != raw::TextKind::Plain);
        for text in texts {
            texts_seen += 1;
            let (fast, ammonia) = html_to_text_both_ways(&text.value);
            if let Some(fast) = fast {
                texts_taken += 1;
                if fast != ammonia && mismatches.len() < 10 {
                    mismatches.push((path.clone(), text.value.clone(), fast, ammonia));
                }
            }
            for base in [None, base.as_ref()] {
                fragments += 1;
                let (fast, ammonia) = sanitize_html_both_ways(&text.value, base);
                if let Some(fast) = fast {
                    accepted += 1;
                    if fast != ammonia && mismatches.len() < 10 {
                        mismatches.push((path.clone(), text.value.clone(), fast, ammonia));
                    }
                }
            }
        }
    }
    eprintln!(
        "sanitizer fast path: {accepted} of {fragments} corpus fragments ({:.1}%)",
        accepted as f64 * 100.0 / fragments.max(1) as f64
    );
    eprintln!("text fast path: {texts_taken} of {texts_seen} corpus texts");
    assert!(mismatches.is_empty(), "fast path differs: {mismatches:#?}");
    assert!(fragments > 1000, "only {fragments} fragments found");
    assert!(
        texts_taken * 2 > texts_seen,
        "text fast path took only {texts_taken} of {texts_seen}"
    );
    // The fast path must stay useful, not only correct.
    assert!(
        accepted * 2 > fragments,
        "fast path accepted only {accepted} of {fragments}"
    );
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
    assert!(warnings.iter().all(|w| is_bozo_warning(w)), "{warnings:?}");
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

/// Parses `bytes` through the one-pass reader (when it accepts) and through
/// the full path; `Err` with both results when they differ. `Ok(true)` when
/// the one-pass reader took the document.
fn fast_and_full_agree(bytes: &[u8], opts: &ParseOptions) -> Result<bool, String> {
    let fast = parse_feed_via(bytes, opts, Reader::Any);
    let full = parse_feed_via(bytes, opts, Reader::Full);
    let taken = matches!(fast, Ok((_, true)));
    let fast = fast.map(|(f, _)| f);
    let full = full.map(|(f, _)| f);
    let same = match (&fast, &full) {
        (Ok(a), Ok(b)) => a == b,
        (Err(a), Err(b)) => format!("{a:?}") == format!("{b:?}"),
        _ => false,
    };
    if same {
        Ok(taken)
    } else {
        Err(format!("one-pass: {fast:#?}\nfull: {full:#?}"))
    }
}

/// Both ways, with and without a base URL; the one-pass reader must take
/// the document when `taken` says so.
fn assert_fast_path(doc: &str, taken: bool) {
    for base in [None, Some("https://example.org/feed/dir/")] {
        let opts = ParseOptions {
            content_type: None,
            base_url: base,
        };
        match fast_and_full_agree(doc.as_bytes(), &opts) {
            Ok(t) => assert_eq!(t, taken, "one-pass reader taken: {t} for {doc}"),
            Err(diff) => panic!("readers differ on {doc}\n{diff}"),
        }
    }
}

const FAST_RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"
     xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:x="urn:x">
  <channel>
    <title> Example &amp;amp; Co &#233;&#xe9; </title>
    <link>https://example.com/</link>
    <link>/second</link>
    <atom:link rel="self" type="application/rss+xml" href="https://example.com/feed.xml?a=1&amp;b=2"/>
    <atom:link rel="hub" href="https://hub.example/"/>
    <description>News from &lt;b&gt;Example&lt;/b&gt;<x:y>nested</x:y> tail</description>
    <language>EN-us</language>
    <managingEditor>Ed Itor</managingEditor>
    <ttl>60</ttl>
    <ttl>x</ttl>
    <image><url>https://example.com/logo.png</url><title>x</title><link>/</link></image>
    <itunes:image href="https://example.com/itunes.png"/>
    <x:unknown a="1"><title>not the title</title><item><title>not an item</title></item></x:unknown>
    <item>
      <title>First &lt;em&gt;post&lt;/em&gt;</title>
      <title><![CDATA[Second <b>title</b> wins]]></title>
      <link>https://example.com/posts/1</link>
      <link> relative/2 </link>
      <comments>https://example.com/posts/1#comments</comments>
      <wfw:commentRss>https://example.com/posts/1/feed</wfw:commentRss>
      <guid isPermaLink="false"> post-1 </guid>
      <pubDate>Tue, 02 Jan 2024 10:30:00 +0100</pubDate>
      <dc:date>2024-01-03T00:00:00Z</dc:date>
      <atom:updated>2024-01-04T00:00:00Z</atom:updated>
      <dc:creator>Jane Doe</dc:creator>
      <dc:creator></dc:creator>
      <author> John </author>
      <category>Rust</category>
      <category domain="x"> News </category>
      <category/>
      <description>A short &lt;b&gt;summary&lt;/b&gt;.</description>
      <content:encoded><![CDATA[<p onclick="evil()">Full <a href="/about">text</a><script>alert(1)</script></p>]]></content:encoded>
      <enclosure url="https://example.com/ep1.mp3" length="12345" type="audio/mpeg"/>
      <enclosure url="/rel.mp3" length="x" type=""/>
      <enclosure length="1"/>
      <itunes:duration>1:02:03</itunes:duration>
      <itunes:summary>also</itunes:summary>
    </item>
    <item>
      <title>Second</title>
      <link>/posts/2</link>
      <guid>https://example.com/posts/2</guid>
      <pubDate>Foo</pubDate>
      <pubDate></pubDate>
      <description>Only a description</description>
      <content:encoded></content:encoded>
    </item>
    <item><description>  </description><title/><guid/></item>
    <item/>
  </channel>
</rss>
"#;

const FAST_ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-GB" xmlns:x="urn:x">
  <title type="html"> A &lt;i&gt;t&lt;/i&gt; </title>
  <subtitle>plain &amp; simple</subtitle>
  <id>urn:a</id>
  <updated>2026-01-01T00:00:00Z</updated>
  <link href="https://a.example/"/>
  <link rel="self" href="/feed.atom"/>
  <link rel="alternate" type="text/html" href="https://a.example/html"/>
  <icon>/icon.png</icon>
  <logo>https://a.example/logo.png</logo>
  <author><name> Ann </name><email>ann@example.org</email><uri>https://ann.example/</uri></author>
  <author><x:name>ignored</x:name></author>
  <contributor><name>C</name></contributor>
  <x:ext><title>not a title</title></x:ext>
  <entry>
    <id> urn:a:1 </id>
    <title>E &amp; F</title>
    <updated>2026-01-01T00:00:00+02:00</updated>
    <published>2025-12-31T00:00:00Z</published>
    <link href="rel"/>
    <link rel="enclosure" type="audio/mpeg" length="99" href="https://a.example/a.mp3"/>
    <link rel="related" href="https://elsewhere.example/"/>
    <link rel="replies" href=""/>
    <author><name>Bob</name></author>
    <category term=" t1 "/>
    <category term="t2" label="Label two"/>
    <category label="no term"/>
    <summary type="text">S &lt;b&gt;not bold&lt;/b&gt;</summary>
    <content type="html"><![CDATA[<p>Body <a href="/x">x</a></p>]]></content>
  </entry>
  <entry>
    <title/>
    <content></content>
    <summary>a<x:b>c</x:b>d</summary>
  </entry>
</feed>
"#;

#[test]
fn one_pass_reader_agrees_with_the_full_path_on_what_it_accepts() {
    assert_fast_path(FAST_RSS, true);
    assert_fast_path(FAST_ATOM, true);
    assert_fast_path(RSS2, true);
    let rss = |channel: &str| {
        format!(
            "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
             xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\" \
             xmlns:media=\"http://search.yahoo.com/mrss/\"><channel>{channel}</channel></rss>"
        )
    };
    // Taken: no version, empty version, elements after the channel, an
    // unbound prefix (feed-rs reads it in the default namespace), a
    // default namespace feed-rs does not know (it then reads nothing).
    for doc in [
        "<rss><channel><title>t</title><item><title>i</title></item></channel></rss>".to_string(),
        "<rss version=\"\"><channel><title>t</title></channel></rss>".to_string(),
        "<rss version=\"2.0\"><title>t</title><item><title>no wrapper</title></item></rss>".to_string(),
        "<rss version=\"0.91\">\n</rss>".to_string(),
        "<rss version=\"0.91\"><channel><title>t</title><item><title>i</title><guid>https://x.example/g</guid></item></channel></rss>".to_string(),
        "<rss version=\"0.92\"><channel><title>t</title></channel></rss>".to_string(),
        "<rss version=\"0.93\"><channel><title>t</title></channel></rss>".to_string(),
        "<rss version=\" 0.94 \"><channel><title>t</title></channel></rss>".to_string(),
        "<rss version=\"2.01\"><channel><title>t</title></channel></rss>".to_string(),
        "<rss version=\"5\"><channel><title>t</title></channel></rss>".to_string(),
        "<rss version=\"2.0\"><foo/><channel><title>a</title></channel><channel><title>b</title></channel></rss>".to_string(),
        "<rss version=\"2.0\"><channel><y:title>t</y:title><item><y:guid>g</y:guid></item></channel></rss>".to_string(),
        "<rss version=\"2.0\" xmlns=\"http://backend.userland.com/rss2\"><channel><title>t</title><item><title>i</title></item></channel></rss>".to_string(),
        rss("<item><title>t</title><dc:title>dt</dc:title><description>d</description><dc:description>dd</dc:description></item>"),
        rss("<item><itunes:author>ia</itunes:author><author>a</author></item>"),
        rss("<managingEditor>m</managingEditor><dc:creator>c</dc:creator><item/>"),
        rss("<image><url>https://x.example/a.png</url></image><itunes:image href=\"https://x.example/b.png\"/>"),
        rss("<item><title>a</title><pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate><updated>2026-03-02T10:00:00Z</updated></item>"),
        rss("<title>a<!-- c -->b<?pi x?>c</title><description><b>first child</b>text</description>"),
        rss("<item><enclosure url=\"https://x.example/a\" type=\"Audio/MPEG\"/></item>"),
        "\n  <rss version=\"2.0\"><channel><title>t</title></channel></rss>\n".to_string(),
        // HTML entities (the repair pass decodes them, with a warning)
        rss("<title>caf&eacute; &amp; &nbsp;x&LT;y&gt;</title><item><description>&mdash;&hellip;</description></item>"),
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>&copy;</title><entry><content type=\"xhtml\">\
         <div xmlns=\"http://www.w3.org/1999/xhtml\">&lt;&LT;&eacute;</div></content></entry></feed>".to_string(),
        "<rss version=\"2.0\"><title>&eacute;</title><item><title>no wrapper</title></item></rss>".to_string(),
        // people with e-mail addresses
        rss("<managingEditor>ed@example.org (Ed Itor)</managingEditor><item>\
             <author>jane@example.org (Jane Doe)</author><author>Long Name &lt;j@example.org&gt;</author>\
             <author>mailto:x@example.org</author><author>not@an-address</author></item>"),
        // Atom without namespace, Atom 0.3, text constructs typed as media types
        "<feed><title>no namespace</title><entry><title>e</title></entry></feed>".to_string(),
        // XHTML text constructs
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:h=\"http://www.w3.org/1999/xhtml\">\
         <title type=\"xhtml\"> <div xmlns=\"http://www.w3.org/1999/xhtml\">x &amp; <b class=\"a&amp;b\">y</b><br/>\r\n<![CDATA[<z>]]></div> </title>\
         <subtitle type=\"application/xhtml+xml\"><h:div>one</h:div><h:div>two</h:div></subtitle>\
         <entry><summary type=\"xhtml\">text <div>first</div></summary>\
         <content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><p>a<!-- c --><a href=\"/x\" title=\"&quot;q&quot;\">l</a></p></div>tail</content></entry>\
         <entry><title type=\"xhtml\"></title><content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><div>nested</div></div></content></entry>\
         <entry><content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\" xml:base=\"https://b.example/\"><a href=\"r\">r</a></div></content></entry></feed>".to_string(),
        "<feed xmlns=\"http://purl.org/atom/ns#\" version=\"0.3\"><entry><content type=\"application/xhtml+xml\" mode=\"xml\">\
         <div xmlns=\"http://www.w3.org/1999/xhtml\"><modified>m</modified></div></content></entry></feed>".to_string(),
        // The adapter's channel renames
        rss("<dc:creator>c</dc:creator><author>second</author><dc:author>third</dc:author>"),
        rss("<author>a@example.org (A)</author><itunes:author>ia</itunes:author>"),
        rss("<dc:language>FR</dc:language><dc:title>dt</dc:title><dc:description>dd</dc:description><itunes:summary>is</itunes:summary>"),
        rss("<itunes:subtitle>sub</itunes:subtitle><itunes:summary>sum</itunes:summary>"),
        rss("<itunes:subtitle>only sub</itunes:subtitle><language>de</language><dc:language>fr</dc:language>"),
        rss("<itunes:image href=\"\"/><itunes:link rel=\"image\" url=\"https://x.example/l.png\"/><itunes:image href=\"https://x.example/b.png\"/>"),
        rss("<itunes:image href=\"https://x.example/b.png\"/><image><url>https://x.example/i.png</url></image>"),
        rss("<managingEditor>m</managingEditor><dc:creator>c</dc:creator><dc:author>d</dc:author>"),
        // The adapter's item bodies
        rss("<item><body><p>x &amp; <a href=\"/y\">y</a></p>\n</body></item>\
             <item><content:encoded xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">c</content:encoded><body></body></item>\
             <item><xhtml:body xmlns:xhtml=\"http://www.w3.org/1999/xhtml\"><![CDATA[kept out]]></xhtml:body><body/></item>\
             <item><fullitem>&lt;p&gt;full&lt;/p&gt;</fullitem></item><item><fullitem><b>child first</b></fullitem></item>"),
        // The adapter's renames in items
        rss("<item><dc:title>only dc</dc:title><dc:title>last dc</dc:title></item>"),
        rss("<item><category>a</category><dc:subject> s </dc:subject><media:category>m</media:category><category>b</category></item>"),
        rss("<item><itunes:summary>s</itunes:summary></item><item><itunes:summary>s</itunes:summary><dc:description>d</dc:description></item>"),
        rss("<item><itunes:author>ia</itunes:author><dc:author>da</dc:author><itunes:author>x@example.org (X)</itunes:author></item>"),
        rss("<item><dc:author>s</dc:author><dc:creator></dc:creator></item><item><dc:description/><description>d</description></item>"),
        // Media RSS
        rss("<item><title>t</title><enclosure url=\"https://x.example/enc.mp3\" type=\"audio/mpeg\"/>\
             <media:content url=\"https://x.example/a.mp4\" type=\"video/mp4\" fileSize=\"12\" medium=\"video\">\
             <media:title type=\"plain\">mt</media:title><media:player url=\"https://x.example/player\"/><media:credit>c</media:credit></media:content>\
             <media:content url=\"/rel.jpg\" fileSize=\"x\"/><media:content type=\"image/png\"/>\
             <media:thumbnail url=\"https://x.example/t.png\" time=\"12:00:01.5\"/><media:description type=\"html\">&lt;b&gt;d&lt;/b&gt;</media:description>\
             <itunes:duration>10</itunes:duration></item>\
             <item><media:thumbnail url=\"https://x.example/t.png\"/><enclosure url=\"https://x.example/only.mp3\"/></item>"),
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:media=\"http://search.yahoo.com/mrss/\"><entry>\
         <link rel=\"enclosure\" href=\"https://x.example/l.mp3\"/><media:content url=\"https://x.example/m.mp4\"/>\
         <media:thumbnail url=\"t\"/></entry></feed>".to_string(),
        // RSS 1.0 and 0.90
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\"\
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\
         <channel rdf:about=\"https://x.example/\"><title> T </title><link>https://x.example/</link><description>D</description>\
         <dc:creator>Ann &lt;ann@example.org&gt;</dc:creator><dc:language>EN</dc:language><items><rdf:Seq><rdf:li resource=\"x\"/></rdf:Seq></items></channel>\
         <image><url>https://x.example/i.png</url></image>\
         <item rdf:about=\"https://x.example/1\"><title>one</title><link>https://x.example/1</link><dc:date>2004-01-01</dc:date>\
         <dc:description>dc first</dc:description><description>d</description><content:encoded>  </content:encoded></item>\
         <item rdf:about=\"https://x.example/2\"><title>two, no link</title><description>d</description><dc:description>dd</dc:description></item>\
         <item><title>dropped: no link, no about</title></item>\
         <item rdf:about=\"  \"><link>rel</link><foo:link xmlns:foo=\"urn:foo\">x</foo:link></item>\
         <item about=\"https://x.example/4\" xml:base=\"https://b.example/\">\n</item></rdf:RDF>".to_string(),
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\">\
         <item rdf:about=\"https://x.example/1\"><title>one</title></item><foo><item rdf:about=\"elsewhere\"/></foo></rdf:RDF>".to_string(),
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://my.netscape.com/rdf/simple/0.9/\">\
         <channel><title>old</title><link>https://x.example/</link></channel><item><title>i</title><link>https://x.example/i</link></item></rdf:RDF>".to_string(),
        // text constructs the adapter drops
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:a=\"http://www.w3.org/2005/Atom\"><title type=\"foo\">t<title type=\"bar\"/></title>\
         <a:title type=\"text/html\">prefixed</a:title><entry><content src=\"https://x.example/\"/><summary src=\"s\" type=\"html\">x</summary>\
         <content type=\"application/atom+xml\"><entry><title>t</title></entry></content><rights type=\"weird\"/></entry></feed>".to_string(),
        // xml:base
        "<rss version=\"2.0\" xml:base=\"https://x.example/\"><channel><link>a</link><item xml:base=\"sub/\">\
         <link>b</link><enclosure url=\"c.mp3\"/><description xml:base=\"/d/\">&lt;a href=\"e\"&gt;e&lt;/a&gt;</description>\
         </item><item><link>f</link></item></channel></rss>".to_string(),
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:base=\"sub/\"><link href=\"a\"/><icon xml:base=\"https://i.example/x/\">i.png</icon>\
         <entry xml:base=\"https://e.example/1/\"><link href=\"b\" xml:base=\"../2/\"/><link rel=\"enclosure\" href=\"c.mp3\"/>\
         <summary type=\"html\" xml:base=\"s/\">&lt;img src=\"x.png\"&gt;</summary><content type=\"html\">&lt;a href=\"y\"&gt;y&lt;/a&gt;</content></entry>\
         <entry><content xml:base=\"https://c.example/\" type=\"html\">&lt;a href=\"z\"&gt;z&lt;/a&gt;</content></entry></feed>".to_string(),
        "<feed version=\"0.3\"><tagline>t</tagline></feed>".to_string(),
        "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\" xml:lang=\"fr\">\
         <title mode=\"escaped\" type=\"text/html\">A &amp;lt;b&amp;gt;</title><tagline type=\"TEXT/plain\">tag</tagline>\
         <copyright>c</copyright><modified>2004-01-01T00:00:00Z</modified>\
         <author><name>A</name><email>a@example.org</email></author>\
         <entry><id>e1</id><issued>2004-01-01T00:00:00Z</issued><modified>2004-01-02T00:00:00Z</modified>\
         <created>2003-12-31T00:00:00Z</created><summary type=\"text/x-custom\">s</summary>\
         <content type=\"text/html\" mode=\"escaped\">&lt;p&gt;c&lt;/p&gt;</content></entry></feed>".to_string(),
    ] {
        assert_fast_path(&doc, true);
    }
    // Declined (and still read the same by the full path).
    for doc in [
        // repairs
        "junk<rss version=\"2.0\"><channel><title>t</title></channel></rss>".to_string(),
        rss("<link href=\"caf&eacute;\"/>"),
        rss("<item><body><p>caf&eacute;</p></body></item>"),
        rss("<title>a & b</title>"),
        rss("<title>a &#X41; b</title>"),
        rss("<title>a &#1; b</title>"),
        rss("<title>a \u{1} b</title>"),
        rss("<title>a</subtitle>"),
        rss("<?xml?><title>a</title>"),
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\" xmlns:d-syntax-ns#\" \
         xmlns=\"http://purl.org/rss/1.0/\" xmlns:dc=\"http://purl.org/d><channel><title>T</title></channel>\
         <item rdf:about=\"https://x.example/1\"><title>one</title></item><item rdf:about=\"https://x.example/2\">\
         <link>https://x.example/2</link></item></rdf:RDF>".to_string(),
        rss("<?xml  version=\"1.0\"?><title>a</title>"),
        rss("<item><title>1</title></item><item><title>2"),
        "<rss version=\"2.0\"><channel><link href=\"?a=1&b=2\"/></channel></rss>".to_string(),
        "<!DOCTYPE rss [<!ENTITY e \"x\">]><rss version=\"2.0\"><channel><title>&e;</title></channel></rss>".to_string(),
        // other formats and roots
        "<rss version=\"0.9&#49;\"><channel><title>t</title></channel></rss>".to_string(),
        "<rss version=\"2.0\"/>".to_string(),
        "<rss version=\"2.0\"></rss>".to_string(),
        "<rss version=\"2.0\" xml:base=\"https://x.example/\"><item><link>a</link></item></rss>".to_string(),
        "<rss version=\"2.0\"><item><dc:title xmlns:dc=\"http://purl.org/dc/elements/1.1/\">x</dc:title></item><foo><channel/></foo></rss>".to_string(),
        "<feed xmlns=\"http://purl.org/atom/ns#\"><link href=\"http://purl.org/atom/ns#\"/></feed>".to_string(),
        "<feed xmlns=\"urn:other\"><title>t</title></feed>".to_string(),
        "<a:feed xmlns:a=\"http://www.w3.org/2005/Atom\"><a:title>t</a:title></a:feed>".to_string(),
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\">\
         <item rdf:about=\"https://x.example/1\"></item></rdf:RDF>".to_string(),
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\">\
         <item rdf:about=\"https://x.example/1\"><item>nested</item></item></rdf:RDF>".to_string(),
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\">\
         <item rdf:about=\"https://x.example/?a=1&amp;b=2\"><title>t</title></item></rdf:RDF>".to_string(),
        // the adapter's edits
        rss("<item><dc:subject/></item>"),
        rss("<item><dc:title>a</dc:title><dc:title/></item>"),
        "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><item><dc:title>t</dc:title><x xmlns=\"urn:x\"/></item></channel></rss>".to_string(),
        rss("<item><itunes:summary type=\"html\">s</itunes:summary><description>d</description></item>"),
        rss("<item><fullitem/></item>"),
        "<rss version=\"2.0\" xml:base=\"https://x.example/\"><channel><item><body><p>x</p></body></item></channel></rss>".to_string(),
        rss("<dc:title>a</dc:title><dc:title/>"),
        rss("<dc:creator>ab\u{a0}jane@example.org</dc:creator>"),
        "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><dc:title>t</dc:title><x xmlns=\"urn:x\"/></channel></rss>".to_string(),
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:base=\"http://[::1\"><title>bad base</title></feed>".to_string(),
        // not modelled
        rss("<item><author>ab\u{a0}jane@example.org</author></item>"),
        rss("<webMaster>ab\u{a0}jane@example.org</webMaster>"),
        rss("<itunes:owner><itunes:email>e</itunes:email><itunes:name>ab\u{a0}jane@example.org</itunes:name></itunes:owner>"),
        rss("<item><media:group><media:content url=\"https://x.example/a.mp4\"/></media:group></item>"),
        rss("<item><media:content url=\"https://x.example/a.mp4\"><media:content url=\"b\"/></media:content></item>"),
        rss("<item><media:title></media:title></item>"),
        rss("<item><media:description type=\"rich\">d</media:description></item>"),
        rss("<item><media:thumbnail url=\"https://x.example/t.png\" time=\"99999999999999999999\"/></item>"),
        rss("<item><enclosure url=\"https://x.example/a\" type=\"audio/mpeg; x=1\"/></item>"),
        rss("<item><itunes:title type=\"foo\">t</itunes:title></item>"),
        rss("<item><itunes:duration>99999999999999999999999</itunes:duration></item>"),
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><content type=\"application/pdf\">eA==</content></entry></feed>".to_string(),
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:a=\"http://www.w3.org/2005/Atom\"><a:title type=\"TEXT\">t</a:title></feed>".to_string(),
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><title type=\"x\">t</title></div></content></entry></feed>".to_string(),
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><content type=\"foo\" mode=\"base64\">eA==</content></entry></feed>".to_string(),
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><summary type=\"html\"><p>child first</p></summary></entry></feed>".to_string(),
    ] {
        assert_fast_path(&doc, false);
    }
}

/// The one-pass reader against the full path on every file of the shared
/// corpus, with and without a base URL: equal results whenever it accepts.
/// Skipped unless `SYNDIC_CORPUS` is set.
#[test]
fn shared_one_pass_reader_matches_full_path_on_corpus() {
    let Some(files) = all_corpus_files("one-pass reader differential test") else {
        return;
    };
    let (mut taken, mut taken_bytes, mut total_bytes) = (0usize, 0usize, 0usize);
    let mut mismatches = Vec::new();
    // Why it declined: reason -> (files, bytes).
    let mut why: std::collections::HashMap<String, (usize, usize)> = Default::default();
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        total_bytes += bytes.len();
        let decoded = charset::decode(&bytes, None);
        if !decoded.text.trim_start().starts_with(['{', '['])
            && let Err(reason) = xml_reader::read_or_why(&decoded.text, None)
        {
            let counts = why.entry(reason).or_default();
            counts.0 += 1;
            counts.1 += bytes.len();
        }
        for base in [None, Some("https://example.org/feed/dir/")] {
            let opts = ParseOptions {
                content_type: None,
                base_url: base,
            };
            match fast_and_full_agree(&bytes, &opts) {
                Ok(true) if base.is_none() => {
                    taken += 1;
                    taken_bytes += bytes.len();
                }
                Ok(_) => {}
                Err(diff) => {
                    if mismatches.len() < 5 {
                        mismatches.push(format!("{} (base {base:?}):\n{diff}", path.display()));
                    } else {
                        mismatches.push(path.display().to_string());
                    }
                }
            }
        }
    }
    eprintln!(
        "one-pass reader: took {taken} of {} corpus files ({:.1}%), {taken_bytes} of {total_bytes} bytes ({:.1}%); {} mismatches",
        files.len(),
        taken as f64 * 100.0 / files.len().max(1) as f64,
        taken_bytes as f64 * 100.0 / total_bytes.max(1) as f64,
        mismatches.len()
    );
    let mut why: Vec<_> = why.into_iter().collect();
    why.sort_by_key(|(_, (files, bytes))| std::cmp::Reverse((*bytes, *files)));
    for (reason, (files, bytes)) in why.iter().take(40) {
        eprintln!("  declined {files:5} files {bytes:8} bytes: {reason}");
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
    assert!(taken > 0, "the one-pass reader took no corpus file");
}

/// An RSS 1.0 item without a `<link>` takes its `rdf:about` as its link
/// (the adapter's `rdf_item_links`); an empty `rdf:about` gives feed-rs an
/// empty `<link>`, hence no link, and the item is dropped. Found by the
/// mutation test with seed 9: the one-pass reader kept it.
#[test]
fn one_pass_reader_drops_rss1_items_with_an_empty_about() {
    let doc = |about: &str| {
        format!(
            "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" \
             xmlns=\"http://purl.org/rss/1.0/\"><channel><title>T</title></channel>\
             <item rdf:about=\"{about}\"><title>one</title></item>\
             <item rdf:about=\"https://x.example/2\"><link>https://x.example/2</link></item></rdf:RDF>"
        )
    };
    assert_fast_path(&doc(""), true);
    assert_fast_path(&doc("https://x.example/1"), true);
    assert_fast_path(&doc("  "), false);
    let feed = parse_feed(doc("").as_bytes(), &ParseOptions::default()).unwrap();
    assert_eq!(feed.entries.len(), 1);
}

/// The one-pass reader checks a tag's attributes once, in place: a
/// repeated attribute (also among many) is declined as quick-xml's own
/// check declines it, and so is one without a name; many distinct ones are
/// read.
#[test]
fn one_pass_reader_checks_attributes_once() {
    let many = |repeat: &str| {
        let attrs: String = (0..20).map(|i| format!(" a{i}=\"{i}\"")).collect();
        format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><title>t</title>\
             <link href=\"https://x.example/e\"{attrs}{repeat}/></entry></feed>"
        )
    };
    assert_fast_path(&many(""), true);
    assert_fast_path(&many(" a19=\"again\""), false);
    assert_fast_path(&many(" a3=\"again\""), false);
    let few = "<rss version=\"2.0\"><channel><title>t</title><item>\
               <enclosure url=\"https://x.example/a.mp3\" type=\"audio/mpeg\" url=\"https://x.example/b\"/>\
               </item></channel></rss>";
    assert_fast_path(few, false);
    let single = few.replace(" url=\"https://x.example/b\"", "");
    assert_fast_path(&single, true);
    // An attribute without a name (found by the mutation test, seed 60).
    assert_fast_path(&single.replace("version=", "=version="), false);
}

/// Seeded mutations of the one-pass reader's fixtures (spliced markup,
/// flipped bits, cuts, duplicated ranges): whatever it accepts, the full
/// path reads the same. `SYNDIC_FUZZ_ROUNDS` and `SYNDIC_FUZZ_SEED` set the
/// number of rounds and the seed.
#[test]
fn one_pass_reader_agrees_with_the_full_path_on_mutated_feeds() {
    const TOKENS: &[&str] = &[
        "<",
        ">",
        "&",
        "&amp;",
        "&eacute;",
        "&#0;",
        "&#x41;",
        "]]>",
        "<![CDATA[",
        "\u{1}",
        "\u{e9}",
        "\u{a0}",
        "<item>",
        "</item>",
        "<entry>",
        "<title>",
        "</title>",
        "<link>",
        " xml:base=\"../b/\"",
        " type=\"xhtml\"",
        " type=\"html\"",
        "<div>",
        "</div>",
        "<dc:subject>s</dc:subject>",
        "<media:content url=\"m\"/>",
        "<media:group>",
        "@example.org",
        "<guid>g</guid>",
        "<!-- c -->",
        "\"",
        "=",
        "/>",
        "\r\n",
        "<?xml version=\"1.0\"?>",
        "<!DOCTYPE x>",
        "xmlns=\"http://purl.org/rss/1.0/\"",
        "<body>",
        "</body>",
        "<fullitem>",
        "<dc:title>",
        " src=\"s\"",
    ];
    let mut state: u64 = std::env::var("SYNDIC_FUZZ_SEED")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    let mut next = move |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % n.max(1) as u64) as usize
    };
    let rdf = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" \
               xmlns=\"http://purl.org/rss/1.0/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
               <channel><title>T</title><link>https://x.example/</link></channel>\
               <item rdf:about=\"https://x.example/1\"><title>one</title><dc:date>2004-01-01</dc:date></item>\
               <item rdf:about=\"https://x.example/2\"><link>https://x.example/2</link></item></rdf:RDF>";
    let seeds = [FAST_RSS, FAST_ATOM, RSS2, rdf];
    let rounds: usize = std::env::var("SYNDIC_FUZZ_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1500);
    let opts = ParseOptions {
        content_type: None,
        base_url: Some("https://example.org/feed/dir/"),
    };
    let (mut taken, mut failures) = (0usize, Vec::new());
    for round in 0..rounds {
        let mut data = seeds[round % seeds.len()].as_bytes().to_vec();
        for _ in 0..1 + next(3) {
            let at = next(data.len() + 1);
            match next(5) {
                0 => {
                    let token = TOKENS[next(TOKENS.len())];
                    data.splice(at..at, token.bytes());
                }
                1 if at < data.len() => data[at] ^= 1 << next(8),
                2 => data.truncate(at),
                3 if at < data.len() => {
                    let end = (at + next(24)).min(data.len());
                    data.drain(at..end);
                }
                _ => {
                    let end = (at + next(64)).min(data.len());
                    let copy = data[at..end].to_vec();
                    data.splice(at..at, copy);
                }
            }
        }
        match fast_and_full_agree(&data, &opts) {
            Ok(true) => taken += 1,
            Ok(false) => {}
            Err(diff) => failures.push(format!("{}\n{diff}", String::from_utf8_lossy(&data))),
        }
    }
    eprintln!("mutated feeds: the one-pass reader took {taken} of {rounds}");
    assert!(
        failures.is_empty(),
        "{} differences, first:\n{}",
        failures.len(),
        failures.first().map(String::as_str).unwrap_or("")
    );
    assert!(taken > rounds / 10, "the one-pass reader took only {taken}");
}
