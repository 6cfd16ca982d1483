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
//! | `near_bands` | band (1 byte) + band hash (8 bytes) | item keys sharing it (16 bytes each, at most [`BAND_CAP`]); written around the transaction, not in it (see `write`): it may list a key with no signature, which a lookup skips |
//! | `pages` | source id + NUL + an item's link | a `full_text` source's [`PageRecord`] of the page (JSON): a cache, written outside the item transactions, not exported |
//! | `finished` | source id | what the remote source's last document's entries became: pairs of an unfinished entry's digest and its content digest (16 + 16 bytes each); a cache, so that unchanged entries are not sanitized again, written outside the item transactions, not exported |
//! | `webhooks` | feed name + NUL + webhook URL | the feed's published ids the receiver was last sent or owed (JSON) |
//! | `deliveries` | created (8 bytes BE microseconds) + delivery id | a [`Delivery`] owed (JSON), written with the `webhooks` row in one transaction |
//! | `websub` | source id + NUL + topic URL | a WebSub [`Subscription`] of the source (JSON) |
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
//! A feed's newest items are read by merging its sources' `by_source` rows,
//! opening only the sources whose newest row ([`heads`], in memory) can be
//! among the items returned, so a read costs the same whether the feed has
//! 20 sources or 20,000; each source's item count is also kept in memory
//! (from its `meta` counter), for the archive's page count.
//!
//! Schema history: 1 (foundation) -> 2 (dedup trees and the generation) ->
//! 3 (`digests`, per-source item counts). An older store is migrated when opened: the new trees are
//! filled from the stored items (one pass over them, logged); items keep
//! their keys and published ids.
//!
//! This file holds the types every part shares ([`Tombstone`],
//! [`StoreError`], the handles on the open trees) and the value encodings;
//! `open` opens and migrates, `write` applies batches and flushes, `read`
//! answers the reads, `stamps` keeps feed stamps, `lookups` answers dedup's
//! lookups; `tests` tests them.

pub mod backup;
mod check;
mod damage;
mod digest_map;
mod explain;
pub mod filter;
mod finished;
mod guarded;
mod heads;
mod keys;
mod lookups;
mod open;
mod pages;
mod read;
mod stamps;
#[cfg(test)]
mod tests;
mod webhooks;
mod websub;
mod write;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use crate::model::ItemKey;
#[cfg(doc)]
use crate::model::{Delivery, PageRecord, PollState, StoredItem, Subscription};

pub use check::{CheckReport, check_copy};
pub use explain::Explanation;
pub use guarded::{Committed, Health, Store};
pub use keys::time_desc;
pub use open::holder_pid;
pub use write::Batch;

use write::FlushGate;

/// Most items one LSH band bucket lists. A bucket that fills up holds
/// boilerplate shared by many items; later items are still found through
/// their other bands. Bounds the cost of a near-duplicate lookup.
pub const BAND_CAP: usize = 64;

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
#[derive(Serialize)]
struct Versioned<T> {
    v: u32,
    #[serde(flatten)]
    value: T,
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
    pages: sled::Tree,
    finished: sled::Tree,
    webhooks: sled::Tree,
    deliveries: sled::Tree,
    websub: sled::Tree,
    meta: sled::Tree,
    /// In front of the index trees (see [`filter`]).
    filter: std::sync::Arc<filter::Filter>,
    /// Every item's digest in memory (see [`digest_map`]).
    digest_map: std::sync::Arc<digest_map::DigestMap>,
    /// Items decoded by [`Store::item`] and the feed reads (see
    /// [`Store::items_read`]).
    reads: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Each source's item count, as its `meta` counter holds it (read at
    /// open, then kept by the writes): a feed of 20,000 sources counts its
    /// archive's items without 20,000 gets.
    counts: std::sync::RwLock<std::collections::HashMap<String, u64>>,
    /// Each source's newest `by_source` row (see [`heads`]).
    heads: heads::Heads,
    /// `by_source` cursors the feed reads opened (see
    /// [`Store::sources_opened`]).
    opened: std::sync::atomic::AtomicU64,
    /// Group commit (see [`Handles::flush_to_disk`]).
    flushes: std::sync::Arc<FlushGate>,
}

impl Handles {
    fn err(&self, source: sled::Error) -> StoreError {
        classify(&self.path, source)
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

/// Reads a row written by [`encode`]: `{"v":N, ...}` with the value's own
/// fields. They are read straight into `T`, which ignores `v` (no stored
/// type has such a field): decoding through [`Versioned`]'s `flatten` made
/// serde buffer every row whole before reading it, which took half the
/// time of a round of near-duplicate merges (BENCHMARKS.md).
fn decode<T: for<'de> Deserialize<'de>>(raw: &[u8], what: &str) -> Result<T, StoreError> {
    serde_json::from_slice::<T>(raw).map_err(|e| StoreError::Corrupt {
        key: what.to_string(),
        reason: e.to_string(),
    })
}
