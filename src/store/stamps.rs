//! Feed stamps: the digest of a feed's published bodies and when they last
//! changed, kept in the `meta` tree.

use chrono::{DateTime, Utc};

use super::{Handles, StoreError};

/// The `meta` key of a feed's stamp.
fn stamp_key(feed: &str) -> Vec<u8> {
    let mut key = b"stamp\0".to_vec();
    key.extend_from_slice(feed.as_bytes());
    key
}

impl Handles {
    /// A feed's stamp: the digest of its published bodies and when they
    /// last changed (see `publish::render_feed`). `None` when absent or
    /// unreadable (the next rendering then counts as a change).
    pub fn feed_stamp(&self, feed: &str) -> Option<([u8; 32], DateTime<Utc>)> {
        let raw = self.meta.get(stamp_key(feed)).ok().flatten()?;
        let digest: [u8; 32] = raw.get(..32)?.try_into().ok()?;
        let secs = i64::from_be_bytes(raw.get(32..40)?.try_into().ok()?);
        Some((digest, DateTime::<Utc>::from_timestamp(secs, 0)?))
    }

    /// Every feed's stamp, by feed name (for `syndic export`).
    pub(super) fn feed_stamps(&self) -> Vec<(String, [u8; 32], DateTime<Utc>)> {
        let prefix = stamp_key("");
        self.meta
            .scan_prefix(&prefix)
            .keys()
            .filter_map(Result::ok)
            .filter_map(|key| {
                let feed = std::str::from_utf8(key.get(prefix.len()..)?).ok()?;
                let (digest, at) = self.feed_stamp(feed)?;
                Some((feed.to_string(), digest, at))
            })
            .collect()
    }

    /// Writes a feed's stamp (see [`Store::feed_stamp`]).
    pub fn set_feed_stamp(
        &self,
        feed: &str,
        digest: &[u8; 32],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut value = digest.to_vec();
        value.extend_from_slice(&at.timestamp().to_be_bytes());
        self.meta
            .insert(stamp_key(feed), value)
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}
