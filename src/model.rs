//! Plain data shared by every stage of the pipeline: what ingest produces
//! ([`Entry`]), what the store keeps ([`StoredItem`], [`PollState`]) and the
//! keys that tie them together. No I/O lives here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A configured source's id, as written in `feeds.toml` (`[[source]] id`).
pub type SourceId = String;

/// The store's key for one item: the first 16 bytes of
/// SHA-256(source id, NUL, upstream id). Stable for the life of the item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ItemKey(pub [u8; 16]);

impl ItemKey {
    /// Derives the key of the item `upstream_id` of `source`.
    pub fn derive(source: &str, upstream_id: &str) -> ItemKey {
        let mut hasher = Sha256::new();
        hasher.update(source.as_bytes());
        hasher.update([0u8]);
        hasher.update(upstream_id.as_bytes());
        let digest = hasher.finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        ItemKey(key)
    }

    /// Lower-case hex, as used in published ids and on the command line.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses the hex form written by [`ItemKey::to_hex`].
    pub fn from_hex(text: &str) -> Option<ItemKey> {
        let bytes = hex::decode(text).ok()?;
        let key: [u8; 16] = bytes.try_into().ok()?;
        Some(ItemKey(key))
    }
}

/// A file attached to an item (RSS `enclosure`, Atom `link rel="enclosure"`,
/// JSON Feed `attachments`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enclosure {
    pub url: String,
    pub mime_type: String,
    /// Size in bytes; 0 when the upstream did not say.
    pub length: u64,
}

/// One item as ingest produced it, before it has a key: from a remote feed
/// (parsed and normalized) or from a local article file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The upstream id: guid / atom:id / JSON id; for a local article, its
    /// path relative to the folder (with `/` separators).
    pub upstream_id: Option<String>,
    pub title: Option<String>,
    /// Absolute URL of the item's page, when it has one.
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    /// A short summary, HTML (sanitized).
    pub summary_html: Option<String>,
    /// Full content, HTML (sanitized).
    pub content_html: Option<String>,
    pub categories: Vec<String>,
    pub enclosures: Vec<Enclosure>,
    /// Local articles only: the slug of its page under `/articles/`.
    pub slug: Option<String>,
}

impl Entry {
    /// A digest of everything a subscriber sees; an item whose digest did
    /// not change is not written again.
    pub fn content_digest(&self) -> [u8; 16] {
        let encoded = serde_json::to_vec(self).unwrap_or_default();
        let digest = Sha256::digest(&encoded);
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }
}

/// One item as the store keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredItem {
    pub key: ItemKey,
    pub source: SourceId,
    /// The id published in every output format (guid, atom:id, JSON id).
    /// Minted once from the key when the item is first stored; never changes.
    pub public_id: String,
    pub entry: Entry,
    /// When syndic first stored the item.
    pub first_seen: DateTime<Utc>,
    /// The date the item sorts by and is published with: the upstream
    /// `published`, else `updated`, else `first_seen`.
    pub published: DateTime<Utc>,
    /// When the item last changed: the upstream `updated`, else the time
    /// syndic saw the change; never earlier than `published`.
    pub updated: DateTime<Utc>,
    /// [`Entry::content_digest`] of the stored entry.
    pub digest: [u8; 16],
}

/// What the poller remembers about one source between refreshes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PollState {
    /// The URL in use (remote sources).
    pub url: Option<String>,
    /// Validators exactly as received, echoed byte for byte.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub next_poll_at: Option<DateTime<Utc>>,
    /// `200`, `304`, `local`, or the error that ended the last attempt.
    pub last_status: Option<String>,
    pub consecutive_failures: u32,
    /// Local sources: (relative path, mtime ns, size) -> the parsed entry,
    /// so unchanged files are not parsed again.
    #[serde(default)]
    pub files: Vec<LocalFileState>,
    /// Remote sources: the first warnings (at most 5) of the last successful
    /// parse, e.g. repaired XML or a wrong declared encoding; empty for a
    /// clean feed.
    #[serde(default)]
    pub parse_warnings: Vec<String>,
}

/// The remembered state of one local article file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalFileState {
    pub path: String,
    pub mtime_ns: i64,
    pub size: u64,
}
