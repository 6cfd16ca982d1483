//! A fetched feed's entries are sanitized only where they are new: the
//! entries its last document also had go on hollow (not sanitized), known
//! by the content digest they had then (`src/refresh/unfinished.rs`). What
//! is stored must be exactly what sanitizing every entry stores: new items
//! sanitized, unchanged ones untouched, and an item changed or deleted in
//! the store since is written again from the feed, never hollow.

mod common;

use std::path::Path;

use chrono::Utc;
use common::{MockHost, Reply};
use syndic::app::fetch_settings;
use syndic::config::{Config, SourceConfig};
use syndic::ingest::fetch::Fetcher;
use syndic::model::StoredItem;
use syndic::refresh::{Outcome, Refresher};
use syndic::store::{Batch, Store};

const RSS: &str = "application/rss+xml";

struct Rig {
    _dir: tempfile::TempDir,
    store: Store,
    fetcher: Fetcher,
    host: MockHost,
}

/// A source `s` of the mock host's `feed`, with `extra` (rules) in its
/// table.
fn source(host: &MockHost, extra: &str) -> SourceConfig {
    config(host, extra).sources[0].clone()
}

fn config(host: &MockHost, extra: &str) -> Config {
    let text = format!(
        "[daemon]\ncontact = \"mailto:ops@example.org\"\n\
         [[source]]\nid = \"s\"\nurl = \"{}\"\n{extra}\n\
         [[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n",
        host.url("feed")
    );
    Config::parse(&text, Path::new("/nonexistent/feeds.toml")).unwrap_or_else(|e| panic!("{e}"))
}

impl Rig {
    async fn new() -> Rig {
        let host = MockHost::start().await;
        let config = config(&host, "");
        let dir = tempfile::tempdir().unwrap();
        Rig {
            store: Store::open(&dir.path().join("store")).unwrap(),
            fetcher: Fetcher::new(&fetch_settings(&config)).unwrap(),
            host,
            _dir: dir,
        }
    }

    /// Serves `items` (guid, HTML description) without validators: every
    /// poll reads the whole document.
    fn serve(&self, items: &[(&str, &str)]) {
        let items: String = items
            .iter()
            .map(|(guid, html)| {
                format!(
                    "<item><guid isPermaLink=\"false\">{guid}</guid><title>{guid}</title>\
                     <link>https://example.org/{guid}</link>\
                     <description><![CDATA[{html}]]></description></item>"
                )
            })
            .collect();
        let body = format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title>\
             <link>https://example.org/</link><description>d</description>{items}</channel></rss>"
        );
        self.host
            .set("feed", Reply::ok(body).header("content-type", RSS));
    }

    async fn refresh(&self, source: &SourceConfig) -> Outcome {
        Refresher {
            store: &self.store,
            fetcher: &self.fetcher,
            public_base: "http://feeds.test",
        }
        .refresh_at(source, true, Utc::now())
        .await
    }

    fn item(&self, guid: &str) -> StoredItem {
        self.store
            .source_items("s")
            .unwrap()
            .into_iter()
            .find(|i| i.entry.upstream_id.as_deref() == Some(guid))
            .unwrap_or_else(|| panic!("no item {guid}"))
    }

    fn content(&self, guid: &str) -> String {
        self.item(guid).entry.content_html.unwrap_or_default()
    }
}

const ONE: &str = "<p>One <a href=\"/one\">link</a><script>alert(1)</script></p>";
const TWO: &str = "<p onclick=\"x()\">Two <img src=\"two.png\"></p>";
const THREE: &str = "<p>Three<iframe src=\"https://evil.test/\"></iframe> <b>bold</b></p>";

fn refreshed(new: usize, updated: usize, unchanged: usize) -> Outcome {
    Outcome::Refreshed {
        new,
        updated,
        removed: 0,
        unchanged,
    }
}

#[tokio::test]
async fn only_new_entries_are_sanitized_and_what_is_stored_is_the_same() {
    let rig = Rig::new().await;
    let s = source(&rig.host, "");
    rig.serve(&[("1", ONE), ("2", TWO)]);
    assert_eq!(rig.refresh(&s).await, refreshed(2, 0, 0));
    let one = rig.item("1");
    assert_eq!(
        one.entry.content_html.as_deref(),
        Some("<p>One <a href=\"https://example.org/one\" rel=\"noopener noreferrer\">link</a></p>")
    );
    // What each entry became is kept for the next refresh.
    assert_eq!(rig.store.finished_digests("s").unwrap().len(), 2);

    // The same two and a new one: the new one sanitized like the others,
    // the two left as they were (not written again).
    rig.serve(&[("3", THREE), ("1", ONE), ("2", TWO)]);
    assert_eq!(rig.refresh(&s).await, refreshed(1, 0, 2));
    assert_eq!(rig.item("1"), one);
    assert_eq!(rig.content("3"), "<p>Three <b>bold</b></p>");
    assert_eq!(
        rig.content("2"),
        "<p>Two <img src=\"https://example.org/two.png\" /></p>"
    );
    assert_eq!(rig.store.finished_digests("s").unwrap().len(), 3);

    // A changed entry is sanitized and updated.
    rig.serve(&[
        ("3", THREE),
        ("1", "<p>One, <em>edited</em><script>x</script></p>"),
        ("2", TWO),
    ]);
    assert_eq!(rig.refresh(&s).await, refreshed(0, 1, 2));
    assert_eq!(rig.content("1"), "<p>One, <em>edited</em></p>");
}

#[tokio::test]
async fn an_item_deleted_or_rewritten_in_the_store_is_written_again_from_the_feed() {
    let rig = Rig::new().await;
    let s = source(&rig.host, "");
    rig.serve(&[("1", ONE), ("2", TWO), ("3", THREE)]);
    assert_eq!(rig.refresh(&s).await, refreshed(3, 0, 0));
    let (one, two) = (rig.item("1"), rig.item("2"));

    // By hand: item 1 deleted (no tombstone), item 2 rewritten.
    let mut edited = two.clone();
    edited.entry.content_html = Some("<p>edited by hand</p>".into());
    edited.digest = edited.entry.content_digest();
    let batch = Batch {
        source: "s".into(),
        removals: vec![one.clone()],
        upserts: vec![(Some(two.clone()), edited)],
        ..Batch::default()
    };
    rig.store.apply(&batch).await.unwrap();

    // The feed did not change, so its entries would go on hollow; the plan
    // would then write two of them, so the document is sanitized whole.
    assert_eq!(rig.refresh(&s).await, refreshed(1, 1, 1));
    let again = rig.item("1");
    assert_eq!(again.entry, one.entry);
    assert_eq!(rig.item("2").entry, two.entry);
    for item in rig.store.source_items("s").unwrap() {
        assert!(
            item.entry.content_html.is_some(),
            "stored without content: {item:?}"
        );
        assert_eq!(item.digest, item.entry.content_digest());
    }
    // And the next refresh finds everything unchanged.
    assert_eq!(rig.refresh(&s).await, refreshed(0, 0, 3));
}

#[tokio::test]
async fn other_rules_make_every_entry_finished_again() {
    let rig = Rig::new().await;
    let plain = source(&rig.host, "");
    rig.serve(&[("1", ONE), ("2", TWO)]);
    assert_eq!(rig.refresh(&plain).await, refreshed(2, 0, 0));
    assert_eq!(rig.refresh(&plain).await, refreshed(0, 0, 2));

    // The same document under a rule that rewrites content: known entries
    // of the old rules are no help, each is finished and shaped again.
    let ruled = source(
        &rig.host,
        "[[source.rule]]\naction = { replace = { field = \"content\", pattern = \"One\", with = \"Uno\" } }\n",
    );
    assert_eq!(rig.refresh(&ruled).await, refreshed(0, 1, 1));
    assert!(
        rig.content("1").starts_with("<p>Uno "),
        "{}",
        rig.content("1")
    );
    assert_eq!(rig.refresh(&ruled).await, refreshed(0, 0, 2));
    assert!(rig.content("1").starts_with("<p>Uno "));
}

#[tokio::test]
async fn entries_without_distinct_guids_are_always_finished() {
    // Two entries share a guid: their identities depend on their content,
    // so none goes on hollow; refreshes stay exact.
    let rig = Rig::new().await;
    let s = source(&rig.host, "");
    rig.serve(&[("1", ONE), ("1", TWO), ("3", THREE)]);
    let first = rig.refresh(&s).await;
    assert!(
        matches!(first, Outcome::Refreshed { new: 3, .. }),
        "{first:?}"
    );
    assert!(rig.store.finished_digests("s").unwrap().is_empty());
    assert_eq!(rig.refresh(&s).await, refreshed(0, 0, 3));
}
