//! The short, deterministic form of the fuzz targets in `fuzz/`: thousands
//! of seeded mutations of feeds, articles and configs go through the real
//! parsers, which must return (Ok or Err) without panicking. The long form
//! is `cargo fuzz run TARGET` (see RELIABILITY.md).

mod common;

use common::Lcg;
use syndic::config::Config;
use syndic::ingest::local::parse_article;
use syndic::ingest::parse::{ParseOptions, parse_feed, to_json_view};

/// The `conditional` fuzz target's harness, shared with it.
#[path = "../fuzz/harness/conditional.rs"]
mod conditional;
use conditional::fuzz_conditional;

const RSS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>T &amp; more</title><link>http://x.example/</link><description>d</description><ttl>60</ttl>
<item><guid>1</guid><title>One</title><link>/one</link><pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate>
<description><![CDATA[<p>Hi <a href="/a">a</a></p>]]></description><content:encoded>&lt;b&gt;x&lt;/b&gt;</content:encoded>
<dc:creator>Me</dc:creator><enclosure url="http://x.example/a.mp3" length="10" type="audio/mpeg"/></item>
</channel></rss>"#;

const ATOM: &str = r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://a.example/b/">
<title type="html">A &lt;i&gt;t&lt;/i&gt;</title><id>urn:a</id><updated>2026-01-01T00:00:00Z</updated>
<entry><id>urn:a:1</id><title>E</title><updated>2026-01-01T00:00:00+02:00</updated><link href="rel"/>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div></content></entry></feed>"#;

/// RSS 1.0 with Dublin Core and an item without `<link>`: code paths of
/// the one-pass reader that the other seeds do not reach.
const RDF: &str = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://r.example/"><title>R</title><link>http://r.example/</link><dc:creator>Ann &lt;ann@example.org&gt;</dc:creator></channel>
<item rdf:about="http://r.example/1"><title>One</title><dc:date>2026-01-01T00:00:00Z</dc:date><description>&lt;p&gt;x&lt;/p&gt;</description></item>
<item rdf:about="http://r.example/2"><link>/2</link><dc:subject>s</dc:subject></item>
</rdf:RDF>"#;

const JSON: &str = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1","url":"http://j.example/1","content_html":"<p>x</p>","date_published":"2026-01-01T00:00:00Z"}]}"#;

const MARKDOWN: &str = "+++\ntitle = \"T\"\ndate = 2026-01-01\ntags = [\"a\"]\n+++\n# H\n\nText *em* <b>raw</b>\n\n- a\n- b\n";
const YAML: &str = "---\ntitle: T\ndate: 2026-01-01 10:00\nauthor: [a, b]\n---\nBody\n";
const TEXT: &str = "Title line\n\nA paragraph.\n\nA heading\n\n• one\n• two\n";
const CONFIG: &str = "[daemon]\nlisten = \"127.0.0.1:1\"\n[[source]]\nid = \"a\"\nurl = \"http://x/\"\nrefresh = \"0 */5 * * * *\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";

/// Tokens that parsers trip on, spliced in at random places.
const TOKENS: &[&[u8]] = &[
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&nbsp;",
    b"&#0;",
    b"&#xD800;",
    b"]]>",
    b"<![CDATA[",
    b"\0",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xc3",
    b"<!DOCTYPE x [<!ENTITY a \"aaaa\">]>",
    b"&a;",
    b"<?xml version=\"1.0\" encoding=\"utf-16\"?>",
    b"xmlns:x=\"",
    b"+++",
    b"---",
    b"\"",
    b"[",
    b"]",
    b"=",
    b"\n",
    b"<item>",
    b"<entry>",
    b"</channel>",
    b"{",
    b"}",
    b"\\u0000",
];

fn mutate(seed: &[u8], rng: &mut Lcg) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(5) {
            0 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(at..at, token.iter().copied());
            }
            1 if !data.is_empty() => {
                let at = at.min(data.len() - 1);
                data[at] ^= 1 << rng.below(8);
            }
            2 => data.truncate(at),
            3 if at < data.len() => {
                let end = (at + rng.below(16)).min(data.len());
                data.drain(at..end);
            }
            _ => {
                let end = (at + rng.below(32)).min(data.len());
                let copy = data[at..end].to_vec();
                data.splice(at..at, copy);
            }
        }
    }
    data
}

fn rounds() -> usize {
    std::env::var("SYNDIC_FUZZ_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3000)
}

#[test]
fn mutated_feeds_never_panic_the_parser() {
    let mut rng = Lcg(1);
    let opts = ParseOptions {
        content_type: None,
        base_url: Some("http://base.example/feed"),
    };
    let mut ok = 0;
    for round in 0..rounds() {
        let seed = [RSS, ATOM, JSON, RDF][round % 4].as_bytes();
        let data = mutate(seed, &mut rng);
        if let Ok(feed) = parse_feed(&data, &opts) {
            ok += 1;
            let _ = to_json_view(&feed);
        }
    }
    // The mutations are small: many inputs must still parse (recovery works).
    assert!(
        ok > rounds() / 10,
        "only {ok} of {} mutated feeds parsed",
        rounds()
    );
}

#[test]
fn mutated_articles_never_panic() {
    let mut rng = Lcg(2);
    for round in 0..rounds() {
        let (name, seed) = [("a.md", MARKDOWN), ("b.md", YAML), ("c.txt", TEXT)][round % 3];
        let _ = parse_article(name, &mutate(seed.as_bytes(), &mut rng));
    }
}

#[test]
fn mutated_configs_never_panic_and_errors_have_positions() {
    let mut rng = Lcg(3);
    let path = std::path::Path::new("/nonexistent/feeds.toml");
    for _ in 0..rounds() {
        let data = mutate(CONFIG.as_bytes(), &mut rng);
        let Ok(text) = String::from_utf8(data) else {
            continue;
        };
        if let Err(errors) = Config::parse(&text, path) {
            for e in &errors.0 {
                assert!(!e.message.is_empty());
                // Line 0 is for a file that could not be read; a text that
                // was read always has a line to point at.
                assert!(
                    e.line >= 1 && e.column >= 1,
                    "no position ({}:{}) for `{}` in {text:?}",
                    e.line,
                    e.column,
                    e.message
                );
                assert!(
                    e.line <= text.lines().count() + 1,
                    "line {} beyond the text",
                    e.line
                );
            }
        }
    }
}

const REQUEST: &str = "If-None-Match: W/\"abc\", \"def-gz\"\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\nAccept-Encoding: gzip;q=0.5, br;q=0, *;q=0.1\n";

#[test]
fn mutated_request_headers_keep_the_conditional_get_invariants() {
    let mut rng = Lcg(4);
    for _ in 0..rounds() {
        let data = mutate(REQUEST.as_bytes(), &mut rng);
        for (status, etag, body) in fuzz_conditional(&data) {
            assert!(
                status == 200 || status == 304 || status == 406,
                "status {status} for {data:?}"
            );
            assert_eq!(
                etag.is_some(),
                status != 406,
                "ETag on a {status} for {data:?}"
            );
            assert_eq!(body, status != 304, "body on a {status} for {data:?}");
        }
    }
    // No validator: every format is a 200 with its ETag and its body.
    let first = fuzz_conditional(b"");
    assert!(
        first
            .iter()
            .all(|(s, tag, body)| *s == 200 && tag.is_some() && *body)
    );
    // Each format's own ETag gives a 304 with no body; another format's
    // does not match (each format has its own tag).
    let tags: Vec<String> = first.iter().filter_map(|(_, tag, _)| tag.clone()).collect();
    assert_eq!(tags.len(), first.len());
    for (i, tag) in tags.iter().enumerate() {
        let answers = fuzz_conditional(format!("If-None-Match: {tag}").as_bytes());
        for (j, (status, _, body)) in answers.iter().enumerate() {
            if i == j {
                assert_eq!(
                    (*status, *body),
                    (304, false),
                    "format {j} sent its own tag {tag}"
                );
            } else if tags[j] != *tag {
                assert_eq!(
                    (*status, *body),
                    (200, true),
                    "format {j} sent format {i}'s tag {tag}"
                );
            }
        }
    }
    assert!(
        fuzz_conditional(b"If-None-Match: *")
            .iter()
            .all(|(s, _, body)| *s == 304 && !body)
    );
}

/// Found by `cargo fuzz run parse_feed` (issue 8, the 20-minute run): a
/// channel `<webMaster>` whose e-mail is followed by a byte that decodes
/// (windows-1252) to a multi-byte character. feed-rs slices inside that
/// character and panics; the adapter catches it and reads the feed again
/// without its author elements, so the items are kept.
#[test]
fn fuzz_finding_webmaster_before_a_multibyte_character_keeps_the_feed() {
    let mut feed = b"<rss version=\"2.0\"><channel><title>T</title><link>http://x.example/</link>\
<description>d</description><webMaster>foo@example.or"
        .to_vec();
    feed.push(0x98); // windows-1252 for U+02DC, two bytes in UTF-8
    feed.extend_from_slice(
        b"</webMaster><item><guid>1</guid><title>Kept</title></item></channel></rss>",
    );
    for content_type in [None, Some("application/rss+xml; charset=windows-1252")] {
        let opts = ParseOptions {
            content_type,
            base_url: Some("http://x.example/feed"),
        };
        let parsed = parse_feed(&feed, &opts).expect("the feed is kept");
        assert_eq!(parsed.entries.len(), 1, "{content_type:?}");
        assert!(
            parsed
                .warnings
                .iter()
                .any(|w| w.contains("author elements dropped")),
            "{content_type:?}: {:?}",
            parsed.warnings
        );
    }
}
