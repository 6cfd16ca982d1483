//! `syndic explain ITEM_ID`: what the store knows about one item's
//! identity: its keys, aliases, sources, and the rule that merged each
//! duplicate into it.

use std::fmt;

use super::{Handles, StoreError};
use crate::model::{ItemKey, MergeRecord, StoredItem};

/// The facts `syndic explain` prints.
#[derive(Debug)]
pub struct Explanation {
    pub item: StoredItem,
    /// When the item is a cross-source duplicate: the item it joined, and
    /// how (when that item still exists).
    pub joined: Option<(StoredItem, Option<MergeRecord>)>,
    /// The duplicates merged into it that are still stored, with their
    /// merge records.
    pub duplicates: Vec<(MergeRecord, bool)>,
}

impl Handles {
    /// Explains the item with the given published id (`urn:uuid:...`) or
    /// item key (32 hex digits); `None` when no item has it.
    pub fn explain(&self, id: &str) -> Result<Option<Explanation>, StoreError> {
        let item = match ItemKey::from_hex(id.trim()) {
            Some(key) => self.item(&key)?,
            None => self.item_by_public_id(id)?,
        };
        let Some(item) = item else {
            return Ok(None);
        };
        let joined = match item.duplicate_of {
            Some(primary) => self.item(&primary)?.map(|p| {
                let record = p.merged.iter().find(|m| m.key == item.key).cloned();
                (p, record)
            }),
            None => None,
        };
        let mut duplicates = Vec::new();
        for record in &item.merged {
            let stored = self.item(&record.key)?.is_some();
            duplicates.push((record.clone(), stored));
        }
        Ok(Some(Explanation {
            item,
            joined,
            duplicates,
        }))
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.item;
        writeln!(f, "item key:    {}", i.key.to_hex())?;
        writeln!(f, "public id:   {}", i.public_id)?;
        writeln!(f, "source:      {}", i.source)?;
        if let Some(url) = &i.feed_url {
            writeln!(f, "source feed: {}", crate::redact::Redacted(url))?;
        }
        writeln!(
            f,
            "title:       {}",
            i.entry.title.as_deref().unwrap_or("(untitled)")
        )?;
        writeln!(
            f,
            "link:        {}",
            crate::redact::Redacted(i.entry.link.as_deref().unwrap_or("-"))
        )?;
        if let Some(id) = &i.entry.upstream_id {
            writeln!(f, "upstream id: {id}")?;
        }
        writeln!(f, "first seen:  {}", i.first_seen.to_rfc3339())?;
        writeln!(f, "published:   {}", i.published.to_rfc3339())?;
        writeln!(f, "updated:     {}", i.updated.to_rfc3339())?;
        if !i.entry.ruled_by.is_empty() {
            writeln!(
                f,
                "rewritten by source rules (as last stored): {}",
                i.entry.ruled_by.join(", ")
            )?;
        }
        if let Some(note) = &i.entry.full_text {
            writeln!(f, "full text:   {note}")?;
        }
        writeln!(f, "aliases (dedup keys that find this item):")?;
        if i.aliases.is_empty() {
            writeln!(f, "  (none)")?;
        }
        for alias in &i.aliases {
            writeln!(f, "  {alias}")?;
        }
        match (&i.duplicate_of, &self.joined) {
            (Some(_), Some((primary, record))) => {
                writeln!(
                    f,
                    "duplicate of: {} ({}, source {}); feeds that include source {} publish that item instead",
                    primary.key.to_hex(),
                    primary.public_id,
                    primary.source,
                    primary.source
                )?;
                if let Some(record) = record {
                    writeln!(
                        f,
                        "  merged by:  {} at {}",
                        record.rule,
                        record.at.to_rfc3339()
                    )?;
                }
            }
            (Some(key), None) => writeln!(
                f,
                "duplicate of: {} (no longer stored: this item stands for itself)",
                key.to_hex()
            )?,
            (None, _) => {}
        }
        if self.duplicates.is_empty() {
            writeln!(f, "sources: {} (no duplicates merged)", i.source)?;
        } else {
            writeln!(
                f,
                "sources: {} and {} merged duplicate(s):",
                i.source,
                self.duplicates.len()
            )?;
            for (record, stored) in &self.duplicates {
                writeln!(
                    f,
                    "  {} from {}: {}{}",
                    record.key.to_hex(),
                    record.source,
                    record.rule,
                    if *stored { "" } else { " (since removed)" }
                )?;
                if let Some(link) = &record.link {
                    writeln!(f, "    link: {}", crate::redact::Redacted(link))?;
                }
            }
        }
        Ok(())
    }
}
