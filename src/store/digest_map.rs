//! Every stored item's content digest, in memory, so that dedup tells an
//! unchanged entry (most entries of every refresh) and a new one without a
//! sled `get`, at the same cost with 10k or 1M items stored.
//!
//! - **Contents**: item key -> content digest, each cut to its first 8
//!   bytes (both are SHA-256 prefixes already, so the prefixes are uniform):
//!   16 bytes of payload per item, about 36 MB per million items with the
//!   hash table's slack (measured in `benches/dedup.rs`).
//! - **Exact, not a hint**: [`DigestMap::get`] answers "absent" only for a
//!   key no stored item has, and a digest that is the stored one. Two keys
//!   sharing a prefix only make the caller read the item from sled (the
//!   digests differ), so a prefix collision costs a `get`, never a wrong
//!   answer; a false "unchanged" would need the 64-bit key prefixes *and*
//!   the 64-bit digest prefixes of two different items to collide.
//! - **Writers** ([`DigestMap::set`], [`DigestMap::remove`]) update it
//!   after their transaction commits. All dedup reads and writes of items
//!   run under the store's ingest lock, so no lookup sees a commit the map
//!   does not know yet.
//! - **Building**: at open a background thread scans the `digests` tree;
//!   until it is done, [`DigestMap::get`] answers [`Lookup::NotReady`] and
//!   lookups go to sled. Keys written during the scan are remembered and the
//!   scan does not overwrite them with the (possibly older) row it read.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Instant;

/// What the map knows of one item key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The scan has not finished: ask sled.
    NotReady,
    /// No stored item has this key.
    Absent,
    /// The first 8 bytes of the stored item's digest.
    Digest(u64),
}

/// The first 8 bytes of a key or digest, as the map holds them.
pub fn prefix(bytes: &[u8; 16]) -> u64 {
    let mut head = [0u8; 8];
    head.copy_from_slice(bytes.split_at(8).0);
    u64::from_be_bytes(head)
}

/// The keys are SHA-256 prefixes: they need no hashing.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type Map = HashMap<u64, u64, BuildHasherDefault<PassThrough>>;

#[derive(Default)]
struct State {
    map: Map,
    ready: bool,
    /// Keys written while the scan runs: the scan leaves them alone.
    written: HashSet<u64, BuildHasherDefault<PassThrough>>,
}

/// The map of one open store (shared by its clones). Dropping it stops and
/// joins a running scan.
pub struct DigestMap {
    state: Arc<RwLock<State>>,
    stop: Arc<AtomicBool>,
    /// True from [`DigestMap::begin`] until its scan ends, however it ends.
    scanning: Arc<AtomicBool>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl DigestMap {
    /// An empty map that answers [`Lookup::NotReady`] until
    /// [`DigestMap::begin`] has scanned the store.
    pub fn new() -> DigestMap {
        DigestMap {
            state: Arc::default(),
            stop: Arc::default(),
            scanning: Arc::default(),
            worker: Mutex::new(None),
        }
    }

    /// Starts the background scan of `digests` (item key -> 16-byte digest).
    pub fn begin(&self, digests: sled::Tree) {
        let state = self.state.clone();
        let stop = self.stop.clone();
        let scanning = self.scanning.clone();
        scanning.store(true, Ordering::Release);
        let spawned = std::thread::Builder::new()
            .name("store-digests".into())
            .spawn(move || {
                scan(&state, &stop, &digests);
                scanning.store(false, Ordering::Release);
            });
        match spawned {
            Ok(handle) => *self.worker.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle),
            Err(err) => {
                self.scanning.store(false, Ordering::Release);
                tracing::warn!(error = %err, "store: could not start the digest map scan; lookups go to the trees");
            }
        }
    }

    pub fn get(&self, key: &[u8; 16]) -> Lookup {
        let state = self.read();
        if !state.ready {
            return Lookup::NotReady;
        }
        match state.map.get(&prefix(key)) {
            Some(digest) => Lookup::Digest(*digest),
            None => Lookup::Absent,
        }
    }

    /// After a commit that stored `key` with `digest`.
    pub fn set(&self, key: &[u8; 16], digest: &[u8; 16]) {
        let mut state = self.write();
        let key = prefix(key);
        if !state.ready {
            state.written.insert(key);
        }
        state.map.insert(key, prefix(digest));
    }

    /// After a commit that removed `key`.
    pub fn remove(&self, key: &[u8; 16]) {
        let mut state = self.write();
        let key = prefix(key);
        if !state.ready {
            state.written.insert(key);
        }
        state.map.remove(&key);
    }

    pub fn ready(&self) -> bool {
        self.read().ready
    }

    /// True while the scan runs.
    pub fn scanning(&self) -> bool {
        self.scanning.load(Ordering::Acquire)
    }

    /// Items in the map, and the bytes its table holds (keys, values and
    /// one control byte per slot).
    pub fn stats(&self) -> (u64, u64) {
        let state = self.read();
        let slots = state.map.capacity() as u64;
        (state.map.len() as u64, slots * 17)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for DigestMap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(worker) = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = worker.join();
        }
    }
}

/// Rows read per hold of the write lock.
const CHUNK: usize = 4096;

fn scan(state: &RwLock<State>, stop: &AtomicBool, digests: &sled::Tree) {
    let start = Instant::now();
    let mut chunk: Vec<(u64, u64)> = Vec::with_capacity(CHUNK);
    let flush = |chunk: &mut Vec<(u64, u64)>| {
        let mut state = state.write().unwrap_or_else(|e| e.into_inner());
        let State { map, written, .. } = &mut *state;
        for (key, digest) in chunk.drain(..) {
            if !written.contains(&key) {
                map.insert(key, digest);
            }
        }
    };
    for row in digests.iter() {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let (key, value) = match row {
            Ok(row) => row,
            Err(err) => {
                tracing::warn!(error = %err, "store: digest map scan failed; lookups go to the trees");
                return;
            }
        };
        // A row of another shape is skipped: its item is read from sled
        // when looked up (the map then says "absent" only if no row of
        // that key prefix exists, so such a row must not be dropped).
        match (
            <[u8; 16]>::try_from(key.as_ref()),
            <[u8; 16]>::try_from(value.as_ref()),
        ) {
            (Ok(key), Ok(digest)) => chunk.push((prefix(&key), prefix(&digest))),
            _ => {
                tracing::warn!("store: a malformed digest row; the digest map stays off");
                return;
            }
        }
        if chunk.len() == CHUNK {
            flush(&mut chunk);
        }
    }
    flush(&mut chunk);
    let mut state = state.write().unwrap_or_else(|e| e.into_inner());
    state.ready = true;
    state.written = HashSet::default();
    tracing::info!(
        items = state.map.len(),
        secs = start.elapsed().as_secs_f64(),
        "store: digest map built"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[0] = n;
        k[15] = 0xee;
        k
    }

    fn tree() -> (sled::Db, sled::Tree) {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("digests").unwrap();
        (db, tree)
    }

    fn wait(map: &DigestMap) {
        let start = Instant::now();
        while map.scanning() {
            assert!(start.elapsed().as_secs() < 30, "scan did not end");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    #[test]
    fn answers_from_the_scan_and_from_later_writes() {
        let (_db, tree) = tree();
        for n in 0..10u8 {
            tree.insert(key(n), &key(100 + n)).unwrap();
        }
        let map = DigestMap::new();
        assert_eq!(map.get(&key(1)), Lookup::NotReady);
        map.begin(tree);
        wait(&map);
        assert!(map.ready());
        assert_eq!(map.get(&key(3)), Lookup::Digest(prefix(&key(103))));
        assert_eq!(map.get(&key(42)), Lookup::Absent);
        map.set(&key(42), &key(7));
        assert_eq!(map.get(&key(42)), Lookup::Digest(prefix(&key(7))));
        map.remove(&key(3));
        assert_eq!(map.get(&key(3)), Lookup::Absent);
        assert_eq!(map.stats().0, 10);
    }

    #[test]
    fn writes_during_the_scan_win_over_the_rows_it_read() {
        let (_db, tree) = tree();
        tree.insert(key(1), &key(50)).unwrap();
        tree.insert(key(2), &key(60)).unwrap();
        let map = DigestMap::new();
        // Written before the scan reads the rows (the scan has not started).
        map.set(&key(1), &key(51));
        map.remove(&key(2));
        map.begin(tree);
        wait(&map);
        assert_eq!(map.get(&key(1)), Lookup::Digest(prefix(&key(51))));
        assert_eq!(map.get(&key(2)), Lookup::Absent);
    }

    #[test]
    fn a_malformed_row_keeps_the_map_off() {
        let (_db, tree) = tree();
        tree.insert(key(1), &b"short"[..]).unwrap();
        let map = DigestMap::new();
        map.begin(tree);
        wait(&map);
        assert!(!map.ready());
        assert_eq!(map.get(&key(1)), Lookup::NotReady);
    }
}
