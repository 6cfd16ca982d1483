//! Deduplication through the real reconcile path and the real store, with
//! crafted entries (what the parser hands over): identity ladder, canonical
//! URLs, guid drift, updates, no-write on unchanged, cross-source merges,
//! near-duplicates, retention with tombstones, and `explain`. Every scenario
//! reopens the store half-way and checks that nothing changed.

mod common;

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::ConfigFile;
use syndic::config::Config;
use syndic::ingest::fetch::Fetcher;
use syndic::model::{Entry, PollState, StoredItem};
use syndic::publish::{self, FeedMeta, RenderedFeed};
use syndic::refresh::{Outcome, Refresher};
use syndic::store::Store;

struct Harness {
    _dir: tempfile::TempDir,
    config: Config,
    store: Option<Store>,
    fetcher: Fetcher,
}

const FEEDS: &str = r#"
[[feed]]
name = "all"
title = "All"
include = ["*"]
limit = 100
"#;

impl Harness {
    /// A store and config with the given `[defaults]` keys and sources;
    /// every source is remote (never fetched here).
    fn new(defaults: &str, sources: &str, feeds: &str) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let config = ConfigFile::bare()
            .daemon("store = \"store\"\npublic_url = \"http://feeds.test\"")
            .defaults(defaults)
            .sources(sources)
            .all_feed(FEEDS)
            .feeds(feeds)
            .load(dir.path());
        let store = Store::open(&config.daemon.store).unwrap();
        let fetcher = Fetcher::new(&syndic::app::fetch_settings(&config)).unwrap();
        Harness {
            _dir: dir,
            config,
            store: Some(store),
            fetcher,
        }
    }

    fn store(&self) -> &Store {
        self.store.as_ref().unwrap()
    }

    /// Closes the store and opens it again, as a daemon restart does.
    /// sled's background flusher may hold the file lock a moment after the
    /// last handle is dropped, so the reopen retries briefly.
    fn restart(&mut self) {
        drop(self.store.take());
        self.store = Some(common::reopen_store(&self.config.daemon.store));
    }

    async fn ingest(&self, source: &str, entries: Vec<Entry>, now: DateTime<Utc>) -> Outcome {
        let source = self.config.source(source).unwrap();
        let refresher = Refresher {
            store: self.store(),
            fetcher: &self.fetcher,
            public_base: "http://feeds.test",
        };
        refresher
            .ingest_entries(source, entries, PollState::default(), now)
            .await
    }

    fn render(&self, feed: &str) -> RenderedFeed {
        let feed = self.config.feed(feed).unwrap();
        let items = publish::select_items(self.store(), feed).unwrap();
        let meta = FeedMeta::from_config(feed, "http://feeds.test");
        publish::render(&meta, &items)
    }

    fn json(&self, feed: &str) -> serde_json::Value {
        serde_json::from_slice(&self.render(feed).json.body).unwrap()
    }

    fn items(&self, source: &str) -> Vec<StoredItem> {
        self.store().source_items(source).unwrap()
    }
}

fn remote(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| format!("[[source]]\nid = \"{id}\"\nurl = \"http://{id}.example/feed.xml\"\n"))
        .collect()
}

fn t(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap()
}

fn entry(guid: Option<&str>, link: Option<&str>, title: &str, body: &str) -> Entry {
    Entry {
        upstream_id: guid.map(str::to_string),
        link: link.map(str::to_string),
        title: Some(title.to_string()),
        content_html: Some(format!("<p>{body}</p>")),
        ..Entry::default()
    }
}

fn dated(mut e: Entry, day: u32) -> Entry {
    e.published = Some(t(day));
    e
}

fn refreshed(new: usize, updated: usize, removed: usize, unchanged: usize) -> Outcome {
    Outcome::Refreshed {
        new,
        updated,
        removed,
        unchanged,
    }
}

fn ids_by_title(json: &serde_json::Value) -> HashMap<String, String> {
    json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["title"].as_str().unwrap().to_string(),
                i["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn identity_ladder_guid_then_link_then_fingerprint_and_keys_stay() {
    let mut h = Harness::new("", &remote(&["news"]), "");
    let batch = vec![
        entry(
            Some("guid-1"),
            Some("http://news.example/1"),
            "With guid",
            "a",
        ),
        entry(None, Some("http://news.example/2"), "Link only", "b"),
        entry(None, None, "Neither", "c"),
    ];
    assert_eq!(
        h.ingest("news", batch.clone(), t(1)).await,
        refreshed(3, 0, 0, 0)
    );
    let keys: Vec<_> = h.items("news").iter().map(|i| i.key).collect();
    let ids = ids_by_title(&h.json("all"));
    h.restart();
    assert_eq!(h.ingest("news", batch, t(2)).await, refreshed(0, 0, 0, 3));
    // The link-only item gains a guid, the guid item loses its guid: both
    // are still the items first stored, under their first keys.
    let later = vec![
        entry(None, Some("http://news.example/1"), "With guid", "a"),
        entry(
            Some("guid-2"),
            Some("https://news.example/2"),
            "Link only",
            "b",
        ),
        entry(None, None, "Neither", "c"),
    ];
    assert_eq!(h.ingest("news", later, t(3)).await, refreshed(0, 2, 0, 1));
    h.restart();
    let mut after: Vec<_> = h.items("news").iter().map(|i| i.key).collect();
    let mut before = keys.clone();
    after.sort();
    before.sort();
    assert_eq!(after, before);
    assert_eq!(ids_by_title(&h.json("all")), ids);
}

#[tokio::test]
async fn canonical_links_match_but_the_original_link_is_published() {
    let mut h = Harness::new("", &remote(&["news"]), "");
    let first = "http://WWW.News.example:80/story/?utm_source=rss&b=2&a=1&fbclid=x#top";
    h.ingest(
        "news",
        vec![entry(None, Some(first), "Story", "text")],
        t(1),
    )
    .await;
    let json = h.json("all");
    assert_eq!(json["items"][0]["url"], first);
    let id = json["items"][0]["id"].clone();
    h.restart();
    // The same page written another way is the same item, and the link
    // now published is the one the source gives today.
    let second = "https://news.example/story?a=1&b=2&ref=home";
    assert_eq!(
        h.ingest(
            "news",
            vec![entry(None, Some(second), "Story", "text")],
            t(2)
        )
        .await,
        refreshed(0, 1, 0, 0)
    );
    let json = h.json("all");
    assert_eq!(json["items"].as_array().unwrap().len(), 1);
    assert_eq!(json["items"][0]["id"], id);
    assert_eq!(json["items"][0]["url"], second);
    // Another query value, another path case: other pages.
    let others = vec![
        entry(
            None,
            Some("https://news.example/story?a=1&b=3"),
            "Story b3",
            "x",
        ),
        entry(
            None,
            Some("https://news.example/Story?a=1&b=2"),
            "Story cap",
            "y",
        ),
    ];
    assert_eq!(h.ingest("news", others, t(3)).await, refreshed(2, 0, 0, 0));
}

#[tokio::test]
async fn www_switch_and_extra_tracking_params_come_from_the_config() {
    let h = Harness::new(
        "strip_www = false\ntracking_params = [\"from\"]",
        &remote(&["news"]),
        "",
    );
    let batch = vec![
        entry(None, Some("http://www.news.example/a?from=rss"), "A", "x"),
        entry(None, Some("http://news.example/a"), "A2", "y"),
    ];
    // `from` is dropped, so only www decides: two items.
    assert_eq!(h.ingest("news", batch, t(1)).await, refreshed(2, 0, 0, 0));
    assert_eq!(
        h.ingest(
            "news",
            vec![entry(None, Some("https://www.news.example/a"), "A", "x2")],
            t(2)
        )
        .await,
        refreshed(0, 1, 0, 0)
    );
}

#[tokio::test]
async fn guid_drift_same_link_and_title_is_an_update_not_a_new_item() {
    let mut h = Harness::new("", &remote(&["news"]), "");
    let link = "https://news.example/2026/03/story";
    h.ingest(
        "news",
        vec![dated(
            entry(Some("tag:1"), Some(link), "Big story", "v1"),
            1,
        )],
        t(1),
    )
    .await;
    let id = h.json("all")["items"][0]["id"].clone();
    h.restart();
    assert_eq!(
        h.ingest(
            "news",
            vec![dated(
                entry(Some("tag:1-rev2"), Some(link), "Big Story", "v1"),
                1
            )],
            t(2)
        )
        .await,
        refreshed(0, 1, 0, 0)
    );
    h.restart();
    // The new guid is remembered: seen again, nothing to write.
    let generation = h.store().generation();
    assert_eq!(
        h.ingest(
            "news",
            vec![dated(
                entry(Some("tag:1-rev2"), Some(link), "Big Story", "v1"),
                1
            )],
            t(3)
        )
        .await,
        refreshed(0, 0, 0, 1)
    );
    assert_eq!(h.store().generation(), generation);
    let json = h.json("all");
    assert_eq!(json["items"].as_array().unwrap().len(), 1);
    assert_eq!(json["items"][0]["id"], id);
    // Same link, new guid, another title: a new item.
    assert_eq!(
        h.ingest(
            "news",
            vec![entry(Some("tag:9"), Some(link), "Other story", "z")],
            t(4)
        )
        .await,
        refreshed(1, 0, 0, 0)
    );
}

#[tokio::test]
async fn http_to_https_and_domain_move_keep_the_item() {
    let mut h = Harness::new("", &remote(&["blog"]), "");
    // WordPress-style guids carry the address too.
    h.ingest(
        "blog",
        vec![entry(
            Some("http://old.example/?p=7"),
            Some("http://old.example/2026/hello/"),
            "Hello",
            "t",
        )],
        t(1),
    )
    .await;
    let id = h.json("all")["items"][0]["id"].clone();
    assert_eq!(
        h.ingest(
            "blog",
            vec![entry(
                Some("https://old.example/?p=7"),
                Some("https://old.example/2026/hello/"),
                "Hello",
                "t"
            )],
            t(2),
        )
        .await,
        refreshed(0, 1, 0, 0)
    );
    h.restart();
    assert_eq!(
        h.ingest(
            "blog",
            vec![entry(
                Some("https://new.example/?p=7"),
                Some("https://new.example/2026/hello"),
                "Hello",
                "t"
            )],
            t(3),
        )
        .await,
        refreshed(0, 1, 0, 0)
    );
    let json = h.json("all");
    assert_eq!(json["items"].as_array().unwrap().len(), 1);
    assert_eq!(json["items"][0]["id"], id);
    assert_eq!(json["items"][0]["url"], "https://new.example/2026/hello");
}

#[tokio::test]
async fn updates_in_place_advance_updated_and_unchanged_items_write_nothing() {
    let mut h = Harness::new("", &remote(&["news"]), "");
    let batch = vec![
        dated(
            entry(Some("a"), Some("http://news.example/a"), "A", "alpha"),
            1,
        ),
        dated(
            entry(Some("b"), Some("http://news.example/b"), "B", "beta"),
            2,
        ),
    ];
    h.ingest("news", batch.clone(), t(3)).await;
    let rendered = h.render("all");
    let generation = h.store().generation();
    let before = h.json("all");
    // Unchanged: no item write (the generation stays), same bytes and ETag,
    // before and after a restart.
    assert_eq!(
        h.ingest("news", batch.clone(), t(4)).await,
        refreshed(0, 0, 0, 2)
    );
    assert_eq!(h.store().generation(), generation);
    assert_eq!(h.render("all").rss.etag, rendered.rss.etag);
    h.restart();
    assert_eq!(
        h.ingest("news", batch.clone(), t(5)).await,
        refreshed(0, 0, 0, 2)
    );
    assert_eq!(h.store().generation(), generation);
    for (a, b) in [
        (&h.render("all").rss, &rendered.rss),
        (&h.render("all").atom, &rendered.atom),
        (&h.render("all").json, &rendered.json),
    ] {
        assert_eq!(a.etag, b.etag);
    }
    // An edit: same id, `updated` moves to when it was seen, `published` stays.
    let mut edited = batch.clone();
    edited[0] = dated(
        entry(
            Some("a"),
            Some("http://news.example/a"),
            "A, corrected",
            "alpha!",
        ),
        1,
    );
    assert_eq!(h.ingest("news", edited, t(6)).await, refreshed(0, 1, 0, 1));
    assert_eq!(h.store().generation(), generation + 1);
    let after = h.json("all");
    assert_eq!(
        ids_by_title(&after)["A, corrected"],
        ids_by_title(&before)["A"]
    );
    let item = after["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "A, corrected")
        .unwrap();
    assert_eq!(item["date_modified"], t(6).to_rfc3339());
    assert_eq!(item["date_published"], t(1).to_rfc3339());
    assert_ne!(h.render("all").rss.etag, rendered.rss.etag);
}

const WIRE: &str = "The central bank raised its main interest rate by a quarter point on Tuesday, \
    the third increase this year, saying inflation remained stubbornly above its target. \
    Officials signalled that further rises were possible if price growth did not slow, \
    while markets had largely expected the move. The decision was backed by seven of the \
    nine members of the committee, two of whom voted to hold rates steady. Mortgage lenders \
    are expected to pass on the increase to borrowers within weeks.";

const SAME_TOPIC: &str = "Homeowners on variable mortgages will see their monthly payments \
    climb after the central bank decision on interest rates, according to brokers, who urged \
    borrowers to compare fixed deals now. Savers may finally get better returns, although \
    banks are often slow to pass on higher rates to deposit accounts. First-time buyers face \
    the toughest squeeze as the rate rise feeds through.";

fn sources_of(item: &serde_json::Value) -> Vec<String> {
    item["_syndic"]["sources"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|s| s["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn same_link_from_several_sources_is_one_item_listing_every_source() {
    let feeds = r#"
[[feed]]
name = "ab"
title = "A and B"
include = ["a", "b"]

[[feed]]
name = "only-b"
title = "B"
include = ["b"]
"#;
    let mut h = Harness::new("", &remote(&["a", "b", "c"]), feeds);
    h.ingest(
        "a",
        vec![dated(
            entry(
                Some("a-1"),
                Some("https://wire.example/story-1?utm_source=a"),
                "Story",
                "from a",
            ),
            1,
        )],
        t(1),
    )
    .await;
    assert_eq!(
        h.ingest(
            "b",
            vec![dated(
                entry(
                    Some("b-77"),
                    Some("http://www.wire.example/story-1/"),
                    "Story (B)",
                    "from b"
                ),
                2
            )],
            t(2)
        )
        .await,
        refreshed(1, 0, 0, 0)
    );
    h.restart();
    h.ingest(
        "c",
        vec![dated(
            entry(
                None,
                Some("https://wire.example/story-1#x"),
                "Story (C)",
                "from c",
            ),
            3,
        )],
        t(3),
    )
    .await;

    let all = h.json("all");
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{all:#}");
    assert_eq!(items[0]["title"], "Story");
    assert_eq!(sources_of(&items[0]), ["a", "b", "c"]);
    assert_eq!(
        items[0]["_syndic"]["sources"][1]["url"],
        "http://www.wire.example/story-1/"
    );
    let rss = String::from_utf8(h.render("all").rss.body.to_vec()).unwrap();
    assert!(
        rss.contains(r#"<source url="http://a.example/feed.xml">a</source>"#),
        "{rss}"
    );
    for (id, link) in [
        ("b", "http://www.wire.example/story-1/"),
        ("c", "https://wire.example/story-1#x"),
    ] {
        assert!(
            rss.contains(&format!(
                r#"<atom:link href="{link}" rel="via" title="{id}"/>"#
            )),
            "{rss}"
        );
    }
    let atom = String::from_utf8(h.render("all").atom.body.to_vec()).unwrap();
    assert_eq!(atom.matches("<entry>").count(), 1);
    assert_eq!(atom.matches(r#"rel="via""#).count(), 3, "{atom}");
    assert!(atom.contains("<source>"), "{atom}");

    // A feed of two of the sources lists those two.
    let ab = h.json("ab");
    assert_eq!(ab["items"].as_array().unwrap().len(), 1);
    assert_eq!(sources_of(&ab["items"][0]), ["a", "b"]);
    // A feed of one source keeps its own copy, plain.
    let b = h.json("only-b");
    assert_eq!(b["items"][0]["title"], "Story (B)");
    assert!(b["items"][0].get("_syndic").is_none());

    let bytes = h.render("all").json.body;
    h.restart();
    assert_eq!(h.render("all").json.body, bytes);
}

#[tokio::test]
async fn near_duplicates_merge_the_same_wire_story_but_not_stories_on_one_topic() {
    let sources = format!(
        "{}\n[[source]]\nid = \"strict\"\nurl = \"http://strict.example/feed.xml\"\nnear_duplicates = false\n",
        remote(&["a", "b", "c"])
    );
    let mut h = Harness::new("near_duplicate_threshold = 0.6", &sources, "");
    h.ingest(
        "a",
        vec![dated(
            entry(
                Some("a1"),
                Some("https://a.example/rates"),
                "Central bank raises rates again",
                &format!("LONDON (Wire) - {WIRE} Subscribe to our newsletter for more."),
            ),
            1,
        )],
        t(1),
    )
    .await;
    h.restart();
    h.ingest(
        "b",
        vec![
            dated(entry(Some("b1"), Some("https://b.example/news/4411"), "Central bank raises interest rates", &format!("Posted by our economics desk. {WIRE} &copy; 2026 Daily Planet. All rights reserved.")), 1),
            dated(entry(Some("b2"), Some("https://b.example/news/4412"), "What the rate rise means for you", SAME_TOPIC), 1),
        ],
        t(2),
    )
    .await;
    // A source with near-duplicate matching off keeps its copy apart.
    h.ingest(
        "strict",
        vec![dated(
            entry(
                Some("s1"),
                Some("https://strict.example/x"),
                "Rates up",
                &format!("Strict copy. {WIRE}"),
            ),
            1,
        )],
        t(3),
    )
    .await;
    let all = h.json("all");
    let mut titles: Vec<(String, Vec<String>)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["title"].as_str().unwrap().to_string(), sources_of(i)))
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        [
            (
                "Central bank raises rates again".to_string(),
                vec!["a".to_string(), "b".to_string()]
            ),
            ("Rates up".to_string(), vec![]),
            ("What the rate rise means for you".to_string(), vec![]),
        ]
    );
    let item = &all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Central bank raises rates again")
        .unwrap()
        .clone();
    assert!(
        item["_syndic"]["sources"][1]["merged_by"]
            .as_str()
            .unwrap()
            .starts_with("near-duplicate text"),
        "{item:#}"
    );
    h.restart();
    assert_eq!(h.json("all"), all);
}

#[tokio::test]
async fn retention_max_items_removes_the_oldest_and_tombstones_stop_resurrection() {
    let sources =
        "[[source]]\nid = \"news\"\nurl = \"http://news.example/feed.xml\"\nmax_items = 2\n";
    let mut h = Harness::new("tombstone_ttl = \"10d\"", sources, "");
    let listing: Vec<Entry> = (1..=3)
        .map(|d| {
            dated(
                entry(
                    Some(&format!("g{d}")),
                    Some(&format!("http://news.example/{d}")),
                    &format!("Item {d}"),
                    "x",
                ),
                d,
            )
        })
        .collect();
    // Three listed, two kept; the refused one is tombstoned right away.
    assert_eq!(
        h.ingest("news", listing.clone(), t(4)).await,
        refreshed(2, 0, 0, 1)
    );
    let titles = |h: &Harness| {
        let mut t: Vec<String> = h
            .items("news")
            .iter()
            .map(|i| i.entry.title.clone().unwrap())
            .collect();
        t.sort();
        t
    };
    assert_eq!(titles(&h), ["Item 2", "Item 3"]);
    h.restart();
    let generation = h.store().generation();
    assert_eq!(
        h.ingest("news", listing.clone(), t(5)).await,
        refreshed(0, 0, 0, 3)
    );
    assert_eq!(h.store().generation(), generation);
    // A newer item pushes item 2 out of the store and the feeds.
    let mut more = listing.clone();
    more.push(dated(
        entry(Some("g4"), Some("http://news.example/4"), "Item 4", "x"),
        5,
    ));
    assert_eq!(
        h.ingest("news", more.clone(), t(6)).await,
        refreshed(1, 0, 1, 3)
    );
    assert_eq!(titles(&h), ["Item 3", "Item 4"]);
    h.restart();
    // Still listed upstream, with a drifted guid even: not back.
    more[1] = dated(
        entry(
            Some("g2-new"),
            Some("https://news.example/2"),
            "Item 2",
            "x",
        ),
        2,
    );
    assert_eq!(
        h.ingest("news", more.clone(), t(7)).await,
        refreshed(0, 0, 0, 4)
    );
    let json = h.json("all");
    assert_eq!(json["items"].as_array().unwrap().len(), 2);
    // Once the tombstones expire, the keys are forgotten; retention still
    // keeps only two.
    assert_eq!(h.ingest("news", vec![], t(30)).await, refreshed(0, 0, 0, 0));
    assert!(h.store().tombstones("news").unwrap().is_empty());
    assert_eq!(titles(&h), ["Item 3", "Item 4"]);
    // Listed again after that, the two older items are refused by the
    // retention limit once more (and tombstoned anew), not resurrected.
    assert_eq!(
        h.ingest("news", more.clone(), t(31)).await,
        refreshed(0, 0, 0, 4)
    );
    assert_eq!(titles(&h), ["Item 3", "Item 4"]);
    assert_eq!(h.store().tombstones("news").unwrap().len(), 2);
}

#[tokio::test]
async fn retention_max_age_drops_old_items_and_refuses_older_ones() {
    let sources =
        "[[source]]\nid = \"news\"\nurl = \"http://news.example/feed.xml\"\nmax_age = \"3d\"\n";
    let mut h = Harness::new("", sources, "");
    let listing = vec![
        dated(entry(Some("old"), None, "Old", "x"), 1),
        dated(entry(Some("mid"), None, "Mid", "x"), 4),
        dated(entry(Some("new"), None, "New", "x"), 5),
    ];
    assert_eq!(
        h.ingest("news", listing.clone(), t(5)).await,
        refreshed(2, 0, 0, 1)
    );
    h.restart();
    // Two days later "Mid" is too old: it leaves the store and the feed.
    assert_eq!(
        h.ingest("news", listing.clone(), t(7) + Duration::hours(1))
            .await,
        refreshed(0, 0, 1, 3)
    );
    let json = h.json("all");
    let titles: Vec<&str> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["New"]);
    h.restart();
    assert_eq!(
        h.ingest("news", listing, t(7) + Duration::hours(2)).await,
        refreshed(0, 0, 0, 3)
    );
}

#[tokio::test]
async fn explain_names_keys_sources_and_merge_rules() {
    let mut h = Harness::new("", &remote(&["a", "b"]), "");
    h.ingest(
        "a",
        vec![dated(
            entry(
                Some("a-1"),
                Some("https://wire.example/s"),
                "Story",
                "from a",
            ),
            1,
        )],
        t(1),
    )
    .await;
    h.ingest(
        "b",
        vec![dated(
            entry(
                Some("b-1"),
                Some("http://wire.example/s/"),
                "Story",
                "from b",
            ),
            2,
        )],
        t(2),
    )
    .await;
    h.restart();
    let a = h.items("a").remove(0);
    let b = h.items("b").remove(0);
    for id in [a.public_id.clone(), a.key.to_hex()] {
        let text = h.store().explain(&id).unwrap().unwrap().to_string();
        assert!(
            text.contains(&format!("item key:    {}", a.key.to_hex())),
            "{text}"
        );
        assert!(text.contains(&a.public_id));
        assert!(text.contains("a id a-1"), "{text}");
        assert!(text.contains("* link wire.example/s"), "{text}");
        assert!(
            text.contains(&format!(
                "{} from b: same canonical link wire.example/s",
                b.key.to_hex()
            )),
            "{text}"
        );
    }
    let text = h
        .store()
        .explain(&b.public_id)
        .unwrap()
        .unwrap()
        .to_string();
    assert!(
        text.contains(&format!("duplicate of: {}", a.key.to_hex())),
        "{text}"
    );
    assert!(text.contains("merged by:  same canonical link"), "{text}");
    assert!(
        h.store()
            .explain("urn:uuid:00000000-0000-8000-8000-000000000000")
            .unwrap()
            .is_none()
    );
    assert!(h.store().explain("nonsense").unwrap().is_none());
}

/// Regression: two sources refreshed at the same time each missed the
/// other's item (both read before either wrote) and the story was
/// published twice. Refreshes now hold the store's ingest lock from their
/// dedup reads to their write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_of_two_sources_still_merge_their_story() {
    for round in 0..5 {
        let h = std::sync::Arc::new(Harness::new("", &remote(&["a", "b"]), ""));
        let tasks: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|id| {
                let h = h.clone();
                tokio::spawn(async move {
                    // Many other items around the story widen the time
                    // between a refresh's dedup reads and its write.
                    let link = format!("https://wire.example/x?utm_source={id}");
                    let mut batch: Vec<Entry> = (0..300)
                        .map(|i| {
                            let own = format!("https://{id}.example/{i}");
                            entry(Some(&own), Some(&own), &format!("{id} {i}"), "x")
                        })
                        .collect();
                    batch.insert(150, entry(Some(id), Some(&link), "X", id));
                    h.ingest(id, batch, t(1)).await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let stories = [h.items("a"), h.items("b")]
            .concat()
            .into_iter()
            .filter(|i| i.entry.title.as_deref() == Some("X"))
            .filter(|i| i.duplicate_of.is_none())
            .count();
        assert_eq!(stories, 1, "round {round}: the story is published twice");
    }
}

/// Regression (#24): scripting.com's posts of one day differ only by their
/// `#fragment`; dropping it merged different posts, within a source and
/// across the two halves of a split feed. A sponsor post and its separate
/// thank-you post sharing the sponsor's address were merged too.
#[tokio::test]
async fn fragment_links_of_one_page_and_a_shared_sponsor_link_merge_nothing() {
    let mut h = Harness::new("", &remote(&["day", "half1", "half2"]), "");
    let page = "http://scripting.com/2017/02/10.html";
    let day = vec![
        entry(
            None,
            Some(&format!("{page}#a1")),
            "Subscribable feed lists give power to users",
            "one",
        ),
        entry(
            None,
            Some(&format!("{page}#a2")),
            "Code mode is for real",
            "two",
        ),
        entry(None, Some(&format!("{page}#a3")), "Thin servers", "three"),
    ];
    assert_eq!(
        h.ingest("day", day.clone(), t(1)).await,
        refreshed(3, 0, 0, 0)
    );
    h.restart();
    assert_eq!(h.ingest("day", day, t(2)).await, refreshed(0, 0, 0, 3));
    // A post alone on its page yesterday keeps its item when others join
    // the page today.
    let alone = entry(
        None,
        Some("http://scripting.com/2017/02/11.html#b1"),
        "First of the day",
        "b1",
    );
    assert_eq!(
        h.ingest("day", vec![alone.clone()], t(3)).await,
        refreshed(1, 0, 0, 0)
    );
    let second = entry(
        None,
        Some("http://scripting.com/2017/02/11.html#b2"),
        "Second of the day",
        "b2",
    );
    assert_eq!(
        h.ingest("day", vec![second, alone], t(4)).await,
        refreshed(1, 0, 0, 1)
    );
    assert_eq!(h.items("day").len(), 5);

    // The split feed: each half with posts of the same page.
    let half1 = vec![
        entry(
            Some("p1"),
            Some(&format!("{page}#x1")),
            "Post one",
            "first post text",
        ),
        entry(
            Some("p3"),
            Some(&format!("{page}#x3")),
            "Post three",
            "third post text",
        ),
        entry(
            Some("s1"),
            Some("https://sponsor.example/"),
            "Sponsor: Acme widgets",
            "Buy widgets",
        ),
    ];
    let half2 = vec![
        entry(
            Some("p2"),
            Some(&format!("{page}#x2")),
            "Post two",
            "second post text",
        ),
        entry(
            Some("p4"),
            Some(&format!("{page}#x4")),
            "Post four",
            "fourth post text",
        ),
        entry(
            Some("s2"),
            Some("https://sponsor.example"),
            "Thanks to our sponsor Acme",
            "Thank you",
        ),
    ];
    h.ingest("half1", half1, t(5)).await;
    h.ingest("half2", half2, t(5)).await;
    for item in h.items("half1").iter().chain(h.items("half2").iter()) {
        assert_eq!(item.duplicate_of, None, "{item:?}");
        assert!(item.merged.is_empty(), "{item:?}");
    }
    assert_eq!(h.json("all")["items"].as_array().unwrap().len(), 11);
}
