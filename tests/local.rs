//! Local article folders end to end (issue 16): confinement, the size cap,
//! front matter warnings, scheduling, watching, media and pages.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{TestDaemon, write_config, write_file};
use reqwest::StatusCode;

/// A folder with `articles/` holding `files` (path, text) and a config whose
/// only source is that folder, with `extra` lines in its table.
fn folder(files: &[(&str, &str)], extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("articles")).unwrap();
    for (path, text) in files {
        write_file(dir.path(), &format!("articles/{path}"), text);
    }
    write_config(
        dir.path(),
        &format!("[[source]]\nid = \"local\"\npath = \"articles\"\n{extra}\n"),
    );
    dir
}

fn titles(json: &serde_json::Value) -> Vec<String> {
    json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn warnings(daemon: &TestDaemon) -> Vec<String> {
    daemon
        .app
        .store
        .poll_state("local")
        .unwrap()
        .unwrap()
        .parse_warnings
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_leading_outside_the_folder_is_never_published() {
    use std::os::unix::fs::symlink;
    let dir = folder(&[("real.md", "# Real one\n\nInside.\n")], "");
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "Secret title\n\nThe password is hunter2.\n").unwrap();
    let articles = dir.path().join("articles");
    symlink(&secret, articles.join("passwd.txt")).unwrap();
    // A link that stays inside the folder is followed.
    symlink(articles.join("real.md"), articles.join("alias.md")).unwrap();
    // So is a folder whose own path is a link: confinement is by real path.
    let daemon = TestDaemon::start(dir.path()).await;

    let json = daemon.json("/feeds/all.json").await;
    let body = serde_json::to_string(&json).unwrap();
    assert!(!body.contains("hunter2"), "{body}");
    assert!(!titles(&json).contains(&"Secret title".to_string()));
    assert_eq!(
        titles(&json).iter().filter(|t| *t == "Real one").count(),
        2,
        "{json}"
    );
    assert_eq!(
        daemon.get("/articles/passwd").await.status(),
        StatusCode::NOT_FOUND
    );
    let w = warnings(&daemon);
    assert!(
        w.iter().any(
            |w| w.starts_with("passwd.txt: skipped: symlink leads outside the folder")
                && w.contains("secret.txt")
        ),
        "{w:?}"
    );
    // The operator's index (admin listener) lists the source's warnings.
    let index = daemon.admin_get("/").await.text().await.unwrap();
    assert!(
        index.contains("passwd.txt: skipped: symlink leads outside"),
        "{index}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_over_max_article_bytes_is_skipped_with_a_warning() {
    let big = format!("# Big one\n\n{}\n", "word ".repeat(20_000)); // ~100 KB
    let dir = folder(
        &[("small.md", "# Small one\n\nFits.\n"), ("big.md", &big)],
        "max_article_bytes = \"64KiB\"",
    );
    let daemon = TestDaemon::start(dir.path()).await;
    let json = daemon.json("/feeds/all.json").await;
    assert_eq!(titles(&json), ["Small one"]);
    let w = warnings(&daemon);
    assert!(
        w.iter().any(|w| w.starts_with("big.md: ")
            && w.contains(&format!("{} bytes", big.len()))
            && w.contains("max_article_bytes (65536)")),
        "{w:?}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn article_pages_are_rendered_once_per_change_and_answer_304() {
    let dir = folder(&[("page.md", "# A page\n\nFirst text.\n")], "");
    let daemon = TestDaemon::start(dir.path()).await;
    let client = reqwest::Client::new();
    let first = daemon.get("/articles/page").await;
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    assert!(first.text().await.unwrap().contains("First text."));
    let renders = daemon.app.pages.renders();
    for _ in 0..5 {
        let again = daemon.get("/articles/page").await;
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
        assert!(again.text().await.unwrap().contains("First text."));
    }
    let not_modified = client
        .get(daemon.url("/articles/page"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        daemon.app.pages.renders(),
        renders,
        "served from stored bytes"
    );

    std::fs::write(
        dir.path().join("articles/page.md"),
        "# A page\n\nSecond text.\n",
    )
    .unwrap();
    daemon.refresh("local").await;
    let changed = client
        .get(daemon.url("/articles/page"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    assert!(changed.text().await.unwrap().contains("Second text."));
    assert_eq!(daemon.app.pages.renders(), renders + 1);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_future_and_expired_articles_are_not_published_and_say_why() {
    let dir = folder(
        &[
            (
                "now.md",
                "+++\ntitle = \"Now\"\ndate = 2024-01-01\n+++\nx\n",
            ),
            ("d1.md", "+++\ntitle = \"D1\"\ndrafts = true\n+++\nx\n"),
            ("d2.md", "---\ntitle: D2\nDraft: true\n---\nx\n"),
            ("d3.md", "---\ntitle: D3\ndarft: true\n---\nx\n"),
            (
                "later.md",
                "+++\ntitle = \"Later\"\ndate = 2999-01-01T00:00:00Z\n+++\nx\n",
            ),
            (
                "gone.md",
                "---\ntitle: Gone\ndate: 2024-01-01\nexpiryDate: 2024-02-01\n---\nx\n",
            ),
            ("odd.md", "+++\ntitle = \"Odd\"\nsumary = \"x\"\n+++\nx\n"),
        ],
        "",
    );
    let daemon = TestDaemon::start(dir.path()).await;
    let json = daemon.json("/feeds/all.json").await;
    let mut t = titles(&json);
    t.sort();
    assert_eq!(t, ["Now", "Odd"], "{json}");
    let w = daemon.app.store.poll_state("local").unwrap().unwrap();
    assert_eq!(w.parse_warning_total(), 6, "{:?}", w.parse_warnings);
    let rss = daemon.get("/feeds/all.rss").await.text().await.unwrap();
    assert!(!rss.contains("2999"), "{rss}");
    daemon.stop().await;

    // `syndic check` reads the folder too, and `syndic sources` shows why.
    let out = common::syndic(dir.path(), &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("source local:"), "{text}");
    assert!(
        text.contains(
            "warning: odd.md: line 3: unknown front matter key `sumary` ignored; did you mean `summary`?"
        ),
        "{text}"
    );
    assert!(
        text.contains("warning: d1.md: line 3: not published: `drafts` is true"),
        "{text}"
    );
    assert!(
        text.contains("warning: d2.md: line 3: not published: `Draft` is true"),
        "{text}"
    );
    assert!(
        text.contains("warning: d3.md: line 3: not published: `darft` is true"),
        "{text}"
    );
    let out = common::syndic(dir.path(), &["sources"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not published: `drafts` is true"), "{text}");

    // A broken file fails the check, naming it and the line.
    std::fs::write(dir.path().join("articles/bad.md"), "+++\ntitle = \n+++\n").unwrap();
    let out = common::syndic(dir.path(), &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("error: bad.md: line 2"), "{text}");
}

/// `at` in RFC 3339 to the second (front matter and feeds).
fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Polls `check` every 25 ms until it holds or `within` passes; the time
/// it first held.
async fn until<F, Fut>(within: Duration, mut check: F) -> Option<Instant>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    None
}

/// The feed-level dates of every format: none may lie in the future.
async fn assert_feed_dates_not_future(daemon: &TestDaemon) {
    let latest = chrono::Utc::now() + chrono::Duration::seconds(1);
    let rss = daemon.get("/feeds/all.rss").await;
    let modified = rss.headers()["last-modified"].to_str().unwrap().to_string();
    let modified = chrono::DateTime::parse_from_rfc2822(&modified).unwrap();
    assert!(
        modified <= latest,
        "Last-Modified {modified} after {latest}"
    );
    let rss = rss.text().await.unwrap();
    let doc = roxmltree::Document::parse(&rss).unwrap();
    let build = doc
        .descendants()
        .find(|n| n.has_tag_name("lastBuildDate"))
        .and_then(|n| n.text())
        .unwrap();
    let build = chrono::DateTime::parse_from_rfc2822(build).unwrap();
    assert!(build <= latest, "lastBuildDate {build} after {latest}");
    let atom = daemon.get("/feeds/all.atom").await.text().await.unwrap();
    let doc = roxmltree::Document::parse(&atom).unwrap();
    let updated = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name("updated"))
        .and_then(|n| n.text())
        .unwrap();
    let updated = chrono::DateTime::parse_from_rfc3339(updated).unwrap();
    assert!(updated <= latest, "Atom updated {updated} after {latest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_article_is_published_on_time_and_an_expiring_one_removed() {
    // Scheduled scans are an hour apart (the test config): only the
    // source's timer can publish or remove anything during the test.
    let start = chrono::Utc::now();
    // Whole seconds, as front matter writes them.
    let publish_at =
        chrono::DateTime::parse_from_rfc3339(&stamp(start + chrono::Duration::seconds(6)))
            .unwrap()
            .to_utc();
    let expire_at = publish_at + chrono::Duration::seconds(3);
    let soon = format!(
        "+++\ntitle = \"Soon\"\ndate = {}\n+++\nOn time.\n",
        stamp(publish_at)
    );
    let going = format!(
        "---\ntitle: Going\ndate: 2024-01-01\nexpiryDate: {}\n---\nFor a while.\n",
        stamp(expire_at)
    );
    let dir = folder(
        &[
            ("now.md", "# Now\n\nAlready.\n"),
            ("soon.md", &soon),
            ("going.md", &going),
        ],
        "",
    );
    let daemon = TestDaemon::start(dir.path()).await;
    let json = daemon.json("/feeds/all.json").await;
    let mut t = titles(&json);
    t.sort();
    // A machine so loaded that the start took most of the 6 s cannot tell
    // "before" from "after": the checks before the date are left out then.
    let timed = chrono::Utc::now() + chrono::Duration::seconds(2) < publish_at;
    if !timed {
        common::skip::skip(
            "local on-time checks before the publication date",
            "the daemon took too long to start",
        );
    }
    if timed {
        assert_eq!(t, ["Going", "Now"], "published before its date: {json}");
    }
    assert_feed_dates_not_future(&daemon).await;

    // `syndic sources` (its rows) and `/` name the next scheduled article.
    if timed {
        let rows = syndic::admin::source_rows(&daemon.app.config(), &daemon.app.store).unwrap();
        let next = rows[0].next_article.clone().expect("a next article");
        assert_eq!(next.path, "soon.md");
        assert_eq!(next.at, publish_at);
        assert_eq!(rows[0].next_poll_at, Some(publish_at));
        assert_eq!(daemon.app.articles.armed("local"), Some(publish_at));
        let index = daemon.admin_get("/").await.text().await.unwrap();
        let shown = format!(
            "soon.md published at {}",
            publish_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        assert!(index.contains(&shown), "{index}");
    }

    // Published by the timer, not before its date, soon after it.
    until(Duration::from_secs(30), || async {
        titles(&daemon.json("/feeds/all.json").await).contains(&"Soon".to_string())
    })
    .await
    .expect("the scheduled article was never published");
    let published_late = chrono::Utc::now() - publish_at;
    assert!(published_late >= chrono::Duration::zero());
    eprintln!(
        "on-time: published {} ms after its date (poll step 25 ms)",
        published_late.num_milliseconds()
    );
    assert!(
        !timed || published_late < chrono::Duration::seconds(5),
        "published {published_late} after its date"
    );
    let json = daemon.json("/feeds/all.json").await;
    let item = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Soon")
        .unwrap();
    let date = chrono::DateTime::parse_from_rfc3339(item["date_published"].as_str().unwrap())
        .unwrap()
        .to_utc();
    assert_eq!(date, publish_at, "published with its own date");
    assert_feed_dates_not_future(&daemon).await;
    // `syndic sources` (through the running daemon) names the next one.
    let out = common::syndic(dir.path(), &["sources"]);
    let text = String::from_utf8_lossy(&out.stdout);
    if chrono::Utc::now() < expire_at {
        let shown = format!(
            "local: next scheduled article: going.md expires at {}",
            expire_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        assert!(text.contains(&shown), "{text}");
    }

    // The expiring one leaves at its time, by the timer too.
    until(Duration::from_secs(30), || async {
        !titles(&daemon.json("/feeds/all.json").await).contains(&"Going".to_string())
    })
    .await
    .expect("the expired article was never removed");
    let removed_late = chrono::Utc::now() - expire_at;
    eprintln!(
        "on-time: removed {} ms after its expiry",
        removed_late.num_milliseconds()
    );
    assert!(removed_late >= chrono::Duration::zero());
    assert!(removed_late < chrono::Duration::seconds(5));
    assert_eq!(daemon.app.articles.armed("local"), None);
    let rows = syndic::admin::source_rows(&daemon.app.config(), &daemon.app.store).unwrap();
    assert_eq!(rows[0].next_article, None);
    assert_feed_dates_not_future(&daemon).await;
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_file_is_published_at_once_and_temp_or_half_written_files_never() {
    let dir = folder(&[("first.md", "# First\n\nHere.\n")], "");
    let articles = dir.path().join("articles");
    let daemon = TestDaemon::start(dir.path()).await;
    assert!(daemon.app.articles.watching("local"));
    let etag = |r: &reqwest::Response| r.headers()["etag"].to_str().unwrap().to_string();
    let before = etag(&daemon.get("/feeds/all.json").await);
    let scanned = |d: &TestDaemon| {
        d.app
            .store
            .poll_state("local")
            .unwrap()
            .unwrap()
            .last_attempt
    };
    let last_scan = scanned(&daemon);

    // Editors' temporary, swap and backup files publish nothing: they do
    // not even start a scan (nor does a scan's own reading of the files).
    for (name, text) in [
        (".post.md.swp", "# Swap garbage\n"),
        (".#post.md", "# Lock garbage\n"),
        ("post.md~", "# Backup garbage\n"),
        ("4913", ""),
        ("post.md.tmp", "# Temp garbage\n"),
        (".hidden.md", "# Hidden garbage\n"),
    ] {
        std::fs::write(articles.join(name), text).unwrap();
    }
    std::fs::remove_file(articles.join("4913")).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let response = daemon.get("/feeds/all.json").await;
    assert_eq!(etag(&response), before, "a temp file changed the feed");
    assert_eq!(scanned(&daemon), last_scan, "a temp file started a scan");
    assert!(!response.text().await.unwrap().contains("garbage"));

    // A file written in two parts with a pause between them shorter than
    // the debounce is never published half.
    let watching = daemon.url("/feeds/all.json");
    let stop = tokio_util::sync::CancellationToken::new();
    let halves = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut half_seen = Vec::new();
            while !stop.is_cancelled() {
                let body = client.get(&watching).send().await.unwrap();
                let body = body.text().await.unwrap();
                if body.contains("First part") && !body.contains("the end") {
                    half_seen.push(body);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            half_seen
        })
    };
    {
        use std::io::Write as _;
        let mut file = std::fs::File::create(articles.join("half.md")).unwrap();
        file.write_all(b"# Half\n\nFirst part").unwrap();
        file.flush().unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        file.write_all(b" and the end.\n").unwrap();
    }
    let published = until(Duration::from_secs(10), || async {
        daemon
            .get("/feeds/all.json")
            .await
            .text()
            .await
            .unwrap()
            .contains("the end")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.cancel();
    let half_seen = halves.await.unwrap();
    assert!(published.is_some(), "the finished file was never published");
    assert!(half_seen.is_empty(), "half a file published: {half_seen:?}");

    // Saving a file publishes it: a new ETag within a generous bound,
    // with no fetch or refresh asked for.
    let before = etag(&daemon.get("/feeds/all.json").await);
    let saved = Instant::now();
    std::fs::write(articles.join("new.md"), "# New one\n\nJust saved.\n").unwrap();
    let served = until(Duration::from_secs(10), || async {
        let response = daemon.get("/feeds/all.json").await;
        etag(&response) != before && response.text().await.unwrap().contains("Just saved.")
    })
    .await
    .expect("the saved file was never published");
    let latency = served - saved;
    eprintln!(
        "instant: saved file served {} ms after the write",
        latency.as_millis()
    );
    assert!(latency < Duration::from_secs(5), "{latency:?}");
    let page = daemon.get("/articles/new").await;
    assert_eq!(page.status(), StatusCode::OK);

    // Removing it unpublishes it the same way.
    std::fs::remove_file(articles.join("new.md")).unwrap();
    until(Duration::from_secs(10), || async {
        !daemon
            .get("/feeds/all.json")
            .await
            .text()
            .await
            .unwrap()
            .contains("Just saved.")
    })
    .await
    .expect("the removed file stayed published");
    let text = daemon.get("/feeds/all.json").await.text().await.unwrap();
    assert!(!text.contains("garbage"), "{text}");
    let app = daemon.app.clone();
    daemon.stop().await;
    assert!(!app.articles.watching("local"), "watch stopped on shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_moves_the_watch_to_the_new_folder_and_drops_removed_ones() {
    let dir = folder(&[("a.md", "# In A\n\nA.\n")], "");
    std::fs::create_dir(dir.path().join("other")).unwrap();
    let daemon = TestDaemon::start(dir.path()).await;
    assert!(daemon.app.articles.watching("local"));

    // The source now reads `other/`: that folder is watched, not the old.
    write_config(dir.path(), "[[source]]\nid = \"local\"\npath = \"other\"\n");
    syndic::daemon::reload(&daemon.app).await.unwrap();
    assert!(daemon.app.articles.watching("local"));
    std::fs::write(dir.path().join("other/b.md"), "# In B\n\nB.\n").unwrap();
    until(Duration::from_secs(10), || async {
        titles(&daemon.json("/feeds/all.json").await).contains(&"In B".to_string())
    })
    .await
    .expect("a file saved in the new folder was not published");
    std::fs::write(dir.path().join("articles/c.md"), "# In C\n\nC.\n").unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!titles(&daemon.json("/feeds/all.json").await).contains(&"In C".to_string()));

    // A removed source has no watch (nor timer) left.
    write_config(dir.path(), "[[source]]\nid = \"moved\"\npath = \"other\"\n");
    syndic::daemon::reload(&daemon.app).await.unwrap();
    assert!(!daemon.app.articles.watching("local"));
    assert!(daemon.app.articles.watching("moved"));
    daemon.stop().await;
}

/// Not a test: keeps `Path` used when only some tests compile (non-unix).
#[allow(dead_code)]
fn _unused(_: &Path) {}
