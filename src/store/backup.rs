//! `syndic export` and `syndic import`: everything the store holds as JSON
//! Lines, independent of sled's on-disk format (which changes between sled
//! versions), so a store can be backed up, moved and restored.
//!
//! # Format, version 1
//!
//! One JSON object per line, each with one key naming the record:
//!
//! | line | record |
//! |---|---|
//! | first | `{"header":{"syndic_export":1,"schema":3,"generation":N,"exported_at":"RFC 3339"}}` |
//! | any | `{"item":{...}}`: a stored item as the store keeps it (key, source, public id, entry, first seen, published, updated, digest, aliases, duplicate link, merge records) |
//! | any | `{"poll":{"source":"id","state":{...}}}`: a source's poll state, validators (ETag, Last-Modified) included |
//! | any | `{"alias":{"alias":"text","key":"32 hex digits"}}`: a dedup alias |
//! | any | `{"slug":{"slug":"text","key":"hex"}}`: a local article's slug |
//! | any | `{"tombstone":{"source":"id","key":"hex","tombstone":{"until":"...","aliases":[...]}}}` |
//! | any | `{"signature":{"key":"hex","signature":"hex"}}`: a near-duplicate signature |
//! | any | `{"stamp":{"feed":"name","digest":"64 hex digits","at":"RFC 3339"}}`: when a feed's bytes last changed (its `Last-Modified`; `name/archive/N` for an archive page) |
//! | last | `{"end":{"records":N,"sha256":"hex"}}`: the count of records between header and end, and the SHA-256 of every line before this one (newlines included) |
//!
//! The other trees (time and source indexes, item digests, per-source
//! counts, LSH band buckets) are derived from these and rebuilt on import.
//! A reader refuses a file whose header names an unknown `syndic_export`
//! version, whose end line is missing (truncated) or whose digest does not
//! match (changed after export).
//!
//! An export is one consistent snapshot: it holds the store's ingest lock,
//! so no refresh writes items in between (serving goes on).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Batch, Handles, SCHEMA_VERSION, StoreError, Tombstone, decode};
use crate::dedup::Signature;
use crate::model::{ItemKey, PollState, StoredItem};

/// The version of the export format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Record {
    Header {
        syndic_export: u32,
        schema: u32,
        generation: u64,
        exported_at: DateTime<Utc>,
    },
    Item(Box<StoredItem>),
    Poll {
        source: String,
        state: Box<PollState>,
    },
    Alias {
        alias: String,
        key: String,
    },
    Slug {
        slug: String,
        key: String,
    },
    Tombstone {
        source: String,
        key: String,
        tombstone: Tombstone,
    },
    Signature {
        key: String,
        signature: String,
    },
    /// A feed's stamp: the digest of its published bodies and when they
    /// last changed, so a restored daemon dates its feeds as before.
    Stamp {
        feed: String,
        digest: String,
        at: DateTime<Utc>,
    },
    End {
        records: u64,
        sha256: String,
    },
}

/// What an export wrote.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExportSummary {
    pub items: u64,
    pub records: u64,
}

/// An export that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes lines and hashes them.
struct Hashing<'a> {
    out: &'a mut dyn Write,
    hash: Sha256,
    records: u64,
}

impl Hashing<'_> {
    fn line(&mut self, record: &Record) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.hash.update(&line);
        self.records += 1;
        self.out.write_all(&line)
    }
}

impl Handles {
    /// Writes every record of the store to `out` (see the module docs).
    /// The caller holds the ingest lock.
    pub(super) fn export(&self, out: &mut dyn Write) -> Result<ExportSummary, ExportError> {
        let mut w = Hashing {
            out,
            hash: Sha256::new(),
            records: 0,
        };
        w.line(&Record::Header {
            syndic_export: FORMAT_VERSION,
            schema: SCHEMA_VERSION,
            generation: self.generation(),
            exported_at: Utc::now(),
        })?;
        let mut items = 0;
        for row in self.items.iter() {
            let (key, raw) = row.map_err(|e| self.err(e))?;
            let item: StoredItem = decode(&raw, &hex::encode(&key))?;
            w.line(&Record::Item(Box::new(item)))?;
            items += 1;
        }
        for row in self.sources.iter() {
            let (source, raw) = row.map_err(|e| self.err(e))?;
            let source = String::from_utf8_lossy(&source).into_owned();
            let state: PollState = decode(&raw, &source)?;
            w.line(&Record::Poll {
                source,
                state: Box::new(state),
            })?;
        }
        for row in self.aliases.iter() {
            let (alias, key) = row.map_err(|e| self.err(e))?;
            w.line(&Record::Alias {
                alias: String::from_utf8_lossy(&alias).into_owned(),
                key: hex::encode(&key),
            })?;
        }
        for row in self.slugs.iter() {
            let (slug, key) = row.map_err(|e| self.err(e))?;
            w.line(&Record::Slug {
                slug: String::from_utf8_lossy(&slug).into_owned(),
                key: hex::encode(&key),
            })?;
        }
        for row in self.tombstones.iter() {
            let (k, raw) = row.map_err(|e| self.err(e))?;
            let Some(end) = k.iter().position(|b| *b == 0) else {
                continue;
            };
            let source = String::from_utf8_lossy(k.get(..end).unwrap_or_default()).into_owned();
            let key = hex::encode(k.get(end + 1..).unwrap_or_default());
            let tombstone: Tombstone = decode(&raw, "tombstone")?;
            w.line(&Record::Tombstone {
                source,
                key,
                tombstone,
            })?;
        }
        for row in self.near_sig.iter() {
            let (key, raw) = row.map_err(|e| self.err(e))?;
            w.line(&Record::Signature {
                key: hex::encode(&key),
                signature: hex::encode(&raw),
            })?;
        }
        for (feed, digest, at) in self.feed_stamps() {
            w.line(&Record::Stamp {
                feed,
                digest: hex::encode(digest),
                at,
            })?;
        }
        let records = w.records - 1;
        let sha256 = hex::encode(w.hash.clone().finalize());
        w.line(&Record::End { records, sha256 })?;
        w.out.flush()?;
        Ok(ExportSummary { items, records })
    }

    /// True when the store holds no item and no poll state.
    pub(super) fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.items.first().map_err(|e| self.err(e))?.is_none()
            && self.sources.first().map_err(|e| self.err(e))?.is_none())
    }
}

/// A checked export file, ready to import.
#[derive(Debug, Default)]
pub struct Export {
    pub items: Vec<StoredItem>,
    pub polls: BTreeMap<String, PollState>,
    pub aliases: Vec<(String, ItemKey)>,
    pub slugs: Vec<(String, ItemKey)>,
    pub tombstones: Vec<(String, ItemKey, Tombstone)>,
    pub signatures: Vec<(ItemKey, Signature)>,
    pub stamps: Vec<(String, [u8; 32], DateTime<Utc>)>,
}

fn key_of(text: &str) -> Result<ItemKey, String> {
    ItemKey::from_hex(text).ok_or_else(|| format!("`{text}` is not an item key (32 hex digits)"))
}

/// Reads and checks an export file: every problem as `FILE:LINE: what`
/// (all of them, not just the first); `Err` means nothing may be imported.
pub fn read_export(path: &Path, reader: impl BufRead) -> Result<Export, Vec<String>> {
    let name = path.display();
    let mut errors = Vec::new();
    let mut export = Export::default();
    let mut hash = Sha256::new();
    let mut header_seen = false;
    let mut end: Option<(usize, u64, String, String)> = None;
    let mut records = 0u64;
    let mut items_seen = BTreeSet::new();
    for (index, line) in reader.split(b'\n').enumerate() {
        let n = index + 1;
        let line = match line {
            Ok(line) => line,
            Err(err) => {
                errors.push(format!("{name}:{n}: cannot read: {err}"));
                break;
            }
        };
        if let Some((at, ..)) = &end {
            if !line.is_empty() {
                errors.push(format!("{name}:{n}: a line after the end line ({at})"));
            }
            continue;
        }
        let digest_before = hex::encode(hash.clone().finalize());
        hash.update(&line);
        hash.update(b"\n");
        let record: Record = match serde_json::from_slice(&line) {
            Ok(record) => record,
            Err(err) => {
                errors.push(format!("{name}:{n}: not a valid export record: {err}"));
                continue;
            }
        };
        if !header_seen && !matches!(record, Record::Header { .. }) {
            errors.push(format!(
                "{name}:{n}: the first line must be the export header (is this a `syndic export` file?)"
            ));
            header_seen = true;
        }
        let mut bad = |what: String| errors.push(format!("{name}:{n}: {what}"));
        match record {
            Record::Header {
                syndic_export,
                schema,
                ..
            } => {
                if header_seen {
                    bad("a second header".into());
                } else if syndic_export != FORMAT_VERSION {
                    bad(format!(
                        "export format version {syndic_export}; this syndic reads version {FORMAT_VERSION}"
                    ));
                } else if schema > SCHEMA_VERSION {
                    bad(format!(
                        "written by a syndic with store schema {schema}; this one has {SCHEMA_VERSION}: use a newer syndic"
                    ));
                }
                header_seen = true;
                continue;
            }
            Record::End { records: r, sha256 } => {
                end = Some((n, r, sha256, digest_before));
                continue;
            }
            Record::Item(item) => {
                if !items_seen.insert(item.key) {
                    bad(format!("item {} appears twice", item.key.to_hex()));
                }
                export.items.push(*item);
            }
            Record::Poll { source, state } => {
                if export.polls.insert(source.clone(), *state).is_some() {
                    bad(format!("the poll state of `{source}` appears twice"));
                }
            }
            Record::Alias { alias, key } => match key_of(&key) {
                Ok(key) => export.aliases.push((alias, key)),
                Err(e) => bad(e),
            },
            Record::Slug { slug, key } => match key_of(&key) {
                Ok(key) => export.slugs.push((slug, key)),
                Err(e) => bad(e),
            },
            Record::Tombstone {
                source,
                key,
                tombstone,
            } => match key_of(&key) {
                Ok(key) => export.tombstones.push((source, key, tombstone)),
                Err(e) => bad(e),
            },
            Record::Signature { key, signature } => {
                let sig = hex::decode(&signature)
                    .ok()
                    .and_then(|raw| Signature::from_bytes(&raw));
                match (key_of(&key), sig) {
                    (Ok(key), Some(sig)) => export.signatures.push((key, sig)),
                    (Err(e), _) => bad(e),
                    (_, None) => bad("not a near-duplicate signature".into()),
                }
            }
            Record::Stamp { feed, digest, at } => {
                match hex::decode(&digest)
                    .ok()
                    .and_then(|d| <[u8; 32]>::try_from(d).ok())
                {
                    Some(digest) => export.stamps.push((feed, digest, at)),
                    None => bad(format!("`{digest}` is not a feed digest (64 hex digits)")),
                }
            }
        }
        records += 1;
    }
    match end {
        None => errors.push(format!(
            "{name}: no end line: the file is truncated (an export ends with {{\"end\":...}})"
        )),
        Some((n, expected, sha256, actual)) => {
            if expected != records {
                errors.push(format!(
                    "{name}:{n}: the end line counts {expected} records, the file has {records}: lines are missing or were added"
                ));
            }
            if sha256 != actual {
                errors.push(format!(
                    "{name}:{n}: the checksum does not match: the file was changed after export"
                ));
            }
        }
    }
    if !header_seen {
        errors.push(format!("{name}: empty file: not a `syndic export` file"));
    }
    if errors.is_empty() {
        Ok(export)
    } else {
        Err(errors)
    }
}

/// The batches that write `export` into a store (see [`super::Store::import`]):
/// per source, its items that are not duplicates with its tombstones and
/// poll state, then its duplicates (so that the items they joined are
/// stored first), the aliases, slugs and signatures with the last batch.
pub(super) fn batches(export: Export) -> Vec<Batch> {
    let mut sources: BTreeSet<String> = export.polls.keys().cloned().collect();
    sources.extend(export.items.iter().map(|i| i.source.to_string()));
    sources.extend(export.tombstones.iter().map(|(s, ..)| s.clone()));
    let mut batches = Vec::new();
    let poll = |source: &str| export.polls.get(source).cloned().unwrap_or_default();
    let mut items: BTreeMap<String, (Vec<StoredItem>, Vec<StoredItem>)> = BTreeMap::new();
    for item in export.items.iter().cloned() {
        let slot = items.entry(item.source.to_string()).or_default();
        if item.duplicate_of.is_some() {
            slot.1.push(item);
        } else {
            slot.0.push(item);
        }
    }
    for source in &sources {
        let firsts = items.get_mut(source).map(|s| std::mem::take(&mut s.0));
        batches.push(Batch {
            source: source.clone(),
            upserts: firsts
                .unwrap_or_default()
                .into_iter()
                .map(|i| (None, i))
                .collect(),
            tombstones: export
                .tombstones
                .iter()
                .filter(|(s, ..)| s == source)
                .map(|(_, k, t)| (*k, t.clone()))
                .collect(),
            poll: Some(poll(source)),
            ..Batch::default()
        });
    }
    for source in &sources {
        let duplicates = items.get_mut(source).map(|s| std::mem::take(&mut s.1));
        batches.push(Batch {
            source: source.clone(),
            upserts: duplicates
                .unwrap_or_default()
                .into_iter()
                .map(|i| (None, i))
                .collect(),
            poll: Some(poll(source)),
            ..Batch::default()
        });
    }
    if let Some(last) = batches.last_mut() {
        last.aliases = export.aliases;
        last.slugs = export.slugs;
        last.signatures = export.signatures;
    }
    batches
}
