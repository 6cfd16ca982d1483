//! The `finished` tree: for each remote source, what its last document's
//! entries became (`parse::Unfinished::digest` -> `Entry::content_digest`
//! after sanitizing and the source's rules), so that the next refresh
//! sanitizes only the entries it has not seen. A cache of a pure function:
//! a lost or stale row costs sanitizing again, never an item; written
//! outside the item transactions and left out of exports.

use std::collections::HashMap;

use super::{Handles, StoreError};

/// One row's pairs: 16 bytes of raw digest, 16 of content digest.
const PAIR: usize = 32;

impl Handles {
    /// The content digest each raw digest of `source`'s last document gave.
    pub fn finished_digests(
        &self,
        source: &str,
    ) -> Result<HashMap<[u8; 16], [u8; 16]>, StoreError> {
        let Some(row) = self.finished.get(source).map_err(|e| self.err(e))? else {
            return Ok(HashMap::new());
        };
        Ok(row
            .chunks_exact(PAIR)
            .filter_map(|pair| {
                let (raw, content) = pair.split_at(16);
                Some((raw.try_into().ok()?, content.try_into().ok()?))
            })
            .collect())
    }

    /// Replaces `source`'s row with `pairs` (removes it when empty).
    pub fn put_finished_digests(
        &self,
        source: &str,
        pairs: &[([u8; 16], [u8; 16])],
    ) -> Result<(), StoreError> {
        if pairs.is_empty() {
            return self
                .finished
                .remove(source)
                .map(drop)
                .map_err(|e| self.err(e));
        }
        let mut row = Vec::with_capacity(pairs.len() * PAIR);
        for (raw, content) in pairs {
            row.extend_from_slice(raw);
            row.extend_from_slice(content);
        }
        self.finished
            .insert(source, row)
            .map(drop)
            .map_err(|e| self.err(e))
    }
}
