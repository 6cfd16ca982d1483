//! An in-memory Bloom filter in front of the dedup index trees, so that a
//! lookup of a key the store does not hold (nearly every lookup of a new
//! entry) skips sled's `get` and costs the same at 10k or 1M items.
//!
//! - **Keys**: each key is tagged with the tree it belongs to ([`Tag`]):
//!   item keys (the `digests` tree), signature keys (`near_sig`), aliases,
//!   tombstones and LSH band buckets.
//! - **No false negatives**: every write of a key into those trees first
//!   sets its bits ([`Filter::insert`], called by `Store::apply` before the
//!   transaction commits, under [`Filter::writing`]); a filter is filled by
//!   scanning the trees. Removals leave stale bits (false positives only).
//! - **Building**: at open, a background thread scans the trees into a new
//!   filter; until it is [`ready`](Filter::ready), lookups fall back to
//!   plain gets. When more keys were inserted than the filter was sized for,
//!   a new one, larger, is built the same way while the old one keeps
//!   answering. A builder installs its filter as "next" under the write side
//!   of [`Filter::writing`], so every writer either committed before the scan
//!   starts (the scan sees its key) or sets the bit in the next filter too.
//! - **Sizing**: [`BITS_PER_KEY`] bits per key and [`HASHES`] hash
//!   functions (about 1% false positives at capacity), capacity 1.5 x the
//!   keys found, at least [`MIN_CAPACITY`]. The count of the last scan (or,
//!   when the store is closed, of the keys inserted since open) is kept in
//!   the `meta` tree so that the next open sizes the filter right.
//! - **Blocked**: all the bits of one key lie in one 512-bit block (a
//!   cache line), so a lookup costs one memory access however large the
//!   filter grows (about 1% false positives at 10 bits per key instead of
//!   0.8% for an unblocked one).
//! - **Hashing**: SipHash-1-3 (std `DefaultHasher`, fixed keys) of tag and
//!   key gives 64 bits that choose the block; a second 64-bit value derived
//!   from it (SplitMix64) gives the [`HASHES`] bit positions in the block,
//!   9 bits each. The filter lives in memory only, so the hash may differ
//!   between builds.

use std::hash::Hasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;
use std::time::Instant;

/// Bits per key of capacity.
pub const BITS_PER_KEY: u64 = 10;
/// Bit positions per key (optimal for 10 bits per key).
pub const HASHES: u64 = 7;
/// 64-bit words per block: 512 bits, one cache line.
const BLOCK_WORDS: u64 = 8;
/// Smallest capacity, in keys (122 KiB of bits).
pub const MIN_CAPACITY: u64 = 100_000;

/// The tree a key belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// An item key (`digests`, hence `items`).
    Item = 1,
    /// An item key with a near-duplicate signature (`near_sig`).
    Signature = 2,
    /// A dedup alias (`aliases`).
    Alias = 3,
    /// A tombstone key, source + NUL + item key (`tombstones`).
    Tombstone = 4,
    /// An LSH band bucket key (`near_bands`).
    Band = 5,
}

/// The bit array: a fixed size, set bits never cleared.
pub struct Bloom {
    bits: Vec<AtomicU64>,
    nbits: u64,
    capacity: u64,
    /// Keys inserted (repeats counted again).
    count: AtomicU64,
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Bloom {
    /// A filter for about `keys` keys (at least [`MIN_CAPACITY`]).
    pub fn with_capacity(keys: u64) -> Bloom {
        let capacity = keys.max(MIN_CAPACITY);
        let words = (capacity * BITS_PER_KEY).div_ceil(64 * BLOCK_WORDS) * BLOCK_WORDS;
        Bloom {
            bits: (0..words).map(|_| AtomicU64::new(0)).collect(),
            nbits: words * 64,
            capacity,
            count: AtomicU64::new(0),
        }
    }

    /// The key's block (its first bit) and the hash choosing its bits.
    fn probe(&self, tag: Tag, key: &[u8]) -> (u64, u64) {
        let mut hasher = std::hash::DefaultHasher::new();
        hasher.write_u8(tag as u8);
        hasher.write(key);
        let h1 = hasher.finish();
        let blocks = (self.nbits / (64 * BLOCK_WORDS)).max(1);
        ((h1 % blocks) * 64 * BLOCK_WORDS, splitmix64(h1))
    }

    /// The bit positions of a probe, all in one block.
    fn bits_of((base, h2): (u64, u64)) -> impl Iterator<Item = u64> {
        (0..HASHES).map(move |i| base + ((h2 >> (9 * i)) & 511))
    }

    /// The key's bit positions, all in one block.
    fn positions(&self, tag: Tag, key: &[u8]) -> impl Iterator<Item = u64> + use<> {
        Self::bits_of(self.probe(tag, key))
    }

    fn all_set(&self, probe: (u64, u64)) -> bool {
        Self::bits_of(probe).all(|bit| {
            self.bits
                .get((bit / 64) as usize)
                .is_none_or(|word| word.load(Ordering::Acquire) & (1 << (bit % 64)) != 0)
        })
    }

    pub fn insert(&self, tag: Tag, key: &[u8]) {
        for bit in self.positions(tag, key) {
            if let Some(word) = self.bits.get((bit / 64) as usize) {
                word.fetch_or(1 << (bit % 64), Ordering::Release);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// False only when `key` was never inserted.
    pub fn may_contain(&self, tag: Tag, key: &[u8]) -> bool {
        self.all_set(self.probe(tag, key))
    }

    /// [`Bloom::may_contain`] of several keys: all hashed first, then the
    /// blocks read with nothing in between, so that the CPU overlaps their
    /// cache misses (a large filter misses on every block).
    pub fn may_contain_each<'k>(
        &self,
        tag: Tag,
        keys: impl Iterator<Item = &'k [u8]>,
    ) -> Vec<bool> {
        let probes: Vec<(u64, u64)> = keys.map(|key| self.probe(tag, key)).collect();
        probes.into_iter().map(|p| self.all_set(p)).collect()
    }

    pub fn bytes(&self) -> u64 {
        self.nbits / 8
    }

    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn over_capacity(&self) -> bool {
        self.count() > self.capacity
    }
}

/// The trees a filter is built from, and where the key count is kept.
#[derive(Clone)]
pub struct Sources {
    pub trees: Vec<(Tag, sled::Tree)>,
    pub meta: sled::Tree,
}

/// The key under which `meta` keeps the key count of the last scan.
const COUNT_KEY: &str = "filter_keys";

/// What [`Filter::stats`] reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilterStats {
    /// False while the first scan runs (lookups then use plain gets).
    pub ready: bool,
    /// Bytes of the bit array in use (0 before the first scan ends).
    pub bytes: u64,
    pub capacity: u64,
    /// Keys inserted into the filter in use.
    pub keys: u64,
    /// Filters built since open, and the last scan's duration and key count.
    pub builds: u64,
    pub last_build_secs: f64,
    pub last_build_keys: u64,
    /// Dedup lookups since open with the filter ready; answered "absent"
    /// by the filter alone; passed to sled and found nothing.
    pub lookups: u64,
    pub skipped: u64,
    pub false_positives: u64,
}

#[derive(Default)]
struct Shared {
    /// The filter lookups use; `None` until the first scan ends.
    current: RwLock<Option<Arc<Bloom>>>,
    /// The filter being built, which writers fill too.
    next: Mutex<Option<Arc<Bloom>>>,
    /// Writers hold it for reading from setting bits to committing; a
    /// builder takes it for writing to install `next`.
    writing: RwLock<()>,
    building: AtomicBool,
    stop: AtomicBool,
    builds: AtomicU64,
    /// Dedup lookups through [`Filter::check`] with a ready filter, those
    /// it answered alone, and those it passed that found nothing.
    lookups: AtomicU64,
    skipped: AtomicU64,
    false_positives: AtomicU64,
    last: Mutex<(f64, u64)>,
}

/// The filter of one open store (shared by its clones). Dropping the last
/// clone stops and joins a running scan, so the store can be opened again.
pub struct Filter {
    shared: Arc<Shared>,
    sources: Sources,
    worker: Mutex<Option<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Filter {
    /// A filter over `sources`; lookups use plain gets until
    /// [`Filter::begin`] has built it.
    pub fn new(sources: Sources) -> Filter {
        Filter {
            shared: Arc::default(),
            sources,
            worker: Mutex::new(None),
        }
    }

    /// Starts the background scan, sized from the key count of the last
    /// one. Call once the trees are complete (after a migration).
    pub fn begin(&self) {
        let hint = self
            .sources
            .meta
            .get(COUNT_KEY)
            .ok()
            .flatten()
            .and_then(|raw| <[u8; 8]>::try_from(raw.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        self.rebuild(hint);
    }

    /// Starts building a filter sized for `keys` keys unless a build runs.
    fn rebuild(&self, keys: u64) {
        if self.shared.building.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut worker = lock(&self.worker);
        if let Some(done) = worker.take() {
            let _ = done.join();
        }
        let shared = self.shared.clone();
        let sources = self.sources.clone();
        let capacity = keys.saturating_mul(3) / 2;
        let spawned = std::thread::Builder::new()
            .name("store-filter".into())
            .spawn(move || build(&shared, &sources, capacity));
        match spawned {
            Ok(handle) => *worker = Some(handle),
            Err(err) => {
                // Lookups keep using plain gets (or the older filter).
                tracing::warn!(error = %err, "store: could not start the index filter build");
                self.shared.building.store(false, Ordering::Release);
            }
        }
    }

    /// Held by a writer from [`Filter::insert`] to its commit.
    pub fn writing(&self) -> RwLockReadGuard<'_, ()> {
        self.shared
            .writing
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Sets `key`'s bits in the filter in use and the one being built.
    /// Call with [`Filter::writing`] held, before the key is written.
    pub fn insert(&self, tag: Tag, key: &[u8]) {
        // `next` first: a build installs its filter as `current` before it
        // clears `next`, so a writer that finds no `next` finds the new
        // filter as `current` (and one that finds it fills it).
        if let Some(next) = lock(&self.shared.next).as_ref() {
            next.insert(tag, key);
        }
        if let Some(bloom) = self.current() {
            bloom.insert(tag, key);
        }
    }

    /// After a write: starts a larger filter when this one is full.
    pub fn check_capacity(&self) {
        if let Some(bloom) = self.current()
            && bloom.over_capacity()
            && !self.shared.building.load(Ordering::Acquire)
        {
            self.rebuild(bloom.count());
        }
    }

    fn current(&self) -> Option<Arc<Bloom>> {
        self.in_use().clone()
    }

    /// The filter in use, read-locked (`None` until the first scan ends).
    fn in_use(&self) -> RwLockReadGuard<'_, Option<Arc<Bloom>>> {
        self.shared
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Counts dedup lookups in the stats, and those answered "absent".
    fn count(&self, lookups: u64, skipped: u64) {
        self.shared.lookups.fetch_add(lookups, Ordering::Relaxed);
        self.shared.skipped.fetch_add(skipped, Ordering::Relaxed);
    }

    /// False only when the tree tagged `tag` does not hold `key`: true
    /// while no filter is ready.
    pub fn may_contain(&self, tag: Tag, key: &[u8]) -> bool {
        self.in_use()
            .as_ref()
            .is_none_or(|bloom| bloom.may_contain(tag, key))
    }

    /// [`Filter::may_contain`] for a dedup lookup, counted in the stats.
    pub fn check(&self, tag: Tag, key: &[u8]) -> bool {
        let guard = self.in_use();
        let Some(bloom) = guard.as_ref() else {
            return true;
        };
        let maybe = bloom.may_contain(tag, key);
        self.count(1, u64::from(!maybe));
        maybe
    }

    /// [`Filter::check`] of several keys at once (one lock, overlapped
    /// memory reads): the LSH bands of one signature.
    pub fn check_each<'k>(&self, tag: Tag, keys: impl Iterator<Item = &'k [u8]>) -> Vec<bool> {
        let guard = self.in_use();
        let Some(bloom) = guard.as_ref() else {
            return keys.map(|_| true).collect();
        };
        let found = bloom.may_contain_each(tag, keys);
        let skipped = found.iter().filter(|maybe| !**maybe).count() as u64;
        self.count(found.len() as u64, skipped);
        found
    }

    /// A lookup that [`Filter::check`] passed found nothing.
    pub fn note_miss(&self) {
        if self.ready() {
            self.shared.false_positives.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn ready(&self) -> bool {
        self.current().is_some()
    }

    /// True while a scan runs.
    pub fn building(&self) -> bool {
        self.shared.building.load(Ordering::Acquire)
    }

    pub fn stats(&self) -> FilterStats {
        let current = self.current();
        let (last_build_secs, last_build_keys) = *lock(&self.shared.last);
        FilterStats {
            ready: current.is_some(),
            bytes: current.as_ref().map_or(0, |b| b.bytes()),
            capacity: current.as_ref().map_or(0, |b| b.capacity()),
            keys: current.as_ref().map_or(0, |b| b.count()),
            builds: self.shared.builds.load(Ordering::Relaxed),
            last_build_secs,
            last_build_keys,
            lookups: self.shared.lookups.load(Ordering::Relaxed),
            skipped: self.shared.skipped.load(Ordering::Relaxed),
            false_positives: self.shared.false_positives.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Filter {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(worker) = lock(&self.worker).take() {
            let _ = worker.join();
        }
        // The keys inserted since the last scan count too, so that the
        // next open sizes the filter for the store as it is now.
        if let Some(bloom) = self.current() {
            let _ = self
                .sources
                .meta
                .insert(COUNT_KEY, &bloom.count().to_be_bytes());
        }
    }
}

/// Scans `sources` into a new filter of `capacity` keys and installs it.
fn build(shared: &Shared, sources: &Sources, capacity: u64) {
    let start = Instant::now();
    let bloom = Arc::new(Bloom::with_capacity(capacity));
    {
        // Writers in flight commit before the scan starts; later ones set
        // their bits in `next` too.
        let _quiet = shared.writing.write().unwrap_or_else(|e| e.into_inner());
        *lock(&shared.next) = Some(bloom.clone());
    }
    let mut scanned: u64 = 0;
    let mut failed = None;
    'trees: for (tag, tree) in &sources.trees {
        for row in tree.iter().keys() {
            match row {
                Ok(key) => bloom.insert(*tag, &key),
                Err(err) => {
                    failed = Some(err);
                    break 'trees;
                }
            }
            scanned += 1;
            if scanned.is_multiple_of(4096) && shared.stop.load(Ordering::Acquire) {
                *lock(&shared.next) = None;
                shared.building.store(false, Ordering::Release);
                return;
            }
        }
    }
    if let Some(err) = failed {
        // The filter in use (or plain gets) keep answering correctly.
        tracing::warn!(error = %err, "store: index filter scan failed; lookups go to the trees");
        *lock(&shared.next) = None;
        shared.building.store(false, Ordering::Release);
        return;
    }
    *shared.current.write().unwrap_or_else(|e| e.into_inner()) = Some(bloom.clone());
    *lock(&shared.next) = None;
    let secs = start.elapsed().as_secs_f64();
    *lock(&shared.last) = (secs, scanned);
    shared.builds.fetch_add(1, Ordering::Relaxed);
    let _ = sources.meta.insert(COUNT_KEY, &scanned.to_be_bytes());
    tracing::info!(
        keys = scanned,
        bytes = bloom.bytes(),
        secs,
        "store: index filter built"
    );
    if bloom.over_capacity() {
        // Sized from an old count: build again, right-sized (once: the
        // next one is sized from this scan).
        return build(shared, sources, bloom.count().saturating_mul(3) / 2);
    }
    shared.building.store(false, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let bloom = Bloom::with_capacity(200_000);
        for i in 0..200_000u32 {
            bloom.insert(Tag::Alias, format!("src id {i}").as_bytes());
        }
        for i in 0..200_000u32 {
            assert!(bloom.may_contain(Tag::Alias, format!("src id {i}").as_bytes()));
        }
        // Other keys, and the same keys under another tag, are mostly absent.
        let mut positives = 0;
        for i in 0..100_000u32 {
            positives += usize::from(bloom.may_contain(Tag::Alias, format!("x {i}").as_bytes()));
            positives +=
                usize::from(bloom.may_contain(Tag::Band, format!("src id {i}").as_bytes()));
        }
        assert!(positives < 4_000, "{positives} false positives of 200000");
        // The batched lookup answers exactly as one lookup per key.
        let keys: Vec<String> = (0..2_000u32)
            .map(|i| format!("{} {i}", if i % 2 == 0 { "src id" } else { "x" }))
            .collect();
        let each = bloom.may_contain_each(Tag::Alias, keys.iter().map(|k| k.as_bytes()));
        let one_by_one: Vec<bool> = keys
            .iter()
            .map(|k| bloom.may_contain(Tag::Alias, k.as_bytes()))
            .collect();
        assert_eq!(each, one_by_one);
        assert!(each.iter().step_by(2).all(|found| *found));
        assert!(each.iter().skip(1).step_by(2).any(|found| !*found));
        assert_eq!(bloom.count(), 200_000);
        assert!(bloom.bytes() >= 200_000 * BITS_PER_KEY / 8);
    }

    /// Writers keep inserting while filters are built and rebuilt (the
    /// first scan finds more keys than the minimum capacity, so a second
    /// one follows): no key written at any point is missing afterwards.
    #[test]
    fn keys_written_during_builds_are_never_missing() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let tree = db.open_tree("aliases").unwrap();
        let before = MIN_CAPACITY + 20_000;
        for i in 0..before {
            tree.insert(i.to_be_bytes(), &[]).unwrap();
        }
        let filter = Filter::new(Sources {
            trees: vec![(Tag::Alias, tree.clone())],
            meta: db.open_tree("meta").unwrap(),
        });
        filter.begin();
        let mut i = before;
        while filter.building() || i < before + 20_000 {
            let guard = filter.writing();
            filter.insert(Tag::Alias, &i.to_be_bytes());
            tree.insert(i.to_be_bytes(), &[]).unwrap();
            drop(guard);
            filter.check_capacity();
            i += 1;
        }
        let stats = filter.stats();
        assert!(stats.ready && stats.builds >= 2, "{stats:?}");
        assert!(stats.capacity > MIN_CAPACITY, "{stats:?}");
        let missing = (0..i)
            .filter(|k| !filter.may_contain(Tag::Alias, &k.to_be_bytes()))
            .count();
        assert_eq!(missing, 0, "of {i} keys");
        // The next open is sized from this scan's count.
        drop(filter);
        let again = Filter::new(Sources {
            trees: vec![(Tag::Alias, tree)],
            meta: db.open_tree("meta").unwrap(),
        });
        again.begin();
        while again.building() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let stats = again.stats();
        assert_eq!(stats.builds, 1, "{stats:?}");
        assert_eq!(stats.last_build_keys, i);
        // Sized from the keys inserted up to the close, not from the last
        // scan (which ended before the writers did).
        assert!(stats.capacity >= i * 3 / 2, "{stats:?} for {i} keys");
        assert!((0..i).all(|k| again.may_contain(Tag::Alias, &k.to_be_bytes())));
    }

    #[test]
    fn an_overfull_filter_still_finds_every_key() {
        let bloom = Bloom::with_capacity(0);
        assert_eq!(bloom.capacity(), MIN_CAPACITY);
        for i in 0..(MIN_CAPACITY * 3) {
            bloom.insert(Tag::Item, &i.to_be_bytes());
        }
        assert!(bloom.over_capacity());
        assert!((0..(MIN_CAPACITY * 3)).all(|i| bloom.may_contain(Tag::Item, &i.to_be_bytes())));
    }
}
