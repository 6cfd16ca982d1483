//! Item identity and the insert / update / skip decision for each ingested
//! entry. Pure: the caller passes a lookup into the store and gets back the
//! rows to write; nothing here does I/O.
//!
//! Identity ladder per source: the upstream id (guid, atom:id, JSON id, or a
//! local article's path), else the canonical link, else a fingerprint of the
//! title and text. The item key is derived from (source, identity), and the
//! published id is minted from the key once, when the item is first stored.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::model::{Entry, ItemKey, StoredItem};

/// What the caller does with one entry.
#[derive(Debug, PartialEq)]
pub enum Decision {
    /// First time seen: store it.
    Insert(StoredItem),
    /// Seen before and changed: replace the stored version.
    Update {
        old: Box<StoredItem>,
        new: StoredItem,
    },
    /// Seen before, nothing a subscriber sees changed: no write at all.
    Unchanged(ItemKey),
}

/// The identity of an entry within its source (the first rung of the ladder
/// that the entry has).
pub fn identity(entry: &Entry) -> String {
    if let Some(id) = entry.upstream_id.as_deref().map(str::trim)
        && !id.is_empty()
    {
        return format!("id:{id}");
    }
    if let Some(link) = entry.link.as_deref().map(str::trim)
        && !link.is_empty()
    {
        return format!("link:{}", canonical_url(link));
    }
    let mut hasher = Sha256::new();
    for part in [&entry.title, &entry.summary_html, &entry.content_html] {
        hasher.update(part.as_deref().unwrap_or("").as_bytes());
        hasher.update([0]);
    }
    format!("fp:{}", hex::encode(&hasher.finalize()[..16]))
}

/// A URL in the form used for matching (not for publishing): lower-case
/// scheme and host, no fragment, no default port.
pub fn canonical_url(link: &str) -> String {
    match url::Url::parse(link) {
        Ok(mut url) => {
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => link.to_string(),
    }
}

/// The public id for a new item: a `urn:uuid:` built from the item key
/// (version 8, "custom"), so it is a valid IRI everywhere and never depends
/// on title, URL or time.
pub fn mint_public_id(key: &ItemKey) -> String {
    let mut b = key.0;
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Decides, for each entry of one refresh of `source`, what to write.
/// `stored` looks an item key up in the store. Entries that repeat an
/// identity already seen in this batch are dropped (the first one wins).
pub fn plan<E>(
    source: &str,
    entries: Vec<Entry>,
    now: DateTime<Utc>,
    mut stored: impl FnMut(&ItemKey) -> Result<Option<StoredItem>, E>,
) -> Result<Vec<Decision>, E> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let key = ItemKey::derive(source, &identity(&entry));
        if !seen.insert(key) {
            continue;
        }
        out.push(decide(source, key, entry, now, stored(&key)?));
    }
    Ok(out)
}

fn decide(
    source: &str,
    key: ItemKey,
    entry: Entry,
    now: DateTime<Utc>,
    old: Option<StoredItem>,
) -> Decision {
    let digest = entry.content_digest();
    match old {
        None => {
            let published = entry.published.or(entry.updated).unwrap_or(now);
            let updated = entry.updated.unwrap_or(published).max(published);
            Decision::Insert(StoredItem {
                key,
                source: source.to_string(),
                public_id: mint_public_id(&key),
                entry,
                first_seen: now,
                published,
                updated,
                digest,
            })
        }
        Some(old) if old.digest == digest => Decision::Unchanged(key),
        Some(old) => {
            // An item without its own date keeps the one it was first given.
            let published = entry.published.or(entry.updated).unwrap_or(old.published);
            let updated = entry
                .updated
                .filter(|u| *u > old.updated)
                .unwrap_or(now)
                .max(published);
            let new = StoredItem {
                key,
                source: source.to_string(),
                public_id: old.public_id.clone(),
                entry,
                first_seen: old.first_seen,
                published,
                updated,
                digest,
            };
            Decision::Update {
                old: Box::new(old),
                new,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::collections::HashMap;

    fn entry(id: Option<&str>, link: Option<&str>, title: &str) -> Entry {
        Entry {
            upstream_id: id.map(str::to_string),
            link: link.map(str::to_string),
            title: Some(title.to_string()),
            ..Entry::default()
        }
    }

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, h, 0, 0).unwrap()
    }

    fn run(
        db: &mut HashMap<ItemKey, StoredItem>,
        entries: Vec<Entry>,
        now: DateTime<Utc>,
    ) -> Vec<Decision> {
        let decisions = plan::<()>("src", entries, now, |k| Ok(db.get(k).cloned())).unwrap();
        for d in &decisions {
            match d {
                Decision::Insert(i) | Decision::Update { new: i, .. } => {
                    db.insert(i.key, i.clone());
                }
                Decision::Unchanged(_) => {}
            }
        }
        decisions
    }

    #[test]
    fn identity_prefers_upstream_id_then_link_then_fingerprint() {
        assert_eq!(
            identity(&entry(Some("g1"), Some("http://a/x"), "T")),
            "id:g1"
        );
        assert_eq!(
            identity(&entry(None, Some("http://A/x#frag"), "T")),
            "link:http://a/x"
        );
        let fp = identity(&entry(None, None, "T"));
        assert!(fp.starts_with("fp:"));
        assert_ne!(fp, identity(&entry(None, None, "U")));
    }

    #[test]
    fn same_entry_twice_is_unchanged_and_changed_entry_updates_in_place() {
        let mut db = HashMap::new();
        let first = run(&mut db, vec![entry(Some("g"), None, "One")], t(1));
        let Decision::Insert(inserted) = &first[0] else {
            panic!("expected insert, got {first:?}")
        };
        assert_eq!(inserted.published, t(1));
        let again = run(&mut db, vec![entry(Some("g"), None, "One")], t(2));
        assert!(matches!(again[0], Decision::Unchanged(_)));
        let edited = run(&mut db, vec![entry(Some("g"), None, "One, edited")], t(3));
        let Decision::Update { old, new } = &edited[0] else {
            panic!("expected update, got {edited:?}")
        };
        assert_eq!(new.public_id, old.public_id);
        assert_eq!(new.published, t(1), "an undated item keeps its first date");
        assert_eq!(new.updated, t(3));
        assert_eq!(db.len(), 1);
    }

    #[test]
    fn duplicates_within_one_batch_are_dropped() {
        let mut db = HashMap::new();
        let d = run(
            &mut db,
            vec![entry(Some("g"), None, "A"), entry(Some("g"), None, "B")],
            t(1),
        );
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn public_id_is_a_stable_uuid_urn() {
        let key = ItemKey::derive("src", "id:g");
        let id = mint_public_id(&key);
        assert_eq!(id, mint_public_id(&key));
        assert!(id.starts_with("urn:uuid:"));
        assert_eq!(id.len(), "urn:uuid:".len() + 36);
        assert_eq!(&id[23..24], "8", "version nibble: {id}");
    }
}
