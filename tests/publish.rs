//! Publishing end to end, one test per point of PUBLISHING.md: the real
//! daemon on 127.0.0.1 port 0 (its `public_url` is the address it is served
//! at, so rel="self" can be compared with the URL fetched), local article
//! sources, and items written straight into its store where a test needs
//! dates, enclosures or many items.
//!
//! The W3C Feed Validator's messages (`corpus/feedvalidator/
//! MESSAGE_CLASSES.tsv`) each test guards against:
//!
//! | test | validator messages |
//! |---|---|
//! | `content_types_and_required_rss_elements` | UnexpectedContentType, EncodingMismatch, MissingTitle, MissingLink, MissingDescription, MissingAtomSelfLink, SelfDoesntMatchLocation, RelativeSelf, InvalidRFC2822Date, InvalidPermalink, MissingGuid, ContainsRelRef, BadCharacters |
//! | `atom_and_json_feed_required_elements` | MissingElement, DuplicateValue, DuplicateAtomLink, MissingSelf, InvalidRFC3339Date, NotHtml, DuplicateEntries |
//! | `aggregated_html_is_sanitized_in_every_format` | SecurityRisk, SecurityRiskAttr, DangerousStyleAttr, BadCharacters, UnicodeError |
//! | `enclosures_dates_and_last_modified_never_after_date` | MissingEnclosureAttribute-style checks: InvalidIntegerAttribute, InvalidFullLink |
//! | `archives_keep_old_items_reachable_and_full_pages_never_change` | NotBlank (`fh:archive` is empty), DuplicateAtomLink |

mod common;

use std::collections::HashSet;
use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use common::exact::{EXT_SOURCE, put_items, start_at, stored_with};
use common::{MockHost, Reply, TestDaemon};
use reqwest::StatusCode;
use syndic::daemon;
use syndic::model::{Enclosure, StoredItem};

/// Starts the daemon over `dir` with the given sources and feeds, with
/// `public_url` set to the address it listens on.
async fn start(dir: &Path, sources_and_feeds: &str) -> TestDaemon {
    start_at(dir, sources_and_feeds, "127.0.0.1:0").await
}

/// A client that neither decompresses nor asks for compression by itself.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap()
}

const ARTICLES: &str = "[[source]]\nid = \"local\"\npath = \"articles\"\nrefresh = \"10m\"\n";

fn write_article(dir: &Path, name: &str, text: &str) {
    common::write_file(&dir.join("articles"), name, text);
}

/// Two ordinary articles and one full of things that must not survive.
fn sample_articles(dir: &Path) {
    write_article(
        dir,
        "hello.md",
        "+++\ntitle = \"Fish & Chips < 5\"\ndate = 2026-03-10T00:00:00Z\nauthor = \"Ann\"\n+++\nHello *world* & friends.\n",
    );
    write_article(
        dir,
        "second.md",
        "+++\ntitle = \"Second\"\ndate = 2026-03-11T00:00:00Z\n+++\nSee [the page](/about) and ![pic](img/p.png).\n",
    );
    write_article(
        dir,
        "dirty.md",
        "+++\ntitle = \"Dirty\\u0001 one\"\ndate = 2026-03-09T00:00:00Z\n+++\n\
         <p onclick=\"steal()\">Click</p>\n\n<script>alert(1)</script>\n\n\
         <iframe src=\"https://evil.example/\"></iframe>\n\n<a href=\"javascript:alert(2)\">bad link</a>\n\n\
         <span style=\"width: expression(alert(3))\">css</span>\n\nControl\u{1}\u{8}chars.\n",
    );
}

const ALL_FEED: &str = "[[feed]]\nname = \"all\"\ntitle = \"All & more\"\ndescription = \"Everything\"\ninclude = [\"*\"]\n";

async fn body_text(response: reqwest::Response) -> String {
    String::from_utf8(response.bytes().await.unwrap().to_vec()).unwrap()
}

fn children<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    node.children()
        .filter(|c| c.is_element() && c.tag_name().name() == name)
        .collect()
}

fn child_text<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Option<&'a str> {
    children(node, name).first().and_then(|c| c.text())
}

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_types_and_required_rss_elements() {
    let dir = tempfile::tempdir().unwrap();
    sample_articles(dir.path());
    let d = start(dir.path(), &format!("{ARTICLES}\n{ALL_FEED}")).await;
    for (ext, ct) in [
        ("rss", "application/rss+xml; charset=utf-8"),
        ("atom", "application/atom+xml; charset=utf-8"),
        ("json", "application/feed+json; charset=utf-8"),
    ] {
        let r = d.get(&format!("/feeds/all.{ext}")).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], ct, "{ext}");
    }

    let url = d.url("/feeds/all.rss");
    let response = d.get("/feeds/all.rss").await;
    let last_modified = response.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    let xml = body_text(response).await;
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(
        xml.contains("<?xml-stylesheet type=\"text/xsl\" href=\"feed.xsl\"?>"),
        "{xml}"
    );
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let channel = children(doc.root_element(), "channel")[0];
    assert_eq!(child_text(channel, "title"), Some("All & more"));
    assert_eq!(child_text(channel, "description"), Some("Everything"));
    assert_eq!(child_text(channel, "link"), Some(d.url("/").as_str()));
    // lastBuildDate is when the feed's bytes last changed: its
    // Last-Modified (issue 17), not the newest item's date.
    let build = child_text(channel, "lastBuildDate").unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc2822(build)
            .unwrap()
            .timestamp(),
        chrono::DateTime::<Utc>::from(httpdate::parse_http_date(&last_modified).unwrap())
            .timestamp()
    );
    let self_links: Vec<_> = channel
        .children()
        .filter(|c| {
            c.tag_name().namespace() == Some(ATOM_NS)
                && c.tag_name().name() == "link"
                && c.attribute("rel") == Some("self")
        })
        .collect();
    assert_eq!(self_links.len(), 1);
    assert_eq!(self_links[0].attribute("href"), Some(url.as_str()));
    assert_eq!(self_links[0].attribute("type"), Some("application/rss+xml"));

    let items = children(channel, "item");
    assert_eq!(items.len(), 3);
    let titles: Vec<_> = items
        .iter()
        .map(|i| child_text(*i, "title").unwrap())
        .collect();
    // Newest first; the title escaped once (parsed back to the original);
    // the control character gone.
    assert_eq!(titles, vec!["Second", "Fish & Chips < 5", "Dirty one"]);
    // `&` and `<` as the RSS Profile's character references.
    assert!(
        xml.contains("<title>Fish &#x26; Chips &#x3C; 5</title>"),
        "{xml}"
    );
    let date = regex_like_rfc822();
    for item in &items {
        let guid = children(*item, "guid")[0];
        assert_eq!(guid.attribute("isPermaLink"), Some("false"));
        assert!(guid.text().unwrap().starts_with("urn:uuid:"));
        let pub_date = child_text(*item, "pubDate").unwrap();
        assert!(date(pub_date), "bad RFC 822 date {pub_date}");
        let link = child_text(*item, "link").unwrap();
        assert!(link.starts_with(&d.url("/articles/")), "{link}");
        assert!(child_text(*item, "description").is_some());
    }
    // Relative URLs inside HTML were made absolute against the item's page,
    // read as a folder (where the files beside an article are served).
    let second = child_text(items[0], "description").unwrap();
    assert!(
        second.contains(&format!("href=\"{}\"", d.url("/about"))),
        "{second}"
    );
    assert!(
        second.contains(&format!("src=\"{}\"", d.url("/articles/second/img/p.png"))),
        "{second}"
    );
    d.stop().await;
}

/// `Wed, 11 Mar 2026 00:00:00 +0000`: English day and month names, a
/// 4-digit year and a numeric zone (or GMT).
fn regex_like_rfc822() -> impl Fn(&str) -> bool {
    |s: &str| {
        let parts: Vec<&str> = s.split(' ').collect();
        parts.len() == 6
            && ["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"].contains(&parts[0])
            && parts[1].parse::<u8>().is_ok()
            && [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ]
            .contains(&parts[2])
            && parts[3].len() == 4
            && parts[3].parse::<u16>().is_ok()
            && parts[4].len() == 8
            && (parts[5] == "GMT"
                || (parts[5].len() == 5
                    && (parts[5].starts_with('+') || parts[5].starts_with('-'))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atom_and_json_feed_required_elements() {
    let dir = tempfile::tempdir().unwrap();
    sample_articles(dir.path());
    let d = start(dir.path(), &format!("{ARTICLES}\n{ALL_FEED}")).await;

    let response = d.get("/feeds/all.atom").await;
    let last_modified = response.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    let xml = body_text(response).await;
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let feed = doc.root_element();
    assert_eq!(feed.tag_name().namespace(), Some(ATOM_NS));
    for one in ["id", "title", "updated", "author"] {
        assert_eq!(children(feed, one).len(), 1, "feed {one}");
    }
    // The feed's updated is its Last-Modified (issue 17).
    let updated = child_text(feed, "updated").unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(updated)
            .unwrap()
            .timestamp(),
        chrono::DateTime::<Utc>::from(httpdate::parse_http_date(&last_modified).unwrap())
            .timestamp()
    );
    let selfs: Vec<_> = children(feed, "link")
        .into_iter()
        .filter(|l| l.attribute("rel") == Some("self"))
        .collect();
    assert_eq!(selfs.len(), 1);
    assert_eq!(
        selfs[0].attribute("href"),
        Some(d.url("/feeds/all.atom").as_str())
    );
    let entries = children(feed, "entry");
    assert_eq!(entries.len(), 3);
    for entry in &entries {
        for one in ["id", "title", "updated"] {
            assert_eq!(children(*entry, one).len(), 1, "entry {one}");
        }
        let updated = child_text(*entry, "updated").unwrap();
        assert!(DateTime::parse_from_rfc3339(updated).is_ok(), "{updated}");
        assert!(child_text(*entry, "id").unwrap().starts_with("urn:uuid:"));
        assert!(
            children(*entry, "link")
                .iter()
                .any(|l| l.attribute("rel") == Some("alternate"))
        );
        if let Some(content) = children(*entry, "content").first() {
            assert_eq!(content.attribute("type"), Some("html"));
        }
    }
    // Escaped once: the HTML `&amp;` of "& friends" is `&amp;amp;` in XML and
    // parses back to the HTML `&amp;`.
    let hello = entries
        .iter()
        .find(|e| child_text(**e, "title") == Some("Fish & Chips < 5"))
        .unwrap();
    let content = child_text(*hello, "content").unwrap();
    assert!(
        content.contains("<em>world</em> &amp; friends"),
        "{content}"
    );
    assert!(!content.contains("&amp;amp;"), "{content}");

    let json: serde_json::Value = d.json("/feeds/all.json").await;
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(json["title"], "All & more");
    assert_eq!(json["home_page_url"], d.url("/"));
    assert_eq!(json["feed_url"], d.url("/feeds/all.json"));
    assert_eq!(json["authors"][0]["name"], "All & more");
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    for item in items {
        assert!(item["id"].as_str().unwrap().starts_with("urn:uuid:"));
        assert!(item["content_html"].is_string() || item["content_text"].is_string());
        for key in ["date_published", "date_modified"] {
            let date = item[key].as_str().unwrap();
            assert!(DateTime::parse_from_rfc3339(date).is_ok(), "{date}");
        }
    }
    assert_eq!(items[1]["title"], "Fish & Chips < 5");
    assert_eq!(items[1]["authors"][0]["name"], "Ann");
    // The same ids in every format.
    let json_ids: HashSet<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    let atom_ids: HashSet<&str> = entries
        .iter()
        .map(|e| child_text(*e, "id").unwrap())
        .collect();
    assert_eq!(json_ids, atom_ids);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_html_is_sanitized_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    sample_articles(dir.path());
    let d = start(dir.path(), &format!("{ARTICLES}\n{ALL_FEED}")).await;
    for ext in ["rss", "atom", "json"] {
        let body = body_text(d.get(&format!("/feeds/all.{ext}")).await).await;
        let lower = body.to_lowercase();
        for bad in [
            "<script",
            "&lt;script",
            "&#x3c;script",
            "alert(",
            "iframe",
            "onclick",
            "javascript:",
            "expression(",
            "style=",
        ] {
            assert!(!lower.contains(bad), "{ext} still has {bad}: {body}");
        }
        assert!(body.contains("bad link"), "{ext}: the link text stays");
        assert!(body.contains("Controlchars."), "{ext}: controls stripped");
        assert!(
            !body
                .chars()
                .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')),
            "{ext} has a control character"
        );
    }
    // The article page is sanitized too; it must be the page itself (a
    // 404 would be clean as well).
    let answer = d.get("/articles/dirty").await;
    assert_eq!(answer.status(), 200);
    let page = body_text(answer).await.to_lowercase();
    assert!(page.contains("bad link"), "{page}");
    assert!(
        !page.contains("<script") && !page.contains("onclick"),
        "{page}"
    );
    d.stop().await;
}

/// One request of the 304 matrix: its name, headers and expected status.
type Case<'a> = (&'a str, Vec<(&'a str, String)>, StatusCode);

/// Sends one GET (or HEAD) with the given headers.
async fn request(
    url: &str,
    method: reqwest::Method,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut r = client().request(method, url);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

fn decode(coding: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        None => out.extend_from_slice(body),
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("br") => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some(other) => panic!("unexpected coding {other}"),
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_get_matrix_for_every_format_and_encoding() {
    let dir = tempfile::tempdir().unwrap();
    sample_articles(dir.path());
    let d = start(dir.path(), &format!("{ARTICLES}\n{ALL_FEED}")).await;
    let get = reqwest::Method::GET;
    for ext in ["rss", "atom", "json"] {
        let url = d.url(&format!("/feeds/all.{ext}"));
        let identity = request(&url, get.clone(), &[]).await;
        let base_etag = identity.headers()["etag"].to_str().unwrap().to_string();
        let last_modified = identity.headers()["last-modified"]
            .to_str()
            .unwrap()
            .to_string();
        let identity_body = identity.bytes().await.unwrap().to_vec();
        let mut tags = vec![];
        for (accept, coding) in [
            (None, None),
            (Some("gzip"), Some("gzip")),
            (Some("gzip, br"), Some("br")),
        ] {
            let ae: Vec<(&str, &str)> =
                accept.map(|a| ("accept-encoding", a)).into_iter().collect();
            let r = request(&url, get.clone(), &ae).await;
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(r.headers()["vary"], "Accept-Encoding, Accept");
            assert_eq!(
                r.headers()
                    .get("content-encoding")
                    .map(|v| v.to_str().unwrap()),
                coding,
                "{ext} {accept:?}"
            );
            assert_eq!(r.headers()["access-control-allow-origin"], "*");
            assert!(
                r.headers()["access-control-expose-headers"]
                    .to_str()
                    .unwrap()
                    .contains("ETag")
            );
            assert_eq!(r.headers()["cache-control"], "public, max-age=600");
            let etag = r.headers()["etag"].to_str().unwrap().to_string();
            assert_eq!(
                decode(coding, &r.bytes().await.unwrap()),
                identity_body,
                "{ext} {coding:?}"
            );
            tags.push(etag.clone());

            let with = |extra: &[(&'static str, String)]| {
                let mut h: Vec<(&str, String)> =
                    ae.iter().map(|(k, v)| (*k, v.to_string())).collect();
                h.extend(extra.iter().cloned());
                h
            };
            let cases: Vec<Case> = vec![
                (
                    "matching tag",
                    with(&[("if-none-match", etag.clone())]),
                    StatusCode::NOT_MODIFIED,
                ),
                (
                    "weak form",
                    with(&[("if-none-match", format!("W/{etag}"))]),
                    StatusCode::NOT_MODIFIED,
                ),
                (
                    "identity tag",
                    with(&[("if-none-match", base_etag.clone())]),
                    StatusCode::NOT_MODIFIED,
                ),
                (
                    "in a list",
                    with(&[("if-none-match", format!("\"x\", {etag}"))]),
                    StatusCode::NOT_MODIFIED,
                ),
                (
                    "stale tag",
                    with(&[("if-none-match", "\"stale\"".into())]),
                    StatusCode::OK,
                ),
                (
                    "stale tag wins over a matching date",
                    with(&[
                        ("if-none-match", "\"stale\"".into()),
                        ("if-modified-since", last_modified.clone()),
                    ]),
                    StatusCode::OK,
                ),
                (
                    "date equal",
                    with(&[("if-modified-since", last_modified.clone())]),
                    StatusCode::NOT_MODIFIED,
                ),
                (
                    "date later",
                    with(&[("if-modified-since", "Fri, 01 Jan 2100 00:00:00 GMT".into())]),
                    StatusCode::NOT_MODIFIED,
                ),
                (
                    "date earlier",
                    with(&[("if-modified-since", "Thu, 01 Jan 2015 00:00:00 GMT".into())]),
                    StatusCode::OK,
                ),
                ("no validators", with(&[]), StatusCode::OK),
            ];
            for (case, headers, want) in cases {
                let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let r = request(&url, get.clone(), &h).await;
                assert_eq!(r.status(), want, "{ext} {coding:?}: {case}");
                assert_eq!(
                    r.headers()["etag"].to_str().unwrap(),
                    etag,
                    "{ext} {coding:?}: {case}"
                );
                assert_eq!(r.headers()["vary"], "Accept-Encoding, Accept");
                assert_eq!(r.headers()["cache-control"], "public, max-age=600");
                let body = r.bytes().await.unwrap();
                if want == StatusCode::NOT_MODIFIED {
                    assert!(body.is_empty(), "{case}: a 304 has no body");
                } else {
                    assert_eq!(decode(coding, &body), identity_body);
                }
            }
        }
        // Each coding has its own tag.
        assert_eq!(tags.iter().collect::<HashSet<_>>().len(), 3, "{tags:?}");

        // HEAD: the same headers, no body.
        let head = request(&url, reqwest::Method::HEAD, &[("accept-encoding", "gzip")]).await;
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()["etag"].to_str().unwrap(), tags[1]);
        assert_eq!(head.headers()["content-encoding"], "gzip");
        assert!(head.bytes().await.unwrap().is_empty());
        let head = request(
            &url,
            reqwest::Method::HEAD,
            &[("if-none-match", &base_etag)],
        )
        .await;
        assert_eq!(head.status(), StatusCode::NOT_MODIFIED);
    }
    d.stop().await;
}

/// An item with its content (`<p>All of ID</p>`), first seen `seen`.
fn stored(source: &str, id: &str, at: DateTime<Utc>, seen: DateTime<Utc>) -> StoredItem {
    stored_with(source, id, at, seen, Some(&format!("<p>All of {id}</p>")))
}

fn minute(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enclosures_dates_and_last_modified_never_after_date() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(
        dir.path(),
        &format!("{EXT_SOURCE}\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n"),
    )
    .await;
    // The remote source polls every 2h: that is how often the feed changes.
    let r = d.get("/feeds/all.rss").await;
    assert_eq!(r.headers()["cache-control"], "public, max-age=3600");
    let mut item = stored("ext", "pod", minute(0), minute(0));
    item.entry.enclosures = vec![Enclosure {
        url: "https://example.org/ep1.mp3".into(),
        mime_type: "audio/mpeg".into(),
        length: 12345,
    }];
    item.entry.categories = vec!["talk".into()];
    let future = Utc::now() + chrono::Duration::days(3);
    let later = stored("ext", "future", future, future);
    put_items(&d, "ext", vec![item, later]).await;

    let xml = body_text(d.get("/feeds/all.rss").await).await;
    assert!(
        xml.contains(
            r#"<enclosure url="https://example.org/ep1.mp3" length="12345" type="audio/mpeg"/>"#
        ),
        "{xml}"
    );
    assert!(xml.contains("<category>talk</category>"), "{xml}");
    let atom = body_text(d.get("/feeds/all.atom").await).await;
    assert!(
        atom.contains(
            r#"href="https://example.org/ep1.mp3" rel="enclosure" type="audio/mpeg" length="12345""#
        ),
        "{atom}"
    );
    let json: serde_json::Value = d.json("/feeds/all.json").await;
    assert_eq!(json["items"][1]["attachments"][0]["size_in_bytes"], 12345);

    for ext in ["rss", "atom", "json"] {
        let r = d.get(&format!("/feeds/all.{ext}")).await;
        let date = httpdate::parse_http_date(r.headers()["date"].to_str().unwrap()).unwrap();
        let lm = httpdate::parse_http_date(r.headers()["last-modified"].to_str().unwrap()).unwrap();
        assert!(lm <= date, "{ext}: Last-Modified after Date");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_stay_the_same_across_edits_title_changes_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    sample_articles(dir.path());
    let feeds = format!("{ARTICLES}\n{ALL_FEED}");
    let d = start(dir.path(), &feeds).await;
    let before: serde_json::Value = d.json("/feeds/all.json").await;
    let id_of = |json: &serde_json::Value, title: &str| -> String {
        json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["title"] == title)
            .unwrap_or_else(|| panic!("no {title} in {json}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let id = id_of(&before, "Second");
    let mut bodies = Vec::new();
    for ext in ["rss", "atom", "json"] {
        bodies.push(
            d.get(&format!("/feeds/all.{ext}"))
                .await
                .bytes()
                .await
                .unwrap(),
        );
    }
    let addr = d.addr.to_string();
    d.stop().await;

    // Restart on the same address: same bytes (and so the same ETags).
    let d = start_at(dir.path(), &feeds, &addr).await;
    for (i, ext) in ["rss", "atom", "json"].iter().enumerate() {
        assert_eq!(
            d.get(&format!("/feeds/all.{ext}"))
                .await
                .bytes()
                .await
                .unwrap(),
            bodies[i]
        );
    }
    // Edit the title and the text: same id, new `updated`.
    write_article(
        dir.path(),
        "second.md",
        "+++\ntitle = \"Second, renamed\"\ndate = 2026-03-11T00:00:00Z\n+++\nNew text.\n",
    );
    d.refresh("local").await;
    let after: serde_json::Value = d.json("/feeds/all.json").await;
    assert_eq!(id_of(&after, "Second, renamed"), id);
    let item_of = |json: &serde_json::Value, id: &str| -> serde_json::Value {
        json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no {id} in {json}"))
    };
    let (old, new) = (item_of(&before, &id), item_of(&after, &id));
    assert!(
        new["content_html"].as_str().unwrap().contains("New text."),
        "{new}"
    );
    // The publication date stays; the edit moves `date_modified`.
    assert_eq!(new["date_published"], old["date_published"]);
    let modified = |item: &serde_json::Value| {
        item["date_modified"]
            .as_str()
            .map(|d| chrono::DateTime::parse_from_rfc3339(d).unwrap())
    };
    let edited = modified(&new).unwrap_or_else(|| panic!("no date_modified: {new}"));
    assert!(
        modified(&old).is_none_or(|was| edited > was),
        "date_modified did not move: {old} -> {new}"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_options_shape_every_format() {
    let dir = tempfile::tempdir().unwrap();
    sample_articles(dir.path());
    std::fs::create_dir(dir.path().join("other")).unwrap();
    std::fs::write(
        dir.path().join("other/x.md"),
        "+++\ntitle = \"Other\"\ndate = 2026-03-01T00:00:00Z\n+++\nx\n",
    )
    .unwrap();
    let feeds = format!(
        "{ARTICLES}\n[[source]]\nid = \"other\"\npath = \"other\"\ntags = [\"misc\"]\n\n\
         [[feed]]\nname = \"opts\"\ntitle = \"Opts\"\ninclude = [\"*\"]\nexclude = [\"tag:misc\"]\n\
         link = \"https://example.org/home\"\nlanguage = \"en-GB\"\nauthor = \"The Editor\"\n\
         image = \"https://example.org/logo.png\"\nicon = \"https://example.org/icon.png\"\n\
         exclude_keywords = [\"DIRTY\"]\nformats = [\"rss\", \"json\"]\n\n\
         [[feed]]\nname = \"fish\"\ntitle = \"Fish\"\ninclude = [\"*\"]\ninclude_keywords = [\"chips\", \"other\"]\nformats = [\"atom\"]\n"
    );
    let d = start(dir.path(), &feeds).await;
    assert_eq!(
        d.get("/feeds/opts.atom").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        d.get("/feeds/fish.rss").await.status(),
        StatusCode::NOT_FOUND
    );
    let json: serde_json::Value = d.json("/feeds/opts.json").await;
    let titles: Vec<&str> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        vec!["Second", "Fish & Chips < 5"],
        "excluded source and keyword"
    );
    assert_eq!(json["home_page_url"], "https://example.org/home");
    assert_eq!(json["language"], "en-GB");
    assert_eq!(json["icon"], "https://example.org/logo.png");
    assert_eq!(json["favicon"], "https://example.org/icon.png");
    assert_eq!(json["authors"][0]["name"], "The Editor");
    let rss = body_text(d.get("/feeds/opts.rss").await).await;
    for want in [
        "<link>https://example.org/home</link>",
        "<language>en-GB</language>",
        "<image><url>https://example.org/logo.png</url><title>Opts</title><link>https://example.org/home</link></image>",
        "<dc:creator>The Editor</dc:creator>",
    ] {
        assert!(rss.contains(want), "{want} not in {rss}");
    }
    let atom = body_text(d.get("/feeds/fish.atom").await).await;
    let doc = roxmltree::Document::parse(&atom).unwrap();
    let titles: Vec<&str> = children(doc.root_element(), "entry")
        .iter()
        .map(|e| child_text(*e, "title").unwrap())
        .collect();
    assert_eq!(
        titles,
        vec!["Fish & Chips < 5", "Other"],
        "keyword filter, case-insensitive"
    );
    // The index page lists only the formats offered, and item counts.
    let index = body_text(d.get("/").await).await;
    assert!(
        index.contains("/feeds/opts.json") && !index.contains("/feeds/opts.atom"),
        "{index}"
    );
    assert!(index.contains("<td>2</td>"), "{index}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_keep_old_items_reachable_and_full_pages_never_change() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(
        dir.path(),
        &format!("{EXT_SOURCE}\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\nlimit = 3\n"),
    )
    .await;
    let items: Vec<StoredItem> = (0..8)
        .map(|i| stored("ext", &format!("i{i}"), minute(i), minute(i)))
        .collect();
    let all_ids: HashSet<String> = items.iter().map(|i| i.public_id.clone()).collect();
    put_items(&d, "ext", items).await;

    let rss = body_text(d.get("/feeds/all.rss").await).await;
    let prev3 = d.url("/feeds/all/archive/3.rss");
    assert!(
        rss.contains(&format!(r#"href="{prev3}" rel="prev-archive""#)),
        "{rss}"
    );
    assert!(!rss.contains("fh:archive"));

    // Follow prev-archive from the current document to the first page.
    let mut seen: HashSet<String> = HashSet::new();
    let ids_in = |xml: &str| -> Vec<String> {
        let doc = roxmltree::Document::parse(xml).unwrap();
        children(doc.root_element(), "entry")
            .iter()
            .map(|e| child_text(*e, "id").unwrap().to_string())
            .collect()
    };
    seen.extend(ids_in(&body_text(d.get("/feeds/all.atom").await).await));
    let mut page_bodies = Vec::new();
    for n in (1..=3).rev() {
        let r = d.get(&format!("/feeds/all/archive/{n}.atom")).await;
        assert_eq!(r.status(), StatusCode::OK, "page {n}");
        let cache = r.headers()["cache-control"].to_str().unwrap().to_string();
        let xml = body_text(r).await;
        assert!(xml.contains("<fh:archive"), "{xml}");
        assert!(
            xml.contains("xmlns:fh=\"http://purl.org/syndication/history/1.0\""),
            "{xml}"
        );
        assert!(
            xml.contains(&format!(
                r#"href="{}" rel="current""#,
                d.url("/feeds/all.atom")
            )),
            "{xml}"
        );
        assert!(xml.contains(&format!(
            r#"href="{}" rel="self""#,
            d.url(&format!("/feeds/all/archive/{n}.atom"))
        )));
        if n > 1 {
            let prev = d.url(&format!("/feeds/all/archive/{}.atom", n - 1));
            assert!(
                xml.contains(&format!(r#"href="{prev}" rel="prev-archive""#)),
                "{xml}"
            );
        } else {
            assert!(!xml.contains("prev-archive"));
        }
        let ids = ids_in(&xml);
        if n < 3 {
            assert_eq!(ids.len(), 3);
            assert_eq!(cache, "public, max-age=86400");
        } else {
            assert_eq!(ids.len(), 2);
            assert_eq!(
                cache, "public, max-age=3600",
                "a partial page can still change"
            );
        }
        seen.extend(ids);
        page_bodies.push((n, xml));
    }
    assert_eq!(seen, all_ids, "every item reachable");
    assert_eq!(
        d.get("/feeds/all/archive/4.atom").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        d.get("/feeds/all/archive/0.atom").await.status(),
        StatusCode::NOT_FOUND
    );
    let json: serde_json::Value = d.json("/feeds/all.json").await;
    assert_eq!(json["next_url"], d.url("/feeds/all/archive/3.json"));

    // Two more items: page 3 fills up, page 4 starts; pages 1 and 2 are
    // byte for byte the same.
    put_items(
        &d,
        "ext",
        (8..10)
            .map(|i| stored("ext", &format!("i{i}"), minute(i), minute(i)))
            .collect(),
    )
    .await;
    for (n, before) in &page_bodies {
        let now = body_text(d.get(&format!("/feeds/all/archive/{n}.atom")).await).await;
        if *n < 3 {
            assert_eq!(&now, before, "full page {n} changed");
        } else {
            assert_eq!(ids_in(&now).len(), 3);
        }
    }
    let rss = body_text(d.get("/feeds/all.rss").await).await;
    assert!(rss.contains(&format!(
        r#"href="{}" rel="prev-archive""#,
        d.url("/feeds/all/archive/4.rss")
    )));
    d.stop().await;
}

/// A WebSub hub on 127.0.0.1: the mock host recording the publish pings
/// POSTed to `/hub`; the first `fail_first` answer 500, the others 204.
async fn start_hub(fail_first: usize) -> (MockHost, SocketAddr) {
    let hub = MockHost::start().await;
    let mut replies = vec![Reply::status(500); fail_first];
    replies.push(Reply::status(204));
    hub.script("hub", replies);
    let addr = hub.addr();
    (hub, addr)
}

/// The pings the hub got, in order.
fn pings(hub: &MockHost) -> Vec<String> {
    hub.bodies("hub")
}

async fn wait_for_pings(hub: &MockHost, n: usize) {
    for _ in 0..200 {
        if pings(hub).len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websub_hub_gets_exactly_one_ping_per_change_and_none_without_change() {
    let (hub, hub_addr) = start_hub(0).await;
    let (hub2, hub2_addr) = start_hub(1).await;
    let dir = tempfile::tempdir().unwrap();
    let d = start(
        dir.path(),
        &format!(
            "{EXT_SOURCE}\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n\
             hub = [\"http://{hub_addr}/hub\", \"http://{hub2_addr}/hub\"]\nformats = [\"rss\", \"atom\"]\n"
        ),
    )
    .await;
    // The documents and the Link header name the hubs and self.
    let r = d.get("/feeds/all.atom").await;
    assert_eq!(
        r.headers()["link"].to_str().unwrap(),
        format!(
            "<http://{hub_addr}/hub>; rel=\"hub\", <http://{hub2_addr}/hub>; rel=\"hub\", <{}>; rel=\"self\"",
            d.url("/feeds/all.atom")
        )
    );
    let atom = body_text(r).await;
    assert!(
        atom.contains(&format!(
            r#"<link href="http://{hub_addr}/hub" rel="hub"/>"#
        )),
        "{atom}"
    );
    let rss = body_text(d.get("/feeds/all.rss").await).await;
    assert!(
        rss.contains(&format!(
            r#"<atom:link href="http://{hub_addr}/hub" rel="hub"/>"#
        )),
        "{rss}"
    );

    // Starting up is not a change.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(pings(&hub).is_empty());

    put_items(&d, "ext", vec![stored("ext", "a", minute(1), minute(1))]).await;
    wait_for_pings(&hub, 1).await;
    // The second hub failed once: retried after the backoff delay.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let expected = format!(
        "hub.mode=publish&hub.url={}&hub.url={}",
        urlencode(&d.url("/feeds/all.rss")),
        urlencode(&d.url("/feeds/all.atom"))
    );
    assert_eq!(pings(&hub), vec![expected.clone()]);
    assert_eq!(pings(&hub2), vec![expected.clone(), expected.clone()]);

    // Re-rendering the same items: no ping.
    d.app.render_feeds(None);
    put_items(&d, "ext", vec![]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(pings(&hub).len(), 1);

    // Another change: exactly one more.
    put_items(&d, "ext", vec![stored("ext", "b", minute(2), minute(2))]).await;
    wait_for_pings(&hub, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(pings(&hub).len(), 2);
    d.stop().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stylesheet_opml_and_index_page() {
    let dir = tempfile::tempdir().unwrap();
    sample_articles(dir.path());
    let d = start(dir.path(), &format!("{ARTICLES}\n{EXT_SOURCE}\n{ALL_FEED}")).await;
    let r = d.get("/feeds/feed.xsl").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/xsl; charset=utf-8");
    let xsl = body_text(r).await;
    roxmltree::Document::parse(&xsl).unwrap();
    let atom = body_text(d.get("/feeds/all.atom").await).await;
    assert!(atom.contains("<?xml-stylesheet type=\"text/xsl\" href=\"feed.xsl\"?>"));

    // The OPML of the sources is the operator's: not on the public port.
    assert_eq!(d.get("/opml").await.status(), StatusCode::NOT_FOUND);
    let r = d.admin_get("/opml").await;
    assert_eq!(r.headers()["content-type"], "text/x-opml; charset=utf-8");
    let opml = body_text(r).await;
    let doc = roxmltree::Document::parse(&opml).unwrap();
    let urls: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("xmlUrl"))
        .collect();
    assert_eq!(urls, vec!["http://127.0.0.1:0/feed.xml"]);

    let public = body_text(d.get("/").await).await;
    for want in ["All &amp; more", "/feeds/all.rss"] {
        assert!(public.contains(want), "{want} not in {public}");
    }
    for operator in ["/opml", "Sources", "/metrics"] {
        assert!(!public.contains(operator), "{operator} in {public}");
    }
    let index = body_text(d.admin_get("/").await).await;
    assert!(index.starts_with("<!DOCTYPE html>"), "{index}");
    for want in [
        "All &amp; more",
        "/feeds/all.rss",
        "/feeds/all.atom",
        "/feeds/all.json",
        "local",
        "ext",
        "/opml",
    ] {
        assert!(index.contains(want), "{want} not in {index}");
    }
    d.stop().await;
}

fn max_age(r: &reqwest::Response) -> u64 {
    let cc = r.headers()["cache-control"].to_str().unwrap();
    cc.strip_prefix("public, max-age=")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("Cache-Control: {cc}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_with_a_publish_schedule_publishes_at_its_times_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = start(
        dir.path(),
        &format!(
            "{EXT_SOURCE}\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n\n\
             [[feed]]\nname = \"digest\"\ntitle = \"Digest\"\ninclude = [\"*\"]\nrefresh = \"3h\"\n"
        ),
    )
    .await;
    assert_eq!(d.app.scheduled_feeds().await, vec!["digest"]);
    let index = body_text(d.get("/").await).await;
    assert!(index.contains("<td>every 3h</td>"), "{index}");
    assert!(index.contains("<td>at each change</td>"), "{index}");
    put_items(&d, "ext", vec![stored("ext", "a", minute(1), minute(1))]).await;

    // The feed that publishes every change has it; the digest waits, and
    // says so: max-age runs to its next publish, three hours after start.
    let all = body_text(d.get("/feeds/all.rss").await).await;
    assert!(all.contains("Item a"), "{all}");
    let r = d.get("/feeds/digest.rss").await;
    let age = max_age(&r);
    assert!((10_700..=10_800).contains(&age), "max-age {age}");
    let etag = r.headers()["etag"].clone();
    let digest = body_text(r).await;
    assert!(!digest.contains("Item a"), "{digest}");

    // Its publish time comes: now it has the item, under a new ETag.
    d.app.publish_scheduled("digest");
    let r = d.get("/feeds/digest.rss").await;
    assert_ne!(r.headers()["etag"], etag);
    assert!(body_text(r).await.contains("Item a"));

    // A per-second cron schedule (after a reload): the job itself publishes.
    let path = dir.path().join("feeds.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"3h\"", "\"* * * * * *\"")).unwrap();
    daemon::reload(&d.app).await.unwrap();
    assert_eq!(d.app.scheduled_feeds().await, vec!["digest"]);
    put_items(&d, "ext", vec![stored("ext", "b", minute(2), minute(2))]).await;
    let mut published = false;
    for _ in 0..100 {
        let r = d.get("/feeds/digest.rss").await;
        assert_eq!(max_age(&r), 1, "the next publish is within a second");
        if body_text(r).await.contains("Item b") {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "the publish job never ran");

    // Without a schedule (another reload): every change at once again.
    std::fs::write(&path, text.replace("refresh = \"3h\"\n", "")).unwrap();
    daemon::reload(&d.app).await.unwrap();
    assert!(d.app.scheduled_feeds().await.is_empty());
    put_items(&d, "ext", vec![stored("ext", "c", minute(3), minute(3))]).await;
    assert!(
        body_text(d.get("/feeds/digest.rss").await)
            .await
            .contains("Item c")
    );
    d.stop().await;
}
