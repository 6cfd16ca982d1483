//! Key encodings for the index trees, chosen so that sled's byte order is
//! the order scans need: newest first, then by item key.

use crate::model::{ItemKey, StoredItem};
use chrono::{DateTime, Utc};

/// A timestamp as 8 bytes that sort newest first.
pub fn time_desc(at: DateTime<Utc>) -> [u8; 8] {
    // Flip the sign bit so signed order becomes unsigned order, then invert
    // for descending order.
    let ordered = (at.timestamp_millis() as u64) ^ (1 << 63);
    (!ordered).to_be_bytes()
}

/// The `by_time` key, which is also a `by_source` key without its source.
pub fn by_time(item: &StoredItem) -> [u8; 24] {
    let mut key = [0; 24];
    let (time, item_key) = key.split_at_mut(8);
    time.copy_from_slice(&time_desc(item.published));
    item_key.copy_from_slice(&item.key.0);
    key
}

pub fn source_prefix(source: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(source.len() + 1);
    key.extend_from_slice(source.as_bytes());
    key.push(0);
    key
}

/// The `meta` key of a source's item count.
pub fn count(source: &str) -> Vec<u8> {
    let mut key = b"count\0".to_vec();
    key.extend_from_slice(source.as_bytes());
    key
}

pub fn by_source(item: &StoredItem) -> Vec<u8> {
    let mut key = source_prefix(&item.source);
    key.extend_from_slice(&time_desc(item.published));
    key.extend_from_slice(&item.key.0);
    key
}

/// (item key, published) from a `by_source` key whose source prefix is
/// `prefix_len` bytes long.
pub fn by_source_parts(index_key: &[u8], prefix_len: usize) -> Option<(ItemKey, DateTime<Utc>)> {
    let key = item_key_suffix(index_key)?;
    let time: [u8; 8] = index_key.get(prefix_len..prefix_len + 8)?.try_into().ok()?;
    let millis = (!u64::from_be_bytes(time) ^ (1 << 63)) as i64;
    Some((key, DateTime::<Utc>::from_timestamp_millis(millis)?))
}

/// The item key at the end of an index key.
pub fn item_key_suffix(index_key: &[u8]) -> Option<ItemKey> {
    let start = index_key.len().checked_sub(16)?;
    let key: [u8; 16] = index_key.get(start..)?.try_into().ok()?;
    Some(ItemKey(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn newer_times_sort_first() {
        let old = Utc.with_ymd_and_hms(1969, 1, 1, 0, 0, 0).unwrap();
        let mid = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
        let new = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert!(time_desc(new) < time_desc(mid));
        assert!(time_desc(mid) < time_desc(old));
    }

    #[test]
    fn by_source_time_round_trips() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
        let key = ItemKey::derive("s", "x");
        let mut index = source_prefix("news");
        index.extend_from_slice(&time_desc(at));
        index.extend_from_slice(&key.0);
        assert_eq!(by_source_parts(&index, 5), Some((key, at)));
    }

    #[test]
    fn suffix_round_trips() {
        let key = ItemKey::derive("s", "x");
        let mut index = b"source\0".to_vec();
        index.extend_from_slice(&[0; 8]);
        index.extend_from_slice(&key.0);
        assert_eq!(item_key_suffix(&index), Some(key));
        assert_eq!(item_key_suffix(b"short"), None);
    }
}
