//! Hostile content: an XSS set in titles, summaries, content and links of
//! ingested RSS, Atom, JSON Feed and local Markdown must not survive into any
//! served format or HTML page.

mod common;

use common::{Feed, Item, MockHost, Scripted, TestDaemon, write_config};

/// Markup that must never reach a subscriber, each in one of the usual
/// disguises.
const PAYLOADS: &[&str] = &[
    r#"<script>alert('s1')</script>"#,
    r#"<SCRIPT SRC=//evil.example/x.js></SCRIPT>"#,
    r#"<scr<script>ipt>alert('s2')</scr</script>ipt>"#,
    r#"<img src="x" onerror="alert('s3')">"#,
    r#"<a href="javascript:alert('s4')">click</a>"#,
    r#"<a href="  JaVaScRiPt:alert('s5')">click</a>"#,
    r#"<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">d</a>"#,
    r#"<iframe src="https://evil.example/"></iframe>"#,
    r#"<object data="https://evil.example/x.swf"></object><embed src="x.swf">"#,
    r#"<svg onload="alert('s6')"><script>alert('s7')</script></svg>"#,
    r#"<div style="width: expression(alert('s8'))">css</div>"#,
    r#"<style>body{background:url(javascript:alert('s9'))}</style>"#,
    r#"<form action="https://evil.example/"><input name="p"></form>"#,
    r#"<meta http-equiv="refresh" content="0;url=https://evil.example/">"#,
    r#"<base href="https://evil.example/">"#,
    r#"<math><mi xlink:href="javascript:alert('s10')">m</mi></math>"#,
    r#"<p onmouseover="alert('s11')">hover</p>"#,
];

/// What must not appear inside any tag of HTML a reader renders (element
/// content and attribute values of the XML formats, string values of JSON
/// Feed, the HTML pages). Text outside tags is inert, so `&lt;script` shown
/// as text is fine; a literal `<script` is not.
const FORBIDDEN: &[&str] = &[
    "<script",
    "<iframe",
    "<object",
    "<embed",
    "<svg",
    "<style",
    "<form",
    "<meta",
    "<base",
    "<math",
    "javascript:",
    "vbscript:",
    "data:text/html",
    "expression(",
    "onerror",
    "onload",
    "onmouseover",
    "evil.example/x.js",
];

/// The `<...>` spans of a string: what an HTML parser would take as markup.
fn tags(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let tail = &rest[start..];
        let end = tail.find('>').map(|e| e + 1).unwrap_or(tail.len());
        out.push(&tail[..end]);
        rest = &tail[end..];
    }
    out
}

fn assert_clean(what: &str, text: &str) {
    let lowered = text.to_ascii_lowercase();
    for tag in tags(&lowered) {
        for bad in FORBIDDEN {
            assert!(
                !tag.contains(bad),
                "{what} has `{bad}` in markup `{tag}`:\n{text}"
            );
        }
    }
}

/// A URL value must not be script.
fn assert_safe_url(what: &str, url: &str) {
    let lowered: String = url
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    for scheme in ["javascript:", "vbscript:", "data:"] {
        assert!(
            !lowered.starts_with(scheme),
            "{what} is a {scheme} URL: {url}"
        );
    }
}

/// Every text node and attribute value of an XML document, as a reader
/// sees them after XML unescaping (CDATA included).
fn check_xml(what: &str, body: &str) {
    let doc = roxmltree::Document::parse(body).unwrap_or_else(|e| panic!("{what}: {e}"));
    for node in doc.descendants() {
        if let Some(text) = node.text() {
            assert_clean(
                &format!(
                    "{what} <{}>",
                    node.parent_element()
                        .map(|p| p.tag_name().name())
                        .unwrap_or("")
                ),
                text,
            );
        }
        for attr in node.attributes() {
            assert_clean(&format!("{what} @{}", attr.name()), attr.value());
            assert_safe_url(&format!("{what} @{}", attr.name()), attr.value());
        }
        if (node.tag_name().name() == "link" || node.tag_name().name() == "guid")
            && let Some(text) = node.text()
        {
            assert_safe_url(&format!("{what} <link>"), text);
        }
    }
}

fn check_json(what: &str, value: &serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            assert_clean(what, s);
            if what.ends_with("url") {
                assert_safe_url(what, s);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| check_json(what, v)),
        serde_json::Value::Object(o) => o
            .iter()
            .for_each(|(k, v)| check_json(&format!("{what}.{k}"), v)),
        _ => {}
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn hostile_rss() -> String {
    let all = PAYLOADS.concat();
    Feed::rss("Hostile", "http://hostile.example/")
        .encoding(None)
        .xmlns("xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"")
        .items(PAYLOADS.iter().enumerate().map(|(i, payload)| {
            Item::new(
                &format!("h{i}"),
                &xml_escape(&format!("Title {i} {payload}")),
            )
            .link(&format!("javascript:alert('s{i}')"))
            .description(&xml_escape(payload))
            .extra(&format!(
                "<content:encoded><![CDATA[{all} safe text {i}]]></content:encoded>\
                     <enclosure url=\"javascript:alert(1)\" type=\"audio/mpeg\" length=\"1\"/>"
            ))
        }))
        .render()
}

fn hostile_atom() -> String {
    Feed::atom("Hostile Atom", "urn:h", "http://hostile.example/")
        .encoding(None)
        .items(PAYLOADS.iter().enumerate().map(|(i, payload)| {
            let p = xml_escape(payload);
            Item::untitled(&format!("urn:h:{i}"))
                .link(&format!("javascript:alert('s{i}')"))
                .date(common::feed::at(2026, 1, 1, 0))
                .description(&p)
                .extra(&format!(
                    "<title type=\"html\">{}</title><summary type=\"html\">{p}</summary>",
                    xml_escape(&format!("Atom {i} {payload}"))
                ))
        }))
        .render()
}

fn hostile_json() -> String {
    let items: Vec<serde_json::Value> = PAYLOADS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            serde_json::json!({
                "id": format!("j{i}"),
                "url": format!("javascript:alert('s{i}')"),
                "title": format!("Json {i} {p}"),
                "content_html": p,
                "summary": p,
            })
        })
        .collect();
    serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Hostile JSON",
        "items": items,
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hostile_markup_survives_into_any_served_document() {
    let dir = tempfile::tempdir().unwrap();
    let host = MockHost::start().await;
    host.set(
        "h.rss",
        Scripted::feed("application/rss+xml", &hostile_rss(), "\"1\""),
    );
    host.set(
        "h.atom",
        Scripted::feed("application/atom+xml", &hostile_atom(), "\"1\""),
    );
    host.set(
        "h.json",
        Scripted::feed("application/feed+json", &hostile_json(), "\"1\""),
    );
    let articles = dir.path().join("articles");
    std::fs::create_dir(&articles).unwrap();
    std::fs::write(
        articles.join("evil.md"),
        format!(
            "+++\ntitle = \"Local <script>alert('s0')</script> title\"\nsummary = \"<img src=x onerror=alert('s0')>\"\n+++\n{}\n",
            PAYLOADS.join("\n\n")
        ),
    )
    .unwrap();
    write_config(
        dir.path(),
        &format!(
            "[[source]]\nid = \"rss\"\nurl = \"{}\"\n\n[[source]]\nid = \"atom\"\nurl = \"{}\"\n\n\
             [[source]]\nid = \"json\"\nurl = \"{}\"\n\n[[source]]\nid = \"local\"\npath = \"articles\"\n",
            host.url("h.rss"),
            host.url("h.atom"),
            host.url("h.json")
        ),
    );
    let daemon = TestDaemon::start(dir.path()).await;
    for id in ["rss", "atom", "json", "local"] {
        let count = daemon.app.store.source_item_count(id);
        assert!(count >= 1, "source {id} stored nothing");
    }
    let json = daemon.json("/feeds/all.json").await;
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), 3 * PAYLOADS.len() + 1);
    // The harmless text around the payloads is kept.
    assert!(items.iter().any(|i| {
        i["content_html"]
            .as_str()
            .unwrap_or("")
            .contains("safe text 3")
    }));

    for path in ["/feeds/all.rss", "/feeds/all.atom"] {
        check_xml(path, &daemon.get(path).await.text().await.unwrap());
    }
    check_json("/feeds/all.json", &json);
    let admin_index = daemon.admin_url("/");
    for path in ["/", "/articles/evil", admin_index.as_str()] {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            daemon.url(path)
        };
        let answer = reqwest::get(url).await.unwrap();
        // A 404 page is clean too: each page must be the real one.
        assert_eq!(answer.status(), 200, "{path}");
        let page = answer.text().await.unwrap();
        // Our own <head> (meta, style) is not ingested content.
        let body = page.split_once("<body>").map(|(_, b)| b).unwrap_or(&page);
        assert_clean(path, body);
        if path == "/articles/evil" {
            // The article itself, its payloads defused: title text and a
            // link's text are there.
            assert!(body.contains("Local ") && body.contains(" title"), "{body}");
            assert!(body.contains("click"), "{body}");
        }
    }
    for item in items {
        let url = item["url"].as_str().unwrap();
        assert!(
            url.starts_with("http://") || url.starts_with("https://"),
            "unsafe item url {url}"
        );
        if let Some(path) = url.strip_prefix("http://feeds.test") {
            let answer = daemon.get(path).await;
            assert_eq!(answer.status(), 200, "{path}");
            let page = answer.text().await.unwrap();
            let body = page.split_once("<body>").map(|(_, b)| b).unwrap_or(&page);
            assert_clean(path, body);
        }
    }
    daemon.stop().await;
}
