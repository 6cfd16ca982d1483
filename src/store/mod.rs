//! The store: the only user of sled. Items, their indexes and each source's
//! poll state live here; a refresh is written as one transaction and flushed
//! before it counts, so a crash may repeat a fetch but never loses items that
//! a stored validator already covers.
//!
//! | tree | key | value |
//! |---|---|---|
//! | `items` | item key (16 bytes) | [`StoredItem`] (versioned JSON) |
//! | `by_time` | published, descending (8 bytes BE) + item key | empty |
//! | `by_source` | source id + NUL + published desc + item key | empty |
//! | `slugs` | article slug | item key |
//! | `sources` | source id | [`PollState`] (JSON) |
//! | `meta` | `schema` | schema version (u32 BE) |

mod keys;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::model::{ItemKey, PollState, StoredItem};

pub use keys::time_desc;

/// The schema this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

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
    /// The source's poll state after this refresh, validators included.
    pub poll: PollState,
}

impl Batch {
    /// True when the batch changes any item (and so any feed).
    pub fn changes_items(&self) -> bool {
        !self.upserts.is_empty() || !self.removals.is_empty()
    }
}

#[derive(Clone)]
pub struct Store {
    path: PathBuf,
    db: sled::Db,
    items: sled::Tree,
    by_time: sled::Tree,
    by_source: sled::Tree,
    slugs: sled::Tree,
    sources: sled::Tree,
}

impl Store {
    /// Opens (creating if absent) the store at `path`. Fails with
    /// [`StoreError::Locked`] when another process holds it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let sled_err = |source| StoreError::Sled {
            path: path.to_path_buf(),
            source,
        };
        let db = match sled::Config::new().path(path).open() {
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
        match meta.get("schema").map_err(sled_err)? {
            None => {
                meta.insert("schema", &SCHEMA_VERSION.to_be_bytes())
                    .map_err(sled_err)?;
            }
            Some(raw) => {
                let found = <[u8; 4]>::try_from(raw.as_ref())
                    .map(u32::from_be_bytes)
                    .unwrap_or(0);
                if found != SCHEMA_VERSION {
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
        Ok(Store {
            path: path.to_path_buf(),
            items: db.open_tree("items").map_err(sled_err)?,
            by_time: db.open_tree("by_time").map_err(sled_err)?,
            by_source: db.open_tree("by_source").map_err(sled_err)?,
            slugs: db.open_tree("slugs").map_err(sled_err)?,
            sources: db.open_tree("sources").map_err(sled_err)?,
            db,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: sled::Error) -> StoreError {
        StoreError::Sled {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes a refresh's items, indexes and poll state in one transaction,
    /// then flushes to disk.
    pub async fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        let poll = encode(&batch.poll);
        let source_key = batch.source.as_bytes();
        let result: Result<(), TransactionError<()>> = (
            &self.items,
            &self.by_time,
            &self.by_source,
            &self.slugs,
            &self.sources,
        )
            .transaction(|(items, by_time, by_source, slugs, sources)| {
                for old in batch
                    .removals
                    .iter()
                    .chain(batch.upserts.iter().filter_map(|(old, _)| old.as_ref()))
                {
                    by_time.remove(keys::by_time(old).as_slice())?;
                    by_source.remove(keys::by_source(old).as_slice())?;
                }
                for old in &batch.removals {
                    items.remove(&old.key.0)?;
                    if let Some(slug) = &old.entry.slug {
                        slugs.remove(slug.as_bytes())?;
                    }
                }
                for (_, new) in &batch.upserts {
                    items.insert(&new.key.0, encode(new))?;
                    by_time.insert(keys::by_time(new).as_slice(), &[])?;
                    by_source.insert(keys::by_source(new).as_slice(), &[])?;
                }
                for (slug, key) in &batch.slugs {
                    slugs.insert(slug.as_bytes(), &key.0)?;
                }
                sources.insert(source_key, poll.as_slice())?;
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        match result {
            Ok(()) => {}
            Err(TransactionError::Storage(err)) => return Err(self.err(err)),
            Err(TransactionError::Abort(())) => unreachable!("the transaction never aborts"),
        }
        self.flush_to_disk().await?;
        Ok(())
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
            Some(raw) => decode(&raw, &key.to_hex()).map(Some),
        }
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

    pub fn source_item_count(&self, source: &str) -> usize {
        self.by_source
            .scan_prefix(keys::source_prefix(source))
            .count()
    }

    /// Up to `limit` items of the given sources, newest first (ties broken
    /// by item key, so the order is deterministic).
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
    /// size of the store.
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
        let next = |cursor: &mut (usize, sled::Iter)| -> Result<Option<Vec<u8>>, StoreError> {
            match cursor.1.next() {
                None => Ok(None),
                Some(row) => {
                    let (k, _) = row.map_err(|e| self.err(e))?;
                    Ok(k.get(cursor.0..).map(<[u8]>::to_vec))
                }
            }
        };
        for (i, cursor) in cursors.iter_mut().enumerate() {
            if let Some(head) = next(cursor)? {
                heap.push(Reverse((head, i)));
            }
        }
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(Reverse((head, i))) = heap.pop() else {
                break;
            };
            if let Some(cursor) = cursors.get_mut(i)
                && let Some(following) = next(cursor)?
            {
                heap.push(Reverse((following, i)));
            }
            if let Some(key) = keys::item_key_suffix(&head)
                && let Some(item) = self.item(&key)?
                && keep(&item)
            {
                out.push(item);
            }
        }
        Ok(out)
    }

    pub fn item_count(&self) -> usize {
        self.items.len()
    }

    /// Bytes the database takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    pub async fn flush(&self) -> Result<(), StoreError> {
        self.flush_to_disk().await?;
        Ok(())
    }

    /// Flushes on a blocking thread. Not `sled::Db::flush_async`: in sled
    /// 0.34 concurrent `flush_async` calls deadlock (spacejam/sled#1308,
    /// #1241); the poller benchmark hung on it with 20 concurrent 304s.
    async fn flush_to_disk(&self) -> Result<(), StoreError> {
        let db = self.db.clone();
        match tokio::task::spawn_blocking(move || db.flush()).await {
            Ok(result) => result.map(|_| ()).map_err(|e| self.err(e)),
            Err(join) => Err(self.err(sled::Error::Io(std::io::Error::other(format!(
                "flush task failed: {join}"
            ))))),
        }
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing our own plain structs to JSON cannot fail.
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

fn describe_holder(path: &Path) -> String {
    match std::fs::read_to_string(path.join(PID_FILE)) {
        Ok(pid) => {
            let pid = pid.trim();
            if Path::new("/proc").join(pid).exists() {
                format!(" (pid {pid})")
            } else {
                String::new()
            }
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Entry;
    use chrono::{TimeZone, Utc};

    fn item(source: &str, n: i64) -> StoredItem {
        let key = ItemKey::derive(source, &n.to_string());
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(n);
        StoredItem {
            key,
            source: source.into(),
            public_id: crate::dedup::mint_public_id(&key),
            entry: Entry {
                title: Some(format!("{source} {n}")),
                ..Entry::default()
            },
            first_seen: at,
            published: at,
            updated: at,
            digest: [0; 16],
        }
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
