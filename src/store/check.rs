//! `syndic check --store`: reads every row of the store and reports what is
//! damaged, changing nothing.
//!
//! What it reads: every tree in full (sled's own damage shows as an error or
//! a panic, caught by the caller as [`StoreError::Damaged`]); every item,
//! poll state and tombstone decoded; and the links between the trees that
//! every write keeps: each item has its time and source index rows and its
//! digest, each index row and slug names a stored item. Dedup aliases may
//! name an item that is gone (kept until its tombstone expires), so they
//! are counted, not followed.
//!
//! Alone, the store is copied (under its lock, so no daemon writes it
//! meanwhile) and the copy is opened, because opening a sled database
//! writes to it (recovery, a snapshot). Next to a running daemon the daemon
//! walks its open store (`admin`).

use std::fmt;
use std::path::{Path, PathBuf};

use super::{Handles, StoreError, Tombstone, decode, keys};
use crate::model::{ItemKey, PollState, StoredItem};

/// Problems listed in full; the rest are counted.
const LISTED: usize = 20;

/// What a check found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CheckReport {
    pub items: u64,
    pub poll_states: u64,
    pub aliases: u64,
    pub slugs: u64,
    pub tombstones: u64,
    pub signatures: u64,
    /// The first [`LISTED`] problems found.
    pub problems: Vec<String>,
    /// All problems found.
    pub problem_count: u64,
}

impl CheckReport {
    fn problem(&mut self, text: String) {
        self.problem_count += 1;
        if self.problems.len() < LISTED {
            self.problems.push(text);
        }
    }

    pub fn is_clean(&self) -> bool {
        self.problem_count == 0
    }

    /// The damage found in the store at `path`, as the error that says
    /// what to do about it; `None` when the check found none.
    pub fn damage(&self, path: &Path) -> Option<StoreError> {
        let first = self.problems.first()?;
        Some(StoreError::Damaged {
            path: path.to_path_buf(),
            found: match self.problem_count {
                1 => first.clone(),
                n => format!("{n} problems, the first: {first}"),
            },
        })
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} items, {} poll states, {} aliases, {} slugs, {} tombstones, {} signatures",
            self.items,
            self.poll_states,
            self.aliases,
            self.slugs,
            self.tombstones,
            self.signatures
        )?;
        if self.is_clean() {
            return write!(f, "; no damage found");
        }
        write!(f, "; {} problems:", self.problem_count)?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        if self.problem_count > self.problems.len() as u64 {
            write!(
                f,
                "\n  ... and {} more",
                self.problem_count - self.problems.len() as u64
            )?;
        }
        Ok(())
    }
}

impl Handles {
    /// Reads every row (see the module docs). Errors from sled end the walk;
    /// what it decodes badly or finds unlinked is a problem in the report.
    pub(super) fn check(&self) -> Result<CheckReport, StoreError> {
        let mut report = CheckReport::default();
        for row in self.items.iter() {
            let (key, raw) = row.map_err(|e| self.err(e))?;
            let name = hex::encode(&key);
            report.items += 1;
            let item: StoredItem = match decode(&raw, &name) {
                Ok(item) => item,
                Err(err) => {
                    report.problem(err.to_string());
                    continue;
                }
            };
            if item.key.0.as_slice() != key.as_ref() {
                report.problem(format!(
                    "item {name}: holds the item {}",
                    hex::encode(item.key.0)
                ));
                continue;
            }
            if !self
                .by_time
                .contains_key(keys::by_time(&item))
                .map_err(|e| self.err(e))?
            {
                report.problem(format!("item {name}: missing from the time index"));
            }
            if !self
                .by_source
                .contains_key(keys::by_source(&item))
                .map_err(|e| self.err(e))?
            {
                report.problem(format!(
                    "item {name}: missing from the index of source {}",
                    item.source
                ));
            }
            match self.digests.get(key).map_err(|e| self.err(e))? {
                Some(digest) if digest.as_ref() == item.digest => {}
                Some(_) => report.problem(format!("item {name}: its digest row differs")),
                None => report.problem(format!("item {name}: no digest row")),
            }
        }
        for row in self.by_time.iter().keys() {
            let index = row.map_err(|e| self.err(e))?;
            self.names_an_item(&mut report, "time index", &index)?;
        }
        for row in self.by_source.iter().keys() {
            let index = row.map_err(|e| self.err(e))?;
            self.names_an_item(&mut report, "source index", &index)?;
        }
        for row in self.slugs.iter() {
            let (slug, key) = row.map_err(|e| self.err(e))?;
            report.slugs += 1;
            if !self.items.contains_key(&key).map_err(|e| self.err(e))? {
                report.problem(format!(
                    "slug {}: names the item {}, which is not stored",
                    String::from_utf8_lossy(&slug),
                    hex::encode(&key)
                ));
            }
        }
        for row in self.sources.iter() {
            let (source, raw) = row.map_err(|e| self.err(e))?;
            report.poll_states += 1;
            let source = String::from_utf8_lossy(&source).into_owned();
            if let Err(err) = decode::<PollState>(&raw, &format!("poll state of {source}")) {
                report.problem(err.to_string());
            }
        }
        for row in self.tombstones.iter() {
            let (_, raw) = row.map_err(|e| self.err(e))?;
            report.tombstones += 1;
            if let Err(err) = decode::<Tombstone>(&raw, "tombstone") {
                report.problem(err.to_string());
            }
        }
        for row in self.aliases.iter() {
            row.map_err(|e| self.err(e))?;
            report.aliases += 1;
        }
        for row in self.near_sig.iter() {
            row.map_err(|e| self.err(e))?;
            report.signatures += 1;
        }
        for tree in [&self.near_bands, &self.meta] {
            for row in tree.iter() {
                row.map_err(|e| self.err(e))?;
            }
        }
        Ok(report)
    }

    /// A problem when the index row `index` names no stored item.
    fn names_an_item(
        &self,
        report: &mut CheckReport,
        index: &str,
        row: &[u8],
    ) -> Result<(), StoreError> {
        match keys::item_key_suffix(row) {
            Some(ItemKey(key)) if self.items.contains_key(key).map_err(|e| self.err(e))? => {}
            Some(ItemKey(key)) => report.problem(format!(
                "{index}: names the item {}, which is not stored",
                hex::encode(key)
            )),
            None => report.problem(format!("{index}: a row too short to name an item")),
        }
        Ok(())
    }
}

/// Checks the store at `path` without opening it: under the store's lock,
/// copies its files into a new folder in `scratch`, opens the copy, walks
/// it and removes it. [`StoreError::Locked`] when a process holds the
/// store; [`StoreError::Damaged`] when the copy cannot be opened or read.
pub fn check_copy(path: &Path, scratch: &Path) -> Result<CheckReport, StoreError> {
    let io = |what: String, err: std::io::Error| StoreError::Io {
        path: path.to_path_buf(),
        what,
        source: err,
    };
    if !path.join("db").is_file() {
        return Err(io(
            "reading the database".into(),
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no sled database (`db`) in {}", path.display()),
            ),
        ));
    }
    let copy = scratch.join(format!("syndic-check-{}", std::process::id()));
    let _lock = hold_lock(path)?;
    let copied = copy_tree(path, &copy).map_err(|err| {
        io(
            format!("copying the store into {} to check it", copy.display()),
            err,
        )
    });
    // Damage is reported at the store's path, not the copy's.
    let at_store = |err| match err {
        StoreError::Damaged { found, .. } => StoreError::Damaged {
            path: path.to_path_buf(),
            found,
        },
        other => other,
    };
    let result = copied.and_then(|()| {
        let store = super::Store::open(&copy).map_err(at_store)?;
        store.check().map_err(at_store)
    });
    let _ = std::fs::remove_dir_all(&copy);
    result
}

/// Takes the lock sled takes on `db` (an advisory `flock`, which changes no
/// byte), so no daemon opens the store while it is copied.
fn hold_lock(path: &Path) -> Result<std::fs::File, StoreError> {
    use rustix::fs::{FlockOperation, flock};
    let db = path.join("db");
    let file = std::fs::File::open(&db).map_err(|err| StoreError::Io {
        path: path.to_path_buf(),
        what: format!("opening {}", db.display()),
        source: err,
    })?;
    match flock(&file, FlockOperation::NonBlockingLockShared) {
        Ok(()) => Ok(file),
        Err(_) => Err(StoreError::Locked {
            path: path.to_path_buf(),
            holder: super::open::describe_holder(path),
        }),
    }
}

/// Copies the store's files and folders (not the admin socket: only
/// regular files are copied).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target: PathBuf = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
