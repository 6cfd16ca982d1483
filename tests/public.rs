//! The public surface (#22): the public listener serves what subscribers
//! need and answers 404 for the operator's pages, which live on the admin
//! listener; every HTML page carries the security headers.

mod common;

use common::feed::at;
use common::{ConfigFile, Daemon, Feed, Item, MockHost, Scripted, TestDaemon, syndic_command};
use reqwest::StatusCode;

const RSS: &str = "application/rss+xml";

/// An RSS feed with one item that has a link and one that has none (its
/// page is `/items/{key}`).
fn feed_with_linkless_item() -> String {
    Feed::rss("News", "http://news.example/")
        .encoding(None)
        .item(
            Item::new("n1", "Linked")
                .link("http://news.example/1")
                .description("&lt;p&gt;One &lt;img src=\"http://img.example/a.png\"&gt;&lt;/p&gt;")
                .date(at(2026, 3, 2, 10)),
        )
        .item(
            Item::new("n2", "No link")
                .not_permalink()
                .description("Two")
                .date(at(2026, 3, 3, 10)),
        )
        .render()
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
    common::write_file(
        dir.path(),
        "articles/hello.md",
        "+++\ntitle = \"Hello local\"\ndate = 2026-03-10T00:00:00Z\n+++\nLocal *body*.\n",
    );
    ConfigFile::new()
        .daemon(daemon_extra)
        .sources(&format!(
            "[[source]]\nid = \"news\"\nurl = \"{}\"\nallow_internal = true\n\n\
             [[source]]\nid = \"local\"\npath = \"articles\"\n",
            host.url("news.rss")
        ))
        .write(dir.path());
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

    // The public index lists the feeds and their recent items, not the
    // sources or their health. (The recent items are what the feeds
    // publish, links included: `http://news.example/1` is an item's link,
    // so the words below are looked for outside that list.)
    let public = d.get("/").await.text().await.unwrap();
    assert!(public.contains("/feeds/all.rss"), "{public}");
    let (feeds_part, recent) = public
        .split_once("<h2>Recent items</h2>")
        .unwrap_or_else(|| panic!("no recent items: {public}"));
    let recent = recent.split_once("</ul>").unwrap().0;
    assert!(recent.contains(">Linked</a>"), "{recent}");
    for operator in [
        "news",
        "local",
        "/opml",
        "/metrics",
        "last status",
        "127.0.0.1",
    ] {
        assert!(!feeds_part.contains(operator), "{operator} in {public}");
    }
    for operator in ["<td>", "/opml", "/metrics", "last status", "127.0.0.1"] {
        assert!(!recent.contains(operator), "{operator} in {recent}");
    }
    assert!(
        public.ends_with("</ul>\n\n</body></html>\n"),
        "something after the recent items: {public}"
    );
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
    let app = common::daemon::app(dir.path());
    let listener = common::daemon::listener("127.0.0.1:0");
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

// ---- Secrets (#22): never shown, still used to fetch. ----

const TOKEN: &str = "tok-S3CRET-1a2b";
const PASSWORD: &str = "pw-S3CRET-9z8y";
const KEY: &str = "key-S3CRET-77c";
const SECRETS: [&str; 3] = [TOKEN, PASSWORD, KEY];

/// A config whose sources carry secrets: a token URL and a userinfo URL
/// (both on the mock host, serving the same feed, so the items merge and
/// published feeds name both sources), a source that fails with a key and a
/// password in its URL, and a local folder.
fn secret_config(dir: &std::path::Path, host: &MockHost) {
    let base = host.url("");
    let userinfo = base.replacen("http://", &format!("http://alice:{PASSWORD}@"), 1);
    std::fs::create_dir_all(dir.join("articles")).unwrap();
    std::fs::write(
        dir.join("articles/hello.md"),
        "+++\ntitle = \"Hello local\"\ndate = 2026-03-10T00:00:00Z\n+++\nLocal *body*.\n",
    )
    .unwrap();
    ConfigFile::new()
        .without_daemon(&["contact"])
        .daemon("admin_listen = \"127.0.0.1:0\"")
        .defaults("allow_internal = true")
        .sources(&format!(
            "[[source]]\nid = \"private\"\nurl = \"{base}news.rss?user=alice&token={TOKEN}\"\n\n\
             [[source]]\nid = \"basic\"\nurl = \"{userinfo}news.rss\"\n\n\
             [[source]]\nid = \"down\"\nurl = \"http://bob:{PASSWORD}@127.0.0.1:0/feed.xml?api_key={KEY}\"\n\n\
             [[source]]\nid = \"local\"\npath = \"articles\"\n"
        ))
        .all_feed("[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n")
        .write(dir);
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} shown in {what}:\n{text}");
    }
}

/// Status, headers and body of a GET, as one text to search.
async fn fetch_all(url: &str) -> (StatusCode, String) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status();
    let mut text = format!("{status}\n");
    for (name, value) in r.headers() {
        text.push_str(&format!(
            "{name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    text.push_str(&r.text().await.unwrap());
    (status, text)
}

fn cli(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = syndic_command(dir)
        .args(args)
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The CLI commands that show sources, items or errors, each run and
/// searched; returns what they printed, for checks that the secrets were
/// there to hide.
fn check_cli(dir: &std::path::Path, item_id: &str) -> String {
    let mut all = String::new();
    for args in [
        vec!["check"],
        vec!["sources"],
        vec!["sources", "--json"],
        vec!["explain", item_id],
        vec!["fetch"],
        vec!["fetch", "down"],
        vec!["render", "all", "--format", "rss"],
        vec!["render", "all", "--format", "atom"],
        vec!["render", "all", "--format", "json"],
        vec!["export-opml"],
    ] {
        let (_, text) = cli(dir, &args);
        assert_no_secret(&format!("`syndic {}`", args.join(" ")), &text);
        all.push_str(&text);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_in_source_urls_show_nowhere_but_are_used_to_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let host = MockHost::start().await;
    host.set(
        "news.rss",
        Scripted::feed(RSS, &feed_with_linkless_item(), "\"v1\""),
    );
    secret_config(dir.path(), &host);
    let d = TestDaemon::start(dir.path()).await;

    // The real URLs were fetched: the token reached the host, and the
    // password went as Basic credentials.
    let requests = host.requests.lock().unwrap().clone();
    assert!(requests.iter().any(|(p, _)| p == "news.rss"));
    assert!(
        requests.iter().any(|(_, h)| h
            .get("authorization")
            .is_some_and(|v| v.to_str().unwrap().starts_with("Basic "))),
        "no Basic credentials sent"
    );
    let private = d.app.store.poll_state("private").unwrap().unwrap();
    assert_eq!(private.consecutive_failures, 0, "{private:?}");
    let down = d.app.store.poll_state("down").unwrap().unwrap();
    assert!(down.consecutive_failures > 0, "{down:?}");

    // Every public route, and the operator's routes on both listeners.
    let mut public_paths: Vec<String> = [
        "/",
        "/feeds/all.rss",
        "/feeds/all.atom",
        "/feeds/all.json",
        "/feeds/all/archive/1.rss",
        "/feeds/feed.xsl",
        "/healthz",
        "/readyz",
        "/metrics",
        "/opml",
        "/nope?token=x",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    public_paths.extend(item_pages(&d).await);
    let mut shown = String::new();
    for path in &public_paths {
        let (_, text) = fetch_all(&d.url(path)).await;
        assert_no_secret(&format!("public {path}"), &text);
        let (_, admin_text) = fetch_all(&d.admin_url(path)).await;
        assert_no_secret(&format!("admin {path}"), &admin_text);
        shown.push_str(&text);
        shown.push_str(&admin_text);
    }
    // The secrets were there to hide: the pages name the URLs, redacted.
    let index = fetch_all(&d.admin_url("/")).await.1;
    for want in [
        "news.rss?user=alice&amp;token=***",
        "http://***@127.0.0.1:0/feed.xml?api_key=***",
        "<td>private</td>",
    ] {
        assert!(index.contains(want), "{want} not in {index}");
    }
    let opml = fetch_all(&d.admin_url("/opml")).await.1;
    assert!(
        opml.contains("token=***") && opml.contains("http://***@"),
        "{opml}"
    );
    let json = fetch_all(&d.url("/feeds/all.json")).await.1;
    assert!(json.contains("\"feed_url\""), "no merged sources: {json}");
    assert!(json.contains("token=***"), "{json}");

    // The CLI through the running daemon's admin socket.
    let id = d.json("/feeds/all.json").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let through_daemon = check_cli(dir.path(), &id);
    assert!(through_daemon.contains("token=***"), "{through_daemon}");
    d.stop().await;

    // The CLI on its own (it opens the store).
    let alone = check_cli(dir.path(), &id);
    assert!(alone.contains("down: FAILED"), "{alone}");
    assert!(alone.contains("api_key=***"), "{alone}");
    // The real URLs only when asked for.
    let (ok, real) = cli(dir.path(), &["export-opml", "--include-secrets"]);
    assert!(ok, "{real}");
    assert!(real.contains(TOKEN) && real.contains(PASSWORD), "{real}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_error_quoting_a_secret_url_is_printed_redacted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("feeds.toml"),
        format!(
            "[[source]]\nid = \"x\"\nurl = \"ftp://alice:{PASSWORD}@h.example/f?token={TOKEN}\"\n\n\
             [[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n"
        ),
    )
    .unwrap();
    let (ok, text) = cli(dir.path(), &["check"]);
    assert!(!ok, "{text}");
    assert!(text.contains("ftp://***@h.example/f?token=***"), "{text}");
    assert_no_secret("`syndic check`", &text);
}

/// Runs `syndic serve` in `log_format` until the failing source's error is
/// logged, then stops it; returns the log.
fn serve_log(dir: &std::path::Path, log_format: &str) -> String {
    // Every crate at debug: the HTTP client's own lines too.
    let daemon = Daemon::start_with(dir, &["--log-format", log_format], &[("RUST_LOG", "debug")]);
    daemon.log_until(|log| log.contains("refresh failed") && log.contains("refreshed"));
    daemon.stop().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_log_shows_no_secret_in_text_or_json() {
    let host = MockHost::start().await;
    host.set(
        "news.rss",
        Scripted::feed(RSS, &feed_with_linkless_item(), "\"v1\""),
    );
    for format in ["text", "json"] {
        let dir = tempfile::tempdir().unwrap();
        secret_config(dir.path(), &host);
        let path = dir.path().to_path_buf();
        let format_name = format.to_string();
        let log = tokio::task::spawn_blocking(move || serve_log(&path, &format_name))
            .await
            .unwrap();
        assert_no_secret(&format!("the {format} log"), &log);
        // The failing source's error names its URL, redacted.
        assert!(log.contains("127.0.0.1:0/feed.xml?api_key=***"), "{log}");
        if format == "json" {
            for line in log.lines().filter(|l| !l.trim().is_empty()) {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("{e}: {line}"));
            }
        }
    }
}
