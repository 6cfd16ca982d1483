//! Dedup's lookups ([`dedup::Index`]) against the store, each answered by
//! the in-memory digest map or index filter when they can, so an absent
//! key costs no `get`.

use chrono::{DateTime, Utc};

use crate::dedup::{self, Signature};
use crate::model::{ItemKey, StoredItem};

use super::{Handles, StoreError, Tombstone, decode, digest_map, filter, keys};

/// Dedup's lookups, each behind the index filter: a key the filter has not
/// seen is absent without a `get`.
impl dedup::Index for &Handles {
    type Error = StoreError;

    fn item(&mut self, key: &ItemKey) -> Result<Option<StoredItem>, StoreError> {
        let asked_filter = match self.digest_map.get(&key.0) {
            digest_map::Lookup::Absent => return Ok(None),
            // Stored (or a key-prefix collision): the filter would say
            // "maybe" too.
            digest_map::Lookup::Digest(_) => false,
            digest_map::Lookup::NotReady if !self.filter.check(filter::Tag::Item, &key.0) => {
                return Ok(None);
            }
            digest_map::Lookup::NotReady => true,
        };
        let item = Handles::item(self, key)?;
        if item.is_none() && asked_filter {
            self.filter.note_miss();
        }
        Ok(item)
    }

    /// From the in-memory [`digest_map`] once it is built; before that
    /// from the small `digests` tree. An item without a digest row (not
    /// expected: both are written in one transaction) is read whole.
    fn compare_digest(
        &mut self,
        key: &ItemKey,
        digest: &[u8; 16],
    ) -> Result<dedup::Stored, StoreError> {
        use dedup::Stored;
        match self.digest_map.get(&key.0) {
            digest_map::Lookup::Absent => return Ok(Stored::Missing),
            digest_map::Lookup::Digest(d) if d == digest_map::prefix(digest) => {
                return Ok(Stored::Same);
            }
            digest_map::Lookup::Digest(_) => return Ok(Stored::Other),
            digest_map::Lookup::NotReady => {}
        }
        if !self.filter.check(filter::Tag::Item, &key.0) {
            return Ok(Stored::Missing);
        }
        let row = self.digests.get(key.0).map_err(|e| self.err(e))?;
        let stored = match row.and_then(|raw| <[u8; 16]>::try_from(raw.as_ref()).ok()) {
            Some(stored) => Some(stored),
            None => Handles::item(self, key)?.map(|item| item.digest),
        };
        Ok(match stored {
            None => {
                self.filter.note_miss();
                Stored::Missing
            }
            Some(stored) if stored == *digest => Stored::Same,
            Some(_) => Stored::Other,
        })
    }

    fn alias(&mut self, alias: &str) -> Result<Option<ItemKey>, StoreError> {
        if !self.filter.check(filter::Tag::Alias, alias.as_bytes()) {
            return Ok(None);
        }
        let found = Handles::alias(self, alias)?;
        if found.is_none() {
            self.filter.note_miss();
        }
        Ok(found)
    }

    fn tombstone(
        &mut self,
        source: &str,
        key: &ItemKey,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut k = keys::source_prefix(source);
        k.extend_from_slice(&key.0);
        if !self.filter.check(filter::Tag::Tombstone, &k) {
            return Ok(None);
        }
        match self.tombstones.get(k).map_err(|e| self.err(e))? {
            None => {
                self.filter.note_miss();
                Ok(None)
            }
            Some(raw) => Ok(Some(decode::<Tombstone>(&raw, "tombstone")?.until)),
        }
    }

    fn near_candidates(
        &mut self,
        signature: &Signature,
    ) -> Result<Vec<(ItemKey, Signature)>, StoreError> {
        // (key, bands shared): the keys sharing most bands are compared.
        let mut found: Vec<(ItemKey, usize)> = Vec::new();
        let bands = signature.bands();
        let maybe = self
            .filter
            .check_each(filter::Tag::Band, bands.iter().map(|b| &b[..]));
        for (band, maybe) in bands.into_iter().zip(maybe) {
            if !maybe {
                continue;
            }
            let Some(bucket) = self.near_bands.get(band).map_err(|e| self.err(e))? else {
                self.filter.note_miss();
                continue;
            };
            for chunk in bucket.chunks_exact(16) {
                if let Ok(key) = <[u8; 16]>::try_from(chunk).map(ItemKey) {
                    match found.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, shared)) => *shared += 1,
                        None => found.push((key, 1)),
                    }
                }
            }
        }
        found.sort_by_key(|f| std::cmp::Reverse(f.1));
        found.truncate(dedup::near::MAX_CANDIDATES);
        let mut out = Vec::with_capacity(found.len());
        for (key, _) in found {
            if let Some(sig) = self.signature(&key)? {
                out.push((key, sig));
            }
        }
        Ok(out)
    }
}
