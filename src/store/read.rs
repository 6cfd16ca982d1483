//! Reading: items by key, slug, alias or published id, a source's items,
//! keys and tombstones, the newest items of a feed's sources, poll states,
//! counters and the in-memory indexes' statistics.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::dedup::Signature;
use crate::model::{ItemKey, PollState, StoredItem};

use super::{Handles, StoreError, Tombstone, decode, filter, keys, read_joined_mark, read_u64};

impl Handles {
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
        self.newest_items_where(sources, limit, Some)
    }

    /// Up to `limit` items of the given sources as `pick` makes them (it
    /// may rewrite an item, or leave it out with `None`), newest first
    /// (ties broken by item key). Merges the sources' own indexes
    /// (keys only) and reads just the items it returns or `pick` rejects, so
    /// the cost grows with `limit` and the number of sources, not with the
    /// size of the store nor the number of duplicates: a duplicate whose
    /// joined item is published instead is told from its index row (which
    /// names that item and its source) without being read. With a `pick`
    /// that takes everything, at most `limit` items are decoded.
    pub fn newest_items_where(
        &self,
        sources: &HashSet<&str>,
        limit: usize,
        pick: impl Fn(StoredItem) -> Option<StoredItem>,
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
            let Some(mut item) = self.item(&key)?.and_then(&pick) else {
                continue;
            };
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
}
