//! [`Store`], the handle every other module holds: the open database
//! behind a lock, so that it can be reopened without a restart, and every
//! call into sled guarded.
//!
//! - **Damage**: every call runs under [`damage::catch`]; a panic inside
//!   sled is [`StoreError::Damaged`], never the end of the process.
//! - **Write errors** (a full disk, an I/O error): sled 0.34 keeps the first
//!   write error and fails every later write with it until the database is
//!   opened again. A failed write marks the store not writable
//!   ([`Store::health`]); poll states that could not be saved are kept in
//!   memory and read from there (so `sources`, `/` and `/metrics` show the
//!   failures); [`Store::recover`] (run by the daemon every few seconds
//!   while the store is not writable) tries a small write next to the
//!   store, and once that works reopens the database, writes the kept poll
//!   states and marks the store writable again. What a refresh wrote is
//!   acknowledged only after its flush, so a reopen loses nothing that was
//!   acknowledged.
//! - **Lost writes**: after each write that changes items the store's
//!   generation is written to a small file beside it ([`GENERATION_FILE`]);
//!   a data file that opens with an older generation lost acknowledged
//!   writes (truncated, rolled back) and is reported as damaged.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use futures_util::FutureExt;

use super::{Batch, Explanation, Handles, StoreError, Tombstone, backup, damage, filter};
use crate::dedup::{self, Signature};
use crate::model::{Delivery, ItemKey, PageRecord, PollState, StoredItem, Subscription};

/// The file beside the database that holds the generation of the last
/// acknowledged write that changed items.
pub const GENERATION_FILE: &str = "syndic.generation";

/// The file [`Store::recover`] writes to see whether the disk takes writes.
const PROBE_FILE: &str = "syndic.write-probe";

/// Bytes the probe writes: more than sled needs to go on (a log segment is
/// 512 KiB).
const PROBE_BYTES: usize = 1024 * 1024;

/// The store (see the module docs of [`crate::store`] for what it holds).
/// Clones share one database.
#[derive(Clone)]
pub struct Store {
    path: PathBuf,
    shared: Arc<Shared>,
}

struct Shared {
    /// `None` only while a reopen is under way.
    current: RwLock<Option<Arc<Handles>>>,
    /// Held from a refresh's dedup reads to its write (see
    /// [`Store::ingest_lock`]).
    ingest: tokio::sync::Mutex<()>,
    writable: AtomicBool,
    /// Since when and why writes fail (while they do).
    failure: Mutex<Option<(DateTime<Utc>, String)>>,
    /// Poll states that could not be written, by source.
    unsaved: Mutex<HashMap<String, PollState>>,
    /// Serializes [`Store::recover`].
    recovering: tokio::sync::Mutex<()>,
    /// The generation last written to [`GENERATION_FILE`] by this process.
    noted: Mutex<u64>,
}

/// A batch [`Store::commit`] wrote: seen by every reader, acknowledged once
/// [`Store::settle`] has flushed it.
#[must_use = "a committed batch is acknowledged only once settled"]
pub struct Committed {
    /// The store's generation after the batch, when it changed items.
    generation: Option<u64>,
}

/// Whether the store takes writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Health {
    pub writable: bool,
    /// When writes started failing.
    pub since: Option<DateTime<Utc>>,
    /// The last write error.
    pub cause: Option<String>,
    /// Poll states kept in memory until the store takes writes again.
    pub unsaved_poll_states: usize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Opens the database, a panic inside sled and a data file that lost
/// acknowledged writes reported as [`StoreError::Damaged`].
fn open_handles(path: &Path) -> Result<Handles, StoreError> {
    let handles =
        damage::catch(|| Handles::open(path)).map_err(|found| StoreError::Damaged {
            path: path.to_path_buf(),
            found,
        })??;
    let acknowledged = std::fs::read_to_string(path.join(GENERATION_FILE))
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok());
    if let Some(acknowledged) = acknowledged {
        let found = damage::catch(|| handles.generation()).unwrap_or(0);
        if found < acknowledged {
            return Err(StoreError::Damaged {
                path: path.to_path_buf(),
                found: format!(
                    "its data file holds writes up to generation {found}, but writes up to \
                     generation {acknowledged} were acknowledged ({GENERATION_FILE}): it lost \
                     recent writes (truncated or rolled back)"
                ),
            });
        }
    }
    Ok(handles)
}

/// Notes `generation` as acknowledged (best effort: a missing or older
/// file only weakens the check at open).
fn note_generation(path: &Path, generation: u64) {
    let tmp = path.join(format!("{GENERATION_FILE}.tmp"));
    if std::fs::write(&tmp, generation.to_string()).is_ok() {
        let _ = std::fs::rename(&tmp, path.join(GENERATION_FILE));
    }
}

/// Writes, syncs and removes a file of [`PROBE_BYTES`] in `dir`.
fn probe_write(dir: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let path = dir.join(PROBE_FILE);
    let result = (|| {
        let mut file = std::fs::File::create(&path)?;
        file.write_all(&vec![0u8; PROBE_BYTES])?;
        file.sync_all()
    })();
    let _ = std::fs::remove_file(&path);
    result
}

impl Store {
    /// Opens (creating if absent) the store at `path`. Fails with
    /// [`StoreError::Locked`] when another process holds it and with
    /// [`StoreError::Damaged`] when its files are damaged (never a panic).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let handles = open_handles(path)?;
        Ok(Store {
            path: path.to_path_buf(),
            shared: Arc::new(Shared {
                current: RwLock::new(Some(Arc::new(handles))),
                ingest: tokio::sync::Mutex::new(()),
                writable: AtomicBool::new(true),
                failure: Mutex::new(None),
                unsaved: Mutex::new(HashMap::new()),
                recovering: tokio::sync::Mutex::new(()),
                noted: Mutex::new(0),
            }),
        })
    }

    fn handles(&self) -> Result<Arc<Handles>, StoreError> {
        let current = match self.shared.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        current.ok_or_else(|| StoreError::Reopening {
            path: self.path.clone(),
            cause: self.health().cause.unwrap_or_default(),
        })
    }

    /// Runs `f` on the open database; a panic in sled is
    /// [`StoreError::Damaged`].
    fn with<T>(&self, f: impl FnOnce(&Handles) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let handles = self.handles()?;
        damage::catch(|| f(&handles)).unwrap_or_else(|found| {
            Err(StoreError::Damaged {
                path: self.path.clone(),
                found,
            })
        })
    }

    /// `f` on the open database, or `T::default()` when it fails.
    fn value<T: Default>(&self, f: impl FnOnce(&Handles) -> T) -> T {
        self.with(|h| Ok(f(h))).unwrap_or_default()
    }

    /// Notes a failed write: the store is not writable until
    /// [`Store::recover`] says otherwise.
    fn write_failed(&self, err: &StoreError) {
        if !matches!(err, StoreError::Sled { .. }) {
            return;
        }
        let mut failure = lock(&self.shared.failure);
        let since = failure.as_ref().map_or_else(Utc::now, |(since, _)| *since);
        if self.shared.writable.swap(false, Ordering::AcqRel) {
            tracing::error!(path = %self.path.display(), error = %err, "store: writes fail; \
                refreshes fail until it takes writes again (retried every few seconds)");
        }
        *failure = Some((since, err.to_string()));
    }

    /// Whether the store takes writes, and since when it does not.
    pub fn health(&self) -> Health {
        let failure = lock(&self.shared.failure).clone();
        Health {
            writable: self.shared.writable.load(Ordering::Acquire),
            since: failure.as_ref().map(|(since, _)| *since),
            cause: failure.map(|(_, cause)| cause),
            unsaved_poll_states: lock(&self.shared.unsaved).len(),
        }
    }

    pub fn writable(&self) -> bool {
        self.shared.writable.load(Ordering::Acquire)
    }

    /// While the store is not writable: tries a small write beside it and,
    /// when that works, reopens the database (sled keeps failing after a
    /// write error until then), writes the poll states kept in memory and
    /// marks the store writable. True when the store is writable after it.
    pub async fn recover(&self) -> bool {
        if self.writable() {
            return true;
        }
        let _one = self.shared.recovering.lock().await;
        if self.writable() {
            return true;
        }
        let dir = self.path.clone();
        match tokio::task::spawn_blocking(move || probe_write(&dir)).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::debug!(%err, "store: the disk does not take writes yet");
                return false;
            }
            Err(_) => return false,
        }
        // The old database must be closed (all its handles dropped) before
        // it can be opened again: its file lock is per open file.
        let old = match self.shared.current.write() {
            Ok(mut current) => current.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        drop(old);
        let path = self.path.clone();
        let opened = tokio::task::spawn_blocking(move || open_handles(&path)).await;
        let handles = match opened {
            Ok(Ok(handles)) => Arc::new(handles),
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "store: reopening failed; retrying later");
                if let Some((_, cause)) = lock(&self.shared.failure).as_mut() {
                    *cause = err.to_string();
                }
                return false;
            }
            Err(_) => return false,
        };
        match self.shared.current.write() {
            Ok(mut current) => *current = Some(handles.clone()),
            Err(poisoned) => *poisoned.into_inner() = Some(handles.clone()),
        }
        let unsaved: Vec<(String, PollState)> = lock(&self.shared.unsaved)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (source, state) in &unsaved {
            if let Err(err) = handles.put_poll_state(source, state).await {
                tracing::warn!(error = %err, "store: reopened, but writes still fail");
                return false;
            }
        }
        {
            let mut kept = lock(&self.shared.unsaved);
            for (source, state) in unsaved {
                if kept.get(&source) == Some(&state) {
                    kept.remove(&source);
                }
            }
        }
        *lock(&self.shared.failure) = None;
        self.shared.writable.store(true, Ordering::Release);
        tracing::info!(path = %self.path.display(), "store: writes work again (reopened)");
        true
    }

    /// Serializes refreshes from their dedup reads to their write, so two
    /// sources refreshed at once see each other's items (cross-source
    /// merges, aliases). Fetching and parsing stay concurrent.
    pub async fn ingest_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.shared.ingest.lock().await
    }

    /// How many batches that changed items this store has applied: stays
    /// the same when a refresh found nothing new.
    pub fn generation(&self) -> u64 {
        self.value(|h| h.generation())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a refresh's items, indexes and poll state (if the batch has
    /// it) in one transaction, then flushes to disk.
    pub async fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        let committed = self.commit(batch)?;
        self.settle(committed).await
    }

    /// [`Store::apply`] without the flush: every reader sees the batch once
    /// this returns, and it is acknowledged (on disk, its generation noted)
    /// once [`Store::settle`] returns. A refresh commits under the ingest
    /// lock and settles after releasing it, so that the next refresh's
    /// dedup and commit run while this one's flush is under way, and the
    /// refreshes that committed meanwhile share the next flush.
    pub fn commit(&self, batch: &Batch) -> Result<Committed, StoreError> {
        let handles = self.handles()?;
        let result = damage::catch(|| {
            handles.commit(batch)?;
            // Read under the caller's ingest lock: no other batch has
            // changed it since this one.
            Ok(batch.changes_items().then(|| handles.generation()))
        })
        .unwrap_or_else(|found| {
            Err(StoreError::Damaged {
                path: self.path.clone(),
                found,
            })
        });
        match result {
            Ok(generation) => {
                lock(&self.shared.unsaved).remove(&batch.source);
                Ok(Committed { generation })
            }
            Err(err) => {
                self.write_failed(&err);
                Err(err)
            }
        }
    }

    /// Flushes what `committed` wrote (sharing the flush with every writer
    /// waiting for one) and notes its generation as acknowledged.
    pub async fn settle(&self, committed: Committed) -> Result<(), StoreError> {
        self.flush().await?;
        if let Some(generation) = committed.generation {
            // Settles finish in any order: the file only moves forward.
            let mut noted = lock(&self.shared.noted);
            if generation > *noted {
                note_generation(&self.path, generation);
                *noted = generation;
            }
        }
        Ok(())
    }

    /// Writes only a source's poll state (a 304, an error). When it cannot
    /// be written it is kept in memory (and read from there) until the
    /// store takes writes again.
    pub async fn put_poll_state(&self, source: &str, state: &PollState) -> Result<(), StoreError> {
        let result = match self.handles() {
            Ok(handles) => {
                match AssertUnwindSafe(handles.put_poll_state(source, state))
                    .catch_unwind()
                    .await
                {
                    Ok(result) => result,
                    Err(_) => Err(StoreError::Damaged {
                        path: self.path.clone(),
                        found: damage::last_panic().unwrap_or_else(|| "sled panicked".into()),
                    }),
                }
            }
            Err(err) => Err(err),
        };
        match &result {
            Ok(()) => {
                lock(&self.shared.unsaved).remove(source);
            }
            Err(err) => {
                self.write_failed(err);
                lock(&self.shared.unsaved).insert(source.to_string(), state.clone());
            }
        }
        result
    }

    /// A source's poll state: the one kept in memory when it could not be
    /// written, else the stored one.
    pub fn poll_state(&self, source: &str) -> Result<Option<PollState>, StoreError> {
        if let Some(state) = lock(&self.shared.unsaved).get(source) {
            return Ok(Some(state.clone()));
        }
        self.with(|h| h.poll_state(source))
    }

    /// Every page record of a `full_text` source, by link.
    pub fn page_records(
        &self,
        source: &str,
    ) -> Result<std::collections::HashMap<String, PageRecord>, StoreError> {
        self.with(|h| h.page_records(source))
    }

    /// Writes and removes page records of `source` (a cache: not flushed
    /// here, and a failure does not make the store read-only).
    pub fn put_page_records(
        &self,
        source: &str,
        upserts: &[(String, PageRecord)],
        removals: &[String],
    ) -> Result<(), StoreError> {
        self.with(|h| h.put_page_records(source, upserts, removals))
    }

    /// The WebSub subscriptions of `source`.
    pub fn subscriptions(&self, source: &str) -> Result<Vec<Subscription>, StoreError> {
        self.with(|h| h.subscriptions(source))
    }

    /// Every WebSub subscription, with its source id.
    pub fn all_subscriptions(&self) -> Result<Vec<(String, Subscription)>, StoreError> {
        self.with(|h| h.all_subscriptions())
    }

    pub fn put_subscription(&self, source: &str, sub: &Subscription) -> Result<(), StoreError> {
        self.with(|h| h.put_subscription(source, sub))
    }

    pub fn remove_subscription(&self, source: &str, topic: &str) -> Result<(), StoreError> {
        self.with(|h| h.remove_subscription(source, topic))
    }

    /// The ids a webhook URL was last sent or owed for a feed.
    pub fn webhook_seen(&self, feed: &str, url: &str) -> Result<Option<Vec<String>>, StoreError> {
        self.with(|h| h.webhook_seen(feed, url))
    }

    /// Records a publication for a webhook: the ids it covers and its
    /// delivery, in one transaction.
    pub fn record_publication(
        &self,
        feed: &str,
        url: &str,
        seen: &[String],
        delivery: Option<&Delivery>,
    ) -> Result<(), StoreError> {
        self.with(|h| h.record_publication(feed, url, seen, delivery))
    }

    /// Every webhook delivery owed, oldest first.
    pub fn deliveries(&self) -> Result<Vec<Delivery>, StoreError> {
        self.with(|h| h.deliveries())
    }

    /// How many webhook deliveries are owed.
    pub fn deliveries_owed(&self) -> usize {
        self.value(|h| h.deliveries_owed())
    }

    /// Writes a delivery back after a failed attempt.
    pub fn put_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.with(|h| h.put_delivery(delivery))
    }

    /// Removes a delivery (sent, or given up).
    pub fn remove_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.with(|h| h.remove_delivery(delivery))
    }

    /// Removes every page record of `source`.
    pub fn clear_page_records(&self, source: &str) -> Result<(), StoreError> {
        self.with(|h| h.clear_page_records(source))
    }

    /// What `source`'s last document's entries became (see `finished`).
    pub fn finished_digests(
        &self,
        source: &str,
    ) -> Result<std::collections::HashMap<[u8; 16], [u8; 16]>, StoreError> {
        self.with(|h| h.finished_digests(source))
    }

    /// Replaces what `source`'s last document's entries became.
    pub fn put_finished_digests(
        &self,
        source: &str,
        pairs: &[([u8; 16], [u8; 16])],
    ) -> Result<(), StoreError> {
        self.with(|h| h.put_finished_digests(source, pairs))
    }

    pub fn item(&self, key: &ItemKey) -> Result<Option<StoredItem>, StoreError> {
        self.with(|h| h.item(key))
    }

    /// A feed's stamp: the digest of its published bodies and when they
    /// last changed (see `publish::render_feed`); `None` when absent or
    /// unreadable.
    pub fn feed_stamp(&self, feed: &str) -> Option<([u8; 32], DateTime<Utc>)> {
        self.value(|h| h.feed_stamp(feed))
    }

    /// Writes a feed's stamp (see [`Store::feed_stamp`]).
    pub fn set_feed_stamp(
        &self,
        feed: &str,
        digest: &[u8; 32],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let result = self.with(|h| h.set_feed_stamp(feed, digest, at));
        if let Err(err) = &result {
            self.write_failed(err);
        }
        result
    }

    /// How many items [`Store::item`] (and so every feed read) has decoded
    /// since the database was opened (tests and benchmarks bound a
    /// render's reads with it).
    pub fn items_read(&self) -> u64 {
        self.value(|h| h.items_read())
    }

    /// `by_source` cursors the feed reads opened since open: a read opens
    /// only the sources whose newest items can be among those it returns,
    /// once it has learned their heads (see `store::heads`).
    pub fn sources_opened(&self) -> u64 {
        self.value(|h| h.sources_opened())
    }

    /// How many flushes to disk the writes since the database was opened
    /// took: fewer than the writes when they are group-committed.
    pub fn flushes_made(&self) -> u64 {
        self.value(|h| h.flushes_made())
    }

    pub fn item_by_slug(&self, slug: &str) -> Result<Option<StoredItem>, StoreError> {
        self.with(|h| h.item_by_slug(slug))
    }

    /// The item key a slug points at, if any.
    pub fn slug_owner(&self, slug: &str) -> Result<Option<ItemKey>, StoreError> {
        self.with(|h| h.slug_owner(slug))
    }

    /// Every stored item of one source, newest first.
    pub fn source_items(&self, source: &str) -> Result<Vec<StoredItem>, StoreError> {
        self.with(|h| h.source_items(source))
    }

    /// Every item of `source` as its upstream id and key (see the unguarded
    /// `source_upstream_ids`).
    pub fn source_upstream_ids(&self, source: &str) -> Result<Vec<(String, ItemKey)>, StoreError> {
        self.with(|h| h.source_upstream_ids(source))
    }

    /// How many items `source` has (a counter: one read).
    pub fn source_item_count(&self, source: &str) -> usize {
        self.value(|h| h.source_item_count(source))
    }

    /// See [`Store::newest_items_where`].
    pub fn newest_items(
        &self,
        sources: &HashSet<&str>,
        limit: usize,
    ) -> Result<Vec<StoredItem>, StoreError> {
        self.with(|h| h.newest_items(sources, limit))
    }

    /// Up to `limit` items of the given sources as `pick` makes them (it
    /// may rewrite an item, or leave it out with `None`), newest first
    /// (ties broken by item key); cross-source duplicates published once
    /// (see `Handles::newest_items_where`).
    pub fn newest_items_where(
        &self,
        sources: &HashSet<&str>,
        limit: usize,
        pick: impl Fn(StoredItem) -> Option<StoredItem>,
    ) -> Result<Vec<StoredItem>, StoreError> {
        self.with(|h| h.newest_items_where(sources, limit, pick))
    }

    /// (key, published) of every item of one source, newest first.
    pub fn source_keys(&self, source: &str) -> Result<Vec<(ItemKey, DateTime<Utc>)>, StoreError> {
        self.with(|h| h.source_keys(source))
    }

    /// Every tombstone of one source.
    pub fn tombstones(&self, source: &str) -> Result<Vec<(ItemKey, Tombstone)>, StoreError> {
        self.with(|h| h.tombstones(source))
    }

    /// The item key a dedup alias points at.
    pub fn alias(&self, alias: &str) -> Result<Option<ItemKey>, StoreError> {
        self.with(|h| h.alias(alias))
    }

    /// The item whose published id is `public_id`.
    pub fn item_by_public_id(&self, public_id: &str) -> Result<Option<StoredItem>, StoreError> {
        self.with(|h| h.item_by_public_id(public_id))
    }

    /// The near-duplicate signature stored for an item.
    pub fn signature(&self, key: &ItemKey) -> Result<Option<Signature>, StoreError> {
        self.with(|h| h.signature(key))
    }

    /// Items stored (the per-source counters added up: no scan).
    pub fn item_count(&self) -> usize {
        self.value(|h| h.item_count())
    }

    /// Bytes the database takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.value(|h| h.size_on_disk())
    }

    pub async fn flush(&self) -> Result<(), StoreError> {
        let handles = self.handles()?;
        let result = handles.flush().await;
        if let Err(err) = &result {
            self.write_failed(err);
        }
        result
    }

    /// Bytes of memory the in-memory indexes hold.
    pub fn index_memory_bytes(&self) -> u64 {
        self.value(|h| h.index_memory_bytes())
    }

    /// The digest map's items and the bytes of its table.
    pub fn digest_map_stats(&self) -> (u64, u64) {
        self.value(|h| h.digest_map_stats())
    }

    /// The index filter's state: memory, keys, build times.
    pub fn filter_stats(&self) -> filter::FilterStats {
        self.value(|h| h.filter_stats())
    }

    /// Waits (blocking) until the index scans are done, at most `limit`.
    pub fn wait_for_indexes(&self, limit: std::time::Duration) -> bool {
        self.value(|h| h.wait_for_indexes(limit))
    }

    /// Explains the item with the given published id or item key.
    pub fn explain(&self, id: &str) -> Result<Option<Explanation>, StoreError> {
        self.with(|h| h.explain(id))
    }

    /// Reads every row and reports what is damaged (`syndic check
    /// --store`; see `store::check`). Changes nothing.
    pub fn check(&self) -> Result<super::CheckReport, StoreError> {
        self.with(|h| h.check())
    }

    /// Writes every record of the store to `out` as a `syndic export`
    /// (see [`backup`]). Blocking; a consistent snapshot as long as no
    /// refresh writes meanwhile: the caller holds [`Store::ingest_lock`]
    /// (or is the only user of the store).
    pub fn export_to(
        &self,
        out: &mut dyn std::io::Write,
    ) -> Result<backup::ExportSummary, backup::ExportError> {
        let handles = self.handles()?;
        damage::catch(|| handles.export(out)).unwrap_or_else(|found| {
            Err(StoreError::Damaged {
                path: self.path.clone(),
                found,
            }
            .into())
        })
    }

    /// Writes a checked export into the store: refused when the store holds
    /// items or poll states, unless `merge`. Returns the items written.
    pub async fn import(
        &self,
        mut export: backup::Export,
        merge: bool,
    ) -> Result<usize, StoreError> {
        if !merge && !self.with(|h| h.is_empty())? {
            return Err(StoreError::NotEmpty {
                path: self.path.clone(),
                items: self.item_count(),
            });
        }
        let _ingest = self.ingest_lock().await;
        let mut written = 0;
        let stamps = std::mem::take(&mut export.stamps);
        for mut batch in backup::batches(export) {
            if merge {
                for (old, new) in &mut batch.upserts {
                    *old = self.item(&new.key)?;
                }
            }
            written += batch.upserts.len();
            self.apply(&batch).await?;
        }
        for (feed, digest, at) in &stamps {
            self.set_feed_stamp(feed, digest, *at)?;
        }
        self.flush().await?;
        Ok(written)
    }

    /// The open database, for the tests of this module.
    #[cfg(test)]
    pub(super) fn h(&self) -> Arc<Handles> {
        self.handles().unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Dedup's lookups (see the implementation on the open database).
impl dedup::Index for Store {
    type Error = StoreError;

    fn item(&mut self, key: &ItemKey) -> Result<Option<StoredItem>, StoreError> {
        self.with(|h| dedup::Index::item(&mut &*h, key))
    }

    fn compare_digest(
        &mut self,
        key: &ItemKey,
        digest: &[u8; 16],
    ) -> Result<dedup::Stored, StoreError> {
        self.with(|h| dedup::Index::compare_digest(&mut &*h, key, digest))
    }

    fn alias(&mut self, alias: &str) -> Result<Option<ItemKey>, StoreError> {
        self.with(|h| dedup::Index::alias(&mut &*h, alias))
    }

    fn tombstone(
        &mut self,
        source: &str,
        key: &ItemKey,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.with(|h| dedup::Index::tombstone(&mut &*h, source, key))
    }

    fn near_candidates(
        &mut self,
        signature: &Signature,
    ) -> Result<Vec<(ItemKey, Signature)>, StoreError> {
        self.with(|h| dedup::Index::near_candidates(&mut &*h, signature))
    }
}
