//! Writing: a refresh's [`Batch`] applied as one transaction (items, every
//! index, counters, the poll state) with the near-duplicate band postings
//! written around it, a poll state alone, and the group commit that
//! flushes them to disk.

use std::collections::HashMap;

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::dedup::Signature;
use crate::model::{ItemKey, PollState, StoredItem};

#[cfg(doc)]
use super::Store;
use super::{
    Handles, StoreError, Tombstone, bucket_with, bucket_without, encode, filter, joined_mark, keys,
    read_u64,
};

/// The two writes of band postings around a batch's transaction (see
/// [`Handles::postings`]).
#[derive(Default)]
struct Postings {
    added: sled::Batch,
    taken_out: sled::Batch,
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

/// Writes waiting for a flush share one: a writer takes a ticket once its
/// write is in memory; a flush started after that covers it.
#[derive(Default)]
pub(super) struct FlushGate {
    /// One flush at a time; the writers that arrive meanwhile wait here.
    turn: tokio::sync::Mutex<()>,
    /// Tickets handed out (writes done in memory).
    written: std::sync::atomic::AtomicU64,
    /// Every ticket up to this one is on disk.
    flushed: std::sync::atomic::AtomicU64,
    /// Flushes made (sled `flush` calls), for tests and benchmarks.
    made: std::sync::atomic::AtomicU64,
}

impl Handles {
    /// Writes a refresh's items, indexes and poll state (if the batch has
    /// it) in one transaction: every reader sees the batch once this
    /// returns; it is on disk after the next flush that starts later
    /// ([`Handles::flush`]).
    pub fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
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
        let postings = match changes_index {
            true => self.postings(batch)?,
            false => Postings::default(),
        };
        self.near_bands
            .apply_batch(postings.added)
            .map_err(|e| self.err(e))?;
        let filter = &self.filter;
        let maybe = |tag: filter::Tag, key: &[u8]| filter.may_contain(tag, key);
        // Before the commit and after it (see `heads`).
        let rows = || {
            batch
                .upserts
                .iter()
                .map(|(_, new)| (new.source.as_str(), keys::by_time(new)))
        };
        if changes_index {
            self.heads.lower(rows());
        }
        // The transaction returns the item count changes it made, for
        // `counts`.
        let result: Result<Vec<(String, i64)>, TransactionError<()>> = (
            &self.items,
            &self.digests,
            &self.by_time,
            &self.by_source,
            &self.slugs,
            &self.sources,
            &self.aliases,
            &self.tombstones,
            &self.near_sig,
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
                    meta,
                )| {
                    if let Some(poll) = &poll {
                        sources.insert(source_key, poll.as_slice())?;
                    }
                    if !changes_index {
                        return Ok(Vec::new());
                    }
                    // The signature goes with its item; its band postings
                    // are taken out after the commit (see `postings`).
                    let drop_signature =
                        |key: &ItemKey| -> Result<(), ConflictableTransactionError<()>> {
                            if maybe(filter::Tag::Signature, &key.0) {
                                near_sig.remove(&key.0)?;
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
                        near_sig.insert(&key.0, sig.to_bytes())?;
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
                    let deltas = counted
                        .iter()
                        .map(|(source, delta)| (source.to_string(), *delta))
                        .collect();
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
                    Ok::<_, ConflictableTransactionError<()>>(deltas)
                },
            );
        drop(writing);
        if changes_index {
            self.heads.lower(rows());
        }
        self.filter.check_capacity();
        let deltas = match result {
            Ok(deltas) => deltas,
            Err(TransactionError::Storage(err)) => return Err(self.err(err)),
            Err(TransactionError::Abort(())) => unreachable!("the transaction never aborts"),
        };
        {
            let mut counts = self.counts.write().unwrap_or_else(|e| e.into_inner());
            for (source, delta) in deltas {
                let n = counts.entry(source).or_default();
                *n = n.saturating_add_signed(delta);
            }
        }
        if changes_index {
            for old in &batch.removals {
                self.digest_map.remove(&old.key.0);
            }
            for (_, new) in &batch.upserts {
                self.digest_map.set(&new.key.0, &new.digest);
            }
        }
        // After the map follows the commit: a failure here leaves stale
        // postings (which lookups skip), never a map behind the store.
        self.near_bands
            .apply_batch(postings.taken_out)
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The band postings a batch changes, as two writes of the
    /// `near_bands` tree: `added` (applied before the transaction) lists
    /// each new signature's key in its bands' buckets, `taken_out` (applied
    /// after it) removes the key of each removed or re-signed item from the
    /// buckets of its old bands that its new signature does not have.
    ///
    /// The postings are an index of `near_sig`, which the transaction
    /// writes: in this order a crash or a failed commit in between leaves
    /// only postings of keys with no signature (or another one), which a
    /// lookup reads as a candidate to compare or skip, never an indexed
    /// signature its bands do not list. The caller holds the ingest lock,
    /// so no other batch changes a bucket in between.
    fn postings(&self, batch: &Batch) -> Result<Postings, StoreError> {
        // A bucket as stored. The batch's own filter bits are already set
        // (see `apply`), so every band is read from sled, new ones too.
        // Looking them up before setting the bits skipped those reads but
        // not their cost: the inserts then pulled the same leaves in, a
        // refresh was 10-20% cheaper but a 20,000-item document peaked at
        // 203-297 MiB instead of 177-191 (BENCHMARKS.md, Dedup), so the
        // reads stay.
        let stored = |band: [u8; 9]| -> Result<Option<Vec<u8>>, StoreError> {
            if !self.filter.may_contain(filter::Tag::Band, &band) {
                return Ok(None);
            }
            let bucket = self.near_bands.get(band).map_err(|e| self.err(e))?;
            Ok(bucket.map(|b| b.to_vec()))
        };
        let mut added: HashMap<[u8; 9], Vec<u8>> = HashMap::new();
        let mut new_bands: HashMap<ItemKey, Vec<[u8; 9]>> = HashMap::new();
        for (key, sig) in &batch.signatures {
            let bands = sig.bands();
            for band in &bands {
                let current = match added.get(band) {
                    Some(b) => Some(b.clone()),
                    None => stored(*band)?,
                };
                if let Some(with) = bucket_with(current.as_deref(), key) {
                    added.insert(*band, with);
                }
            }
            new_bands.insert(*key, bands);
        }
        let mut old_signed: Vec<&ItemKey> = batch.removals.iter().map(|old| &old.key).collect();
        old_signed.extend(batch.signatures.iter().map(|(key, _)| key));
        let mut taken: HashMap<[u8; 9], Vec<u8>> = HashMap::new();
        for key in old_signed {
            if !self.filter.may_contain(filter::Tag::Signature, &key.0) {
                continue;
            }
            let Some(raw) = self.near_sig.get(key.0).map_err(|e| self.err(e))? else {
                continue;
            };
            let Some(old) = Signature::from_bytes(&raw) else {
                continue;
            };
            let keep = new_bands.get(key).map_or(&[][..], Vec::as_slice);
            for band in old.bands() {
                if keep.contains(&band) {
                    continue;
                }
                let current = match taken.get(&band).or(added.get(&band)) {
                    Some(b) => Some(b.clone()),
                    None => stored(band)?,
                };
                if let Some(rest) = bucket_without(current.as_deref(), key) {
                    taken.insert(band, rest);
                }
            }
        }
        let mut adding = sled::Batch::default();
        for (band, with) in added {
            adding.insert(&band[..], with);
        }
        let mut taken_out = sled::Batch::default();
        for (band, rest) in taken {
            match rest.is_empty() {
                true => taken_out.remove(&band[..]),
                false => taken_out.insert(&band[..], rest),
            }
        }
        Ok(Postings {
            added: adding,
            taken_out,
        })
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

    /// Writes only a source's poll state (a 304, an error).
    pub async fn put_poll_state(&self, source: &str, state: &PollState) -> Result<(), StoreError> {
        self.sources
            .insert(source.as_bytes(), encode(state))
            .map_err(|e| self.err(e))?;
        self.flush_to_disk().await?;
        Ok(())
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
