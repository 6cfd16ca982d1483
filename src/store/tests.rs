//! The tests of the store's open, migration, write and read paths.

use std::collections::HashSet;

use super::open::COUNTED;
use super::*;
use crate::dedup::{self, Signature};
use crate::model::{Entry, StoredItem};

/// A version 1 item row: the fields of the foundation schema only.
fn v1_row(key: &ItemKey, source: &str, guid: &str, link: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "v": 1,
        "key": key,
        "source": source,
        "public_id": dedup::mint_public_id(key),
        "entry": Entry {
            upstream_id: Some(guid.into()),
            title: Some("Old item".into()),
            link: Some(link.into()),
            ..Entry::default()
        },
        "first_seen": "2026-01-01T00:00:00Z",
        "published": "2026-01-01T00:00:00Z",
        "updated": "2026-01-01T00:00:00Z",
        "digest": vec![0u8; 16],
    }))
    .unwrap()
}

#[test]
fn a_version_1_store_is_migrated_and_keeps_its_items() {
    let dir = tempfile::tempdir().unwrap();
    let key = ItemKey::derive("news", "id:g1");
    {
        let db = sled::open(dir.path()).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema", &1u32.to_be_bytes())
            .unwrap();
        db.open_tree("items")
            .unwrap()
            .insert(
                key.0,
                v1_row(&key, "news", "g1", "http://www.news.example/a/"),
            )
            .unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let item = store.item(&key).unwrap().unwrap();
    assert_eq!(item.public_id, dedup::mint_public_id(&key));
    assert_eq!(item.first_seen_pos, 0);
    // Straight to version 3: the digest is indexed too.
    assert_eq!(
        store.h().digests.get(key.0).unwrap().as_deref(),
        Some(&item.digest[..])
    );
    assert_eq!(store.alias("news id g1").unwrap(), Some(key));
    assert_eq!(store.alias("* link news.example/a").unwrap(), Some(key));
    assert!(
        item.aliases.contains(&"news pt /a old item".to_string()),
        "{:?}",
        item.aliases
    );
    drop(store);
    // Opened again: already version 2, nothing to do.
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.item(&key).unwrap().unwrap().public_id, item.public_id);
}

/// A version 2 item row (before the `digests` tree).
fn v2_store_with(dir: &Path, rows: &[(ItemKey, Vec<u8>)]) {
    let db = sled::open(dir).unwrap();
    db.open_tree("meta")
        .unwrap()
        .insert("schema", &2u32.to_be_bytes())
        .unwrap();
    let items = db.open_tree("items").unwrap();
    for (key, row) in rows {
        items.insert(key.0, row.as_slice()).unwrap();
    }
    db.flush().unwrap();
}

#[test]
fn a_version_2_store_gets_its_digests_and_keeps_unreadable_items() {
    use dedup::Index;
    let dir = tempfile::tempdir().unwrap();
    let mut stored = item("news", 1);
    stored.entry.upstream_id = Some("g1".into());
    stored.digest = stored.entry.content_digest();
    let bad = ItemKey([7; 16]);
    v2_store_with(
        dir.path(),
        &[(stored.key, encode(&stored)), (bad, b"{not json".to_vec())],
    );
    let mut store = Store::open(dir.path()).unwrap();
    assert!(store.wait_for_indexes(std::time::Duration::from_secs(60)));
    assert_eq!(
        store.h().digests.get(stored.key.0).unwrap().as_deref(),
        Some(&stored.digest[..])
    );
    assert_eq!(
        store.compare_digest(&stored.key, &stored.digest).unwrap(),
        dedup::Stored::Same
    );
    // The unreadable row is still there, untouched.
    assert_eq!(
        store.h().items.get(bad.0).unwrap().as_deref(),
        Some(&b"{not json"[..])
    );
    assert_eq!(
        store.h().meta.get("schema").unwrap().as_deref(),
        Some(&3u32.to_be_bytes()[..])
    );
}

/// Waits for the filter of a freshly opened store.
fn ready(path: &Path) -> Store {
    let store = Store::open(path).unwrap();
    assert!(store.wait_for_indexes(std::time::Duration::from_secs(60)));
    assert!(store.filter_stats().ready);
    store
}

fn tomb(source: &str, key: &ItemKey) -> Vec<u8> {
    let mut k = keys::source_prefix(source);
    k.extend_from_slice(&key.0);
    k
}

/// Everything a batch wrote is found through the filter: fails when a
/// writer stops setting the bits of one of the filtered trees.
async fn assert_found(store: &mut Store, items: &[StoredItem], sig: &Signature) {
    use dedup::Index;
    let h = store.h();
    let f = &h.filter;
    for i in items {
        assert!(f.may_contain(filter::Tag::Item, &i.key.0));
        assert!(f.may_contain(
            filter::Tag::Alias,
            format!("a {}", i.key.to_hex()).as_bytes()
        ));
        assert!(f.may_contain(filter::Tag::Tombstone, &tomb("a", &i.key)));
        if store.h().near_sig.contains_key(i.key.0).unwrap() {
            assert!(f.may_contain(filter::Tag::Signature, &i.key.0));
        }
    }
    for i in items {
        assert_eq!(
            store.compare_digest(&i.key, &i.digest).unwrap(),
            dedup::Stored::Same
        );
        assert_eq!(
            dedup::Index::item(store, &i.key).unwrap().map(|s| s.key),
            Some(i.key)
        );
        assert_eq!(
            store.alias(&format!("a {}", i.key.to_hex())).unwrap(),
            Some(i.key)
        );
        assert!(store.tombstone("a", &i.key).unwrap().is_some());
    }
    let found = store.near_candidates(sig).unwrap();
    assert!(!found.is_empty(), "band buckets");
}

fn filtered_batch(from: i64, to: i64, sig: &Signature) -> Batch {
    let items: Vec<StoredItem> = (from..to)
        .map(|n| {
            let mut i = item("a", n);
            i.digest = [n as u8; 16];
            i
        })
        .collect();
    Batch {
        source: "a".into(),
        aliases: items
            .iter()
            .map(|i| (format!("a {}", i.key.to_hex()), i.key))
            .collect(),
        signatures: items.iter().take(3).map(|i| (i.key, sig.clone())).collect(),
        tombstones: items
            .iter()
            .map(|i| {
                (
                    i.key,
                    Tombstone {
                        until: Utc::now(),
                        aliases: Vec::new(),
                    },
                )
            })
            .collect(),
        upserts: items.into_iter().map(|i| (None, i)).collect(),
        ..Batch::default()
    }
}

/// However many near-identical items are stored, a lookup compares at
/// most `MAX_CANDIDATES` of them, and the band index holds at most
/// `BAND_CAP` keys per band.
#[tokio::test]
async fn near_candidates_are_capped_however_many_near_identical_items_are_stored() {
    use dedup::Index;
    let dir = tempfile::tempdir().unwrap();
    let mut store = ready(&dir.path().join("s"));
    let text = "one two three four five six seven eight nine ten eleven twelve";
    let sig = Signature::of("t", &text.repeat(2)).unwrap();
    for round in 0..4 {
        let mut batch = filtered_batch(round * 100, round * 100 + 100, &sig);
        batch.signatures = batch
            .upserts
            .iter()
            .map(|(_, i)| (i.key, sig.clone()))
            .collect();
        store.apply(&batch).await.unwrap();
    }
    let found = store.near_candidates(&sig).unwrap();
    assert_eq!(found.len(), dedup::near::MAX_CANDIDATES);
    let keys: usize = store
        .h()
        .near_bands
        .iter()
        .map(|row| row.unwrap().1.len() / 16)
        .sum();
    assert_eq!(keys, dedup::near::BANDS * BAND_CAP);
    // One band in common ranks after sixteen.
    let mut other = sig.clone();
    other.0[0] ^= 1;
    let found = store.near_candidates(&other).unwrap();
    assert!(found.len() <= dedup::near::MAX_CANDIDATES);
}

#[tokio::test]
async fn writes_after_open_and_rows_scanned_at_open_are_found_through_the_filter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let sig = Signature::of(
        "t",
        &"one two three four five six seven eight nine ten eleven twelve".repeat(2),
    )
    .unwrap();
    let batch = filtered_batch(0, 500, &sig);
    let items: Vec<StoredItem> = batch.upserts.iter().map(|(_, i)| i.clone()).collect();
    {
        // The filter is ready (empty) before these writes: only the
        // writer's own bits can make them visible.
        let mut store = ready(&path);
        store.apply(&batch).await.unwrap();
        assert_found(&mut store, &items, &sig).await;
        // Keys never written are (nearly all) answered without a get.
        let absent = (10_000..11_000)
            .filter(|n| {
                store
                    .h()
                    .filter
                    .may_contain(filter::Tag::Item, &item("a", *n).key.0)
            })
            .count();
        assert!(absent < 50, "{absent} false positives of 1000");
        // Dedup lookups are counted: an absent alias is skipped.
        let before = store.filter_stats();
        assert_eq!(
            dedup::Index::alias(&mut store, "never written").unwrap(),
            None
        );
        let after = store.filter_stats();
        assert_eq!(after.lookups, before.lookups + 1);
        assert_eq!(
            after.skipped + after.false_positives,
            before.skipped + before.false_positives + 1
        );
    }
    // Reopened: the scan at open fills a new filter from the trees.
    let mut store = ready(&path);
    assert!(store.filter_stats().last_build_keys >= 500 * 3);
    assert_found(&mut store, &items, &sig).await;
    // Removed items leave stale bits, and are still absent.
    let gone = items[0].clone();
    let removal = Batch {
        source: "a".into(),
        removals: vec![gone.clone()],
        ..Batch::default()
    };
    store.apply(&removal).await.unwrap();
    use dedup::Index;
    assert_eq!(
        store.compare_digest(&gone.key, &gone.digest).unwrap(),
        dedup::Stored::Missing
    );
    assert_eq!(dedup::Index::item(&mut store, &gone.key).unwrap(), None);
    assert_eq!(
        store
            .compare_digest(&items[1].key, &items[1].digest)
            .unwrap(),
        dedup::Stored::Same
    );
}

/// Once the digest map is built, stored and absent keys are told from
/// memory (no filter lookup, hence no `get`), and it follows every
/// write: an update's new digest, a removal; a reopened store rebuilds
/// it from the `digests` tree.
#[tokio::test]
async fn the_digest_map_answers_from_memory_and_follows_writes() {
    use dedup::{Index, Stored};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let mut store = ready(&path);
    let items: Vec<StoredItem> = (0..20)
        .map(|n| {
            let mut i = item("a", n);
            i.digest = [n as u8 + 1; 16];
            i
        })
        .collect();
    store
        .apply(&Batch {
            source: "a".into(),
            upserts: items.iter().map(|i| (None, i.clone())).collect(),
            ..Batch::default()
        })
        .await
        .unwrap();
    let lookups = store.filter_stats().lookups;
    let absent = item("a", 999);
    for i in &items {
        assert_eq!(
            store.compare_digest(&i.key, &i.digest).unwrap(),
            Stored::Same
        );
        assert_eq!(
            store.compare_digest(&i.key, &[0; 16]).unwrap(),
            Stored::Other
        );
    }
    assert_eq!(
        store.compare_digest(&absent.key, &absent.digest).unwrap(),
        Stored::Missing
    );
    assert_eq!(Index::item(&mut store, &absent.key).unwrap(), None);
    assert_eq!(store.filter_stats().lookups, lookups, "answered by the map");
    // An update and a removal.
    let mut changed = items[1].clone();
    changed.digest = [0xaa; 16];
    store
        .apply(&Batch {
            source: "a".into(),
            upserts: vec![(Some(items[1].clone()), changed.clone())],
            removals: vec![items[2].clone()],
            ..Batch::default()
        })
        .await
        .unwrap();
    assert_eq!(
        store.compare_digest(&changed.key, &changed.digest).unwrap(),
        Stored::Same
    );
    assert_eq!(
        store
            .compare_digest(&items[1].key, &items[1].digest)
            .unwrap(),
        Stored::Other
    );
    assert_eq!(
        store
            .compare_digest(&items[2].key, &items[2].digest)
            .unwrap(),
        Stored::Missing
    );
    drop(store);
    let mut store = ready(&path);
    assert_eq!(
        store.compare_digest(&changed.key, &changed.digest).unwrap(),
        Stored::Same
    );
    assert_eq!(
        store
            .compare_digest(&items[2].key, &items[2].digest)
            .unwrap(),
        Stored::Missing
    );
    assert_eq!(
        store
            .compare_digest(&items[3].key, &items[3].digest)
            .unwrap(),
        Stored::Same
    );
    assert_eq!(store.h().digest_map.stats().0, 19);
}

#[tokio::test]
async fn a_full_filter_grows_without_losing_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = ready(&dir.path().join("s"));
    let first = store.filter_stats();
    assert_eq!(first.capacity, filter::MIN_CAPACITY);
    let sig = Signature::of(
        "t",
        &"one two three four five six seven eight nine ten eleven twelve".repeat(2),
    )
    .unwrap();
    // 4 keys per item: past the minimum capacity in a few batches.
    let per_batch = 10_000;
    let mut items = Vec::new();
    let mut n = 0;
    while (n as u64) * 4 <= filter::MIN_CAPACITY + 4 * per_batch {
        let batch = filtered_batch(n, n + per_batch as i64, &sig);
        items.extend(batch.upserts.iter().map(|(_, i)| i.clone()));
        store.apply(&batch).await.unwrap();
        n += per_batch as i64;
    }
    assert!(store.wait_for_indexes(std::time::Duration::from_secs(120)));
    let now = store.filter_stats();
    // Grown by layers, never scanned again.
    assert!(now.layers >= 2 && now.builds == 1, "{now:?}");
    assert!(now.capacity > first.capacity, "{now:?}");
    assert_found(&mut store, &items, &sig).await;
}

#[test]
fn band_buckets_add_once_cap_and_remove() {
    let k = |i: u8| ItemKey([i; 16]);
    let one = bucket_with(None, &k(1)).unwrap();
    assert_eq!(one, k(1).0.to_vec());
    assert_eq!(bucket_with(Some(&one), &k(1)), None, "already there");
    let mut full = Vec::new();
    for i in 0..BAND_CAP as u8 {
        full = bucket_with(Some(&full), &k(i)).unwrap();
    }
    assert_eq!(bucket_with(Some(&full), &k(200)), None, "full");
    let rest = bucket_without(Some(&full), &k(3)).unwrap();
    assert_eq!(rest.len(), (BAND_CAP - 1) * 16);
    assert!(!rest.chunks_exact(16).any(|c| c == k(3).0));
    assert_eq!(bucket_without(Some(&rest), &k(3)), None);
}

/// The keys each band bucket lists, by band.
fn postings(store: &mut Store) -> std::collections::HashMap<Vec<u8>, Vec<ItemKey>> {
    store
        .h()
        .near_bands
        .iter()
        .map(|row| {
            let (band, bucket) = row.unwrap();
            let keys = bucket
                .chunks_exact(16)
                .map(|k| ItemKey(k.try_into().unwrap()))
                .collect();
            (band.to_vec(), keys)
        })
        .collect()
}

/// A batch of source `a` storing `items` as new, each with a signature.
fn signed(items: &[(&StoredItem, &Signature)]) -> Batch {
    Batch {
        source: "a".into(),
        signatures: items.iter().map(|(i, s)| (i.key, (*s).clone())).collect(),
        upserts: items.iter().map(|(i, _)| (None, (*i).clone())).collect(),
        ..Batch::default()
    }
}

/// Band postings are written outside the item transaction (added before
/// it, taken out after it), so they are checked here against every way a
/// batch changes signatures: two new items sharing every band in one
/// batch, an item re-signed with one band changed, an item removed.
#[tokio::test]
async fn band_postings_follow_new_changed_and_removed_signatures() {
    use dedup::Index;
    let dir = tempfile::tempdir().unwrap();
    let mut store = ready(&dir.path().join("s"));
    let text = "one two three four five six seven eight nine ten eleven twelve";
    let sig = Signature::of("t", text).unwrap();
    let (one, two) = (item("a", 1), item("a", 2));
    store
        .apply(&signed(&[(&one, &sig), (&two, &sig)]))
        .await
        .unwrap();
    let bands: Vec<Vec<u8>> = sig.bands().iter().map(|b| b.to_vec()).collect();
    let after = postings(&mut store);
    assert_eq!(after.len(), dedup::near::BANDS);
    for band in &bands {
        assert_eq!(after[band], vec![one.key, two.key], "both in one batch");
    }

    // `one` re-signed: its first band changes, the other fifteen stay.
    let mut changed = sig.clone();
    changed.0[0] ^= 1;
    let moved = changed.bands()[0].to_vec();
    assert_ne!(moved, bands[0]);
    store
        .apply(&Batch {
            source: "a".into(),
            signatures: vec![(one.key, changed.clone())],
            upserts: vec![(Some(one.clone()), one.clone())],
            ..Batch::default()
        })
        .await
        .unwrap();
    let after = postings(&mut store);
    assert_eq!(after[&bands[0]], vec![two.key], "the old band lets go");
    assert_eq!(after[&moved], vec![one.key], "the new band lists it");
    for band in &bands[1..] {
        assert_eq!(after[band], vec![one.key, two.key], "shared bands stay");
    }

    // `two` removed: a bucket it was alone in goes, the others keep `one`.
    store
        .apply(&Batch {
            source: "a".into(),
            removals: vec![two.clone()],
            ..Batch::default()
        })
        .await
        .unwrap();
    let after = postings(&mut store);
    assert!(!after.contains_key(&bands[0]), "an empty bucket is deleted");
    assert_eq!(after[&moved], vec![one.key]);
    for band in &bands[1..] {
        assert_eq!(after[band], vec![one.key]);
    }
    assert!(store.signature(&two.key).unwrap().is_none());
    let found: Vec<ItemKey> = store
        .near_candidates(&sig)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(found, vec![one.key]);
}

/// A crash or a failed commit between the postings and the transaction
/// leaves a posting of a key with no signature: a lookup skips it.
#[tokio::test]
async fn a_posting_of_a_key_with_no_signature_is_skipped() {
    use dedup::Index;
    let dir = tempfile::tempdir().unwrap();
    let mut store = ready(&dir.path().join("s"));
    let text = "one two three four five six seven eight nine ten eleven twelve";
    let sig = Signature::of("t", text).unwrap();
    let (one, ghost) = (item("a", 1), item("a", 2));
    store.apply(&signed(&[(&one, &sig)])).await.unwrap();
    for band in sig.bands() {
        let h = store.h();
        let bucket = h.near_bands.get(band).unwrap();
        let with = bucket_with(bucket.as_deref(), &ghost.key).unwrap();
        h.near_bands.insert(band, with).unwrap();
    }
    let found: Vec<ItemKey> = store
        .near_candidates(&sig)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(found, vec![one.key]);
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema", &9u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let Err(err) = Store::open(dir.path()) else {
        panic!("a version 9 store opened")
    };
    let text = err.to_string();
    assert!(
        text.contains("schema version 9") && text.contains("reads version 3"),
        "{text}"
    );
}

use chrono::{TimeZone, Utc};

fn item(source: &str, n: i64) -> StoredItem {
    let key = ItemKey::derive(source, &n.to_string());
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(n);
    dedup::new_item(
        source,
        key,
        Entry {
            title: Some(format!("{source} {n}")),
            ..Entry::default()
        },
        at,
    )
}

/// The first-seen position is stored with the item and read back after
/// a restart; rows written before it existed read as 0.
#[tokio::test]
async fn first_seen_position_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let store = Store::open(&path).unwrap();
    let mut placed = item("a", 1);
    placed.first_seen_pos = 7;
    store
        .apply(&Batch {
            source: "a".into(),
            upserts: vec![(None, placed.clone()), (None, item("a", 2))],
            ..Batch::default()
        })
        .await
        .unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.item(&placed.key).unwrap().unwrap().first_seen_pos, 7);
    assert_eq!(
        store
            .item(&item("a", 2).key)
            .unwrap()
            .unwrap()
            .first_seen_pos,
        0
    );
}

#[tokio::test]
async fn item_counters_follow_every_write_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let store = Store::open(&path).unwrap();
    let scan = |store: &Store, source: &str| {
        store
            .h()
            .by_source
            .scan_prefix(keys::source_prefix(source))
            .count()
    };
    let put = |source: &str, upserts: Vec<(Option<StoredItem>, StoredItem)>| Batch {
        source: source.into(),
        upserts,
        ..Batch::default()
    };
    store
        .apply(&put("a", (1..=4).map(|n| (None, item("a", n))).collect()))
        .await
        .unwrap();
    store
        .apply(&put("b", (1..=2).map(|n| (None, item("b", n))).collect()))
        .await
        .unwrap();
    // An update that moves the item's date (its index row changes), an
    // upsert written twice, and a removal.
    let mut moved = item("a", 1);
    moved.published += chrono::Duration::days(1);
    store
        .apply(&put("a", vec![(Some(item("a", 1)), moved.clone())]))
        .await
        .unwrap();
    store
        .apply(&put("a", vec![(Some(moved.clone()), moved.clone())]))
        .await
        .unwrap();
    store
        .apply(&Batch {
            source: "b".into(),
            removals: vec![item("b", 2)],
            ..Batch::default()
        })
        .await
        .unwrap();
    for (source, n) in [("a", 4), ("b", 1), ("c", 0)] {
        assert_eq!(store.source_item_count(source), n, "{source}");
        assert_eq!(scan(&store, source), n, "{source}");
    }
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.source_item_count("a"), 4);
    // A store whose counters were never kept (made before them): counted
    // when opened.
    store.h().meta.remove(COUNTED).unwrap();
    store
        .h()
        .meta
        .insert(keys::count("a"), &99u64.to_be_bytes())
        .unwrap();
    store.h().meta.remove(keys::count("b")).unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.source_item_count("a"), 4);
    assert_eq!(store.source_item_count("b"), 1);
}

#[tokio::test]
async fn newest_items_merge_sources_newest_first_with_filter_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s")).unwrap();
    for (source, minutes) in [
        ("a", vec![1, 4, 7, 10]),
        ("b", vec![2, 5, 8]),
        ("c", vec![3, 6, 9]),
    ] {
        let batch = Batch {
            source: source.into(),
            upserts: minutes
                .into_iter()
                .map(|m| (None, item(source, m)))
                .collect(),
            ..Batch::default()
        };
        store.apply(&batch).await.unwrap();
    }
    let title = |i: &StoredItem| i.entry.title.clone().unwrap();
    let ab: HashSet<&str> = ["a", "b"].into();
    let got: Vec<String> = store
        .newest_items(&ab, 4)
        .unwrap()
        .iter()
        .map(title)
        .collect();
    assert_eq!(got, vec!["a 10", "b 8", "a 7", "b 5"]);
    let all: HashSet<&str> = ["a", "b", "c"].into();
    let got: Vec<String> = store
        .newest_items_where(&all, 3, |i| {
            (!i.entry.title.as_deref().unwrap_or("").starts_with('a')).then_some(i)
        })
        .unwrap()
        .iter()
        .map(title)
        .collect();
    assert_eq!(got, vec!["c 9", "b 8", "c 6"]);
    assert_eq!(store.newest_items(&all, 100).unwrap().len(), 10);
}

/// The `limit` newest keys of `sources`, from a full scan of each source's
/// rows: what a read must return, worked out without `heads`.
fn newest_by_scan(store: &Store, sources: &HashSet<&str>, limit: usize) -> Vec<ItemKey> {
    let mut all: Vec<(std::cmp::Reverse<i64>, [u8; 16])> = Vec::new();
    for source in sources {
        for (key, at) in store.source_keys(source).unwrap() {
            all.push((std::cmp::Reverse(at.timestamp_millis()), key.0));
        }
    }
    all.sort();
    all.into_iter()
        .take(limit)
        .map(|(_, k)| ItemKey(k))
        .collect()
}

fn newest_keys(store: &Store, sources: &HashSet<&str>, limit: usize) -> Vec<ItemKey> {
    let items = store.newest_items(sources, limit).unwrap();
    items.iter().map(|i| i.key).collect()
}

async fn put(store: &Store, source: &str, items: Vec<StoredItem>, removals: Vec<StoredItem>) {
    store
        .apply(&Batch {
            source: source.into(),
            upserts: items.into_iter().map(|i| (None, i)).collect(),
            removals,
            ..Batch::default()
        })
        .await
        .unwrap();
}

/// Once a read has learned the sources' newest rows, the next one opens
/// only the sources whose items can be among the `limit` newest, whatever
/// the number of sources; and writes (newer, older and removed items)
/// keep every read exact.
#[tokio::test]
async fn a_read_opens_only_the_sources_its_items_come_from() {
    let dir = tempfile::tempdir().unwrap();
    let store = ready(&dir.path().join("s"));
    let names: Vec<String> = (0..300).map(|i| format!("s{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        let i = i as i64;
        let items = vec![item(name, i), item(name, i + 300), item(name, i + 600)];
        put(&store, name, items, vec![]).await;
    }
    let all: HashSet<&str> = names.iter().map(String::as_str).collect();
    let limit = 10;
    let opened = store.sources_opened();
    assert_eq!(
        newest_keys(&store, &all, limit),
        newest_by_scan(&store, &all, limit)
    );
    assert_eq!(
        store.sources_opened() - opened,
        300,
        "the first read opens all"
    );
    let opened = store.sources_opened();
    assert_eq!(
        newest_keys(&store, &all, limit),
        newest_by_scan(&store, &all, limit)
    );
    let second = store.sources_opened() - opened;
    assert!(
        second <= limit as u64 + 1,
        "the second read opened {second} of 300"
    );

    // A newer item in a source whose head was old; an item older than all
    // in another; the newest item of a third removed.
    put(&store, "s3", vec![item("s3", 5_000)], vec![]).await;
    put(&store, "s4", vec![item("s4", -5)], vec![]).await;
    put(&store, "s299", vec![], vec![item("s299", 899)]).await;
    for limit in [1, 10, 50, 2_000] {
        let got = newest_keys(&store, &all, limit);
        assert_eq!(got, newest_by_scan(&store, &all, limit), "limit {limit}");
    }
    assert_eq!(newest_keys(&store, &all, 1), vec![item("s3", 5_000).key]);
    assert!(!newest_keys(&store, &all, 10).contains(&item("s299", 899).key));
    assert_eq!(store.newest_items(&all, 2_000).unwrap().len(), 901);
    // A source the store has never seen costs nothing after its first read.
    let more: HashSet<&str> = all.iter().copied().chain(["nobody"]).collect();
    newest_keys(&store, &more, limit);
    let opened = store.sources_opened();
    assert_eq!(
        newest_keys(&store, &more, limit),
        newest_by_scan(&store, &all, limit)
    );
    assert!(store.sources_opened() - opened <= limit as u64 + 1);
}

/// Reads that run while writes add newer items return them in order, and
/// never learn a head that would hide one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_racing_writes_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    let store = ready(&dir.path().join("s"));
    let names: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        put(&store, name, vec![item(name, i as i64)], vec![]).await;
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (store, stop, names) = (store.clone(), stop.clone(), names.clone());
        std::thread::spawn(move || {
            let all: HashSet<&str> = names.iter().map(String::as_str).collect();
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                let items = store.newest_items(&all, 5).unwrap();
                let order: Vec<_> = items.iter().map(keys::by_time).collect();
                assert!(order.is_sorted(), "out of order: {order:?}");
                reads += 1;
            }
            reads
        })
    };
    for n in 0..400i64 {
        let name = &names[(n * 7 % 40) as usize];
        put(&store, name, vec![item(name, 1_000 + n)], vec![]).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    assert!(reader.join().unwrap() > 0);
    let all: HashSet<&str> = names.iter().map(String::as_str).collect();
    for limit in [1, 5, 40, 1_000] {
        assert_eq!(
            newest_keys(&store, &all, limit),
            newest_by_scan(&store, &all, limit)
        );
    }
}

/// A row written after a read took its heads, in a source the read opens
/// late, is left out of that read (which stays in order) and found by the
/// next one.
#[tokio::test]
async fn a_row_newer_than_a_late_opened_source_head_is_left_for_the_next_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = ready(&dir.path().join("s"));
    put(&store, "a", vec![item("a", 10), item("a", 8)], vec![]).await;
    put(&store, "b", vec![item("b", 9), item("b", 1)], vec![]).await;
    let ab: HashSet<&str> = ["a", "b"].into();
    let key = |source: &str, n: i64| item(source, n).key;
    assert_eq!(
        newest_keys(&store, &ab, 3),
        [key("a", 10), key("b", 9), key("a", 8)]
    );
    // Written behind the heads' back, as a write that commits while a read
    // runs looks to that read.
    let late = item("b", 20);
    store.h().items.insert(late.key.0, encode(&late)).unwrap();
    store
        .h()
        .by_source
        .insert(keys::by_source(&late), &[])
        .unwrap();
    assert_eq!(
        newest_keys(&store, &ab, 3),
        [key("a", 10), key("b", 9), key("a", 8)]
    );
    // That read learned b's true head.
    assert_eq!(
        newest_keys(&store, &ab, 3),
        [key("b", 20), key("a", 10), key("b", 9)]
    );
}
