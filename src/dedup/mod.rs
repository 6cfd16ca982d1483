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

/// Least share (percent) of the smaller text's shingles found in the larger
/// one for two items with the same story title to be one story (a summary,
/// a teaser, a cut or padded copy).
pub const CONTAINED_PCT: u8 = 60;

/// Fewest words of text (title aside) an item needs to be a near-duplicate
/// of one with another title.
pub const SHORT_TEXT_WORDS: usize = 30;

/// Most candidates of the LSH lookup re-checked exactly (their items read
/// and their shingle sets compared), best estimates first.
pub const EXACT_CHECKS: usize = 8;

/// How far under the threshold an estimate may be and still be re-checked
/// exactly (64 hashes are off by a few points).
const ESTIMATE_MARGIN: u8 = 15;

/// The marker alias of a link that several items of `source` share: it
/// identifies none of them across sources.
fn shared_link_alias(source: &str, key: &str) -> String {
    format!("{source} shared {}", bounded(key))
}

/// The cross-source alias of a story title.
fn title_alias(title: &str) -> String {
    format!("* title {}", bounded(title))
}

/// The text of an entry that dedup compares: its content, else its summary.
fn text_of(entry: &Entry) -> &str {
    entry
        .content_html
        .as_deref()
        .or(entry.summary_html.as_deref())
        .unwrap_or("")
}

/// Whether two entries tell the same story, exactly: the same story title
/// and one text mostly contained in the other, or texts (with titles)
/// similar above `threshold`. Returns the rule that holds.
fn same_story(a: &Entry, b: &Entry, threshold: u8) -> Option<MergeRule> {
    let (ta, tb) = (
        a.title.as_deref().unwrap_or(""),
        b.title.as_deref().unwrap_or(""),
    );
    if near::same_story_title(ta, tb) {
        let contained = near::Shingles::of_text(text_of(a))
            .containment_pct(&near::Shingles::of_text(text_of(b)));
        if contained >= CONTAINED_PCT {
            return Some(MergeRule::Contained {
                containment_pct: contained,
                threshold_pct: CONTAINED_PCT,
            });
        }
    }
    let (sa, sb) = (
        near::Shingles::of(ta, text_of(a)),
        near::Shingles::of(tb, text_of(b)),
    );
    if sa.word_count() < near::MIN_WORDS || sb.word_count() < near::MIN_WORDS {
        return None;
    }
    // Short texts under other titles: the title is most of what tells
    // them apart (a feed of one-line notices differing in a word).
    let short = |t: &str, s: &near::Shingles| {
        s.word_count().saturating_sub(near::words(t).len()) < SHORT_TEXT_WORDS
    };
    if (short(ta, &sa) || short(tb, &sb)) && !near::same_story_title(ta, tb) {
        return None;
    }
    let similarity = sa.jaccard_pct(&sb);
    (similarity >= threshold).then_some(MergeRule::NearDuplicate {
        similarity_pct: similarity,
        threshold_pct: threshold,
    })
}

/// Whether two entries with the same link may be merged by it: the words
/// of one title are all in the other (or one has none), or their texts
/// tell the same story.
fn link_agrees(a: &Entry, b: &Entry, threshold: u8) -> bool {
    let (ta, tb) = (
        a.title.as_deref().unwrap_or(""),
        b.title.as_deref().unwrap_or(""),
    );
    let (wa, wb) = (near::words(ta), near::words(tb));
    let (small, large) = if wa.len() <= wb.len() {
        (&wa, &wb)
    } else {
        (&wb, &wa)
    };
    small.iter().all(|w| large.contains(w)) || same_story(a, b, threshold).is_some()
}

/// Matches a new item against other sources, in order: the item holding
/// its link (when the link identifies one item in each source and the two
/// agree), else (near-duplicate matching on) the item holding its story
/// title when one text contains the other, else the most similar of at
/// most [`EXACT_CHECKS`] LSH candidates, re-checked exactly. Records the
/// merge, or indexes the item as a primary.
fn cross_source<I: Index>(
    policy: &Policy,
    doc: &document::DocIdentity,
    mut item: StoredItem,
    now: DateTime<Utc>,
    index: &mut I,
    out: &mut Plan,
) -> Result<StoredItem, I::Error> {
    let threshold = policy
        .near_threshold_pct
        .unwrap_or(DEFAULT_LINK_AGREEMENT_PCT);
    let mut found: Option<(ItemKey, MergeRule)> = None;
    let link_key = doc.link_key.clone().filter(|_| doc.link_identifies);
    if let Some(key) = &link_key {
        let alias = link_alias(key);
        // The first stored item with a link holds its alias.
        let holder = match index.alias(&alias)? {
            Some(other) => index.item(&other)?,
            None => None,
        };
        match holder {
            // Another item of this source has the link: it identifies
            // neither across sources from now on.
            Some(holder) if holder.source == policy.source => {
                let marker = shared_link_alias(policy.source, key);
                out.aliases.push((marker.clone(), item.key));
                item.aliases.push(marker);
            }
            Some(holder) => {
                let shared = index
                    .alias(&shared_link_alias(&holder.source, key))?
                    .is_some()
                    || index
                        .alias(&shared_link_alias(policy.source, key))?
                        .is_some();
                if !shared
                    && link_agrees(&item.entry, &holder.entry, threshold)
                    && let Some(primary) = primary_of(index, holder.key, policy.source)?
                {
                    found = Some((
                        primary,
                        MergeRule::SameLink {
                            canonical: key.clone(),
                        },
                    ));
                }
            }
            None => {
                out.aliases.push((alias.clone(), item.key));
                item.aliases.push(alias);
            }
        }
    }
    let Some(threshold) = policy.near_threshold_pct else {
        return Ok(record(policy, item, found, None, now, out));
    };
    // The story title: a summary, teaser or cut copy of the item holding it.
    let titles = near::story_titles(item.entry.title.as_deref().unwrap_or(""));
    let titles: Vec<String> = titles
        .into_iter()
        .filter(|t| t.split(' ').count() >= MIN_TITLE_WORDS)
        .collect();
    for title in &titles {
        let alias = title_alias(title);
        match index.alias(&alias)? {
            Some(other) if found.is_none() => {
                if let Some(holder) = index.item(&other)?
                    && holder.source != policy.source
                    && let Some(rule) = same_story(&item.entry, &holder.entry, threshold)
                    && let Some(primary) = primary_of(index, holder.key, policy.source)?
                {
                    found = Some((primary, rule));
                }
            }
            Some(_) => {}
            None => {
                if !out.aliases.iter().any(|(a, _)| *a == alias) {
                    out.aliases.push((alias.clone(), item.key));
                    item.aliases.push(alias);
                }
            }
        }
    }
    let sig = signature(&item.entry);
    if found.is_none()
        && let Some(sig) = &sig
    {
        // The best estimates (near the threshold or above), re-checked
        // exactly; candidates of this source are other items.
        let mut best: Vec<(u8, ItemKey)> = index
            .near_candidates(sig)?
            .into_iter()
            .map(|(candidate, their)| (sig.similarity_pct(&their), candidate))
            .filter(|(similarity, _)| similarity.saturating_add(ESTIMATE_MARGIN) >= threshold)
            .collect();
        best.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        best.truncate(EXACT_CHECKS);
        let mut matches: Vec<(u8, ItemKey, MergeRule)> = Vec::new();
        for (_, candidate) in best {
            let Some(other) = index.item(&candidate)? else {
                continue;
            };
            if other.source == policy.source {
                continue;
            }
            if let Some(rule) = same_story(&item.entry, &other.entry, threshold) {
                let score = match &rule {
                    MergeRule::NearDuplicate { similarity_pct, .. } => *similarity_pct,
                    MergeRule::Contained {
                        containment_pct, ..
                    } => *containment_pct,
                    MergeRule::SameLink { .. } => 100,
                };
                matches.push((score, candidate, rule));
            }
        }
        matches.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        for (_, candidate, rule) in matches {
            if let Some(primary) = primary_of(index, candidate, policy.source)? {
                found = Some((primary, rule));
                break;
            }
        }
    }
    Ok(record(policy, item, found, sig, now, out))
}

/// Fewest words a story title needs to find items by title alone.
const MIN_TITLE_WORDS: usize = 2;

/// The similarity two texts with one link need when the source has
/// near-duplicate matching off (their titles differ).
const DEFAULT_LINK_AGREEMENT_PCT: u8 = 60;

/// Records `item` as a duplicate of what it was `found` to be, else
/// indexes its signature as a primary.
fn record(
    policy: &Policy,
    mut item: StoredItem,
    found: Option<(ItemKey, MergeRule)>,
    sig: Option<Signature>,
    now: DateTime<Utc>,
    out: &mut Plan,
) -> StoredItem {
    match found {
        Some((primary, rule)) => {
            item.duplicate_of = Some(primary);
            out.merges.push((
                primary,
                MergeRecord {
                    key: item.key,
                    source: policy.source.to_string(),
                    link: item.entry.link.clone(),
                    feed_url: policy.feed_url.map(str::to_string),
                    rule,
                    at: now,
                },
            ));
        }
        None => {
            if let Some(sig) = sig {
                out.signatures.push((item.key, sig));
            }
        }
    }
    item
}

/// The stored primary of `key` (itself, or what it is a duplicate of),
/// when it exists and belongs to another source than `source`.
fn primary_of<I: Index>(
    index: &mut I,
    key: ItemKey,
    source: &str,
) -> Result<Option<ItemKey>, I::Error> {
    let Some(item) = index.item(&key)? else {
        return Ok(None);
    };
    let primary = match item.duplicate_of {
        Some(p) => match index.item(&p)? {
            Some(p) => p,
            None => item,
        },
        None => item,
    };
    Ok((primary.source != source).then_some(primary.key))
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
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The store's role, in memory.
    #[derive(Default)]
    struct MapIndex {
        items: HashMap<ItemKey, StoredItem>,
        aliases: HashMap<String, ItemKey>,
        tombstones: HashMap<ItemKey, DateTime<Utc>>,
        sigs: Vec<(ItemKey, Signature)>,
    }

    impl Index for MapIndex {
        type Error = ();
        fn item(&mut self, key: &ItemKey) -> Result<Option<StoredItem>, ()> {
            Ok(self.items.get(key).cloned())
        }
        fn alias(&mut self, alias: &str) -> Result<Option<ItemKey>, ()> {
            Ok(self.aliases.get(alias).copied())
        }
        fn tombstone(&mut self, _: &str, key: &ItemKey) -> Result<Option<DateTime<Utc>>, ()> {
            Ok(self.tombstones.get(key).copied())
        }
        fn near_candidates(&mut self, sig: &Signature) -> Result<Vec<(ItemKey, Signature)>, ()> {
            let bands = sig.bands();
            let mut found: Vec<(usize, (ItemKey, Signature))> = self
                .sigs
                .iter()
                .map(|(k, s)| {
                    let shared = s.bands().iter().zip(&bands).filter(|(a, b)| a == b).count();
                    (shared, (*k, s.clone()))
                })
                .filter(|(shared, _)| *shared > 0)
                .collect();
            found.sort_by_key(|f| std::cmp::Reverse(f.0));
            found.truncate(near::MAX_CANDIDATES);
            Ok(found.into_iter().map(|(_, c)| c).collect())
        }
    }

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

    fn policy<'a>(source: &'a str, urls: &'a UrlOptions) -> Policy<'a> {
        Policy {
            source,
            feed_url: None,
            document_urls: Vec::new(),
            urls,
            fuzzy_identity: true,
            near_threshold_pct: Some(60),
            max_age: None,
        }
    }

    fn run_in(
        db: &mut MapIndex,
        source: &str,
        entries: Vec<Entry>,
        now: DateTime<Utc>,
    ) -> Vec<Decision> {
        let urls = UrlOptions::default();
        let plan = plan(&policy(source, &urls), entries, now, db).unwrap();
        for d in &plan.decisions {
            if let Decision::Insert(i) | Decision::Update { new: i, .. } = d {
                db.items.insert(i.key, i.clone());
            }
        }
        for (alias, key) in plan.aliases {
            db.aliases.insert(alias, key);
        }
        for (primary, record) in plan.merges {
            db.items.get_mut(&primary).unwrap().merged.push(record);
        }
        db.sigs.extend(plan.signatures);
        plan.decisions
    }

    fn run(db: &mut MapIndex, entries: Vec<Entry>, now: DateTime<Utc>) -> Vec<Decision> {
        run_in(db, "src", entries, now)
    }

    #[test]
    fn identity_prefers_upstream_id_then_link_then_fingerprint() {
        assert_eq!(
            identity(&entry(Some("g1"), Some("http://a/x"), "T")),
            "id:g1"
        );
        assert_eq!(
            identity(&entry(None, Some("http://A/x#frag"), "T")),
            "link:a/x"
        );
        let fp = identity(&entry(None, None, "T"));
        assert!(fp.starts_with("fp:"));
        assert_ne!(fp, identity(&entry(None, None, "U")));
    }

    #[test]
    fn same_entry_twice_is_unchanged_and_changed_entry_updates_in_place() {
        let mut db = MapIndex::default();
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
        assert_eq!(db.items.len(), 1);
    }

    /// The place an item had in the document it was first seen in is
    /// stored with it and kept when the item moves down or changes later;
    /// it is not part of the digest.
    #[test]
    fn first_seen_position_is_recorded_once() {
        let mut db = MapIndex::default();
        let d = run(
            &mut db,
            vec![
                entry(Some("a"), None, "A"),
                entry(Some("b"), None, "B"),
                entry(Some("c"), None, "C"),
            ],
            t(1),
        );
        let pos = |d: &Decision| match d {
            Decision::Insert(i) | Decision::Update { new: i, .. } => {
                (i.entry.title.clone(), i.first_seen_pos)
            }
            other => panic!("{other:?}"),
        };
        let got: Vec<_> = d.iter().map(pos).collect();
        assert_eq!(
            got,
            [
                (Some("A".into()), 0),
                (Some("B".into()), 1),
                (Some("C".into()), 2)
            ]
        );
        // A new item on top, and "c" edited: "c" keeps its first place.
        let d = run(
            &mut db,
            vec![
                entry(Some("new"), None, "New"),
                entry(Some("a"), None, "A"),
                entry(Some("b"), None, "B"),
                entry(Some("c"), None, "C, edited"),
            ],
            t(2),
        );
        let changed: Vec<_> = d
            .iter()
            .filter(|d| !matches!(d, Decision::Unchanged(_)))
            .map(pos)
            .collect();
        assert_eq!(
            changed,
            [(Some("New".into()), 0), (Some("C, edited".into()), 2)]
        );
    }

    #[test]
    fn exact_copies_within_one_batch_are_dropped_and_other_items_kept_apart() {
        let mut db = MapIndex::default();
        let d = run(
            &mut db,
            vec![
                entry(Some("g"), None, "A"),
                entry(Some("g"), None, "A"),
                entry(Some("g"), None, "B"),
                entry(Some("h"), Some("http://x.org/1"), "C"),
                entry(Some("i"), Some("https://x.org/1/"), "C"),
            ],
            t(1),
        );
        // The copy of g/A goes; g/B shares the guid but not the content;
        // h and i have guids of their own (their shared link is no
        // identity, so no link alias joins them).
        assert_eq!(d.len(), 4, "{d:?}");
        assert!(d.iter().all(|d| matches!(d, Decision::Insert(_))), "{d:?}");
        assert_eq!(db.items.len(), 4);
        // The next refresh finds each again.
        let d = run(
            &mut db,
            vec![
                entry(Some("g"), None, "A"),
                entry(Some("g"), None, "B"),
                entry(Some("h"), Some("http://x.org/1"), "C"),
                entry(Some("i"), Some("https://x.org/1/"), "C"),
            ],
            t(2),
        );
        assert!(
            d.iter().all(|d| matches!(d, Decision::Unchanged(_))),
            "{d:?}"
        );
        assert_eq!(d.len(), 4);
    }

    #[test]
    fn guid_drift_scheme_change_and_domain_move_update_the_first_item() {
        let mut db = MapIndex::default();
        run(
            &mut db,
            vec![entry(
                Some("g1"),
                Some("http://old.example/post/1"),
                "Big news",
            )],
            t(1),
        );
        let key = *db.items.keys().next().unwrap();
        for (i, (guid, link)) in [
            ("g2", "http://old.example/post/1?utm_source=rss"),
            ("g3", "https://old.example/post/1/"),
            ("https://new.example/?p=1", "https://new.example/post/1"),
        ]
        .into_iter()
        .enumerate()
        {
            let d = run(
                &mut db,
                vec![entry(Some(guid), Some(link), "Big  News")],
                t(2 + i as u32),
            );
            let Decision::Update { new, .. } = &d[0] else {
                panic!("{guid}: expected update, got {d:?}")
            };
            assert_eq!(new.key, key);
            assert_eq!(
                new.entry.link.as_deref(),
                Some(link),
                "the original link is kept"
            );
        }
        // The drifted guids are aliases now: each one finds the item again.
        let d = run(
            &mut db,
            vec![entry(Some("g2"), Some("http://elsewhere/x"), "Other")],
            t(9),
        );
        assert!(
            matches!(&d[0], Decision::Update { new, .. } if new.key == key),
            "{d:?}"
        );
        assert_eq!(db.items.len(), 1);
        // A new guid with the same link but another title is another item.
        let d = run(
            &mut db,
            vec![entry(
                Some("g9"),
                Some("https://new.example/post/1"),
                "Else",
            )],
            t(10),
        );
        assert!(matches!(d[0], Decision::Insert(_)), "{d:?}");
    }

    #[test]
    fn tombstones_and_max_age_keep_items_out() {
        let mut db = MapIndex::default();
        let key = ItemKey::derive("src", "id:gone");
        db.tombstones.insert(key, t(5));
        let d = run(&mut db, vec![entry(Some("gone"), None, "Old")], t(4));
        assert_eq!(d, [Decision::Tombstoned(key)]);
        // An expired tombstone no longer holds it back.
        let d = run(&mut db, vec![entry(Some("gone"), None, "Old")], t(6));
        assert!(matches!(d[0], Decision::Insert(_)));

        let urls = UrlOptions::default();
        let mut p = policy("src", &urls);
        p.max_age = Some(chrono::Duration::hours(2));
        let mut old = entry(Some("ancient"), None, "Ancient");
        old.published = Some(t(1));
        let plan = plan(&p, vec![old], t(5), &mut db).unwrap();
        assert_eq!(plan.decisions, [Decision::TooOld]);
    }

    #[test]
    fn same_canonical_link_in_another_source_merges() {
        let mut db = MapIndex::default();
        run_in(
            &mut db,
            "a",
            vec![entry(
                Some("a1"),
                Some("https://www.wire.example/story?utm_medium=x"),
                "Story",
            )],
            t(1),
        );
        let d = run_in(
            &mut db,
            "b",
            vec![entry(
                Some("b1"),
                Some("http://wire.example/story"),
                "Story!",
            )],
            t(2),
        );
        let Decision::Insert(dup) = &d[0] else {
            panic!("{d:?}")
        };
        let primary = ItemKey::derive("a", "id:a1");
        assert_eq!(dup.duplicate_of, Some(primary));
        let merged = &db.items[&primary].merged;
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].source, "b");
        assert!(
            matches!(&merged[0].rule, MergeRule::SameLink { canonical } if canonical == "wire.example/story")
        );
    }

    #[test]
    fn a_link_two_items_of_one_source_share_merges_nothing_across_sources() {
        let mut db = MapIndex::default();
        run_in(
            &mut db,
            "a",
            vec![entry(
                Some("a1"),
                Some("https://x.example/live"),
                "Live, 9:00",
            )],
            t(1),
        );
        run_in(
            &mut db,
            "a",
            vec![entry(
                Some("a2"),
                Some("https://x.example/live"),
                "Live, 10:00",
            )],
            t(2),
        );
        assert_eq!(db.items.len(), 2);
        let d = run_in(
            &mut db,
            "b",
            vec![entry(Some("b1"), Some("https://x.example/live"), "Live")],
            t(3),
        );
        let Decision::Insert(b1) = &d[0] else {
            panic!("{d:?}")
        };
        assert_eq!(b1.duplicate_of, None, "the link identifies no item of a");
        // A link that identifies one item in each source merges them.
        run_in(
            &mut db,
            "a",
            vec![entry(Some("a3"), Some("https://x.example/one"), "One")],
            t(4),
        );
        let d = run_in(
            &mut db,
            "b",
            vec![entry(Some("b2"), Some("https://x.example/one"), "One")],
            t(5),
        );
        let Decision::Insert(b2) = &d[0] else {
            panic!("{d:?}")
        };
        assert_eq!(b2.duplicate_of, Some(ItemKey::derive("a", "id:a3")));
    }

    /// Regression: the most similar candidate belonged to the entry's own
    /// source, and the merge with a less similar one from another source
    /// above the threshold was missed.
    #[test]
    fn near_duplicate_merge_skips_candidates_of_the_same_source() {
        let words = |from: usize, to: usize| {
            (from..to)
                .map(|i| format!("w{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let body = |e: Entry, text: String| Entry {
            content_html: Some(text),
            ..e
        };
        let urls = UrlOptions::default();
        let mut db = MapIndex::default();
        let mut step = |source: &str, threshold: u8, e: Entry| {
            let mut p = policy(source, &urls);
            p.near_threshold_pct = Some(threshold);
            let plan = plan(&p, vec![e], t(1), &mut db).unwrap();
            for d in &plan.decisions {
                if let Decision::Insert(i) = d {
                    db.items.insert(i.key, i.clone());
                }
            }
            for (primary, record) in plan.merges {
                db.items.get_mut(&primary).unwrap().merged.push(record);
            }
            db.sigs.extend(plan.signatures);
            plan.decisions
        };
        step("b", 60, body(entry(Some("b1"), None, "S"), words(0, 100)));
        // A strict source: indexed, not merged (similar to b1, below 95%;
        // another title, so not a part of b1's story either).
        step("a", 95, body(entry(Some("a1"), None, "T"), words(0, 80)));
        let d = step("b", 60, body(entry(Some("b2"), None, "S"), words(0, 95)));
        let Decision::Insert(b2) = &d[0] else {
            panic!("{d:?}")
        };
        assert_eq!(b2.duplicate_of, Some(ItemKey::derive("a", "id:a1")));
    }

    #[test]
    fn huge_ids_and_titles_make_small_aliases() {
        let urls = UrlOptions::default();
        let big = "A".repeat(8 << 20);
        let e = entry(Some(&big), Some("https://x.example/a"), &big);
        let aliases = source_aliases(&e, &policy("src", &urls));
        assert_eq!(aliases.len(), 2);
        assert!(
            aliases.iter().all(|a| a.len() < 300),
            "{}",
            aliases[0].len()
        );
        let other = entry(Some(&format!("{big}B")), Some("https://x.example/a"), "t");
        assert_ne!(source_aliases(&other, &policy("src", &urls))[0], aliases[0]);
    }

    #[test]
    fn expired_keeps_the_newest_and_the_young() {
        let k = |i: u8| ItemKey([i; 16]);
        let items = vec![(k(1), t(1)), (k(3), t(3)), (k(2), t(2)), (k(4), t(4))];
        let mut gone = expired(&items, Some(2), None, t(5));
        gone.sort();
        assert_eq!(gone, [k(1), k(2)]);
        assert_eq!(
            expired(&items, None, Some(chrono::Duration::minutes(150)), t(5)),
            [k(2), k(1)]
        );
        assert!(expired(&items, None, None, t(5)).is_empty());
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
