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
        let digest: [u8; 32] = hasher.finalize().into();
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
    /// Local articles only: the files beside the article that it refers
    /// to (images, the enclosure), relative to the article's folder with
    /// `/` separators; served at `/articles/{slug}/{path}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    /// The source rules (their places, `feeds.toml:12:1`) that rewrote
    /// the entry before it was stored, for `syndic explain`. Not part of
    /// [`Entry::content_digest`]: moving a rule in the file rewrites no
    /// item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ruled_by: Vec<String>,
    /// A `full_text` source: where the content came from (the page it was
    /// extracted from) or why the feed's own content was kept, for
    /// `syndic explain`. Not part of [`Entry::content_digest`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_text: Option<String>,
    /// A hollow entry (`parse::Unfinished::hollow`): its summary and
    /// content were not sanitized because an identical raw entry was
    /// finished before, and this is the digest it had then. Such an entry
    /// can only be found unchanged: a refresh that would write one reads
    /// its document again, finishing every entry. Never stored.
    #[serde(skip)]
    pub known_digest: Option<[u8; 16]>,
}

impl Entry {
    /// A digest of everything a subscriber sees; an item whose digest did
    /// not change is not written again.
    pub fn content_digest(&self) -> [u8; 16] {
        if let Some(digest) = self.known_digest {
            return digest;
        }
        let encoded = match self.ruled_by.is_empty() && self.full_text.is_none() {
            true => serde_json::to_vec(self),
            false => serde_json::to_vec(&Entry {
                ruled_by: Vec::new(),
                full_text: None,
                ..self.clone()
            }),
        }
        .unwrap_or_default();
        let digest: [u8; 32] = Sha256::digest(&encoded).into();
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
    /// The item's place (0 = first) in the document, or the local folder
    /// listing, in which it was first seen. With `first_seen` it orders the
    /// items first seen at the same instant as their source listed them
    /// (publishing order and the distinct dates of undated items, see
    /// `publish`). Set once and never changed; not part of the digest, so it
    /// changes no item's identity or ETag by itself. 0 in stores written
    /// before it existed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub first_seen_pos: u32,
    /// The date the item sorts by and is published with: the upstream
    /// `published`, else `updated`, else `first_seen`.
    pub published: DateTime<Utc>,
    /// When the item last changed: the upstream `updated`, else the time
    /// syndic saw the change; never earlier than `published`.
    pub updated: DateTime<Utc>,
    /// [`Entry::content_digest`] of the stored entry.
    pub digest: [u8; 16],
    /// The dedup aliases that point at this item (see `dedup`): its old
    /// guids, canonical links and link+title keys. Kept for `syndic
    /// explain` and to clean the alias index when the item's tombstone
    /// expires.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Set when this item is a cross-source duplicate of another item:
    /// feeds that include both sources publish the other one only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<ItemKey>,
    /// The duplicates from other sources merged into this item, in the
    /// order they were found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<MergeRecord>,
    /// The address of the source's feed (remote sources), for RSS `source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_url: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Why a duplicate from another source was merged into an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum MergeRule {
    /// Both items link to the same canonical URL.
    SameLink { canonical: String },
    /// Title and text are near-identical (MinHash estimate of the Jaccard
    /// similarity of their word shingles, in percent).
    NearDuplicate {
        similarity_pct: u8,
        threshold_pct: u8,
    },
    /// The same story title (a publisher suffix aside) and the shorter
    /// text mostly contained in the longer: a summary, a teaser, a cut or
    /// padded copy (share of the shorter text's word shingles, in percent).
    Contained {
        containment_pct: u8,
        threshold_pct: u8,
    },
}

impl std::fmt::Display for MergeRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MergeRule::SameLink { canonical } => write!(f, "same canonical link {canonical}"),
            MergeRule::NearDuplicate {
                similarity_pct,
                threshold_pct,
            } => write!(
                f,
                "near-duplicate text ({similarity_pct}% similar, threshold {threshold_pct}%)"
            ),
            MergeRule::Contained {
                containment_pct,
                threshold_pct,
            } => write!(
                f,
                "same title and contained text ({containment_pct}% of the shorter text in the longer, threshold {threshold_pct}%)"
            ),
        }
    }
}

/// One duplicate merged into an item: which item, from which source, why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRecord {
    pub key: ItemKey,
    pub source: SourceId,
    /// The duplicate's own (original, published) link.
    pub link: Option<String>,
    /// The duplicate's source feed address, when remote.
    pub feed_url: Option<String>,
    pub rule: MergeRule,
    pub at: DateTime<Utc>,
}

/// What a `full_text` source remembers of one item's page (the store's
/// `pages` tree), so that the page of an unchanged item is not fetched
/// again and a changed one is asked for conditionally.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageRecord {
    /// [`Entry::content_digest`] of the entry as the feed sent it, before
    /// full text and rules: the page is fetched again only when it changes.
    pub feed_digest: [u8; 16],
    /// The page's validators, sent when it is fetched again.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub fetched_at: DateTime<Utc>,
    /// The page's main content (sanitized HTML), or why there is none.
    pub outcome: PageOutcome,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageOutcome {
    /// Extracted from `url` (the page's address after redirects).
    Extracted { url: String, html: String },
    /// No content: the feed's own is kept. A `transient` failure (a
    /// network error, a 5xx, a 429) is tried again the next time the item
    /// is read; another one only when the item changes.
    Failed { cause: String, transient: bool },
}

/// One webhook POST owed to a receiver (the store's `deliveries` tree):
/// kept until the receiver answers 2xx or the attempts run out, so that a
/// restart neither drops nor repeats it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Sent as `X-Syndic-Delivery`: the same for the same feed, URL and
    /// new items, so that a receiver can tell a repeat.
    pub id: String,
    pub feed: String,
    pub url: String,
    /// The JSON Feed document of the new items.
    pub body: String,
    pub created: DateTime<Utc>,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_at: DateTime<Utc>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// A WebSub subscription of a source to a hub for a topic (the store's
/// `websub` tree).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub hub: String,
    pub topic: String,
    pub callback: String,
    /// The source's configured URL when it subscribed: the SSRF guard
    /// judges the hub as a fetch of it, also once the source is gone.
    #[serde(default)]
    pub origin: String,
    /// `hub.secret`: the key of the pushes' `X-Hub-Signature`.
    pub secret: String,
    pub state: SubscriptionState,
    /// When the state began.
    pub since: DateTime<Utc>,
    /// The lease the hub granted last (seconds).
    pub lease_seconds: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionState {
    /// A subscription (or its renewal) was requested; the hub has yet to
    /// verify it. `until`: the lease still running during a renewal.
    Subscribing { until: Option<DateTime<Utc>> },
    /// Verified: pushes are taken until `until`.
    Active { until: DateTime<Utc> },
    /// An unsubscription was requested (the source left, or its topic or
    /// hub changed).
    Unsubscribing,
    /// Not subscribed, and why; tried again at `retry_at`.
    Failed {
        why: String,
        retry_at: DateTime<Utc>,
    },
}

impl SubscriptionState {
    /// Its name in `/metrics`: `pending`, `active`, `unsubscribing`,
    /// `failed`.
    pub fn name(&self) -> &'static str {
        match self {
            SubscriptionState::Subscribing { .. } => "pending",
            SubscriptionState::Active { .. } => "active",
            SubscriptionState::Unsubscribing => "unsubscribing",
            SubscriptionState::Failed { .. } => "failed",
        }
    }
}

impl Subscription {
    /// The end of the lease pushes are taken under, if any.
    pub fn taking_pushes_until(&self) -> Option<DateTime<Utc>> {
        match &self.state {
            SubscriptionState::Active { until } => Some(*until),
            SubscriptionState::Subscribing { until } => *until,
            _ => None,
        }
    }
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
    /// The HTTP status of the last poll's response (the final one after
    /// redirects): `None` for a local source, before the first poll, and
    /// when the last attempt got no response (a network error). Stores
    /// written before it existed read `None` until the next poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_code: Option<u16>,
    pub consecutive_failures: u32,
    /// Local sources: (relative path, mtime ns, size) -> the parsed entry,
    /// so unchanged files are not parsed again.
    #[serde(default)]
    pub files: Vec<LocalFileState>,
    /// The first warnings (at most 5) of the last successful parse, e.g.
    /// repaired XML or a wrong declared encoding; for a local folder, the
    /// files skipped and what their front matter got wrong. Empty when clean.
    #[serde(default)]
    pub parse_warnings: Vec<String>,
    /// How many warnings the last successful parse (or folder scan) had in
    /// all (`parse_warnings` keeps the first few).
    #[serde(default)]
    pub parse_warning_count: usize,
    /// The files of a local source its last scan could not read, each with
    /// why (a bad date, unclosed front matter, too big...): what was stored
    /// of them stays, and they are read again at the next scan. `syndic
    /// fetch` lists them and fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected_articles: Vec<String>,
    // Remote polling (issue 3). Every field defaults, so stores written
    // before these existed still load.
    /// The URL the config named when `url` was last set from it; a config
    /// change starts the source afresh, a permanent redirect does not.
    #[serde(default)]
    pub configured_url: Option<String>,
    /// Why `next_poll_at` is what it is.
    #[serde(default)]
    pub next_poll_reason: PollReason,
    /// No request to `url` before this (a `Retry-After` on 429/503).
    #[serde(default)]
    pub retry_after_until: Option<DateTime<Utc>>,
    /// The target of the permanent redirect (301/308) seen on the last
    /// polls, and on how many consecutive polls it was seen.
    #[serde(default)]
    pub redirect_target: Option<String>,
    #[serde(default)]
    pub redirect_streak: u32,
    /// 410 Gone: the source is no longer polled until its URL changes in
    /// the config (or `syndic fetch` names it).
    #[serde(default)]
    pub gone: bool,
    /// Size of the last 200 body, in bytes (what a 304 saves).
    #[serde(default)]
    pub last_body_bytes: u64,
    /// Bytes not transferred thanks to 304s, summed.
    #[serde(default)]
    pub bytes_saved: u64,
    /// The polling hints of the last feed body stored (they still hold
    /// while the host answers 304).
    #[serde(default)]
    pub feed_hints: FeedHints,
    /// WebSub hubs the last feed body (or its `Link` header) named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub websub_hubs: Vec<String>,
    /// The topic (`rel="self"`) it named with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websub_topic: Option<String>,
}

impl PollState {
    /// True when this state belongs to the URL the config names now (a
    /// store written before `configured_url` existed had `url` equal to
    /// the configured one).
    pub fn is_for(&self, configured: &str) -> bool {
        match self.configured_url.as_deref() {
            Some(c) => c == configured,
            None => self.url.as_deref() == Some(configured),
        }
    }

    /// True when the source answered 410 Gone at the URL the config names
    /// now: it is polled again only when named or when its URL changes.
    pub fn is_gone_at(&self, configured: &str) -> bool {
        self.gone && self.is_for(configured)
    }

    /// The number of warnings of the last successful parse (stores written
    /// before the count was kept only have the list).
    pub fn parse_warning_total(&self) -> usize {
        self.parse_warning_count.max(self.parse_warnings.len())
    }
}

/// Channel-level polling hints of an RSS feed, as last seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedHints {
    /// `<ttl>`, in seconds.
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    /// `sy:updatePeriod` / `sy:updateFrequency`, in seconds.
    #[serde(default)]
    pub update_period_secs: Option<u64>,
    /// `<skipHours>`: bit `h` for hour `h` GMT.
    #[serde(default)]
    pub skip_hours: u32,
    /// `<skipDays>`: bit 0 Monday .. bit 6 Sunday.
    #[serde(default)]
    pub skip_days: u8,
}

/// Why a source's next poll is when it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PollReason {
    /// The source's interval (never below its `min_interval`).
    #[default]
    Interval,
    /// A freshness hint of the host, longer than the interval:
    /// `Cache-Control: max-age`, `Expires`, RSS `ttl`, `sy:updatePeriod`.
    Hint,
    /// RSS `skipHours` / `skipDays` moved the poll out of a skipped hour.
    Skip,
    /// A `Retry-After` on a 429 or 503.
    RetryAfter,
    /// Exponential backoff after failures.
    Backoff,
    /// 404: polled at the slow end (`max_interval`).
    NotFound,
    /// 410 Gone: not polled any more.
    Gone,
    /// A WebSub subscription pushes the source's changes: polled at the
    /// slow end (`max_interval`) as a safety net.
    Pushed,
    /// A reason written by a newer syndic.
    #[serde(other)]
    Other,
}

impl std::fmt::Display for PollReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PollReason::Interval => "interval",
            PollReason::Hint => "host hint",
            PollReason::Skip => "skipHours/skipDays",
            PollReason::RetryAfter => "Retry-After",
            PollReason::Backoff => "backoff",
            PollReason::NotFound => "404, slow end",
            PollReason::Gone => "gone (410)",
            PollReason::Pushed => "WebSub pushes, slow end",
            PollReason::Other => "other",
        })
    }
}

/// The remembered state of one local article file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalFileState {
    pub path: String,
    pub mtime_ns: i64,
    pub size: u64,
    /// What the last read of the file had to say (unknown front matter
    /// keys, why it is not published); kept while the file is unchanged.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The file's `expiryDate`: its stored item is read again then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<DateTime<Utc>>,
    /// When a file scheduled for later (`publishDate` or `date` in the
    /// future) is to be published: it is read again then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_at: Option<DateTime<Utc>>,
}

/// What happens to a local article at a scheduled time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArticleAction {
    /// A future-dated article is published.
    Publish,
    /// A published article reaches its `expiryDate` and leaves the feeds.
    Expire,
}

/// The next scheduled change of a local source: which file, when, what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleEvent {
    pub path: String,
    pub at: DateTime<Utc>,
    pub action: ArticleAction,
}

impl std::fmt::Display for ArticleEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = match self.action {
            ArticleAction::Publish => "published",
            ArticleAction::Expire => "expires",
        };
        write!(
            f,
            "{} {verb} at {}",
            self.path,
            self.at.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

impl PollState {
    /// The earliest publish or expiry time after `now` among a local
    /// source's files (as of its last scan): when its timer fires.
    pub fn next_article_event(&self, now: DateTime<Utc>) -> Option<ArticleEvent> {
        self.files
            .iter()
            .flat_map(|f| {
                let publish = f.publish_at.map(|at| (at, ArticleAction::Publish));
                let expire = f.expires.map(|at| (at, ArticleAction::Expire));
                publish
                    .into_iter()
                    .chain(expire)
                    .map(move |(at, action)| (at, action, f))
            })
            .filter(|(at, _, _)| *at > now)
            .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.2.path.cmp(&b.2.path)))
            .map(|(at, action, f)| ArticleEvent {
                path: f.path.clone(),
                at,
                action,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules that rewrote an entry are kept with it but are not what a
    /// subscriber sees: a rule moved in the file rewrites no item. The
    /// digest of an entry without them is the one stores already hold.
    #[test]
    fn the_rules_an_entry_went_through_are_not_in_its_digest() {
        let plain = Entry {
            title: Some("t".into()),
            ..Entry::default()
        };
        let ruled = Entry {
            ruled_by: vec!["feeds.toml:9:1".into()],
            ..plain.clone()
        };
        assert_eq!(plain.content_digest(), ruled.content_digest());
        let noted = Entry {
            full_text: Some("kept the feed's content: no main content".into()),
            ..plain.clone()
        };
        assert_eq!(plain.content_digest(), noted.content_digest());
        assert!(!serde_json::to_string(&plain).unwrap().contains("ruled_by"));
        assert!(
            serde_json::to_string(&ruled)
                .unwrap()
                .contains("feeds.toml:9:1")
        );
        let changed = Entry {
            title: Some("u".into()),
            ..ruled.clone()
        };
        assert_ne!(changed.content_digest(), ruled.content_digest());
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn file(path: &str, publish: Option<&str>, expires: Option<&str>) -> LocalFileState {
        LocalFileState {
            path: path.into(),
            mtime_ns: 0,
            size: 0,
            notes: Vec::new(),
            expires: expires.map(at),
            publish_at: publish.map(at),
        }
    }

    #[test]
    fn the_next_article_event_is_the_earliest_future_time_of_any_file() {
        let state = PollState {
            files: vec![
                file("past.md", Some("2026-01-01T00:00:00Z"), None),
                file("later.md", Some("2026-06-01T00:00:00Z"), None),
                file("going.md", None, Some("2026-03-01T00:00:00Z")),
                file("plain.md", None, None),
            ],
            ..PollState::default()
        };
        let next = state
            .next_article_event(at("2026-02-01T00:00:00Z"))
            .unwrap();
        assert_eq!(next.path, "going.md");
        assert_eq!(next.action, ArticleAction::Expire);
        assert_eq!(
            next.to_string(),
            "going.md expires at 2026-03-01 00:00:00 UTC"
        );
        let next = state
            .next_article_event(at("2026-03-01T00:00:00Z"))
            .unwrap();
        assert_eq!(
            (next.path.as_str(), next.action),
            ("later.md", ArticleAction::Publish)
        );
        assert_eq!(state.next_article_event(at("2026-07-01T00:00:00Z")), None);
    }
}
