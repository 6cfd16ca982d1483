//! Item identity and the insert / update / skip / merge decision for each
//! ingested entry. Pure: the caller passes an [`Index`] (the store, or a map
//! in tests) and gets back a [`Plan`] of what to write; nothing here does
//! I/O.
//!
//! **Identity ladder** per source: the upstream id (guid, atom:id, JSON id, or
//! a local article's path), else the canonical link ([`url`]), else a
//! fingerprint of the title and text. The item key is derived from (source,
//! identity) when the item is first stored and never changes; the published
//! id is minted from it once.
//!
//! An entry is matched to a stored item of the same source, in order, by:
//! 1. its own key;
//! 2. the alias of its upstream id (old guids of items whose guid drifted);
//! 3. without an upstream id: the alias of its canonical link;
//! 4. (remote sources) the alias of its canonical path + query and
//!    normalized title: **guid drift** (new guid, same link and title),
//!    **http->https** (the canonical link ignores the scheme) and a
//!    **domain move** (new host, same path and title).
//!
//! A match is an update when what a subscriber sees changed (the content
//! digest), and no write at all otherwise. A matched key under a live
//! tombstone (an item removed by retention) is ignored: it does not come
//! back. A new entry is then matched **across sources**, to merge into the
//! first item stored with the same canonical link, else (when the source
//! has near-duplicate matching on) to a near-identical text ([`near`]).
//! A merged entry is still stored under its own source (so a feed of that
//! source alone keeps it), marked `duplicate_of`, and the item it joined
//! lists it in `merged`.

pub mod document;
pub mod near;
pub mod url;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::model::{Entry, ItemKey, MergeRecord, MergeRule, StoredItem};
pub use near::Signature;
pub use url::{UrlOptions, canonical_url};

mod merge;
pub use merge::*;

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
    /// Removed by retention and still listed upstream: ignored until its
    /// tombstone expires.
    Tombstoned(ItemKey),
    /// New, but older than the source's `max_age`: not stored.
    TooOld,
}

/// Everything one refresh of one source writes besides the poll state.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub decisions: Vec<Decision>,
    /// Aliases to point at items (new ones only).
    pub aliases: Vec<(String, ItemKey)>,
    /// Duplicates to record in the items (of other sources) they joined.
    pub merges: Vec<(ItemKey, MergeRecord)>,
    /// Near-duplicate signatures to index, replacing the item's old one.
    pub signatures: Vec<(ItemKey, Signature)>,
    /// Entries told apart by less than their guid or link (see
    /// [`document`]), for the source's status.
    pub warnings: Vec<String>,
}

/// How one source's entries are matched; built from its config.
#[derive(Debug, Clone)]
pub struct Policy<'a> {
    pub source: &'a str,
    /// The source's feed address (remote sources), recorded in items.
    pub feed_url: Option<&'a str>,
    /// Other addresses of the document itself (the URL it was fetched
    /// from, its home page): a link equal to one of them, or to
    /// `feed_url`, identifies no item.
    pub document_urls: Vec<String>,
    pub urls: &'a UrlOptions,
    /// Match guid drift and domain moves by link + title (remote sources;
    /// local articles are identified by their path alone).
    pub fuzzy_identity: bool,
    /// Near-duplicate threshold in percent (estimated Jaccard similarity);
    /// `None` turns near-duplicate matching off for this source.
    pub near_threshold_pct: Option<u8>,
    /// New entries dated before `now - max_age` are not stored.
    pub max_age: Option<chrono::Duration>,
}

/// What [`Index::compare_digest`] found under a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// No item.
    Missing,
    /// An item with the same content digest.
    Same,
    /// An item with another digest (or, rarely, possibly no item: the
    /// caller reads it to know).
    Other,
}

/// The store's side of dedup: lookups by exact key only, so a decision
/// costs the same whatever the store holds.
pub trait Index {
    type Error;
    fn item(&mut self, key: &ItemKey) -> Result<Option<StoredItem>, Self::Error>;
    /// Compares `digest` with the content digest of the item stored under
    /// `key`, so that an unchanged entry is told without reading its item.
    /// The default reads the item.
    fn compare_digest(&mut self, key: &ItemKey, digest: &[u8; 16]) -> Result<Stored, Self::Error> {
        Ok(match self.item(key)? {
            None => Stored::Missing,
            Some(item) if item.digest == *digest => Stored::Same,
            Some(_) => Stored::Other,
        })
    }
    /// The item key an alias points at.
    fn alias(&mut self, alias: &str) -> Result<Option<ItemKey>, Self::Error>;
    /// The time a tombstone of `source` for `key` lasts until.
    fn tombstone(
        &mut self,
        source: &str,
        key: &ItemKey,
    ) -> Result<Option<DateTime<Utc>>, Self::Error>;
    /// Items sharing at least one LSH band with `signature`, with their
    /// signatures: at most [`near::MAX_CANDIDATES`], those sharing most
    /// bands first.
    fn near_candidates(
        &mut self,
        signature: &Signature,
    ) -> Result<Vec<(ItemKey, Signature)>, Self::Error>;
}

/// The identity of an entry within its source (the first rung of the ladder
/// that the entry has), with the default link rules.
pub fn identity(entry: &Entry) -> String {
    identity_with(entry, &UrlOptions::default())
}

/// [`identity`] with the given link rules.
pub fn identity_with(entry: &Entry, urls: &UrlOptions) -> String {
    if let Some(id) = entry.upstream_id.as_deref().map(str::trim)
        && !id.is_empty()
    {
        return format!("id:{id}");
    }
    if let Some(link) = entry.link.as_deref().map(str::trim)
        && !link.is_empty()
    {
        return format!("link:{}", canonical_url(link, urls));
    }
    format!("fp:{}", document::fingerprint(entry))
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

/// A title as compared for guid drift: lower-case words, single spaces.
pub fn normalized_title(title: &str) -> String {
    near::words(title).join(" ")
}

/// Longest alias part kept as written; longer ones (an 8 MB title from a
/// hostile feed) are cut and end in a hash of the whole, so aliases stay
/// small rows.
const MAX_ALIAS_PART: usize = 256;

fn bounded(part: &str) -> String {
    if part.len() <= MAX_ALIAS_PART {
        return part.to_string();
    }
    let mut cut = 200;
    while !part.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = Sha256::digest(part.as_bytes());
    format!(
        "{}…#{}",
        part.get(..cut).unwrap_or(part),
        hex::encode(digest.get(..8).unwrap_or_default())
    )
}

/// The same-source aliases of an entry, in lookup order:
/// `"{source} id {guid}"`, `"{source} link {canonical}"` (entries without
/// an upstream id) and `"{source} pt {path+query} {title}"` (fuzzy identity),
/// for an entry alone in its document.
pub fn source_aliases(entry: &Entry, policy: &Policy) -> Vec<String> {
    let (doc, _) = document::identities(std::slice::from_ref(entry), policy.urls, &[]);
    match doc.first() {
        Some(doc) => aliases_in_document(entry, policy, doc),
        None => Vec::new(),
    }
}

/// [`source_aliases`] of an entry as its document identifies it: the guid
/// alias only for a guid no other entry shares, the link aliases only for a
/// link that identifies the entry.
fn aliases_in_document(entry: &Entry, policy: &Policy, doc: &document::DocIdentity) -> Vec<String> {
    let source = policy.source;
    let mut out = Vec::new();
    let id = entry
        .upstream_id
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty());
    if let Some(id) = id
        && doc.guid_alone
    {
        out.push(format!("{source} id {}", bounded(id)));
    }
    if let Some(link) = doc.link_key.as_deref().filter(|_| doc.link_identifies) {
        if id.is_none() {
            out.push(format!("{source} link {}", bounded(link)));
        }
        let title = entry
            .title
            .as_deref()
            .map(normalized_title)
            .unwrap_or_default();
        if policy.fuzzy_identity && !title.is_empty() {
            out.push(format!(
                "{source} pt {} {}",
                bounded(url::canonical_path(link)),
                bounded(&title)
            ));
        }
    }
    out
}

/// The cross-source alias of a canonical link.
pub fn link_alias(canonical: &str) -> String {
    format!("* link {}", bounded(canonical))
}

fn canonical_link(entry: &Entry, urls: &UrlOptions) -> Option<String> {
    let link = entry
        .link
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())?;
    Some(canonical_url(link, urls))
}

/// The near-duplicate signature of an entry, when its text is long enough.
pub fn signature(entry: &Entry) -> Option<Signature> {
    let text = entry
        .content_html
        .as_deref()
        .or(entry.summary_html.as_deref())
        .unwrap_or("");
    Signature::of(entry.title.as_deref().unwrap_or(""), text)
}

/// Decides, for each entry of one refresh of `policy.source`, what to
/// write. Entries that match an item already matched in this batch are
/// dropped (the first one wins).
pub fn plan<I: Index>(
    policy: &Policy,
    entries: Vec<Entry>,
    now: DateTime<Utc>,
    index: &mut I,
) -> Result<Plan, I::Error> {
    Planner::new(policy, entries).next(usize::MAX, now, index)
}

/// [`plan`] in chunks, so that a big document is written as several
/// transactions: the document's identities are worked out once, then each
/// [`Planner::next`] decides the next entries against the index as the
/// chunks before it left it (written). What an earlier chunk matched is
/// remembered: a later entry with its key is dropped, as in one plan.
pub struct Planner<'p, 'a> {
    policy: &'p Policy<'a>,
    work: std::iter::Enumerate<
        std::iter::Zip<std::vec::IntoIter<Entry>, std::vec::IntoIter<document::DocIdentity>>,
    >,
    seen: HashSet<ItemKey>,
    /// Aliases planned earlier in this document.
    planned: HashMap<String, ItemKey>,
    /// The document's identity warnings, given with the first chunk.
    warnings: Vec<String>,
}

impl<'p, 'a> Planner<'p, 'a> {
    pub fn new(policy: &'p Policy<'a>, entries: Vec<Entry>) -> Self {
        let own: Vec<&str> = policy
            .feed_url
            .into_iter()
            .chain(policy.document_urls.iter().map(String::as_str))
            .collect();
        let (docs, warnings) = document::identities(&entries, policy.urls, &own);
        Planner {
            policy,
            work: entries.into_iter().zip(docs).enumerate(),
            seen: HashSet::new(),
            planned: HashMap::new(),
            warnings,
        }
    }

    /// Entries not planned yet.
    pub fn remaining(&self) -> usize {
        self.work.len()
    }

    /// The plan of the next `n` entries (fewer at the end of the document).
    pub fn next<I: Index>(
        &mut self,
        n: usize,
        now: DateTime<Utc>,
        index: &mut I,
    ) -> Result<Plan, I::Error> {
        let policy = self.policy;
        let mut out = Plan {
            warnings: std::mem::take(&mut self.warnings),
            ..Plan::default()
        };
        let seen = &mut self.seen;
        let planned = &mut self.planned;
        for (pos, (entry, mut doc)) in self.work.by_ref().take(n) {
            let mut derived = ItemKey::derive(policy.source, &doc.identity);
            // 1. its own key, 2-4. its aliases.
            let mut resolved = None;
            if seen.contains(&derived) {
                continue;
            }
            // The digest first: an unchanged item is not read at all.
            let digest = entry.content_digest();
            let mut found = find(index, &derived, &digest)?;
            // A later post reusing an old guid: another link and another title
            // than the item stored under the guid make it another item.
            if let Found::Item(old) = &found
                && doc.guid_alone
                && reuses_guid(&old.entry, &entry, policy.urls)
            {
                doc.identity = format!(
                    "{}\n{}",
                    doc.identity,
                    match &doc.link_key {
                        Some(link) => format!("link:{link}"),
                        None => format!("fp:{}", document::fingerprint(&entry)),
                    }
                );
                doc.guid_alone = false;
                derived = ItemKey::derive(policy.source, &doc.identity);
                if seen.contains(&derived) {
                    continue;
                }
                found = find(index, &derived, &digest)?;
            }
            let aliases = aliases_in_document(&entry, policy, &doc);
            match found {
                Found::Missing => {
                    for alias in &aliases {
                        let key = match planned.get(alias) {
                            Some(k) => Some(*k),
                            None => index.alias(alias)?,
                        };
                        if let Some(key) = key {
                            resolved = Some((key, find(index, &key, &digest)?));
                            break;
                        }
                    }
                    // A link whose fragment tells it apart today may have been
                    // stored without it (alone on its page then): the item
                    // stored under the page with the same fragment.
                    if resolved.is_none()
                        && entry
                            .upstream_id
                            .as_deref()
                            .is_none_or(|g| g.trim().is_empty())
                        && let Some((page, frag)) =
                            doc.link_key.as_deref().and_then(|l| l.split_once('#'))
                        && let Some(key) =
                            index.alias(&format!("{} link {}", policy.source, bounded(page)))?
                        && let Some(item) = index.item(&key)?
                        && item
                            .entry
                            .link
                            .as_deref()
                            .and_then(|l| l.split_once('#'))
                            .is_some_and(|(_, f)| f.trim() == frag)
                    {
                        resolved = Some((key, find(index, &key, &digest)?));
                    }
                }
                found => resolved = Some((derived, found)),
            }
            let (key, old) = match resolved {
                Some((key, Found::Item(item))) => (key, Some(*item)),
                Some((key, Found::Unchanged)) => {
                    if seen.insert(key) {
                        out.decisions.push(Decision::Unchanged(key));
                    }
                    continue;
                }
                Some((key, Found::Missing)) => (key, None),
                None => (derived, None),
            };
            if !seen.insert(key) {
                continue;
            }
            let fresh: Vec<String> = aliases
                .into_iter()
                .filter(|a| old.as_ref().is_none_or(|o| !o.aliases.contains(a)))
                .collect();
            match old {
                Some(old) => {
                    let decision = update(policy, key, entry, now, old, &fresh);
                    if let Decision::Update { new, .. } = &decision {
                        for alias in &fresh {
                            out.aliases.push((alias.clone(), key));
                            planned.insert(alias.clone(), key);
                        }
                        if policy.near_threshold_pct.is_some()
                            && new.duplicate_of.is_none()
                            && let Some(sig) = signature(&new.entry)
                        {
                            out.signatures.push((key, sig));
                        }
                    }
                    out.decisions.push(decision);
                }
                None => {
                    if let Some(until) = index.tombstone(policy.source, &key)?
                        && until > now
                    {
                        out.decisions.push(Decision::Tombstoned(key));
                        continue;
                    }
                    let date = entry.published.or(entry.updated);
                    if let (Some(max_age), Some(date)) = (policy.max_age, date)
                        && date < now - max_age
                    {
                        out.decisions.push(Decision::TooOld);
                        continue;
                    }
                    let pos = u32::try_from(pos).unwrap_or(u32::MAX);
                    let item = insert(policy, key, entry, now, pos, fresh.clone());
                    let item = cross_source(policy, &doc, item, now, index, &mut out)?;
                    for alias in &fresh {
                        out.aliases.push((alias.clone(), key));
                        planned.insert(alias.clone(), key);
                    }
                    out.decisions.push(Decision::Insert(item));
                }
            }
        }
        Ok(out)
    }
}

/// Whether `new` is another post than `old` that reuses its guid: both its
/// link and its title differ (a changed item keeps one of them).
fn reuses_guid(old: &Entry, new: &Entry, urls: &UrlOptions) -> bool {
    let link = |e: &Entry| canonical_link(e, urls);
    let title = |e: &Entry| e.title.as_deref().map(normalized_title);
    link(old).is_some()
        && link(old) != link(new)
        && title(old).is_some()
        && title(old) != title(new)
}

/// What a lookup of one item key found.
enum Found {
    Missing,
    /// Stored with the entry's digest: nothing to write.
    Unchanged,
    /// Stored with another digest.
    Item(Box<StoredItem>),
}

fn find<I: Index>(index: &mut I, key: &ItemKey, digest: &[u8; 16]) -> Result<Found, I::Error> {
    match index.compare_digest(key, digest)? {
        Stored::Missing => Ok(Found::Missing),
        Stored::Same => Ok(Found::Unchanged),
        Stored::Other => Ok(match index.item(key)? {
            Some(item) => Found::Item(Box::new(item)),
            None => Found::Missing,
        }),
    }
}

/// An item as first stored: `entry` of `source` under `key`, first seen,
/// published and updated at `at`, its public id minted from the key and its
/// digest taken from the content; no aliases, merges or feed URL yet.
pub fn new_item(source: &str, key: ItemKey, entry: Entry, at: DateTime<Utc>) -> StoredItem {
    StoredItem {
        key,
        source: source.to_string(),
        public_id: mint_public_id(&key),
        digest: entry.content_digest(),
        entry,
        first_seen: at,
        first_seen_pos: 0,
        published: at,
        updated: at,
        aliases: Vec::new(),
        duplicate_of: None,
        merged: Vec::new(),
        feed_url: None,
    }
}

fn insert(
    policy: &Policy,
    key: ItemKey,
    entry: Entry,
    now: DateTime<Utc>,
    first_seen_pos: u32,
    aliases: Vec<String>,
) -> StoredItem {
    let published = entry.published.or(entry.updated).unwrap_or(now);
    let updated = entry.updated.unwrap_or(published).max(published);
    StoredItem {
        first_seen_pos,
        published,
        updated,
        aliases,
        feed_url: policy.feed_url.map(str::to_string),
        ..new_item(policy.source, key, entry, now)
    }
}

fn update(
    policy: &Policy,
    key: ItemKey,
    entry: Entry,
    now: DateTime<Utc>,
    old: StoredItem,
    fresh: &[String],
) -> Decision {
    let digest = entry.content_digest();
    if old.digest == digest {
        return Decision::Unchanged(key);
    }
    // An item without its own date keeps the one it was first given.
    let published = entry.published.or(entry.updated).unwrap_or(old.published);
    let updated = entry
        .updated
        .filter(|u| *u > old.updated)
        .unwrap_or(now)
        .max(published)
        .max(old.updated);
    let mut aliases = old.aliases.clone();
    aliases.extend(fresh.iter().cloned());
    let new = StoredItem {
        key,
        source: policy.source.to_string(),
        public_id: old.public_id.clone(),
        entry,
        first_seen: old.first_seen,
        first_seen_pos: old.first_seen_pos,
        published,
        updated,
        digest,
        aliases,
        duplicate_of: old.duplicate_of,
        merged: old.merged.clone(),
        feed_url: policy.feed_url.map(str::to_string).or(old.feed_url.clone()),
    };
    Decision::Update {
        old: Box::new(old),
        new,
    }
}

/// The items of a source that retention removes: all but the newest
/// `max_items`, and those published before `now - max_age`. `items` is
/// (key, published) of every item the source keeps, in any order.
pub fn expired(
    items: &[(ItemKey, DateTime<Utc>)],
    max_items: Option<usize>,
    max_age: Option<chrono::Duration>,
    now: DateTime<Utc>,
) -> Vec<ItemKey> {
    let mut sorted: Vec<&(ItemKey, DateTime<Utc>)> = items.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sorted
        .into_iter()
        .enumerate()
        .filter(|(i, (_, published))| {
            max_items.is_some_and(|m| *i >= m) || max_age.is_some_and(|a| *published < now - a)
        })
        .map(|(_, (key, _))| *key)
        .collect()
}

#[cfg(test)]
mod tests;
