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
//!   plain gets. A builder installs its filter as "next" under the write
//!   side of [`Filter::writing`], so every writer either committed before
//!   the scan starts (the scan sees its key) or sets the bit in the next
//!   filter too.
//! - **Growing** ([`Layers`]): when more keys were inserted than the filter
//!   was sized for, a new, empty layer as large as all the others together
//!   is added, and new keys go into it; a lookup asks every layer. The
//!   trees are never scanned again while the store is open: a scan reads
//!   every index key (about 21 per item) through sled's cache, and when it
//!   ran at every growth instead, a first round of 2,000 new sources spent
//!   19.5 s of a core in 8 scans (BENCHMARKS.md, Poller). The next open
//!   scans into one layer again.
//! - **Sizing**: [`BITS_PER_KEY`] bits per key and [`HASHES`] hash
//!   functions (about 1% false positives at capacity), capacity 1.5 x the
//!   keys found, at least [`MIN_CAPACITY`]. An added layer has
//!   [`ADDED_BITS_PER_KEY`] (about 0.2% each), so that the layers a store
//!   grows through while open (one per doubling) add about as many false
//!   positives together as the first layer. The count of the last scan
//!   (or, when the store is closed, of the keys inserted since open) is
//!   kept in the `meta` tree so that the next open sizes the filter right.
//! - **Blocked**: all the bits of one key lie in one 512-bit block (a
//!   cache line), so a lookup costs one memory access per layer however
//!   large the filter grows (about 1% false positives at 10 bits per key
//!   instead of 0.8% for an unblocked one).
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
/// Bits per key of capacity of a layer added while the store is open.
pub const ADDED_BITS_PER_KEY: u64 = 15;
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

/// The 64-bit hash of a tagged key, which places it in every layer.
fn hash(tag: Tag, key: &[u8]) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write_u8(tag as u8);
    hasher.write(key);
    hasher.finish()
}

impl Bloom {
    /// A filter for about `keys` keys (at least [`MIN_CAPACITY`]).
    pub fn with_capacity(keys: u64) -> Bloom {
        Bloom::with_bits(keys, BITS_PER_KEY)
    }

    /// A filter for about `keys` keys (at least [`MIN_CAPACITY`]) of
    /// `bits_per_key` bits each.
    fn with_bits(keys: u64, bits_per_key: u64) -> Bloom {
        let capacity = keys.max(MIN_CAPACITY);
        let words = (capacity * bits_per_key).div_ceil(64 * BLOCK_WORDS) * BLOCK_WORDS;
        Bloom {
            bits: (0..words).map(|_| AtomicU64::new(0)).collect(),
            nbits: words * 64,
            capacity,
            count: AtomicU64::new(0),
        }
    }

    /// The block (its first bit) of a key's [`hash`], and the hash
    /// choosing its bits.
    fn probe(&self, h1: u64) -> (u64, u64) {
        let blocks = (self.nbits / (64 * BLOCK_WORDS)).max(1);
        ((h1 % blocks) * 64 * BLOCK_WORDS, splitmix64(h1))
    }

    /// The bit positions of a probe, all in one block.
    fn bits_of((base, h2): (u64, u64)) -> impl Iterator<Item = u64> {
        (0..HASHES).map(move |i| base + ((h2 >> (9 * i)) & 511))
    }

    /// The key's bit positions, all in one block.
    fn positions(&self, tag: Tag, key: &[u8]) -> impl Iterator<Item = u64> + use<> {
        Self::bits_of(self.probe(hash(tag, key)))
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
        self.all_set(self.probe(hash(tag, key)))
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

/// The filter in use: the layer the scan at open filled, then the layers
/// added since, each as large as all the ones before it together. Keys go
/// into the newest; a lookup asks them all (module doc, Growing).
pub struct Layers {
    older: Vec<Arc<Bloom>>,
    newest: Arc<Bloom>,
}

impl Layers {
    fn one(bloom: Arc<Bloom>) -> Layers {
        Layers {
            older: Vec::new(),
            newest: bloom,
        }
    }

    fn all(&self) -> impl Iterator<Item = &Arc<Bloom>> {
        self.older.iter().chain([&self.newest])
    }

    pub fn insert(&self, tag: Tag, key: &[u8]) {
        self.newest.insert(tag, key);
    }

    fn contains_hash(&self, h1: u64) -> bool {
        self.all().any(|layer| layer.all_set(layer.probe(h1)))
    }

    /// False only when `key` was never inserted.
    pub fn may_contain(&self, tag: Tag, key: &[u8]) -> bool {
        self.contains_hash(hash(tag, key))
    }

    /// [`Layers::may_contain`] of several keys: all hashed first, then the
    /// blocks read with nothing in between, so that the CPU overlaps their
    /// cache misses (a large filter misses on every block).
    pub fn may_contain_each<'k>(
        &self,
        tag: Tag,
        keys: impl Iterator<Item = &'k [u8]>,
    ) -> Vec<bool> {
        let hashes: Vec<u64> = keys.map(|key| hash(tag, key)).collect();
        hashes
            .into_iter()
            .map(|h1| self.contains_hash(h1))
            .collect()
    }

    /// These layers and a new, empty one as large as all of them.
    fn grown(&self) -> Layers {
        Layers {
            older: self.all().cloned().collect(),
            newest: Arc::new(Bloom::with_bits(self.capacity(), ADDED_BITS_PER_KEY)),
        }
    }

    pub fn layers(&self) -> usize {
        self.older.len() + 1
    }

    pub fn bytes(&self) -> u64 {
        self.all().map(|layer| layer.bytes()).sum()
    }

    pub fn capacity(&self) -> u64 {
        self.all().map(|layer| layer.capacity()).sum()
    }

    /// Keys inserted into every layer (repeats counted again).
    pub fn count(&self) -> u64 {
        self.all().map(|layer| layer.count()).sum()
    }

    fn over_capacity(&self) -> bool {
        self.newest.over_capacity()
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
    /// Bytes of the bit arrays in use (0 before the first scan ends).
    pub bytes: u64,
    pub capacity: u64,
    /// Keys inserted into the filter in use.
    pub keys: u64,
    /// Layers of the filter in use: 1 after a scan, one more per growth.
    pub layers: usize,
    /// Filters built by a scan since open, and the last scan's duration and
    /// key count.
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
    current: RwLock<Option<Arc<Layers>>>,
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
        self.scan(hint);
    }

    /// Starts building a filter sized for `keys` keys unless a build runs.
    fn scan(&self, keys: u64) {
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
        if let Some(layers) = self.current() {
            layers.insert(tag, key);
        }
    }

    /// After a write: adds a layer when the newest is full.
    pub fn check_capacity(&self) {
        grow(&self.shared);
    }

    fn current(&self) -> Option<Arc<Layers>> {
        self.in_use().clone()
    }

    /// The filter in use, read-locked (`None` until the first scan ends).
    fn in_use(&self) -> RwLockReadGuard<'_, Option<Arc<Layers>>> {
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
            layers: current.as_ref().map_or(0, |b| b.layers()),
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

/// Adds a layer to the filter in use when its newest is full (once, when
/// writers call it together).
fn grow(shared: &Shared) {
    let read = |shared: &Shared| {
        shared
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    };
    let Some(full) = read(shared).filter(|layers| layers.over_capacity()) else {
        return;
    };
    // Allocated before the lock, which lookups wait for.
    let grown = Arc::new(full.grown());
    let mut current = shared.current.write().unwrap_or_else(|e| e.into_inner());
    if current.as_ref().is_some_and(|now| Arc::ptr_eq(now, &full)) {
        tracing::debug!(
            layers = grown.layers(),
            capacity = grown.capacity(),
            bytes = grown.bytes(),
            "store: index filter layer added"
        );
        *current = Some(grown);
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
    *shared.current.write().unwrap_or_else(|e| e.into_inner()) =
        Some(Arc::new(Layers::one(bloom.clone())));
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
        let bloom = Layers::one(Arc::new(bloom));
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

    /// A filter that fills up grows by layers, without scanning the trees
    /// again: every key is found, and the false positives of all the layers
    /// together stay near one layer's.
    #[test]
    fn a_full_filter_grows_by_layers_without_a_scan() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let filter = Filter::new(Sources {
            trees: vec![(Tag::Alias, db.open_tree("aliases").unwrap())],
            meta: db.open_tree("meta").unwrap(),
        });
        filter.begin();
        while filter.building() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let keys = MIN_CAPACITY * 6;
        for i in 0..keys {
            let _writing = filter.writing();
            filter.insert(Tag::Alias, &i.to_be_bytes());
            drop(_writing);
            filter.check_capacity();
        }
        let stats = filter.stats();
        assert_eq!(stats.builds, 1, "{stats:?}");
        // 100k, then 100k, 200k, 400k: each layer as large as those before.
        assert_eq!(stats.layers, 4, "{stats:?}");
        assert_eq!(stats.capacity, MIN_CAPACITY * 8, "{stats:?}");
        assert_eq!(stats.keys, keys);
        assert!((0..keys).all(|i| filter.may_contain(Tag::Alias, &i.to_be_bytes())));
        let absent = 200_000u64;
        let positives = (keys..keys + absent)
            .filter(|i| filter.may_contain(Tag::Alias, &i.to_be_bytes()))
            .count() as u64;
        assert!(positives * 100 < absent * 2, "{positives} of {absent}");
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
