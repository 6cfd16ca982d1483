//! Opening the store: the sled database and its trees, the lock another
//! process may hold (and the pid file that names it), the schema check and
//! the migrations of older stores, and the one-pass rebuilds run at open.

use std::collections::HashMap;
use std::path::Path;

use crate::dedup::{self, Signature};
use crate::model::{ItemKey, StoredItem};

use super::{
    Handles, SCHEMA_VERSION, StoreError, bucket_with, classify, decode, digest_map, encode, filter,
    joined_mark, keys, read_u64,
};

/// The `meta` key whose presence says the per-source item counters are
/// kept (see [`Store::source_item_count`]).
pub(super) const COUNTED: &str = "counted";

/// The `meta` key whose presence says the `by_source` rows of duplicates
/// carry the item they joined (see [`Store::newest_items_where`]).
const DUPLICATES_MARKED: &str = "duplicates marked";

/// The file, inside the store folder, that names the process holding it.
const PID_FILE: &str = "syndic.pid";

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
    pub(super) fn open(path: &Path) -> Result<Handles, StoreError> {
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
            pages: db.open_tree("pages").map_err(sled_err)?,
            finished: db.open_tree("finished").map_err(sled_err)?,
            webhooks: db.open_tree("webhooks").map_err(sled_err)?,
            deliveries: db.open_tree("deliveries").map_err(sled_err)?,
            websub: db.open_tree("websub").map_err(sled_err)?,
            meta,
            filter: std::sync::Arc::new(filter),
            digest_map: std::sync::Arc::new(digest_map::DigestMap::new()),
            reads: Default::default(),
            counts: Default::default(),
            heads: Default::default(),
            opened: Default::default(),
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
        let counts = store.stored_counts()?;
        *store.counts.write().unwrap_or_else(|e| e.into_inner()) = counts;
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

    /// Every source's item counter, as stored.
    fn stored_counts(&self) -> Result<HashMap<String, u64>, StoreError> {
        let prefix = keys::count("");
        let mut counts = HashMap::new();
        for row in self.meta.scan_prefix(&prefix) {
            let (key, raw) = row.map_err(|e| self.err(e))?;
            let source = String::from_utf8_lossy(key.get(prefix.len()..).unwrap_or_default());
            counts.insert(source.into_owned(), read_u64(Some(&raw)));
        }
        Ok(counts)
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

pub(super) fn describe_holder(path: &Path) -> String {
    holder_pid(path).map_or_else(String::new, |pid| format!(" (pid {pid})"))
}
