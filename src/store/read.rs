//! Reading: items by key, slug, alias or published id, a source's items,
//! keys and tombstones, the newest items of a feed's sources, poll states,
//! counters and the in-memory indexes' statistics.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::dedup::Signature;
use crate::model::{ItemKey, PollState, StoredItem};

use super::{Handles, StoreError, Tombstone, decode, filter, heads, keys, read_joined_mark};

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

    /// Sources whose `by_source` rows the feed reads opened since open.
    pub fn sources_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
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
    /// rows in the same transactions, read from memory (`counts`).
    pub fn source_item_count(&self, source: &str) -> usize {
        let counts = self.counts.read().unwrap_or_else(|e| e.into_inner());
        let n = counts.get(source).copied().unwrap_or(0);
        usize::try_from(n).unwrap_or(usize::MAX)
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
    /// the cost grows with `limit`, not with the size of the store nor the
    /// number of duplicates: a duplicate whose joined item is published
    /// instead is told from its index row (which names that item and its
    /// source) without being read. With a `pick` that takes everything, at
    /// most `limit` items are decoded. Only the sources whose newest rows
    /// can come next are opened (see `heads`), once a read has opened each
    /// source; what grows with the number of sources is an in-memory sort
    /// of their heads.
    pub fn newest_items_where<'s>(
        &self,
        sources: &HashSet<&'s str>,
        limit: usize,
        pick: impl Fn(StoredItem) -> Option<StoredItem>,
    ) -> Result<Vec<StoredItem>, StoreError> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        // One cursor per source, opened when its newest row may come next
        // (see `heads`); the heap holds each open cursor's next index key
        // without its source prefix: (published desc, item key), the order
        // of `by_time`.
        let mut cursors: Vec<(usize, sled::Iter)> = Vec::new();
        let mut heap: Heap = BinaryHeap::new();
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
        type Heap = BinaryHeap<Reverse<(Vec<u8>, usize, sled::IVec)>>;
        type Learned<'s> = Vec<(&'s str, heads::Seen, heads::Head)>;
        let mut learned: Learned<'s> = Vec::new();
        // `after`: the last row returned, when a source is opened late.
        let open = |source: &'s str,
                    seen: heads::Seen,
                    after: Option<&heads::Row>,
                    cursors: &mut Vec<(usize, sled::Iter)>,
                    heap: &mut Heap,
                    learned: &mut Learned<'s>|
         -> Result<(), StoreError> {
            let prefix = keys::source_prefix(source);
            let mut cursor = (prefix.len(), self.by_source.scan_prefix(prefix));
            self.opened.fetch_add(1, Ordering::Relaxed);
            let mut first = next(&mut cursor)?;
            let head = first
                .as_ref()
                .and_then(|(row, _)| heads::Row::try_from(row.as_slice()).ok())
                .map_or(heads::Head::Empty, heads::Head::At);
            learned.push((source, seen, head));
            // Rows newer than one already returned were written after this
            // read began (its heads would have opened the source sooner):
            // left out, so that what it returns stays in order.
            while let Some((row, _)) = &first
                && after.is_some_and(|after| row.as_slice() < after.as_slice())
            {
                first = next(&mut cursor)?;
            }
            if let Some((row, mark)) = first {
                heap.push(Reverse((row, cursors.len(), mark)));
                cursors.push(cursor);
            }
            Ok(())
        };
        // Sources with a known head wait, newest head last; the others are
        // opened now.
        let mut waiting = Vec::new();
        for (source, seen) in self.heads.seen(sources.iter().copied()) {
            match seen.head {
                heads::Head::At(row) => waiting.push((row, source, seen)),
                heads::Head::Unknown => {
                    open(source, seen, None, &mut cursors, &mut heap, &mut learned)?
                }
                heads::Head::Empty => {}
            }
        }
        waiting.sort_unstable_by_key(|(row, ..)| std::cmp::Reverse(*row));
        let mut out = Vec::new();
        let mut last: Option<heads::Row> = None;
        while out.len() < limit {
            while let Some((row, source, seen)) = waiting.last().copied()
                && heap
                    .peek()
                    .is_none_or(|Reverse((next, ..))| row.as_slice() <= next.as_slice())
            {
                waiting.pop();
                let after = last.as_ref();
                open(source, seen, after, &mut cursors, &mut heap, &mut learned)?;
            }
            let Some(Reverse((head, i, mark))) = heap.pop() else {
                break;
            };
            last = heads::Row::try_from(head.as_slice()).ok();
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
        self.heads.learn(learned);
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
        let counts = self.counts.read().unwrap_or_else(|e| e.into_inner());
        counts
            .values()
            .map(|n| usize::try_from(*n).unwrap_or(usize::MAX))
            .fold(0usize, usize::saturating_add)
    }

    /// Bytes the database takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}
