//! Full text (`full_text`, `full_text_selector`): each item's page fetched
//! once through the real fetcher and pipeline, its main content stored in
//! place of the feed's teaser, the feed's content kept (with the cause in
//! `syndic explain`) when the page gives none.
//!
//! The news host passes for a public one through a fixed host table (see
//! `tests/ssrf.rs`), so that the SSRF guard judges its pages as it would a
//! real site's; `metadata.internal` passes for 169.254.169.254.

mod common;

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use common::feed::{Feed, Item};
use common::{ConfigFile, MockHost, Reply};
use syndic::ingest::fetch::{Fetcher, HostTable};
use syndic::model::StoredItem;
use syndic::refresh::{Outcome, Refresher};
use syndic::store::Store;

const ARTICLE: &str = include_str!("fixtures/pages/article.html");

/// Sentences of the fixture's article, of its page around it.
const IN_ARTICLE: [&str; 3] = [
    "From the first Monday of January",
    "What the contract says",
    "We will follow the committee meeting",
];
const AROUND_ARTICLE: [&str; 6] = [
    "We use cookies",
    "Recent Posts",
    "Typical. They cut it",
    "Get Harbour Notes by email",
    "Proudly independent",
    "dataLayer",
];

struct World {
    news: MockHost,
    /// A second public host (`other.example.net`).
    other: MockHost,
    internal: MockHost,
    table: Arc<HostTable>,
    dir: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let news = MockHost::start().await;
        let other = MockHost::start().await;
        let internal = MockHost::start().await;
        internal.fallback(|_| {
            Reply::status(200)
                .header("content-type", "text/html")
                .body(ARTICLE)
        });
        let table = Arc::new(HostTable::default());
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        table.add("news.example.org", ip("93.184.216.34"), news.addr());
        table.add("other.example.net", ip("151.101.1.69"), other.addr());
        table.add("metadata.internal", ip("169.254.169.254"), internal.addr());
        World {
            news,
            other,
            internal,
            table,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Serves the feed at `/feed.xml` with these items (and `etag`).
    fn feed(&self, items: Vec<Item>, etag: &str) {
        let body = Feed::rss("Harbour Notes", "http://news.example.org/")
            .items(items)
            .render();
        self.news
            .set("/feed.xml", Reply::feed("application/rss+xml", body, etag));
    }

    fn page(&self, path: &str, reply: Reply) {
        self.news.set(path, reply);
    }

    /// The store and the `news` source of a config with `extra` keys.
    fn open(&self, extra: &str) -> (Store, syndic::config::Config) {
        let config = ConfigFile::bare()
            .daemon("store = \"store\"\npublic_url = \"http://feeds.test\"")
            .defaults("timeout = \"5s\"")
            .sources(&format!(
                "[[source]]\nid = \"news\"\nurl = \"http://news.example.org/feed.xml\"\n{extra}\n"
            ))
            .all_feed("[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n")
            .load(self.dir.path());
        (Store::open(&config.daemon.store).unwrap(), config)
    }

    fn fetcher(&self, config: &syndic::config::Config) -> Fetcher {
        Fetcher::with_hosts(&syndic::app::fetch_settings(config), self.table.clone()).unwrap()
    }
}

async fn refresh(
    store: &Store,
    fetcher: &Fetcher,
    config: &syndic::config::Config,
    now: DateTime<Utc>,
) -> Outcome {
    let refresher = Refresher {
        store,
        fetcher,
        public_base: "http://feeds.test",
    };
    refresher.refresh_at(&config.sources[0], true, now).await
}

fn html_page(body: &str) -> Reply {
    Reply::status(200)
        .header("content-type", "text/html; charset=utf-8")
        .body(body.to_string())
}

fn item(store: &Store, guid: &str) -> StoredItem {
    store
        .source_items("news")
        .unwrap()
        .into_iter()
        .find(|i| i.entry.upstream_id.as_deref() == Some(guid))
        .unwrap_or_else(|| panic!("no item {guid}"))
}

fn content(item: &StoredItem) -> &str {
    item.entry.content_html.as_deref().unwrap_or("")
}

fn explained(store: &Store, item: &StoredItem) -> String {
    store
        .explain(&item.key.to_hex())
        .unwrap()
        .unwrap()
        .to_string()
}

fn story(n: u32, teaser: &str) -> Item {
    Item::new(&format!("story-{n}"), &format!("Story {n}"))
        .link(&format!("http://news.example.org/story/{n}"))
        .description(teaser)
}

#[tokio::test]
async fn each_new_items_page_gives_its_main_content_once() {
    let w = World::new().await;
    w.feed(
        vec![story(1, "The first crossing moves to 07:40.")],
        "\"f1\"",
    );
    w.page("/story/1", html_page(ARTICLE).etag("\"p1\""));
    let (store, config) = w.open("full_text = true");
    let fetcher = w.fetcher(&config);
    let now = Utc::now();

    let outcome = refresh(&store, &fetcher, &config, now).await;
    assert!(
        matches!(outcome, Outcome::Refreshed { new: 1, .. }),
        "{outcome:?}"
    );
    let stored = item(&store, "story-1");
    let html = content(&stored);
    for text in IN_ARTICLE {
        assert!(html.contains(text), "`{text}` missing from {html}");
    }
    for text in AROUND_ARTICLE {
        assert!(!html.contains(text), "`{text}` kept in {html}");
    }
    // Sanitized like feed content, links made absolute against the page.
    assert!(!html.contains("<script"), "{html}");
    assert!(
        html.contains("http://news.example.org/2026/10/harbour-committee-budget/"),
        "{html}"
    );
    assert!(
        html.contains("http://news.example.org/wp-content/uploads/2026/11/north-pier-dawn"),
        "{html}"
    );
    // The feed's teaser is the summary.
    assert_eq!(
        stored.entry.summary_html.as_deref(),
        Some("The first crossing moves to 07:40.")
    );
    let explanation = explained(&store, &stored);
    assert!(
        explanation.contains("full text:   content extracted from http://news.example.org/story/1"),
        "{explanation}"
    );
    assert_eq!(w.news.hits("/story/1"), 1);
    let asked = w.news.seen();
    let accept = |path: &str| {
        let seen = asked.iter().find(|s| s.path == path).unwrap();
        seen.get("accept").unwrap_or("").to_string()
    };
    assert!(
        accept("/story/1").starts_with("text/html"),
        "{}",
        accept("/story/1")
    );
    assert!(
        accept("/feed.xml").starts_with("application/rss+xml"),
        "{}",
        accept("/feed.xml")
    );

    // The feed again, its item unchanged: the page is not asked for, and
    // the item is not rewritten.
    w.feed(
        vec![story(1, "The first crossing moves to 07:40.")],
        "\"f2\"",
    );
    let outcome = refresh(&store, &fetcher, &config, now + Duration::minutes(30)).await;
    assert!(
        matches!(
            outcome,
            Outcome::Refreshed {
                new: 0,
                updated: 0,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(w.news.hits("/story/1"), 1);

    // The item changed in the feed: its page is asked for again,
    // conditionally; the 304 keeps the content extracted before.
    w.feed(
        vec![story(1, "The first crossing moves to 07:40 in January.")],
        "\"f3\"",
    );
    let outcome = refresh(&store, &fetcher, &config, now + Duration::minutes(60)).await;
    assert!(
        matches!(outcome, Outcome::Refreshed { updated: 1, .. }),
        "{outcome:?}"
    );
    assert_eq!(w.news.hits("/story/1"), 2);
    let asked = w
        .news
        .seen()
        .into_iter()
        .filter(|s| s.path == "/story/1")
        .last()
        .unwrap();
    assert_eq!(asked.get("if-none-match"), Some("\"p1\""));
    let stored = item(&store, "story-1");
    assert!(content(&stored).contains(IN_ARTICLE[0]));
    assert_eq!(
        stored.entry.summary_html.as_deref(),
        Some("The first crossing moves to 07:40 in January.")
    );
}

#[tokio::test]
async fn a_page_without_an_article_keeps_the_feeds_content_and_says_why() {
    let w = World::new().await;
    let login = "<html><head><title>Sign in</title></head><body><nav><a href=\"/\">Home</a> \
                 <a href=\"/login\">Sign in</a></nav><form action=\"/login\"><input name=\"user\">\
                 <input type=\"password\" name=\"pw\"><button>Sign in</button></form></body></html>";
    w.feed(
        vec![
            story(1, "Subscribers can read the whole story."),
            story(2, "A link that is gone."),
            Item::new("story-3", "A PDF")
                .link("http://news.example.org/story/3.pdf")
                .description("The report."),
        ],
        "\"f1\"",
    );
    w.page("/story/1", html_page(login));
    w.page("/story/2", Reply::status(404));
    w.page(
        "/story/3.pdf",
        Reply::status(200)
            .header("content-type", "application/pdf")
            .body("%PDF-1.7"),
    );
    let (store, config) = w.open("full_text = true");
    let fetcher = w.fetcher(&config);
    let now = Utc::now();
    let outcome = refresh(&store, &fetcher, &config, now).await;
    assert!(
        matches!(outcome, Outcome::Refreshed { new: 3, .. }),
        "{outcome:?}"
    );

    for (guid, feed_content, cause) in [
        (
            "story-1",
            "Subscribers can read the whole story.",
            "the page has no main content",
        ),
        ("story-2", "A link that is gone.", "HTTP 404"),
        (
            "story-3",
            "The report.",
            "the page is application/pdf, not HTML",
        ),
    ] {
        let stored = item(&store, guid);
        assert_eq!(content(&stored), feed_content, "{guid}");
        let explanation = explained(&store, &stored);
        assert!(
            explanation.contains("full text:   the feed's content kept: ")
                && explanation.contains(cause),
            "{guid}: {explanation}"
        );
    }
    // Not fetched again while the items stay as they are.
    w.feed(
        vec![
            story(1, "Subscribers can read the whole story."),
            story(2, "A link that is gone."),
        ],
        "\"f2\"",
    );
    refresh(&store, &fetcher, &config, now + Duration::minutes(30)).await;
    assert_eq!(w.news.hits("/story/1"), 1);
    assert_eq!(w.news.hits("/story/2"), 1);
}

#[tokio::test]
async fn a_huge_page_is_refused_and_the_feed_is_read_all_the_same() {
    let w = World::new().await;
    w.feed(
        vec![
            story(1, "Too big to fetch."),
            story(2, "Too many elements."),
        ],
        "\"f1\"",
    );
    // Over the body cap (1 MiB here) ...
    let big = format!(
        "<html><body><article>{}</article></body></html>",
        "<p>word </p>".repeat(120_000)
    );
    assert!(big.len() > 1 << 20);
    w.page("/story/1", html_page(&big));
    // ... and under it but with more elements than readability reads.
    let many = format!(
        "<html><body><article>{}</article></body></html>",
        "<i>a</i>".repeat(syndic::ingest::page::MAX_ELEMENTS + 1000)
    );
    assert!(many.len() < 1 << 20);
    w.page("/story/2", html_page(&many));
    let (store, config) = {
        let config = ConfigFile::bare()
            .daemon("store = \"store\"\npublic_url = \"http://feeds.test\"")
            .defaults("timeout = \"10s\"\nmax_body_bytes = \"1MiB\"")
            .sources("[[source]]\nid = \"news\"\nurl = \"http://news.example.org/feed.xml\"\nfull_text = true\n")
            .all_feed("[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n")
            .load(w.dir.path());
        (Store::open(&config.daemon.store).unwrap(), config)
    };
    let fetcher = w.fetcher(&config);
    let outcome = refresh(&store, &fetcher, &config, Utc::now()).await;
    assert!(
        matches!(outcome, Outcome::Refreshed { new: 2, .. }),
        "{outcome:?}"
    );
    let first = item(&store, "story-1");
    assert_eq!(content(&first), "Too big to fetch.");
    let why = explained(&store, &first);
    assert!(
        why.contains("the feed's content kept") && why.contains("1048576"),
        "{why}"
    );
    let second = item(&store, "story-2");
    assert_eq!(content(&second), "Too many elements.");
    let why = explained(&store, &second);
    assert!(why.contains("elements, more than the 40000 read"), "{why}");
}

#[tokio::test]
async fn a_page_that_redirects_inside_is_refused() {
    let w = World::new().await;
    w.feed(vec![story(1, "The teaser.")], "\"f1\"");
    w.page(
        "/story/1",
        Reply::redirect(302, "http://metadata.internal/latest/meta-data/"),
    );
    // An item whose link itself points inside, from a public feed.
    let inside = Item::new("story-2", "Inside")
        .link("http://metadata.internal/computeMetadata/v1/")
        .description("Another teaser.");
    w.feed(vec![story(1, "The teaser."), inside], "\"f1\"");
    let (store, config) = w.open("full_text = true");
    let fetcher = w.fetcher(&config);
    let outcome = refresh(&store, &fetcher, &config, Utc::now()).await;
    assert!(
        matches!(outcome, Outcome::Refreshed { new: 2, .. }),
        "{outcome:?}"
    );
    for (guid, teaser) in [("story-1", "The teaser."), ("story-2", "Another teaser.")] {
        let stored = item(&store, guid);
        assert_eq!(content(&stored), teaser);
        let why = explained(&store, &stored);
        assert!(
            why.contains("169.254.169.254") && why.contains("SSRF guard"),
            "{guid}: {why}"
        );
    }
    assert_eq!(w.internal.count(), 0, "the internal host was asked");
}

#[tokio::test]
async fn a_selector_takes_the_elements_it_names() {
    let w = World::new().await;
    w.feed(
        vec![story(1, "Teaser one."), story(2, "Teaser two.")],
        "\"f1\"",
    );
    w.page("/story/1", html_page(ARTICLE));
    w.page(
        "/story/2",
        html_page("<html><body><div class=\"post\"><p>Another layout.</p></div></body></html>"),
    );
    let (store, config) = w.open("full_text_selector = \"article .entry-content\"");
    let fetcher = w.fetcher(&config);
    refresh(&store, &fetcher, &config, Utc::now()).await;
    let first = item(&store, "story-1");
    let html = content(&first);
    assert!(html.starts_with("<div class=\"entry-content\">"), "{html}");
    for text in IN_ARTICLE {
        assert!(html.contains(text), "`{text}` missing from {html}");
    }
    // The article's own header is outside the selector.
    assert!(!html.contains("Posted on"), "{html}");
    let second = item(&store, "story-2");
    assert_eq!(content(&second), "Teaser two.");
    let why = explained(&store, &second);
    assert!(
        why.contains("`article .entry-content` matches nothing on the page"),
        "{why}"
    );
}

#[tokio::test]
async fn a_page_host_that_asks_to_wait_is_asked_again_after_the_wait() {
    let w = World::new().await;
    w.feed(vec![story(1, "The teaser.")], "\"f1\"");
    w.news.script(
        "/story/1",
        vec![
            Reply::status(429).header("retry-after", "600"),
            html_page(ARTICLE),
        ],
    );
    let (store, config) = w.open("full_text = true");
    let fetcher = w.fetcher(&config);
    let now = Utc::now();
    refresh(&store, &fetcher, &config, now).await;
    let stored = item(&store, "story-1");
    assert_eq!(content(&stored), "The teaser.");
    assert!(explained(&store, &stored).contains("HTTP 429"));

    // Within the wait: not asked, though the item is read again.
    w.feed(vec![story(1, "The teaser.")], "\"f2\"");
    refresh(&store, &fetcher, &config, now + Duration::minutes(5)).await;
    assert_eq!(w.news.hits("/story/1"), 1);
    // After it: asked again (a wait is no verdict on the page), and the
    // item gets its content.
    w.feed(vec![story(1, "The teaser.")], "\"f3\"");
    let outcome = refresh(&store, &fetcher, &config, now + Duration::minutes(11)).await;
    assert!(
        matches!(outcome, Outcome::Refreshed { updated: 1, .. }),
        "{outcome:?}"
    );
    assert_eq!(w.news.hits("/story/1"), 2);
    assert!(content(&item(&store, "story-1")).contains(IN_ARTICLE[0]));
}

#[tokio::test]
async fn a_long_first_read_fetches_a_bounded_number_of_pages_and_the_rest_next_time() {
    let w = World::new().await;
    let n = syndic::refresh::MAX_PAGES as u32 + 5;
    let items: Vec<Item> = (1..=n).map(|i| story(i, &format!("Teaser {i}."))).collect();
    w.feed(items.clone(), "\"f1\"");
    w.news.fallback(|seen| {
        if seen.path.starts_with("/story/") {
            html_page(ARTICLE)
        } else {
            Reply::status(404)
        }
    });
    let (store, config) = w.open("full_text = true");
    let fetcher = w.fetcher(&config);
    let now = Utc::now();
    refresh(&store, &fetcher, &config, now).await;
    let pages = |w: &World| {
        w.news
            .paths()
            .iter()
            .filter(|p| p.starts_with("/story/"))
            .count()
    };
    assert_eq!(pages(&w), syndic::refresh::MAX_PAGES);
    let last = item(&store, &format!("story-{n}"));
    assert_eq!(content(&last), format!("Teaser {n}."));
    assert!(explained(&store, &last).contains("for now"));
    // The feed's validators were not kept: the next poll reads it whole
    // and fetches the pages left, and only those.
    refresh(&store, &fetcher, &config, now + Duration::minutes(30)).await;
    let asked = w
        .news
        .seen()
        .into_iter()
        .filter(|s| s.path == "/feed.xml")
        .last()
        .unwrap();
    assert_eq!(asked.get("if-none-match"), None);
    assert_eq!(pages(&w), n as usize);
    assert!(content(&item(&store, &format!("story-{n}"))).contains(IN_ARTICLE[0]));
}

/// Waits up to 20 s for the content of `news`'s one stored item to pass
/// `ok`; the content.
async fn wait_content(d: &common::TestDaemon, ok: impl Fn(&str) -> bool) -> String {
    let now = || {
        d.app
            .store
            .source_items("news")
            .unwrap()
            .first()
            .and_then(|i| i.entry.content_html.clone())
            .unwrap_or_default()
    };
    for _ in 0..400 {
        if ok(&now()) {
            return now();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the stored content stayed {}", now());
}

#[tokio::test]
async fn a_reload_that_changes_full_text_reads_the_pages_again() {
    let host = MockHost::start().await;
    let feed = Feed::rss("Harbour Notes", &host.url("/"))
        .item(
            Item::new("story-1", "Story 1")
                .link(&host.url("/story/1"))
                .description("The teaser."),
        )
        .render();
    host.set(
        "/feed.xml",
        Reply::feed("application/rss+xml", feed, "\"f1\""),
    );
    host.set("/story/1", html_page(ARTICLE).etag("\"p1\""));
    let dir = tempfile::tempdir().unwrap();
    let write = |extra: &str| {
        ConfigFile::new()
            .sources(&format!(
                "[[source]]\nid = \"news\"\nurl = \"{}\"\n{extra}\n",
                host.url("/feed.xml")
            ))
            .write(dir.path());
    };
    write("");
    let d = common::TestDaemon::start(dir.path()).await;
    wait_content(&d, |c| c == "The teaser.").await;
    assert_eq!(host.hits("/story/1"), 0);

    // Turned on: the source is read again in full and its page fetched.
    write("full_text = true");
    syndic::daemon::reload(&d.app).await.unwrap();
    let html = wait_content(&d, |c| c.contains(IN_ARTICLE[0])).await;
    assert!(!html.starts_with("<div class=\"entry-content\">"), "{html}");
    assert_eq!(host.hits("/story/1"), 1);

    // Another way to find the article: the page is read again (whole:
    // what it gave before no longer holds).
    write("full_text_selector = \"article .entry-content\"");
    syndic::daemon::reload(&d.app).await.unwrap();
    wait_content(&d, |c| c.starts_with("<div class=\"entry-content\">")).await;
    assert_eq!(host.hits("/story/1"), 2);
    let page = host
        .seen()
        .into_iter()
        .filter(|s| s.path == "/story/1")
        .last()
        .unwrap();
    assert_eq!(page.get("if-none-match"), None);

    // Turned off: the feed's own content comes back.
    write("");
    syndic::daemon::reload(&d.app).await.unwrap();
    wait_content(&d, |c| c == "The teaser.").await;
    assert_eq!(host.hits("/story/1"), 2);
    d.stop().await;
}

#[tokio::test]
async fn a_private_sources_credentials_go_to_pages_on_its_own_origin_only() {
    let w = World::new().await;
    let elsewhere = Item::new("story-2", "Elsewhere")
        .link("http://other.example.net/story/2")
        .description("Another teaser.");
    w.feed(vec![story(1, "The teaser."), elsewhere], "\"f1\"");
    w.page("/story/1", html_page(ARTICLE));
    w.other.set("/story/2", html_page(ARTICLE));
    let (store, config) = w.open("full_text = true\nheaders = { \"X-Api-Key\" = \"k-123\" }");
    let fetcher = w.fetcher(&config);
    refresh(&store, &fetcher, &config, Utc::now()).await;
    let key = |host: &MockHost, path: &str| {
        let seen = host.seen().into_iter().find(|s| s.path == path).unwrap();
        seen.get("x-api-key").map(str::to_string)
    };
    assert_eq!(key(&w.news, "/feed.xml").as_deref(), Some("k-123"));
    assert_eq!(key(&w.news, "/story/1").as_deref(), Some("k-123"));
    assert_eq!(key(&w.other, "/story/2"), None);
    for guid in ["story-1", "story-2"] {
        assert!(
            content(&item(&store, guid)).contains(IN_ARTICLE[0]),
            "{guid}"
        );
    }
}

#[tokio::test]
async fn a_push_of_new_items_alone_keeps_the_other_pages_records() {
    let w = World::new().await;
    w.feed(vec![story(1, "One."), story(2, "Two.")], "\"f1\"");
    w.news.fallback(|seen| {
        if seen.path.starts_with("/story/") {
            html_page(ARTICLE)
        } else {
            Reply::status(404)
        }
    });
    let (store, config) = w.open("full_text = true");
    let fetcher = w.fetcher(&config);
    let now = Utc::now();
    refresh(&store, &fetcher, &config, now).await;
    // A hub pushes a document holding only the new item.
    let pushed = Feed::rss("Harbour Notes", "http://news.example.org/")
        .item(story(3, "Three."))
        .render();
    let refresher = Refresher {
        store: &store,
        fetcher: &fetcher,
        public_base: "http://feeds.test",
    };
    let outcome = refresher
        .ingest_push(
            &config.sources[0],
            pushed.as_bytes(),
            Some("application/rss+xml"),
            now,
        )
        .await;
    assert!(
        matches!(outcome, Outcome::Refreshed { new: 1, .. }),
        "{outcome:?}"
    );
    assert!(content(&item(&store, "story-3")).contains(IN_ARTICLE[0]));
    // The whole feed again: no page is fetched twice.
    w.feed(
        vec![story(3, "Three."), story(1, "One."), story(2, "Two.")],
        "\"f2\"",
    );
    refresh(&store, &fetcher, &config, now + Duration::minutes(30)).await;
    for n in 1..=3 {
        assert_eq!(w.news.hits(&format!("/story/{n}")), 1, "story {n}");
    }
}
