//! Reload in-process: which jobs change, and that poll state survives.

mod common;

use common::{MockHost, Scripted, TestDaemon, rss_feed, write_config};
use syndic::daemon::{ReloadError, reload};

#[tokio::test]
async fn reload_reschedules_only_what_changed_and_keeps_poll_state() {
    let host = MockHost::start().await;
    host.set(
        "r.xml",
        Scripted::feed("application/rss+xml", &rss_feed(&[("g1", "One")]), "\"e1\""),
    );
    host.set(
        "s.xml",
        Scripted::feed(
            "application/rss+xml",
            &rss_feed(&[("h1", "Other")]),
            "\"e2\"",
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("articles")).unwrap();
    let sources = |extra: &str| {
        format!(
            "[[source]]\nid = \"remote\"\nurl = \"{}\"\n\n[[source]]\nid = \"other\"\nurl = \"{}\"\n{extra}",
            host.url("r.xml"),
            host.url("s.xml")
        )
    };
    write_config(dir.path(), &sources(""));
    let d = TestDaemon::start(dir.path()).await;
    assert_eq!(d.app.scheduled_sources().await, vec!["other", "remote"]);
    let remote_before = d.app.store.poll_state("remote").unwrap().unwrap();
    let other_before = d.app.store.poll_state("other").unwrap().unwrap();
    assert_eq!(remote_before.etag.as_deref(), Some("\"e1\""));
    let hits_before = host.hits("r.xml");
    let remote_run = d.app.scheduled_run("remote").await.unwrap();
    let other_run = d.app.scheduled_run("other").await.unwrap();

    // `other` changes (a tag), a local source is added.
    // (`extra` lands right after `other`'s url, so the tag is `other`'s.)
    let text = sources("tags = [\"x\"]\n\n[[source]]\nid = \"notes\"\npath = \"articles\"\n");
    write_config(dir.path(), &text);
    let summary = reload(&d.app).await.unwrap();
    assert_eq!(
        summary
            .sources
            .added
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        vec!["notes"]
    );
    assert_eq!(
        summary
            .sources
            .changed
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        vec!["other"]
    );
    assert_eq!(summary.sources.unchanged, 1);
    assert_eq!(
        d.app.scheduled_sources().await,
        vec!["notes", "other", "remote"]
    );
    // Poll state of the unchanged source is untouched, and so is the one of
    // the changed source (its validators stay valid for the same URL).
    assert_eq!(
        d.app.store.poll_state("remote").unwrap().unwrap(),
        remote_before
    );
    let other_after = d.app.store.poll_state("other").unwrap().unwrap();
    assert_eq!(other_after.etag, other_before.etag);
    // The unchanged source keeps its queued run (its next poll is an hour
    // away either way, so its request count alone would not show a
    // re-queue); the changed one was queued again, soon.
    assert_eq!(
        d.app.scheduled_run("remote").await,
        Some(remote_run),
        "the unchanged source was rescheduled"
    );
    let other_again = d.app.scheduled_run("other").await.unwrap();
    assert_ne!(
        other_again, other_run,
        "the changed source kept its old run"
    );
    assert!(other_again < chrono::Utc::now() + chrono::Duration::seconds(10));
    assert_eq!(
        host.hits("r.xml"),
        hits_before,
        "no extra poll of the unchanged source"
    );

    // Removing a source drops its jobs; an invalid file changes nothing.
    write_config(dir.path(), &sources(""));
    let summary = reload(&d.app).await.unwrap();
    assert_eq!(summary.sources.removed, vec!["notes".to_string()]);
    assert_eq!(d.app.scheduled_sources().await, vec!["other", "remote"]);
    std::fs::write(dir.path().join("feeds.toml"), "[daemon]\nlisten = 5\n").unwrap();
    let before = d.app.config();
    match reload(&d.app).await {
        Err(ReloadError::Invalid { errors, .. }) => assert!(!errors.is_empty()),
        other => panic!("accepted an invalid config: {other:?}"),
    }
    assert_eq!(*d.app.config(), *before);
    assert_eq!(d.app.scheduled_sources().await, vec!["other", "remote"]);
    // Issue 21: a rejected reload was only in the log. It is on the status
    // line (systemd's STATUS=) and the operator's index until a reload
    // succeeds.
    let status = d.app.status_line(None);
    assert!(
        status.contains("RELOAD REJECTED at ") && status.contains("feeds.toml:2:"),
        "{status}"
    );
    let index = d.admin_get("/").await.text().await.unwrap();
    assert!(index.contains("RELOAD REJECTED at "), "{index}");
    write_config(dir.path(), &sources(""));
    reload(&d.app).await.unwrap();
    assert!(!d.app.status_line(None).contains("RELOAD REJECTED"));
    let index = d.admin_get("/").await.text().await.unwrap();
    assert!(!index.contains("RELOAD REJECTED"), "{index}");
    d.stop().await;
}

#[tokio::test]
async fn a_reload_changes_the_max_age_at_once() {
    // The feed's max-age is worked out once and reused for a minute (it
    // visits every source of the feed); a reload must not serve the old
    // schedule's figure for that minute.
    let host = MockHost::start().await;
    host.set(
        "r.xml",
        Scripted::feed("application/rss+xml", &rss_feed(&[("g1", "One")]), "\"e1\""),
    );
    let dir = tempfile::tempdir().unwrap();
    let source = |refresh: &str| {
        format!(
            "[[source]]\nid = \"remote\"\nurl = \"{}\"\nrefresh = \"{refresh}\"\n",
            host.url("r.xml")
        )
    };
    write_config(dir.path(), &source("40m"));
    let d = TestDaemon::start(dir.path()).await;
    assert_eq!(d.app.feed_max_age(&d.app.config(), "all"), 2400);
    assert_eq!(d.app.feed_max_age(&d.app.config(), "all"), 2400, "reused");
    write_config(dir.path(), &source("15m"));
    reload(&d.app).await.unwrap();
    assert_eq!(d.app.feed_max_age(&d.app.config(), "all"), 900);
    d.stop().await;
}
