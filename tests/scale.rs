//! Scale (issue 14): what one render costs whatever the duplicates, and how
//! often a burst of refreshes renders a feed. Through the real reconcile
//! path and store, with crafted entries.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::ConfigFile;
use syndic::config::Config;
use syndic::ingest::fetch::Fetcher;
use syndic::model::{Entry, PollState};
use syndic::publish;
use syndic::refresh::{MERGED_CAP, Outcome, Refresher};
use syndic::store::Store;

/// Sources carrying the same stories (same links): `s0` first, the others
/// later and newer, so that every newest index row of the feed is a
/// duplicate.
const SOURCES: usize = 60;
const STORIES: usize = 20;
const LIMIT: usize = 10;

fn config(dir: &std::path::Path) -> Config {
    let mut file = ConfigFile::bare()
        .daemon("store = \"store\"\npublic_url = \"http://feeds.test\"")
        .all_feed(&format!(
            "[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\nlimit = {LIMIT}\n\
             [[feed]]\nname = \"late\"\ntitle = \"Late\"\ninclude = [\"s1\", \"s2\"]\nlimit = {LIMIT}\n"
        ));
    for s in 0..SOURCES {
        file = file.remote(&format!("s{s}"), &format!("http://s{s}.example/feed.xml"));
    }
    file.load(dir)
}

fn at(source: usize, story: usize) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
        + Duration::hours(source as i64)
        + Duration::minutes(story as i64)
}

fn entries(source: usize) -> Vec<Entry> {
    (0..STORIES)
        .map(|story| Entry {
            upstream_id: Some(format!("s{source}-{story}")),
            link: Some(format!("https://wire.example/story-{story}")),
            title: Some(format!("Story {story}")),
            content_html: Some(format!("<p>Story {story} as told by source {source}</p>")),
            published: Some(at(source, story)),
            ..Entry::default()
        })
        .collect()
}

/// A render of `all` decodes at most `limit` items (no keyword filter),
/// however many duplicates are newer than the items it publishes; the
/// story lists its own source and at most `MERGED_CAP` duplicates.
#[tokio::test]
async fn a_render_reads_at_most_limit_items_whatever_the_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let store = Store::open(&config.daemon.store).unwrap();
    let fetcher = Fetcher::new(&syndic::app::fetch_settings(&config)).unwrap();
    let refresher = refresher(&store, &fetcher);
    for s in 0..SOURCES {
        let source = config.source(&format!("s{s}")).unwrap();
        let outcome = refresher
            .ingest_entries(source, entries(s), PollState::default(), at(s, STORIES))
            .await;
        assert!(
            matches!(outcome, Outcome::Refreshed { new, .. } if new == STORIES),
            "{outcome:?}"
        );
    }
    assert_eq!(store.item_count(), SOURCES * STORIES);

    let all = config.feed("all").unwrap();
    let before = store.items_read();
    let items = publish::select_items(&store, all).unwrap();
    let read = store.items_read() - before;
    assert_eq!(items.len(), LIMIT);
    assert!(
        read <= LIMIT as u64,
        "{read} items read for {LIMIT} published"
    );
    // The primaries (source s0), newest story first, each listing the
    // duplicates it merged up to the cap.
    for (n, item) in items.iter().enumerate() {
        assert_eq!(item.source, "s0");
        assert_eq!(
            item.entry.title.as_deref(),
            Some(format!("Story {}", STORIES - 1 - n).as_str())
        );
        assert_eq!(item.merged.len(), MERGED_CAP.min(SOURCES - 1));
        assert_eq!(
            publish::item_sources(item).len(),
            1 + MERGED_CAP.min(SOURCES - 1)
        );
    }
    // The whole render (and its archive link) reads no more.
    let before = store.items_read();
    let (rendered, count) = publish::render_feed(&store, all, "http://feeds.test").unwrap();
    assert_eq!(count, LIMIT);
    assert!(store.items_read() - before <= LIMIT as u64);
    let body = String::from_utf8(rendered.rss.body.to_vec()).unwrap();
    assert_eq!(body.matches("<item>").count(), LIMIT);

    // A feed without the joined item's source publishes the duplicates
    // themselves, and reads no more either.
    let late = config.feed("late").unwrap();
    let before = store.items_read();
    let items = publish::select_items(&store, late).unwrap();
    assert_eq!(items.len(), LIMIT);
    assert!(items.iter().all(|i| i.source == "s2"), "newest first");
    assert!(store.items_read() - before <= LIMIT as u64);

    // Reopened: the marks are read from the index as they were written.
    drop(store);
    let store = reopen(&config);
    let before = store.items_read();
    let items = publish::select_items(&store, all).unwrap();
    assert!(items.iter().all(|i| i.source == "s0"));
    assert!(store.items_read() - before <= LIMIT as u64);
}

fn reopen(config: &Config) -> Store {
    common::reopen_store(&config.daemon.store)
}

/// A refresher over `store`, publishing at `http://feeds.test`.
fn refresher<'a>(store: &'a Store, fetcher: &'a Fetcher) -> Refresher<'a> {
    Refresher {
        store,
        fetcher,
        public_base: "http://feeds.test",
    }
}

/// Makes the item stored under `key` unreadable (the store closed).
fn break_item(config: &Config, key: syndic::model::ItemKey) {
    let db = sled::open(&config.daemon.store).unwrap();
    db.open_tree("items")
        .unwrap()
        .insert(key.0, &b"not an item"[..])
        .unwrap();
    db.flush().unwrap();
}

/// A burst of refreshes (every source at once, each with new items)
/// renders the feed at most once per `RENDER_WINDOW` of the burst (plus the
/// first), not once per source; each refresh's items are served when its
/// refresh returns, and the feed that includes one source only is rendered
/// only for that source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_refreshes_renders_each_feed_a_bounded_number_of_times() {
    use syndic::app::{App, RENDER_WINDOW};
    const N: usize = 40;
    let host = common::MockHost::start().await;
    let mut file = ConfigFile::bare()
        .daemon("store = \"store\"")
        .defaults("near_duplicates = false")
        .all_feed(
            "[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\nlimit = 100\n\
             [[feed]]\nname = \"one\"\ntitle = \"One\"\ninclude = [\"s0\"]\n",
        );
    for s in 0..N {
        let guid = format!("s{s}-item");
        let title = format!("Item of source {s}");
        host.set(
            &format!("f{s}"),
            common::Scripted::feed(
                "application/rss+xml",
                &common::rss_feed(&[(guid.as_str(), title.as_str())]),
                &format!("\"v{s}\""),
            ),
        );
        file = file.remote(&format!("s{s}"), &host.url(&format!("f{s}")));
    }
    let dir = tempfile::tempdir().unwrap();
    let config = file.load(dir.path());
    let store = Store::open(&config.daemon.store).unwrap();
    let app = App::new(config, store).unwrap();
    app.render_feeds(None);
    assert_eq!(app.renderings("all"), 1);

    let started = std::time::Instant::now();
    let outcomes = futures_util::future::join_all((0..N).map(|s| {
        let app = app.clone();
        async move {
            let outcome = app.refresh_source(&format!("s{s}"), true).await;
            // Served once the refresh returns.
            let feed = app.published.get("all").unwrap();
            let body = String::from_utf8(feed.rss.body.to_vec()).unwrap();
            assert!(
                body.contains(&format!("Item of source {s}<")),
                "source {s} not served"
            );
            outcome
        }
    }))
    .await;
    let elapsed = started.elapsed();
    for o in &outcomes {
        assert!(
            matches!(o, Some(Outcome::Refreshed { new: 1, .. })),
            "{o:?}"
        );
    }
    let passes = app.renderings("all") - 1;
    let bound = 1 + (elapsed.as_secs_f64() / RENDER_WINDOW.as_secs_f64()).ceil() as u64;
    assert!(
        passes <= bound,
        "{passes} renderings of `all` for {N} refreshes in {elapsed:?} (bound {bound})"
    );
    assert!(
        passes < N as u64 / 2,
        "{passes} renderings for {N} refreshes"
    );
    assert_eq!(
        app.renderings("one"),
        2,
        "rendered at start and once for s0"
    );
}

/// A big document is written in several transactions of
/// [`syndic::refresh::CHUNK`] entries, and its validators only with the
/// last: a store failure in its second chunk leaves the first chunk's
/// items stored and no validators, so the next poll fetches it again; the
/// document read again whole is then stored with them.
#[tokio::test]
async fn a_big_document_is_written_in_chunks_with_the_validators_last() {
    use syndic::refresh::CHUNK;
    let total = 2 * CHUNK + 200;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let source = config.source("s0").unwrap();
    let fetcher = Fetcher::new(&syndic::app::fetch_settings(&config)).unwrap();
    let now = at(0, 0) + Duration::days(1);
    let entry = |n: usize, text: &str| Entry {
        upstream_id: Some(format!("big-{n}")),
        link: Some(format!("https://big.example/{n}")),
        title: Some(format!("Big item {n}")),
        content_html: Some(format!("<p>{text} {n}</p>")),
        published: Some(at(0, 0) - Duration::minutes(n as i64)),
        ..Entry::default()
    };
    let document = || (0..total).map(|n| entry(n, "text")).collect::<Vec<_>>();
    let validators = PollState {
        etag: Some("\"big\"".into()),
        ..PollState::default()
    };

    // One entry of the second chunk stored before, then made unreadable:
    // the chunk that updates it fails.
    let broken = CHUNK + 10;
    {
        let store = Store::open(&config.daemon.store).unwrap();
        let refresher = refresher(&store, &fetcher);
        let outcome = refresher
            .ingest_entries(
                source,
                vec![entry(broken, "old")],
                PollState::default(),
                now,
            )
            .await;
        assert!(
            matches!(outcome, Outcome::Refreshed { new: 1, .. }),
            "{outcome:?}"
        );
        assert_eq!(store.source_keys("s0").unwrap().len(), 1);
    }
    let key = {
        let store = reopen(&config);
        store.source_keys("s0").unwrap()[0].0
    };
    break_item(&config, key);

    let store = reopen(&config);
    let outcome = refresher(&store, &fetcher)
        .ingest_entries(source, document(), validators.clone(), now)
        .await;
    assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
    // The first chunk is stored, the rest not; no validators.
    assert_eq!(store.source_item_count("s0"), CHUNK + 1);
    let state = store.poll_state("s0").unwrap().unwrap();
    assert_eq!(state.etag, None, "validators written before the last chunk");
    assert!(
        state.last_status.as_deref().unwrap_or("").contains("store"),
        "{state:?}"
    );

    // Another store: the document stored whole, in three transactions
    // (the generation counts them), with its validators.
    let other = tempfile::tempdir().unwrap();
    let store = Store::open(&other.path().join("store")).unwrap();
    let refresher = refresher(&store, &fetcher);
    let before = store.generation();
    let outcome = refresher
        .ingest_entries(source, document(), validators, now)
        .await;
    assert!(
        matches!(outcome, Outcome::Refreshed { new, .. } if new == total),
        "{outcome:?}"
    );
    assert_eq!(store.generation() - before, total.div_ceil(CHUNK) as u64);
    assert_eq!(store.source_item_count("s0"), total);
    let state = store.poll_state("s0").unwrap().unwrap();
    assert_eq!(state.etag.as_deref(), Some("\"big\""));
}

/// Group commit: many refreshes written at once share their flushes to
/// disk, and each is acknowledged only once a flush that began after its
/// write has finished (all of them are there after a reopen).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_their_flushes() {
    const N: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let store = Store::open(&config.daemon.store).unwrap();
    let before = store.flushes_made();
    futures_util::future::join_all((0..N).map(|s| {
        let store = store.clone();
        async move {
            let state = PollState {
                etag: Some(format!("\"v{s}\"")),
                ..PollState::default()
            };
            store
                .put_poll_state(&format!("s{s}"), &state)
                .await
                .unwrap();
        }
    }))
    .await;
    let flushes = store.flushes_made() - before;
    assert!(
        flushes >= 1 && flushes < N as u64 / 2,
        "{flushes} flushes for {N} writes"
    );
    drop(store);
    let store = reopen(&config);
    for s in 0..N {
        let state = store.poll_state(&format!("s{s}")).unwrap().unwrap();
        assert_eq!(state.etag, Some(format!("\"v{s}\"")));
    }
}

/// Refreshes that store items share their flushes too: each commits under
/// the ingest lock and flushes after releasing it, so the refreshes that
/// commit during one flush are covered by the next. Each is acknowledged
/// only once a flush that began after its commit has finished: all their
/// items are there after a reopen, and the acknowledged generation is the
/// last one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_ingests_share_their_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let store = Store::open(&config.daemon.store).unwrap();
    let fetcher = Fetcher::new(&syndic::app::fetch_settings(&config)).unwrap();
    let refresher = refresher(&store, &fetcher);
    let before = store.flushes_made();
    let outcomes = futures_util::future::join_all((0..SOURCES).map(|s| {
        let source = config.source(&format!("s{s}")).unwrap();
        refresher.ingest_entries(source, entries(s), PollState::default(), at(s, STORIES))
    }))
    .await;
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Outcome::Refreshed { new, .. } if *new == STORIES),
            "{outcome:?}"
        );
    }
    let flushes = store.flushes_made() - before;
    eprintln!("{flushes} flushes for {SOURCES} refreshes");
    assert!(
        flushes >= 1 && flushes < SOURCES as u64 / 2,
        "{flushes} flushes for {SOURCES} refreshes"
    );
    let generation = store.generation();
    let noted = std::fs::read_to_string(config.daemon.store.join("syndic.generation")).unwrap();
    assert_eq!(noted.trim(), generation.to_string());
    drop(store);
    let store = reopen(&config);
    assert_eq!(store.item_count(), SOURCES * STORIES);
    assert_eq!(store.generation(), generation);
}

/// A rescan of a local folder reads and decodes what changed, not the
/// folder: unchanged files are neither read nor their items decoded, an
/// edit or a deletion decodes that one item, and the outcome still counts
/// the unchanged files.
#[tokio::test]
async fn a_folder_rescan_decodes_only_what_changed() {
    const FILES: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let articles = dir.path().join("articles");
    std::fs::create_dir(&articles).unwrap();
    for n in 0..FILES {
        std::fs::write(
            articles.join(format!("post-{n}.md")),
            format!(
                "+++\ntitle = \"Post {n}\"\ndate = 2026-03-01T00:00:00Z\n+++\nText of post {n}.\n"
            ),
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join("feeds.toml"),
        "[daemon]\nstore = \"store\"\npublic_url = \"http://feeds.test\"\n\n\
         [[source]]\nid = \"local\"\npath = \"articles\"\n\n\
         [[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n",
    )
    .unwrap();
    let config = Config::load(&dir.path().join("feeds.toml")).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(&config.daemon.store).unwrap();
    let fetcher = Fetcher::new(&syndic::app::fetch_settings(&config)).unwrap();
    let refresher = refresher(&store, &fetcher);
    let source = config.source("local").unwrap();
    let outcome = refresher.refresh(source, true).await;
    assert!(
        matches!(outcome, Outcome::Refreshed { new: FILES, .. }),
        "{outcome:?}"
    );

    let rescan = |expect: Outcome| {
        let refresher = &refresher;
        let store = &store;
        async move {
            let before = store.items_read();
            let outcome = refresher.refresh(source, true).await;
            assert_eq!(outcome, expect);
            store.items_read() - before
        }
    };
    // (updated, removed, unchanged) of a rescan with nothing new.
    let refreshed = |updated: usize, removed: usize, unchanged: usize| Outcome::Refreshed {
        new: 0,
        updated,
        removed,
        unchanged,
    };
    assert_eq!(
        rescan(refreshed(0, 0, FILES)).await,
        0,
        "an unchanged folder decodes no item"
    );

    std::fs::write(
        articles.join("post-7.md"),
        "+++\ntitle = \"Post 7, edited\"\ndate = 2026-03-01T00:00:00Z\n+++\nNew text.\n",
    )
    .unwrap();
    let read = rescan(refreshed(1, 0, FILES - 1)).await;
    assert!((1..=3).contains(&read), "an edit decoded {read} items");

    std::fs::remove_file(articles.join("post-8.md")).unwrap();
    let read = rescan(refreshed(0, 1, FILES - 1)).await;
    assert!((1..=3).contains(&read), "a deletion decoded {read} items");
    assert_eq!(store.source_item_count("local"), FILES - 1);
}

/// A folder's first scan is read and written a chunk of
/// [`syndic::refresh::CHUNK`] articles at a time (what it holds is bounded
/// by a chunk, not the folder), with the files' states only with the last:
/// a store failure in the second chunk leaves the first chunk's items and
/// the earlier file states, so the next scan reads the folder again. Slugs
/// stay unique across chunks.
#[tokio::test]
async fn a_big_folder_is_read_and_written_in_chunks_with_the_file_states_last() {
    use syndic::refresh::CHUNK;
    let total = 2 * CHUNK + 30;
    let dir = tempfile::tempdir().unwrap();
    let articles = dir.path().join("articles");
    std::fs::create_dir(&articles).unwrap();
    let name = |n: usize| format!("post-{n:04}.md");
    // Two articles asking for the same slug, in different chunks.
    let twins = [3, CHUNK + 5];
    let write = |n: usize, text: &str| {
        let slug = if twins.contains(&n) {
            "slug = \"twin\"\n"
        } else {
            ""
        };
        std::fs::write(
            articles.join(name(n)),
            format!(
                "+++\ntitle = \"Post {n}\"\n{slug}date = 2026-03-01T00:00:00Z\n+++\n{text} {n}.\n"
            ),
        )
        .unwrap();
    };
    let config = ConfigFile::bare()
        .daemon("store = \"store\"\npublic_url = \"http://feeds.test\"")
        .local("local", "articles")
        .remote("other", "http://other.example/feed.xml")
        .all_feed("[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]")
        .load(dir.path());
    let fetcher = Fetcher::new(&syndic::app::fetch_settings(&config)).unwrap();
    let source = config.source("local").unwrap();
    let scan = |store: Store| {
        let fetcher = &fetcher;
        async move {
            let refresher = refresher(&store, fetcher);
            let before = store.generation();
            let outcome = refresher.refresh(source, true).await;
            (outcome, store.generation() - before, store)
        }
    };

    // An item of another source with the page link of an article of the
    // second chunk, made unreadable: the merge that chunk looks up fails.
    let broken = CHUNK + 10;
    {
        let store = Store::open(&config.daemon.store).unwrap();
        let refresher = refresher(&store, &fetcher);
        let elsewhere = Entry {
            upstream_id: Some("o1".into()),
            link: Some(format!("http://feeds.test/articles/post-{broken:04}")),
            title: Some("Elsewhere".into()),
            ..Entry::default()
        };
        let other = config.source("other").unwrap();
        let outcome = refresher
            .ingest_entries(other, vec![elsewhere], PollState::default(), at(0, 0))
            .await;
        assert!(
            matches!(outcome, Outcome::Refreshed { new: 1, .. }),
            "{outcome:?}"
        );
    }
    let key = reopen(&config).source_keys("other").unwrap()[0].0;
    break_item(&config, key);
    for n in 0..total {
        write(n, "Text of");
    }
    let (outcome, _, store) = scan(reopen(&config)).await;
    assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
    assert_eq!(store.source_item_count("local"), CHUNK, "{outcome:?}");
    let state = store.poll_state("local").unwrap().unwrap();
    assert!(
        state.files.is_empty(),
        "file states written before the last chunk"
    );
    assert!(
        state.last_status.as_deref().unwrap_or("").contains("store"),
        "{state:?}"
    );
    drop(store);

    // Another store: the folder stored whole in three transactions, the
    // later twin under a slug of its own; a rescan reads nothing again.
    std::fs::remove_dir_all(&config.daemon.store).unwrap();
    let (outcome, transactions, store) = scan(Store::open(&config.daemon.store).unwrap()).await;
    assert!(
        matches!(outcome, Outcome::Refreshed { new, .. } if new == total),
        "{outcome:?}"
    );
    assert_eq!(transactions, total.div_ceil(CHUNK) as u64);
    assert_eq!(store.source_item_count("local"), total);
    let key_of = |n: usize| syndic::model::ItemKey::derive("local", &format!("id:{}", name(n)));
    assert_eq!(store.slug_owner("twin").unwrap(), Some(key_of(twins[0])));
    let second = format!("twin-{}", &key_of(twins[1]).to_hex()[..8]);
    assert_eq!(store.slug_owner(&second).unwrap(), Some(key_of(twins[1])));
    assert_eq!(
        store.poll_state("local").unwrap().unwrap().files.len(),
        total
    );
    let (outcome, transactions, _) = scan(store).await;
    assert_eq!(
        outcome,
        Outcome::Refreshed {
            new: 0,
            updated: 0,
            removed: 0,
            unchanged: total
        }
    );
    assert!(
        transactions <= 1,
        "{transactions} transactions for a rescan"
    );
}
