//! Local article folders end to end (issue 16): confinement, the size cap,
//! front matter warnings, scheduling, watching, media and pages.

mod common;

use std::path::Path;

use common::{TestDaemon, write_config};
use reqwest::StatusCode;

/// A folder with `articles/` holding `files` (path, text) and a config whose
/// only source is that folder, with `extra` lines in its table.
fn folder(files: &[(&str, &str)], extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let articles = dir.path().join("articles");
    std::fs::create_dir(&articles).unwrap();
    for (path, text) in files {
        let path = articles.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
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
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syndic"))
        .current_dir(dir.path())
        .args(["check"])
        .env_remove("SYNDIC_CONFIG")
        .output()
        .unwrap();
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
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syndic"))
        .current_dir(dir.path())
        .args(["sources"])
        .env_remove("SYNDIC_CONFIG")
        .env_remove("SYNDIC_STORE")
        .env_remove("STATE_DIRECTORY")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not published: `drafts` is true"), "{text}");

    // A broken file fails the check, naming it and the line.
    std::fs::write(dir.path().join("articles/bad.md"), "+++\ntitle = \n+++\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syndic"))
        .current_dir(dir.path())
        .args(["check"])
        .env_remove("SYNDIC_CONFIG")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("error: bad.md: line 2"), "{text}");
}

/// Not a test: keeps `Path` used when only some tests compile (non-unix).
#[allow(dead_code)]
fn _unused(_: &Path) {}
