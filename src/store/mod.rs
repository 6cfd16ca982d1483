//! The store: the only user of sled. Items, their indexes and each source's
//! poll state live here; a refresh is written as one transaction (a big
//! document as several, the poll state with the last) and flushed before it
//! counts, so a crash may repeat a fetch but never loses items that a stored
//! validator already covers.
//!
//! | tree | key | value |
//! |---|---|---|
//! | `items` | item key (16 bytes) | [`StoredItem`] (versioned JSON) |
//! | `digests` | item key | the item's content digest (16 bytes): an unchanged entry is told without reading its item |
//! | `by_time` | published, descending (8 bytes BE) + item key | empty |
//! | `by_source` | source id + NUL + published desc + item key | empty; for a cross-source duplicate, the key (16 bytes) and source id of the item it joined, so a render skips it without reading it |
//! | `slugs` | article slug | item key |
//! | `sources` | source id | [`PollState`] (JSON) |
//! | `aliases` | dedup alias (see `dedup`: old guids, canonical links, link+title) | item key |
//! | `tombstones` | source id + NUL + item key | [`Tombstone`] (JSON) |
//! | `near_sig` | item key | MinHash signature (64 x u32 BE) |
//! | `near_bands` | band (1 byte) + band hash (8 bytes) | item keys sharing it (16 bytes each, at most [`BAND_CAP`]) |
//! | `meta` | `schema` | schema version (u32 BE) |
//! | `meta` | `generation` | count of item-changing writes (u64 BE) |
//! | `meta` | `count` + NUL + source id | the source's item count (its `by_source` rows, u64 BE) |
//! | `meta` | `stamp` + NUL + feed name (`name/archive/N` for archive page N) | the feed's stamp: SHA-256 of its published bodies (32 bytes) + when they last changed (i64 BE Unix seconds) |
//!
//! Every dedup lookup is an exact `get` or a prefix scan of one LSH band
//! bucket: its cost does not grow with the store. An in-memory Bloom filter
//! ([`filter`]) over the keys of `digests`, `near_sig`, `aliases`,
//! `tombstones` and `near_bands` answers the lookups of absent keys (nearly
//! all lookups of a new entry) without a `get`, so that they stay as cheap
//! when the store outgrows sled's page cache. Item keys are answered by an
//! exact in-memory map of every item's digest ([`digest_map`], 16 bytes of
//! payload per item) once its scan at open is done: an unchanged entry (most
//! entries of every refresh) and a new one are told without any `get`.
//!
//! Schema history: 1 (foundation) -> 2 (dedup trees and the generation) ->
//! 3 (`digests`, per-source item counts). An older store is migrated when opened: the new trees are
//! filled from the stored items (one pass over them, logged); items keep
//! their keys and published ids.

pub mod backup;
mod check;
mod damage;
mod digest_map;
mod explain;
pub mod filter;
mod guarded;
mod keys;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use chrono::{DateTime, Utc};

use crate::dedup::{self, Signature};
use crate::model::{ItemKey, PollState, StoredItem};

pub use check::{CheckReport, check_copy};
pub use explain::Explanation;
pub use guarded::{Health, Store};
pub use keys::time_desc;

/// Most items one LSH band bucket lists. A bucket that fills up holds
/// boilerplate shared by many items; later items are still found through
/// their other bands. Bounds the cost of a near-duplicate lookup.
pub const BAND_CAP: usize = 64;

/// The `meta` key whose presence says the per-source item counters are
/// kept (see [`Store::source_item_count`]).
const COUNTED: &str = "counted";

/// The `meta` key whose presence says the `by_source` rows of duplicates
/// carry the item they joined (see [`Store::newest_items_where`]).
const DUPLICATES_MARKED: &str = "duplicates marked";

/// The `meta` key of a feed's stamp.
fn stamp_key(feed: &str) -> Vec<u8> {
    let mut key = b"stamp\0".to_vec();
    key.extend_from_slice(feed.as_bytes());
    key
}

/// A big-endian u64 cell; absent or malformed reads as 0.
fn read_u64(raw: Option<&[u8]>) -> u64 {
    raw.and_then(|raw| <[u8; 8]>::try_from(raw).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// The schema this build reads and writes.
pub const SCHEMA_VERSION: u32 = 3;

/// A key removed by retention: while it lasts, the source listing the item
/// again does not bring it back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tombstone {
    pub until: DateTime<Utc>,
    /// The aliases that pointed at the item, removed when the tombstone
    /// expires.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// The file, inside the store folder, that names the process holding it.
const PID_FILE: &str = "syndic.pid";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store `{path}` is in use by another syndic process{holder}: \
         only one process can open it at a time. Stop the daemon first \
         (e.g. `systemctl stop syndic`), or point this command at another store"
    )]
    Locked { path: PathBuf, holder: String },
    #[error(
        "the store `{path}` has schema version {found}, this syndic reads version {expected}: \
         use the syndic release that wrote it, or move the folder away to start afresh"
    )]
    Schema {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("store `{path}`: {source}")]
    Sled {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("store: item {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error(
        "the store at {path} is damaged: {found}. Two ways on: restore a backup into an \
         empty store with `syndic --store {path} import BACKUP.jsonl` after moving the damaged \
         folder aside, or move the folder aside (e.g. `mv {path} {path}.damaged`) and start \
         fresh (sources are fetched again; items their feeds no longer list are lost)"
    )]
    Damaged { path: PathBuf, found: String },
    #[error(
        "the store at {path} is not empty ({items} items): `syndic import` writes into an \
         empty store; pass --merge to add the export to what it holds, or import into a new \
         folder (--store)"
    )]
    NotEmpty { path: PathBuf, items: usize },
    #[error("store `{path}`: {what}: {source}")]
    Io {
        path: PathBuf,
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the store at {path} is being reopened after a write error ({cause}); try again in a moment"
    )]
    Reopening { path: PathBuf, cause: String },
}

/// A sled error as a [`StoreError`]: what says the files are damaged
/// (corrupt data, an impossible state, a format it cannot read) is
/// [`StoreError::Damaged`].
fn classify(path: &Path, source: sled::Error) -> StoreError {
    match &source {
        sled::Error::Corruption { .. }
        | sled::Error::ReportableBug(_)
        | sled::Error::Unsupported(_) => {
            let text = source.to_string();
            // sled repeats itself after " backtrace".
            let found = text.split(" backtrace").next().unwrap_or(&text).to_string();
            StoreError::Damaged {
                path: path.to_path_buf(),
                found: format!("sled reports {found}"),
            }
        }
        _ => StoreError::Sled {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// Versioned envelope for stored values, so a later schema can read old rows.
#[derive(Serialize, Deserialize)]
struct Versioned<T> {
    v: u32,
    #[serde(flatten)]
    value: T,
}

/// What one refresh writes, applied atomically by [`Store::apply`].
#[derive(Debug, Default)]
pub struct Batch {
    pub source: String,
    /// New or changed items, each with the version it replaces (if any).
    pub upserts: Vec<(Option<StoredItem>, StoredItem)>,
    /// Items that leave the store (a deleted article file, a draft).
    pub removals: Vec<StoredItem>,
    /// Slugs to point at items (local articles).
    pub slugs: Vec<(String, ItemKey)>,
    /// Dedup aliases to point at items.
    pub aliases: Vec<(String, ItemKey)>,
    /// Near-duplicate signatures to index (replacing an item's old one).
    pub signatures: Vec<(ItemKey, Signature)>,
    /// Tombstones to set (items removed by retention, or new items that
    /// retention refused), for `source`.
    pub tombstones: Vec<(ItemKey, Tombstone)>,
    /// Expired tombstones of `source` to delete, with their aliases.
    pub expired_tombstones: Vec<(ItemKey, Tombstone)>,
    /// The source's poll state after this refresh, validators included;
    /// `None` in the batches of a big document before its last, so that a
    /// crash between them leaves the document to be fetched again.
    pub poll: Option<PollState>,
}

impl Batch {
    /// True when the batch changes any item (and so any feed).
    pub fn changes_items(&self) -> bool {
        !self.upserts.is_empty() || !self.removals.is_empty()
    }

    /// True when the batch writes anything besides the poll state.
    fn changes_index(&self) -> bool {
        self.changes_items()
            || !self.slugs.is_empty()
            || !self.aliases.is_empty()
            || !self.signatures.is_empty()
            || !self.tombstones.is_empty()
            || !self.expired_tombstones.is_empty()
    }
}

/// The open database and its trees; [`Store`] holds the current one and
/// swaps in a new one when the store is reopened after a write error.
struct Handles {
    path: PathBuf,
    db: sled::Db,
    items: sled::Tree,
    digests: sled::Tree,
    by_time: sled::Tree,
    by_source: sled::Tree,
    slugs: sled::Tree,
    sources: sled::Tree,
    aliases: sled::Tree,
    tombstones: sled::Tree,
    near_sig: sled::Tree,
    near_bands: sled::Tree,
    meta: sled::Tree,
    /// In front of the index trees (see [`filter`]).
    filter: std::sync::Arc<filter::Filter>,
    /// Every item's digest in memory (see [`digest_map`]).
    digest_map: std::sync::Arc<digest_map::DigestMap>,
    /// Items decoded by [`Store::item`] and the feed reads (see
    /// [`Store::items_read`]).
    reads: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Group commit (see [`Handles::flush_to_disk`]).
    flushes: std::sync::Arc<FlushGate>,
}

/// Writes waiting for a flush share one: a writer takes a ticket once its
/// write is in memory; a flush started after that covers it.
#[derive(Default)]
struct FlushGate {
    /// One flush at a time; the writers that arrive meanwhile wait here.
    turn: tokio::sync::Mutex<()>,
    /// Tickets handed out (writes done in memory).
    written: std::sync::atomic::AtomicU64,
    /// Every ticket up to this one is on disk.
    flushed: std::sync::atomic::AtomicU64,
    /// Flushes made (sled `flush` calls), for tests and benchmarks.
    made: std::sync::atomic::AtomicU64,
}

/// sled's page cache. sled's resident memory is several times its
/// nominal cache (its accounting leaves out much of what a cached page
/// holds) on top of a page table that grows with the store, so the cache is
/// kept small: measured on a store of a million items, the daemon settles
/// at 1.8 GB resident with 32 MiB here and 2.7 GB with 256 MiB, and dedup
/// and render times are the same, because the in-memory indexes answer most
/// lookups and a render reads only the items it returns (RELIABILITY.md,
/// Memory; BENCHMARKS.md).
const CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// How long [`Store::open`] retries a locked store before it reports
/// [`StoreError::Locked`].
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

impl Handles {
    /// Opens (creating if absent) the store at `path`. Fails with
    /// [`StoreError::Locked`] when another process holds it.
    fn open(path: &Path) -> Result<Handles, StoreError> {
        let sled_err = |source| classify(path, source);
        // A data file that has bytes but holds no schema row was emptied or
        // overwritten: sled reads it as a new database.
        let had_data = std::fs::metadata(path.join("db")).is_ok_and(|m| m.len() > 0);
        // A handle this process has just dropped may hold the file lock
        // for a moment (sled's background flusher lets go of it last):
        // a lock error is retried for up to LOCK_WAIT before it counts.
        let start = std::time::Instant::now();
        let opened = loop {
            let attempt = sled::Config::new()
                .path(path)
                .cache_capacity(CACHE_BYTES)
                .open();
            match attempt {
                Err(err) if is_lock_error(&err) && start.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other,
            }
        };
        let db = match opened {
            Ok(db) => db,
            Err(err) if is_lock_error(&err) => {
                return Err(StoreError::Locked {
                    path: path.to_path_buf(),
                    holder: describe_holder(path),
                });
            }
            Err(err) => return Err(sled_err(err)),
        };
        let meta = db.open_tree("meta").map_err(sled_err)?;
        let mut migrate_from = None;
        match meta.get("schema").map_err(sled_err)? {
            None if had_data => {
                return Err(StoreError::Damaged {
                    path: path.to_path_buf(),
                    found: "its data file `db` has bytes but no readable data (no schema \
                            row): it was overwritten or its start is damaged"
                        .into(),
                });
            }
            None => {
                meta.insert("schema", &SCHEMA_VERSION.to_be_bytes())
                    .map_err(sled_err)?;
            }
            Some(raw) => {
                let found = <[u8; 4]>::try_from(raw.as_ref())
                    .map(u32::from_be_bytes)
                    .unwrap_or(0);
                if found == 1 || found == 2 {
                    migrate_from = Some(found);
                } else if found != SCHEMA_VERSION {
                    return Err(StoreError::Schema {
                        path: path.to_path_buf(),
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
            }
        }
        // Best effort: name ourselves for a second process that finds the lock.
        let _ = std::fs::write(path.join(PID_FILE), std::process::id().to_string());
        let digests = db.open_tree("digests").map_err(sled_err)?;
        let aliases = db.open_tree("aliases").map_err(sled_err)?;
        let tombstones = db.open_tree("tombstones").map_err(sled_err)?;
        let near_sig = db.open_tree("near_sig").map_err(sled_err)?;
        let near_bands = db.open_tree("near_bands").map_err(sled_err)?;
        let filter = filter::Filter::new(filter::Sources {
            trees: vec![
                (filter::Tag::Item, digests.clone()),
                (filter::Tag::Signature, near_sig.clone()),
                (filter::Tag::Alias, aliases.clone()),
                (filter::Tag::Tombstone, tombstones.clone()),
                (filter::Tag::Band, near_bands.clone()),
            ],
            meta: meta.clone(),
        });
        let store = Handles {
            path: path.to_path_buf(),
            items: db.open_tree("items").map_err(sled_err)?,
            digests,
            by_time: db.open_tree("by_time").map_err(sled_err)?,
            by_source: db.open_tree("by_source").map_err(sled_err)?,
            slugs: db.open_tree("slugs").map_err(sled_err)?,
            sources: db.open_tree("sources").map_err(sled_err)?,
            aliases,
            tombstones,
            near_sig,
            near_bands,
            meta,
            filter: std::sync::Arc::new(filter),
            digest_map: std::sync::Arc::new(digest_map::DigestMap::new()),
            reads: Default::default(),
            flushes: Default::default(),
            db,
        };
        if let Some(from) = migrate_from {
            store.migrate(from)?;
        }
        // Item counters: kept by every write since they were first counted
        // (at creation, migration, or here for a store made before them).
        if store.meta.get(COUNTED).map_err(sled_err)?.is_none() {
            store.recount_sources()?;
            store.meta.insert(COUNTED, &[1]).map_err(sled_err)?;
        }
        if store
            .meta
            .get(DUPLICATES_MARKED)
            .map_err(sled_err)?
            .is_none()
        {
            store.mark_duplicates()?;
            store
                .meta
                .insert(DUPLICATES_MARKED, &[1])
                .map_err(sled_err)?;
        }
        // After a migration: the scans must see complete trees.
        store.filter.begin();
        store.digest_map.begin(store.digests.clone());
        Ok(store)
    }

    /// Migrates a store of schema `from` (1 or 2) to [`SCHEMA_VERSION`].
    fn migrate(&self, from: u32) -> Result<(), StoreError> {
        tracing::info!(path = %self.path.display(), from, to = SCHEMA_VERSION, "migrating the store");
        if from == 1 {
            self.migrate_to_2()?;
        }
        self.migrate_to_3()?;
        self.meta
            .insert("schema", &SCHEMA_VERSION.to_be_bytes())
            .map_err(|e| self.err(e))?;
        self.db.flush().map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Schema 2 -> 3: the `digests` tree, from every stored item. An item
    /// row that does not decode gets no digest row: lookups of its key fall
    /// back to the item row (see `Index::digest`), and the item stays.
    fn migrate_to_3(&self) -> Result<(), StoreError> {
        let start = std::time::Instant::now();
        let (mut done, mut unreadable) = (0u64, 0u64);
        for row in self.items.iter() {
            let (key, raw) = row.map_err(|e| self.err(e))?;
            match decode::<StoredItem>(&raw, "item (migration)") {
                Ok(item) => {
                    self.digests
                        .insert(key, &item.digest)
                        .map_err(|e| self.err(e))?;
                    done += 1;
                }
                Err(err) => {
                    unreadable += 1;
                    tracing::warn!(key = %hex::encode(&key), error = %err, "migration: item kept without a digest row");
                }
            }
        }
        tracing::info!(
            items = done,
            unreadable,
            secs = start.elapsed().as_secs_f64(),
            "migration: digests indexed"
        );
        Ok(())
    }

    /// Schema 1 -> 2: indexes every stored item's aliases (same-source and
    /// cross-source, with the default link rules) and signature, so items
    /// stored before keep matching. Items and their keys are not touched.
    fn migrate_to_2(&self) -> Result<(), StoreError> {
        let urls = dedup::UrlOptions::default();
        for row in self.items.iter() {
            let (_, raw) = row.map_err(|e| self.err(e))?;
            // Version 1 rows decode as version 2 (the new fields default).
            let mut item: StoredItem = decode(&raw, "item (migration)")?;
            let policy = dedup::Policy {
                source: &item.source,
                feed_url: None,
                document_urls: Vec::new(),
                urls: &urls,
                fuzzy_identity: item.entry.slug.is_none(),
                near_threshold_pct: None,
                max_age: None,
            };
            let mut aliases = dedup::source_aliases(&item.entry, &policy);
            if let Some(link) = item.entry.link.as_deref() {
                let alias = dedup::link_alias(&dedup::canonical_url(link, &urls));
                if self
                    .aliases
                    .get(alias.as_bytes())
                    .map_err(|e| self.err(e))?
                    .is_none()
                {
                    aliases.push(alias);
                }
            }
            for alias in &aliases {
                self.aliases
                    .insert(alias.as_bytes(), &item.key.0)
                    .map_err(|e| self.err(e))?;
            }
            if let Some(sig) = dedup::signature(&item.entry) {
                self.put_signature(&item.key, &sig)?;
            }
            item.aliases = aliases;
            self.items
                .insert(item.key.0, encode(&item))
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    fn put_signature(&self, key: &ItemKey, sig: &Signature) -> Result<(), StoreError> {
        self.near_sig
            .insert(key.0, sig.to_bytes())
            .map_err(|e| self.err(e))?;
        for band in sig.bands() {
            let bucket = self.near_bands.get(band).map_err(|e| self.err(e))?;
            if let Some(bucket) = bucket_with(bucket.as_deref(), key) {
                self.near_bands
                    .insert(band, bucket)
                    .map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }

    /// How many batches that changed items this store has applied: stays
    /// the same when a refresh found nothing new.
    pub fn generation(&self) -> u64 {
        self.meta
            .get("generation")
            .ok()
            .flatten()
            .and_then(|raw| <[u8; 8]>::try_from(raw.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0)
    }

    /// A feed's stamp: the digest of its published bodies and when they
    /// last changed (see `publish::render_feed`). `None` when absent or
    /// unreadable (the next rendering then counts as a change).
    pub fn feed_stamp(&self, feed: &str) -> Option<([u8; 32], DateTime<Utc>)> {
        let raw = self.meta.get(stamp_key(feed)).ok().flatten()?;
        let digest: [u8; 32] = raw.get(..32)?.try_into().ok()?;
        let secs = i64::from_be_bytes(raw.get(32..40)?.try_into().ok()?);
        Some((digest, DateTime::<Utc>::from_timestamp(secs, 0)?))
    }

    /// Every feed's stamp, by feed name (for `syndic export`).
    fn feed_stamps(&self) -> Vec<(String, [u8; 32], DateTime<Utc>)> {
        let prefix = stamp_key("");
        self.meta
            .scan_prefix(&prefix)
            .keys()
            .filter_map(Result::ok)
            .filter_map(|key| {
                let feed = std::str::from_utf8(key.get(prefix.len()..)?).ok()?;
                let (digest, at) = self.feed_stamp(feed)?;
                Some((feed.to_string(), digest, at))
            })
            .collect()
    }

    /// Writes a feed's stamp (see [`Store::feed_stamp`]).
    pub fn set_feed_stamp(
        &self,
        feed: &str,
        digest: &[u8; 32],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut value = digest.to_vec();
        value.extend_from_slice(&at.timestamp().to_be_bytes());
        self.meta
            .insert(stamp_key(feed), value)
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn err(&self, source: sled::Error) -> StoreError {
        classify(&self.path, source)
    }

    /// Writes a refresh's items, indexes and poll state (if the batch has
    /// it) in one transaction, then flushes to disk.
    pub async fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        let poll = batch.poll.as_ref().map(encode);
        let source_key = batch.source.as_bytes();
        let tomb_key = |key: &ItemKey| {
            let mut k = keys::source_prefix(&batch.source);
            k.extend_from_slice(&key.0);
            k
        };
        let changes_index = batch.changes_index();
        let bump = batch.changes_items();
        let joined = self.joined_marks(batch)?;
        // Every key this batch may write gets its filter bits before the
        // commit, and the guard keeps a filter build from starting its scan
        // in between (see `filter`).
        let writing = self.filter.writing();
        self.set_filter_bits(batch, &tomb_key);
        let filter = &self.filter;
        let maybe = |tag: filter::Tag, key: &[u8]| filter.may_contain(tag, key);
        let result: Result<(), TransactionError<()>> = (
            &self.items,
            &self.digests,
            &self.by_time,
            &self.by_source,
            &self.slugs,
            &self.sources,
            &self.aliases,
            &self.tombstones,
            &self.near_sig,
            &self.near_bands,
            &self.meta,
        )
            .transaction(
                |(
                    items,
                    digests,
                    by_time,
                    by_source,
                    slugs,
                    sources,
                    aliases,
                    tombstones,
                    near_sig,
                    near_bands,
                    meta,
                )| {
                    if let Some(poll) = &poll {
                        sources.insert(source_key, poll.as_slice())?;
                    }
                    if !changes_index {
                        return Ok(());
                    }
                    let drop_signature =
                        |key: &ItemKey| -> Result<(), ConflictableTransactionError<()>> {
                            if !maybe(filter::Tag::Signature, &key.0) {
                                return Ok(());
                            }
                            if let Some(raw) = near_sig.remove(&key.0)?
                                && let Some(old) = Signature::from_bytes(&raw)
                            {
                                for band in old.bands() {
                                    let bucket = near_bands.get(band)?;
                                    match bucket_without(bucket.as_deref(), key) {
                                        Some(rest) if rest.is_empty() => {
                                            near_bands.remove(&band)?;
                                        }
                                        Some(rest) => {
                                            near_bands.insert(&band, rest)?;
                                        }
                                        None => {}
                                    }
                                }
                            }
                            Ok(())
                        };
                    // Items per source, as the `by_source` rows come and go
                    // (computed in here: sled may run this closure again).
                    let mut counted: HashMap<&str, i64> = HashMap::new();
                    for old in batch
                        .removals
                        .iter()
                        .chain(batch.upserts.iter().filter_map(|(old, _)| old.as_ref()))
                    {
                        by_time.remove(keys::by_time(old).as_slice())?;
                        if by_source.remove(keys::by_source(old).as_slice())?.is_some() {
                            *counted.entry(old.source.as_str()).or_default() -= 1;
                        }
                    }
                    for old in &batch.removals {
                        items.remove(&old.key.0)?;
                        digests.remove(&old.key.0)?;
                        drop_signature(&old.key)?;
                        if let Some(slug) = &old.entry.slug {
                            slugs.remove(slug.as_bytes())?;
                        }
                    }
                    for (_, new) in &batch.upserts {
                        items.insert(&new.key.0, encode(new))?;
                        digests.insert(&new.key.0, &new.digest)?;
                        by_time.insert(keys::by_time(new).as_slice(), &[])?;
                        let mark = joined.get(&new.key).map_or(&[][..], Vec::as_slice);
                        if by_source
                            .insert(keys::by_source(new).as_slice(), mark)?
                            .is_none()
                        {
                            *counted.entry(new.source.as_str()).or_default() += 1;
                        }
                        let tomb = tomb_key(&new.key);
                        if maybe(filter::Tag::Tombstone, &tomb) {
                            tombstones.remove(tomb)?;
                        }
                    }
                    for (slug, key) in &batch.slugs {
                        slugs.insert(slug.as_bytes(), &key.0)?;
                    }
                    for (alias, key) in &batch.aliases {
                        aliases.insert(alias.as_bytes(), &key.0)?;
                    }
                    for (key, sig) in &batch.signatures {
                        drop_signature(key)?;
                        near_sig.insert(&key.0, sig.to_bytes())?;
                        for band in sig.bands() {
                            // A new bucket (most of them) is not read.
                            let bucket = match maybe(filter::Tag::Band, &band) {
                                true => near_bands.get(band)?,
                                false => None,
                            };
                            if let Some(bucket) = bucket_with(bucket.as_deref(), key) {
                                near_bands.insert(&band, bucket)?;
                            }
                        }
                    }
                    for (key, tombstone) in &batch.tombstones {
                        tombstones.insert(tomb_key(key), encode(tombstone))?;
                    }
                    for (key, tombstone) in &batch.expired_tombstones {
                        tombstones.remove(tomb_key(key))?;
                        for alias in &tombstone.aliases {
                            // Only aliases that still point at the gone item.
                            if aliases
                                .get(alias.as_bytes())?
                                .is_some_and(|k| k.as_ref() == key.0)
                            {
                                aliases.remove(alias.as_bytes())?;
                            }
                        }
                    }
                    for (source, delta) in counted {
                        if delta != 0 {
                            let key = keys::count(source);
                            let now =
                                read_u64(meta.get(&key)?.as_deref()).saturating_add_signed(delta);
                            meta.insert(key, &now.to_be_bytes())?;
                        }
                    }
                    if bump {
                        let current = meta
                            .get("generation")?
                            .and_then(|raw| <[u8; 8]>::try_from(raw.as_ref()).ok())
                            .map(u64::from_be_bytes)
                            .unwrap_or(0);
                        meta.insert("generation", &current.wrapping_add(1).to_be_bytes())?;
                    }
                    Ok::<(), ConflictableTransactionError<()>>(())
                },
            );
        drop(writing);
        self.filter.check_capacity();
        match result {
            Ok(()) => {}
            Err(TransactionError::Storage(err)) => return Err(self.err(err)),
            Err(TransactionError::Abort(())) => unreachable!("the transaction never aborts"),
        }
        if changes_index {
            for old in &batch.removals {
                self.digest_map.remove(&old.key.0);
            }
            for (_, new) in &batch.upserts {
                self.digest_map.set(&new.key.0, &new.digest);
            }
        }
        self.flush_to_disk().await?;
        Ok(())
    }

    /// Sets the filter bits of every key `batch` may add to the filtered
    /// trees (more than it writes is harmless: a false positive).
    fn set_filter_bits(&self, batch: &Batch, tomb_key: &dyn Fn(&ItemKey) -> Vec<u8>) {
        use filter::Tag;
        for (_, new) in &batch.upserts {
            self.filter.insert(Tag::Item, &new.key.0);
        }
        for (alias, _) in &batch.aliases {
            self.filter.insert(Tag::Alias, alias.as_bytes());
        }
        for (key, sig) in &batch.signatures {
            self.filter.insert(Tag::Signature, &key.0);
            for band in sig.bands() {
                self.filter.insert(Tag::Band, &band);
            }
        }
        for (key, _) in &batch.tombstones {
            self.filter.insert(Tag::Tombstone, &tomb_key(key));
        }
    }

    /// Bytes of memory the in-memory indexes hold: the index filter in use
    /// and the digest map.
    pub fn index_memory_bytes(&self) -> u64 {
        self.filter.stats().bytes + self.digest_map.stats().1
    }

    /// The digest map's items and the bytes of its table.
    pub fn digest_map_stats(&self) -> (u64, u64) {
        self.digest_map.stats()
    }

    /// The index filter's state: memory, keys, build times.
    pub fn filter_stats(&self) -> filter::FilterStats {
        self.filter.stats()
    }

    /// Waits (blocking) until neither the filter scan nor the digest map
    /// scan runs, at most `limit`; true when both are then ready. For
    /// tests and benchmarks.
    pub fn wait_for_indexes(&self, limit: std::time::Duration) -> bool {
        let start = std::time::Instant::now();
        while (self.filter.building() || self.digest_map.scanning()) && start.elapsed() < limit {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        !self.filter.building() && self.filter.ready() && self.digest_map.ready()
    }

    /// Writes only a source's poll state (a 304, an error).
    pub async fn put_poll_state(&self, source: &str, state: &PollState) -> Result<(), StoreError> {
        self.sources
            .insert(source.as_bytes(), encode(state))
            .map_err(|e| self.err(e))?;
        self.flush_to_disk().await?;
        Ok(())
    }

    pub fn poll_state(&self, source: &str) -> Result<Option<PollState>, StoreError> {
        match self
            .sources
            .get(source.as_bytes())
            .map_err(|e| self.err(e))?
        {
            None => Ok(None),
            Some(raw) => decode(&raw, source).map(Some),
        }
    }

    pub fn item(&self, key: &ItemKey) -> Result<Option<StoredItem>, StoreError> {
        match self.items.get(key.0).map_err(|e| self.err(e))? {
            None => Ok(None),
            Some(raw) => {
                self.reads
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                decode(&raw, &key.to_hex()).map(Some)
            }
        }
    }

    /// How many items [`Store::item`] (and so every feed read) has decoded
    /// since the store was opened: what tests and benchmarks bound a
    /// render's reads with.
    pub fn items_read(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The `by_source` value of each duplicate `batch` writes: the key and
    /// source of the item it joined (from the batch, which rewrites that
    /// item when the merge is new, else read once). A duplicate whose item
    /// is gone gets none: it stands for itself.
    fn joined_marks(&self, batch: &Batch) -> Result<HashMap<ItemKey, Vec<u8>>, StoreError> {
        let mut marks = HashMap::new();
        for (_, new) in &batch.upserts {
            let Some(primary) = new.duplicate_of else {
                continue;
            };
            let in_batch = batch
                .upserts
                .iter()
                .find(|(_, i)| i.key == primary)
                .map(|(_, i)| i.source.clone());
            let source = match in_batch {
                Some(source) => Some(source),
                None => self.item(&primary)?.map(|p| p.source),
            };
            if let Some(source) = source {
                marks.insert(new.key, joined_mark(&primary, &source));
            }
        }
        Ok(marks)
    }

    /// Writes the joined item into the `by_source` row of every stored
    /// duplicate (stores written before the rows carried it; one pass).
    fn mark_duplicates(&self) -> Result<(), StoreError> {
        let mut marked = 0u64;
        for row in self.items.iter() {
            let (key, raw) = row.map_err(|e| self.err(e))?;
            let Ok(item) = decode::<StoredItem>(&raw, &hex::encode(&key)) else {
                continue;
            };
            let Some(primary) = item.duplicate_of else {
                continue;
            };
            if let Some(p) = self.item(&primary)? {
                self.by_source
                    .insert(keys::by_source(&item), joined_mark(&primary, &p.source))
                    .map_err(|e| self.err(e))?;
                marked += 1;
            }
        }
        if marked > 0 {
            tracing::info!(
                duplicates = marked,
                "store: duplicates marked in the source index"
            );
        }
        Ok(())
    }

    pub fn item_by_slug(&self, slug: &str) -> Result<Option<StoredItem>, StoreError> {
        match self.slugs.get(slug.as_bytes()).map_err(|e| self.err(e))? {
            None => Ok(None),
            Some(raw) => match <[u8; 16]>::try_from(raw.as_ref()) {
                Ok(key) => self.item(&ItemKey(key)),
                Err(_) => Ok(None),
            },
        }
    }

    /// The item key a slug points at, if any.
    pub fn slug_owner(&self, slug: &str) -> Result<Option<ItemKey>, StoreError> {
        Ok(self
            .slugs
            .get(slug.as_bytes())
            .map_err(|e| self.err(e))?
            .and_then(|raw| <[u8; 16]>::try_from(raw.as_ref()).ok().map(ItemKey)))
    }

    /// Every stored item of one source, newest first.
    pub fn source_items(&self, source: &str) -> Result<Vec<StoredItem>, StoreError> {
        let prefix = keys::source_prefix(source);
        let mut out = Vec::new();
        for row in self.by_source.scan_prefix(&prefix) {
            let (k, _) = row.map_err(|e| self.err(e))?;
            if let Some(key) = keys::item_key_suffix(&k)
                && let Some(item) = self.item(&key)?
            {
                out.push(item);
            }
        }
        Ok(out)
    }

    /// The `upstream_id` (a local article's path) and key of every item of
    /// `source`, read without decoding the rest of each item: what a local
    /// folder's rescan compares its files with. Not counted in
    /// [`Store::items_read`].
    pub fn source_upstream_ids(&self, source: &str) -> Result<Vec<(String, ItemKey)>, StoreError> {
        #[derive(Deserialize)]
        struct IdOnly {
            entry: EntryIdOnly,
        }
        #[derive(Deserialize)]
        struct EntryIdOnly {
            #[serde(default)]
            upstream_id: Option<String>,
        }
        let prefix = keys::source_prefix(source);
        let mut out = Vec::new();
        for row in self.by_source.scan_prefix(&prefix) {
            let (k, _) = row.map_err(|e| self.err(e))?;
            let Some(key) = keys::item_key_suffix(&k) else {
                continue;
            };
            if let Some(raw) = self.items.get(key.0).map_err(|e| self.err(e))? {
                let item: IdOnly = decode(&raw, &key.to_hex())?;
                if let Some(id) = item.entry.upstream_id {
                    out.push((id, key));
                }
            }
        }
        Ok(out)
    }

    /// How many items `source` has: a counter kept with its `by_source`
    /// rows in the same transactions, so one read whatever the source's size.
    pub fn source_item_count(&self, source: &str) -> usize {
        match self.meta.get(keys::count(source)) {
            Ok(raw) => usize::try_from(read_u64(raw.as_deref())).unwrap_or(usize::MAX),
            Err(err) => {
                tracing::warn!(%source, %err, "item count unreadable; counting the index");
                self.by_source
                    .scan_prefix(keys::source_prefix(source))
                    .count()
            }
        }
    }

    /// Counts every source's `by_source` rows and stores the counters
    /// (a migration, and the reference the counters are tested against).
    fn recount_sources(&self) -> Result<HashMap<String, u64>, StoreError> {
        for row in self.meta.scan_prefix(keys::count("")).keys() {
            let key = row.map_err(|e| self.err(e))?;
            self.meta.remove(key).map_err(|e| self.err(e))?;
        }
        let mut counts: HashMap<String, u64> = HashMap::new();
        for row in self.by_source.iter().keys() {
            let key = row.map_err(|e| self.err(e))?;
            let Some(end) = key.iter().position(|b| *b == 0) else {
                continue;
            };
            let source = String::from_utf8_lossy(key.get(..end).unwrap_or_default());
            *counts.entry(source.into_owned()).or_default() += 1;
        }
        for (source, n) in &counts {
            self.meta
                .insert(keys::count(source), &n.to_be_bytes())
                .map_err(|e| self.err(e))?;
        }
        Ok(counts)
    }

    /// Up to `limit` items of the given sources, newest first (ties broken
    /// by item key, so the order is deterministic).
    ///
    /// Cross-source duplicates are published once: when the item a
    /// duplicate joined belongs to one of `sources`, only that item is
    /// returned, its `merged` list cut to the duplicates from `sources`
    /// that are still stored. Otherwise the duplicate stands for itself.
    pub fn newest_items(
        &self,
        sources: &HashSet<&str>,
        limit: usize,
    ) -> Result<Vec<StoredItem>, StoreError> {
        self.newest_items_where(sources, limit, |_| true)
    }

    /// Up to `limit` items of the given sources that `keep` accepts, newest
    /// first (ties broken by item key). Merges the sources' own indexes
    /// (keys only) and reads just the items it returns or `keep` rejects, so
    /// the cost grows with `limit` and the number of sources, not with the
    /// size of the store nor the number of duplicates: a duplicate whose
    /// joined item is published instead is told from its index row (which
    /// names that item and its source) without being read. With a `keep`
    /// that accepts everything, at most `limit` items are decoded.
    pub fn newest_items_where(
        &self,
        sources: &HashSet<&str>,
        limit: usize,
        keep: impl Fn(&StoredItem) -> bool,
    ) -> Result<Vec<StoredItem>, StoreError> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        // One cursor per source; the heap holds each cursor's next index
        // key without its source prefix: (published desc, item key), the
        // order of `by_time`.
        let mut cursors: Vec<(usize, sled::Iter)> = sources
            .iter()
            .map(|s| {
                let prefix = keys::source_prefix(s);
                (prefix.len(), self.by_source.scan_prefix(prefix))
            })
            .collect();
        let mut heap = BinaryHeap::new();
        type Head = (Vec<u8>, sled::IVec);
        let next = |cursor: &mut (usize, sled::Iter)| -> Result<Option<Head>, StoreError> {
            match cursor.1.next() {
                None => Ok(None),
                Some(row) => {
                    let (k, mark) = row.map_err(|e| self.err(e))?;
                    Ok(k.get(cursor.0..).map(|k| (k.to_vec(), mark)))
                }
            }
        };
        for (i, cursor) in cursors.iter_mut().enumerate() {
            if let Some((head, mark)) = next(cursor)? {
                heap.push(Reverse((head, i, mark)));
            }
        }
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(Reverse((head, i, mark))) = heap.pop() else {
                break;
            };
            if let Some(cursor) = cursors.get_mut(i)
                && let Some((following, mark)) = next(cursor)?
            {
                heap.push(Reverse((following, i, mark)));
            }
            let Some(key) = keys::item_key_suffix(&head) else {
                continue;
            };
            // A cross-source duplicate is published as the item it joined
            // when that item's source is in the feed too (and the item is
            // still stored); told from the index row, without reading either.
            if let Some((primary, source)) = read_joined_mark(&mark)
                && sources.contains(source)
                && self
                    .items
                    .contains_key(primary.0)
                    .map_err(|e| self.err(e))?
            {
                continue;
            }
            let Some(mut item) = self.item(&key)? else {
                continue;
            };
            if !keep(&item) {
                continue;
            }
            let mut merged = Vec::new();
            for record in std::mem::take(&mut item.merged) {
                if sources.contains(record.source.as_str())
                    && self
                        .items
                        .contains_key(record.key.0)
                        .map_err(|e| self.err(e))?
                {
                    merged.push(record);
                }
            }
            item.merged = merged;
            out.push(item);
        }
        Ok(out)
    }

    /// (key, published) of every item of one source, newest first, read
    /// from the `by_source` index alone.
    pub fn source_keys(&self, source: &str) -> Result<Vec<(ItemKey, DateTime<Utc>)>, StoreError> {
        let prefix = keys::source_prefix(source);
        let mut out = Vec::new();
        for row in self.by_source.scan_prefix(&prefix) {
            let (k, _) = row.map_err(|e| self.err(e))?;
            if let Some((key, at)) = keys::by_source_parts(&k, prefix.len()) {
                out.push((key, at));
            }
        }
        Ok(out)
    }

    /// Every tombstone of one source.
    pub fn tombstones(&self, source: &str) -> Result<Vec<(ItemKey, Tombstone)>, StoreError> {
        let prefix = keys::source_prefix(source);
        let mut out = Vec::new();
        for row in self.tombstones.scan_prefix(&prefix) {
            let (k, raw) = row.map_err(|e| self.err(e))?;
            if let Some(key) = keys::item_key_suffix(&k) {
                out.push((key, decode(&raw, "tombstone")?));
            }
        }
        Ok(out)
    }

    /// The item key a dedup alias points at.
    pub fn alias(&self, alias: &str) -> Result<Option<ItemKey>, StoreError> {
        Ok(self
            .aliases
            .get(alias.as_bytes())
            .map_err(|e| self.err(e))?
            .and_then(|raw| <[u8; 16]>::try_from(raw.as_ref()).ok().map(ItemKey)))
    }

    /// The item whose published id is `public_id` (a `urn:uuid:` minted by
    /// `dedup::mint_public_id`): the uuid keeps the key's first 6 bytes, so
    /// this scans only the keys that share them.
    pub fn item_by_public_id(&self, public_id: &str) -> Result<Option<StoredItem>, StoreError> {
        let hex: String = public_id
            .trim()
            .trim_start_matches("urn:uuid:")
            .chars()
            .filter(|c| *c != '-')
            .collect();
        let Some(prefix) = hex.get(..12).and_then(|h| hex::decode(h).ok()) else {
            return Ok(None);
        };
        for row in self.items.scan_prefix(&prefix) {
            let (k, raw) = row.map_err(|e| self.err(e))?;
            let item: StoredItem = decode(&raw, &hex::encode(&k))?;
            if item.public_id == public_id.trim() {
                return Ok(Some(item));
            }
        }
        Ok(None)
    }

    /// The near-duplicate signature stored for an item.
    pub fn signature(&self, key: &ItemKey) -> Result<Option<Signature>, StoreError> {
        Ok(self
            .near_sig
            .get(key.0)
            .map_err(|e| self.err(e))?
            .and_then(|raw| Signature::from_bytes(&raw)))
    }

    /// Every source's item counter added up (not `Tree::len`, a scan of
    /// every item: on a store whose writes fail it spun and grew memory).
    pub fn item_count(&self) -> usize {
        self.meta
            .scan_prefix(keys::count(""))
            .values()
            .filter_map(Result::ok)
            .map(|raw| usize::try_from(read_u64(Some(&raw))).unwrap_or(usize::MAX))
            .fold(0usize, usize::saturating_add)
    }

    /// Bytes the database takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    pub async fn flush(&self) -> Result<(), StoreError> {
        self.flush_to_disk().await?;
        Ok(())
    }

    /// Returns once what this caller wrote before is on disk. Group
    /// commit: one flush at a time, and a writer whose write an already
    /// finished flush covered returns without flushing, so that a round of
    /// many refreshes pays one flush per group of writers that arrived
    /// during the previous flush, not one per refresh. A flush that fails
    /// covers nobody: each waiter then flushes (and fails) itself.
    ///
    /// Flushes on a blocking thread. Not `sled::Db::flush_async`: in sled
    /// 0.34 concurrent `flush_async` calls deadlock (spacejam/sled#1308,
    /// #1241); the poller benchmark hung on it with 20 concurrent 304s.
    async fn flush_to_disk(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering::SeqCst;
        let gate = &self.flushes;
        let ticket = gate.written.fetch_add(1, SeqCst) + 1;
        let _turn = gate.turn.lock().await;
        if gate.flushed.load(SeqCst) >= ticket {
            return Ok(());
        }
        // Every ticket handed out so far is a write already in memory:
        // sled's flush, started after them, makes them all durable.
        let covers = gate.written.load(SeqCst);
        gate.made.fetch_add(1, SeqCst);
        let db = self.db.clone();
        match tokio::task::spawn_blocking(move || db.flush()).await {
            Ok(Ok(_)) => {
                gate.flushed.fetch_max(covers, SeqCst);
                Ok(())
            }
            Ok(Err(e)) => Err(self.err(e)),
            Err(join) => Err(self.err(sled::Error::Io(std::io::Error::other(format!(
                "flush task failed: {join}"
            ))))),
        }
    }

    /// How many flushes the writes so far took (see
    /// [`Handles::flush_to_disk`]).
    pub fn flushes_made(&self) -> u64 {
        self.flushes.made.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Dedup's lookups, each behind the index filter: a key the filter has not
/// seen is absent without a `get`.
impl dedup::Index for &Handles {
    type Error = StoreError;

    fn item(&mut self, key: &ItemKey) -> Result<Option<StoredItem>, StoreError> {
        let asked_filter = match self.digest_map.get(&key.0) {
            digest_map::Lookup::Absent => return Ok(None),
            // Stored (or a key-prefix collision): the filter would say
            // "maybe" too.
            digest_map::Lookup::Digest(_) => false,
            digest_map::Lookup::NotReady if !self.filter.check(filter::Tag::Item, &key.0) => {
                return Ok(None);
            }
            digest_map::Lookup::NotReady => true,
        };
        let item = Handles::item(self, key)?;
        if item.is_none() && asked_filter {
            self.filter.note_miss();
        }
        Ok(item)
    }

    /// From the in-memory [`digest_map`] once it is built; before that
    /// from the small `digests` tree. An item without a digest row (not
    /// expected: both are written in one transaction) is read whole.
    fn compare_digest(
        &mut self,
        key: &ItemKey,
        digest: &[u8; 16],
    ) -> Result<dedup::Stored, StoreError> {
        use dedup::Stored;
        match self.digest_map.get(&key.0) {
            digest_map::Lookup::Absent => return Ok(Stored::Missing),
            digest_map::Lookup::Digest(d) if d == digest_map::prefix(digest) => {
                return Ok(Stored::Same);
            }
            digest_map::Lookup::Digest(_) => return Ok(Stored::Other),
            digest_map::Lookup::NotReady => {}
        }
        if !self.filter.check(filter::Tag::Item, &key.0) {
            return Ok(Stored::Missing);
        }
        let row = self.digests.get(key.0).map_err(|e| self.err(e))?;
        let stored = match row.and_then(|raw| <[u8; 16]>::try_from(raw.as_ref()).ok()) {
            Some(stored) => Some(stored),
            None => Handles::item(self, key)?.map(|item| item.digest),
        };
        Ok(match stored {
            None => {
                self.filter.note_miss();
                Stored::Missing
            }
            Some(stored) if stored == *digest => Stored::Same,
            Some(_) => Stored::Other,
        })
    }

    fn alias(&mut self, alias: &str) -> Result<Option<ItemKey>, StoreError> {
        if !self.filter.check(filter::Tag::Alias, alias.as_bytes()) {
            return Ok(None);
        }
        let found = Handles::alias(self, alias)?;
        if found.is_none() {
            self.filter.note_miss();
        }
        Ok(found)
    }

    fn tombstone(
        &mut self,
        source: &str,
        key: &ItemKey,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut k = keys::source_prefix(source);
        k.extend_from_slice(&key.0);
        if !self.filter.check(filter::Tag::Tombstone, &k) {
            return Ok(None);
        }
        match self.tombstones.get(k).map_err(|e| self.err(e))? {
            None => {
                self.filter.note_miss();
                Ok(None)
            }
            Some(raw) => Ok(Some(decode::<Tombstone>(&raw, "tombstone")?.until)),
        }
    }

    fn near_candidates(
        &mut self,
        signature: &Signature,
    ) -> Result<Vec<(ItemKey, Signature)>, StoreError> {
        // (key, bands shared): the keys sharing most bands are compared.
        let mut found: Vec<(ItemKey, usize)> = Vec::new();
        let bands = signature.bands();
        let maybe = self
            .filter
            .check_each(filter::Tag::Band, bands.iter().map(|b| &b[..]));
        for (band, maybe) in bands.into_iter().zip(maybe) {
            if !maybe {
                continue;
            }
            let Some(bucket) = self.near_bands.get(band).map_err(|e| self.err(e))? else {
                self.filter.note_miss();
                continue;
            };
            for chunk in bucket.chunks_exact(16) {
                if let Ok(key) = <[u8; 16]>::try_from(chunk).map(ItemKey) {
                    match found.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, shared)) => *shared += 1,
                        None => found.push((key, 1)),
                    }
                }
            }
        }
        found.sort_by_key(|f| std::cmp::Reverse(f.1));
        found.truncate(dedup::near::MAX_CANDIDATES);
        let mut out = Vec::with_capacity(found.len());
        for (key, _) in found {
            if let Some(sig) = self.signature(&key)? {
                out.push((key, sig));
            }
        }
        Ok(out)
    }
}

/// A band bucket with `key` added; `None` when it is already there or the
/// bucket is full.
fn bucket_with(bucket: Option<&[u8]>, key: &ItemKey) -> Option<Vec<u8>> {
    let bucket = bucket.unwrap_or_default();
    if bucket.chunks_exact(16).any(|k| k == key.0) || bucket.len() / 16 >= BAND_CAP {
        return None;
    }
    let mut out = bucket.to_vec();
    out.extend_from_slice(&key.0);
    Some(out)
}

/// A band bucket without `key`; `None` when it was not there.
fn bucket_without(bucket: Option<&[u8]>, key: &ItemKey) -> Option<Vec<u8>> {
    let bucket = bucket?;
    if !bucket.chunks_exact(16).any(|k| k == key.0) {
        return None;
    }
    Some(
        bucket
            .chunks_exact(16)
            .filter(|k| *k != key.0)
            .flatten()
            .copied()
            .collect(),
    )
}

/// The `by_source` value of a duplicate: the key and source of the item it
/// joined.
fn joined_mark(primary: &ItemKey, source: &str) -> Vec<u8> {
    let mut mark = primary.0.to_vec();
    mark.extend_from_slice(source.as_bytes());
    mark
}

/// The item and source a `by_source` value names (`None`: not a duplicate).
fn read_joined_mark(mark: &[u8]) -> Option<(ItemKey, &str)> {
    let key: [u8; 16] = mark.get(..16)?.try_into().ok()?;
    let source = std::str::from_utf8(mark.get(16..)?).ok()?;
    Some((ItemKey(key), source))
}

// Serializing our own plain structs (string map keys only) into a Vec
// cannot fail: no I/O, no non-string keys.
#[allow(clippy::expect_used)]
fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(&Versioned {
        v: SCHEMA_VERSION,
        value,
    })
    .expect("plain data serializes to JSON")
}

fn decode<T: for<'de> Deserialize<'de>>(raw: &[u8], what: &str) -> Result<T, StoreError> {
    serde_json::from_slice::<Versioned<T>>(raw)
        .map(|v| v.value)
        .map_err(|e| StoreError::Corrupt {
            key: what.to_string(),
            reason: e.to_string(),
        })
}

fn is_lock_error(err: &sled::Error) -> bool {
    match err {
        sled::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::WouldBlock
                || io.to_string().contains("lock")
                || io.raw_os_error() == Some(11)
        }
        _ => false,
    }
}

/// The live process named in the store's pid file, if any: the process
/// that holds the store (the pid file is written by whoever opens it).
pub fn holder_pid(path: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(path.join(PID_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Path::new("/proc")
        .join(pid.to_string())
        .exists()
        .then_some(pid)
}

fn describe_holder(path: &Path) -> String {
    holder_pid(path).map_or_else(String::new, |pid| format!(" (pid {pid})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Entry;

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
    async fn a_full_filter_is_rebuilt_larger_without_losing_keys() {
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
        assert!(now.builds >= 2, "{now:?}");
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
                !i.entry.title.as_deref().unwrap_or("").starts_with('a')
            })
            .unwrap()
            .iter()
            .map(title)
            .collect();
        assert_eq!(got, vec!["c 9", "b 8", "c 6"]);
        assert_eq!(store.newest_items(&all, 100).unwrap().len(), 10);
    }
}
