//! The public surface (#22): the public listener serves what subscribers
//! need and answers 404 for the operator's pages, which live on the admin
//! listener; every HTML page carries the security headers.

mod common;

use common::{MockHost, Scripted, TestDaemon, write_config};
use reqwest::StatusCode;

const RSS: &str = "application/rss+xml";

/// An RSS feed with one item that has a link and one that has none (its
/// page is `/items/{key}`).
fn feed_with_linkless_item() -> String {
    r#"<?xml version="1.0"?><rss version="2.0"><channel><title>News</title><link>http://news.example/</link><description>d</description>
<item><guid>n1</guid><title>Linked</title><link>http://news.example/1</link><description>&lt;p&gt;One &lt;img src="http://img.example/a.png"&gt;&lt;/p&gt;</description><pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>
<item><guid isPermaLink="false">n2</guid><title>No link</title><description>Two</description><pubDate>Tue, 03 Mar 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"#
        .to_string()
}

/// A folder with an article and a remote source, and the extra `[daemon]`
/// lines given.
async fn setup(daemon_extra: &str) -> (tempfile::TempDir, MockHost) {
    let dir = tempfile::tempdir().unwrap();
    let host = MockHost::start().await;
    host.set(
        "news.rss",
        Scripted::feed(RSS, &feed_with_linkless_item(), "\"v1\""),
    );
    let articles = dir.path().join("articles");
    std::fs::create_dir(&articles).unwrap();
    std::fs::write(
        articles.join("hello.md"),
        "+++\ntitle = \"Hello local\"\ndate = 2026-03-10T00:00:00Z\n+++\nLocal *body*.\n",
    )
    .unwrap();
    let path = write_config(
        dir.path(),
        &format!(
            "[[source]]\nid = \"news\"\nurl = \"{}\"\nallow_internal = true\n\n\
             [[source]]\nid = \"local\"\npath = \"articles\"\n",
            host.url("news.rss")
        ),
    );
    if !daemon_extra.is_empty() {
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replacen("[daemon]\n", &format!("[daemon]\n{daemon_extra}\n"), 1);
        std::fs::write(&path, text).unwrap();
    }
    (dir, host)
}

/// The paths of the HTML pages of the feed's items (`/articles/..`,
/// `/items/..`), from the JSON feed.
async fn item_pages(d: &TestDaemon) -> Vec<String> {
    let json = d.json("/feeds/all.json").await;
    json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["url"].as_str())
        .filter_map(|u| u.strip_prefix("http://feeds.test"))
        .map(str::to_string)
        .collect()
}

const OPERATOR_ROUTES: [&str; 2] = ["/metrics", "/opml"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_pages_are_on_the_admin_listener_and_404_on_the_public_one() {
    let (dir, _host) = setup("").await;
    let d = TestDaemon::start(dir.path()).await;
    let admin = d.app.admin_addr().expect("an admin listener by default");
    assert!(admin.ip().is_loopback(), "{admin}");
    assert_ne!(admin, d.addr);

    for path in OPERATOR_ROUTES {
        let r = d.get(path).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "public {path}");
        let r = d.admin_get(path).await;
        assert_eq!(r.status(), StatusCode::OK, "admin {path}");
    }
    let metrics = d.admin_get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("syndic_source_up{source=\"news\"}"),
        "{metrics}"
    );

    // The public index lists the feeds, not the sources or their health.
    let public = d.get("/").await.text().await.unwrap();
    assert!(public.contains("/feeds/all.rss"), "{public}");
    for operator in [
        "news",
        "local",
        "/opml",
        "/metrics",
        "last status",
        "127.0.0.1",
    ] {
        assert!(!public.contains(operator), "{operator} in {public}");
    }
    let index = d.admin_get("/").await.text().await.unwrap();
    for want in ["/feeds/all.rss", "<td>news</td>", "<td>local</td>", "/opml"] {
        assert!(index.contains(want), "{want} not in {index}");
    }

    // What subscribers need is on both.
    let pages = item_pages(&d).await;
    assert!(
        pages.iter().any(|p| p.starts_with("/articles/")),
        "{pages:?}"
    );
    assert!(pages.iter().any(|p| p.starts_with("/items/")), "{pages:?}");
    for path in [
        "/feeds/all.rss",
        "/feeds/all.atom",
        "/feeds/feed.xsl",
        "/healthz",
        "/readyz",
    ]
    .iter()
    .map(|p| p.to_string())
    .chain(pages)
    {
        assert_eq!(d.get(&path).await.status(), StatusCode::OK, "public {path}");
        assert_eq!(
            d.admin_get(&path).await.status(),
            StatusCode::OK,
            "admin {path}"
        );
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_status_serves_the_operator_pages_on_the_public_listener_too() {
    let (dir, _host) = setup("public_status = true").await;
    let d = TestDaemon::start(dir.path()).await;
    for path in OPERATOR_ROUTES {
        assert_eq!(d.get(path).await.status(), StatusCode::OK, "public {path}");
        assert_eq!(d.admin_get(path).await.status(), StatusCode::OK, "{path}");
    }
    let index = d.get("/").await.text().await.unwrap();
    assert!(index.contains("<td>news</td>"), "{index}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_listen_off_leaves_only_the_public_listener() {
    let (dir, _host) = setup("admin_listen = \"off\"").await;
    let d = TestDaemon::start(dir.path()).await;
    assert_eq!(d.app.admin_addr(), None);
    assert_eq!(d.get("/metrics").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(d.get("/feeds/all.rss").await.status(), StatusCode::OK);
    assert!(!d.app.status_line(None).contains("admin on"));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_address_in_use_stops_the_start_with_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let (dir, _host) = setup(&format!("admin_listen = \"{addr}\"")).await;
    let config = syndic::config::Config::load(&dir.path().join("feeds.toml")).unwrap();
    let store = syndic::store::Store::open(&config.daemon.store).unwrap();
    let app = syndic::daemon::App::new(config, store).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = syndic::daemon::run(app, listener, Default::default())
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains(&format!("cannot listen on {addr}")) && text.contains("admin_listen"),
        "{text}"
    );
}

/// The headers every HTML page carries.
fn assert_page_headers(what: &str, r: &reqwest::Response) {
    let h = r.headers();
    assert!(
        h["content-type"].to_str().unwrap().starts_with("text/html"),
        "{what}: {h:?}"
    );
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP in {h:?}"))
        .to_str()
        .unwrap();
    // No scripts: nothing allows them, and the default is none.
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(!csp.contains("script-src"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("img-src"), "{what}: {csp}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_html_page_carries_csp_nosniff_referrer_and_frame_headers() {
    let (dir, _host) = setup("").await;
    let d = TestDaemon::start(dir.path()).await;
    let mut pages = item_pages(&d).await;
    pages.push("/".to_string());
    assert_eq!(pages.len(), 3, "{pages:?}");
    for path in &pages {
        let r = d.get(path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_page_headers(&format!("public {path}"), &r);
        let r = d.admin_get(path).await;
        assert_page_headers(&format!("admin {path}"), &r);
    }
    // Feeds, the stylesheet, the operator's text pages and errors: nosniff.
    for path in [
        "/feeds/all.rss",
        "/feeds/all.atom",
        "/feeds/all.json",
        "/feeds/feed.xsl",
    ] {
        let r = d.get(path).await;
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
    }
    for path in ["/metrics", "/opml", "/nope"] {
        let r = d.admin_get(path).await;
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
    }
    let r = d.get("/nope").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    d.stop().await;
}
