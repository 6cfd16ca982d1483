//! The `pages` tree: what a `full_text` source remembers of each item's
//! page ([`PageRecord`]), keyed by source id, NUL, the item's link. A cache:
//! losing it costs a fetch of each page again, never an item, so it is
//! written outside the item transactions and left out of exports.

use std::collections::HashMap;

use super::{Handles, StoreError, decode, encode};
use crate::model::PageRecord;

fn page_key(source: &str, link: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(source.len() + 1 + link.len());
    key.extend_from_slice(source.as_bytes());
    key.push(0);
    key.extend_from_slice(link.as_bytes());
    key
}

impl Handles {
    /// Every page record of `source`, by link. A record that does not
    /// decode is left out (its page is fetched again).
    pub fn page_records(&self, source: &str) -> Result<HashMap<String, PageRecord>, StoreError> {
        let prefix = page_key(source, "");
        let mut records = HashMap::new();
        for row in self.pages.scan_prefix(&prefix) {
            let (key, value) = row.map_err(|e| self.err(e))?;
            let Some(link) = key
                .get(prefix.len()..)
                .and_then(|l| std::str::from_utf8(l).ok())
            else {
                continue;
            };
            if let Ok(record) = decode::<PageRecord>(&value, link) {
                records.insert(link.to_string(), record);
            }
        }
        Ok(records)
    }

    /// Writes `upserts` and removes the records of `removals` (links), in
    /// one batch.
    pub fn put_page_records(
        &self,
        source: &str,
        upserts: &[(String, PageRecord)],
        removals: &[String],
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for link in removals {
            batch.remove(page_key(source, link));
        }
        for (link, record) in upserts {
            batch.insert(page_key(source, link), encode(record));
        }
        self.pages.apply_batch(batch).map_err(|e| self.err(e))
    }

    /// Removes every page record of `source` (its `full_text` setting
    /// changed: what the pages gave no longer holds).
    pub fn clear_page_records(&self, source: &str) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for key in self.pages.scan_prefix(page_key(source, "")).keys() {
            batch.remove(key.map_err(|e| self.err(e))?);
        }
        self.pages.apply_batch(batch).map_err(|e| self.err(e))
    }
}
