//! A refresh's entries into the store: the dedup plan, merges into items
//! of other sources, retention, and the store transactions, [`CHUNK`]
//! entries each, the poll state with the last.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use tracing::debug;

use super::{Outcome, Refresher, to_chrono};
use crate::config::{SourceConfig, SourceKind};
use crate::dedup::{self, Decision};
use crate::model::{Entry, ItemKey, MergeRecord, PollState, StoredItem};
use crate::store::{Batch, Committed, StoreError, Tombstone};

/// Most duplicates an item lists in `merged` (its published sources, `via`
/// links). A story carried by thousands of sources would otherwise be
/// rewritten whole, and its list read by every render, once per source:
/// past this many, a duplicate still joins the item (and is published as
/// it) without being listed.
pub const MERGED_CAP: usize = 50;

/// What reconciling counted besides the batches themselves.
#[derive(Debug, Default)]
struct Counts {
    unchanged: usize,
    /// Entries ignored: tombstoned, older than `max_age`, or dropped by
    /// the source's rules.
    skipped: usize,
    /// Items of other sources rewritten to record a merged duplicate.
    merged: usize,
    /// The document's identity warnings (see [`dedup::Plan::warnings`]).
    warnings: Vec<String>,
}

/// Entries of a document planned and written per store transaction (see
/// [`Refresher::ingest`]).
pub const CHUNK: usize = 500;

/// Why a refresh's chunks stopped before the last one.
pub(super) enum Stop {
    /// A store error: the refresh's failed outcome.
    Failed(Outcome),
    /// The chunk's plan would write a hollow entry (see
    /// [`Entry::known_digest`]): the store changed since the entry was last
    /// finished. Nothing of the chunk was written.
    Hollow,
}

impl Stop {
    /// The refresh's outcome. Only a document with hollow entries can stop
    /// at one, and its reader reads it again instead; anywhere else it is
    /// a failure.
    pub(super) fn outcome(self, source: &SourceConfig) -> Outcome {
        match self {
            Stop::Failed(outcome) => outcome,
            Stop::Hollow => Outcome::Failed(format!(
                "{}: an unsanitized entry reached the store writer; nothing written",
                source.id
            )),
        }
    }
}

/// What the last transaction of a refresh writes besides its entries.
pub(super) struct Closing {
    /// The source's poll state after the refresh (validators, file states).
    pub(super) poll: PollState,
    /// Items that leave the store (a local folder's removed files).
    pub(super) removals: Vec<StoredItem>,
}

/// What the transactions of one refresh counted so far.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Items the refresh matched: a removal among them stays.
    kept: HashSet<ItemKey>,
    counts: Counts,
    new: usize,
    updated: usize,
    removed: usize,
}

impl Tally {
    pub(super) fn outcome(self, source: &SourceConfig) -> Outcome {
        let counts = self.counts;
        if counts.skipped > 0 || counts.merged > 0 {
            debug!(source = %source.id, skipped = counts.skipped, merged = counts.merged, "dedup");
        }
        Outcome::Refreshed {
            new: self.new,
            updated: self.updated,
            removed: self.removed,
            unchanged: counts.unchanged + counts.skipped,
        }
    }
}

/// One entry as `source`'s rules make it (see `rules`): rewritten (a
/// rewritten summary or content sanitized again, against the entry's
/// link), or `None` when a rule drops it (logged with the rule's place).
pub(super) fn shape_entry(source: &SourceConfig, mut entry: Entry) -> Option<Entry> {
    if source.rules.is_empty() {
        return Some(entry);
    }
    let base = entry.link.as_deref().and_then(|l| url::Url::parse(l).ok());
    let clean = |html: &str| crate::ingest::parse::sanitize_html(html, base.as_ref());
    match crate::rules::apply(&source.rules, &mut entry, &clean) {
        crate::rules::Verdict::Kept(by) => {
            entry.ruled_by = by.into_iter().map(str::to_string).collect();
            Some(entry)
        }
        crate::rules::Verdict::Dropped(rule) => {
            let title = entry.title.as_deref().unwrap_or("");
            debug!(source = %source.id, rule, title, "dropped by a rule");
            None
        }
    }
}

/// How `source`'s entries are matched (see [`dedup::Policy`]); links to
/// `document_urls` (a fetched document's own addresses) identify no item.
pub(super) fn policy(source: &SourceConfig, document_urls: Vec<String>) -> dedup::Policy<'_> {
    let settings = &source.dedup;
    let (feed_url, fuzzy_identity) = match &source.kind {
        SourceKind::Remote { url } => (Some(url.as_str()), true),
        SourceKind::Local { .. } => (None, false),
    };
    dedup::Policy {
        source: &source.id,
        feed_url,
        document_urls,
        urls: &settings.urls,
        fuzzy_identity,
        near_threshold_pct: settings.near_threshold_pct,
        max_age: settings.max_age.map(to_chrono),
    }
}

impl Refresher<'_> {
    /// A refresh's entries as `source`'s rules shape them before they are
    /// planned and stored (see [`shape_entry`]); each one dropped counted
    /// in `dropped`.
    pub(super) fn shape(
        &self,
        source: &SourceConfig,
        entries: Vec<Entry>,
        dropped: &mut usize,
    ) -> Vec<Entry> {
        if source.rules.is_empty() {
            return entries;
        }
        let before = entries.len();
        let kept: Vec<Entry> = entries
            .into_iter()
            .filter_map(|e| shape_entry(source, e))
            .collect();
        *dropped += before - kept.len();
        kept
    }

    /// Reconciles a refresh's entries with the store (the `dedup` plan),
    /// applies retention, and writes the result: the path every refresh
    /// takes after its entries are read. Public so tests and benchmarks can
    /// feed crafted entries through the real dedup and store.
    pub async fn ingest_entries(
        &self,
        source: &SourceConfig,
        entries: Vec<Entry>,
        poll: PollState,
        now: DateTime<Utc>,
    ) -> Outcome {
        self.ingest_document(source, entries, Vec::new(), poll, now)
            .await
    }

    /// [`Refresher::ingest_entries`] of one fetched document, given its
    /// own addresses (final URL, home page): links to them identify no
    /// item. Written [`CHUNK`] entries per store transaction: what a
    /// refresh holds besides its document is bounded by a chunk, however
    /// long the document. Each transaction is atomic; the poll state (and
    /// so the validators) is written with the last one only, so that a
    /// crash or a store error in between leaves the document to be read
    /// again, not skipped. The whole document is planned and written under
    /// the ingest lock.
    pub async fn ingest_document(
        &self,
        source: &SourceConfig,
        entries: Vec<Entry>,
        document_urls: Vec<String>,
        poll: PollState,
        now: DateTime<Utc>,
    ) -> Outcome {
        let mut dropped = 0;
        let entries = self.shape(source, entries, &mut dropped);
        let written = self
            .ingest_shaped(source, entries, dropped, document_urls, poll, now)
            .await;
        written.unwrap_or_else(|stop| stop.outcome(source))
    }

    /// [`Refresher::ingest_document`] of entries the source's rules have
    /// shaped (`dropped` of them dropped): the plan written a chunk at a
    /// time. Stops at a chunk that would write a hollow entry, before
    /// writing it.
    pub(super) async fn ingest_shaped(
        &self,
        source: &SourceConfig,
        entries: Vec<Entry>,
        dropped: usize,
        document_urls: Vec<String>,
        poll: PollState,
        now: DateTime<Utc>,
    ) -> Result<Outcome, Stop> {
        let mut tally = Tally::default();
        tally.counts.skipped += dropped;
        let ingest = self.store.ingest_lock().await;
        let policy = policy(source, document_urls);
        let mut planner = dedup::Planner::new(&policy, entries);
        let mut closing = Some(Closing {
            poll,
            removals: Vec::new(),
        });
        loop {
            let last = planner.remaining() <= CHUNK;
            let closing = if last { closing.take() } else { None };
            let committed = self
                .write_chunk(source, &mut planner, Vec::new(), closing, &mut tally, now)
                .await?;
            if last {
                // The next refresh's dedup may run during this flush.
                drop(ingest);
                self.settle(source, committed).await?;
                return Ok(tally.outcome(source));
            }
            self.settle(source, committed).await?;
        }
    }

    /// Waits until a chunk [`Refresher::write_chunk`] committed is on disk:
    /// only then is it acknowledged.
    pub(super) async fn settle(
        &self,
        source: &SourceConfig,
        committed: Committed,
    ) -> Result<(), Stop> {
        match self.store.settle(committed).await {
            Ok(()) => Ok(()),
            Err(err) => Err(Stop::Failed(self.store_failed(source, &err).await)),
        }
    }

    /// Plans the next [`CHUNK`] entries of `planner` and commits them (with
    /// `slugs`) in one store transaction; with `closing`, the refresh's
    /// last transaction: its poll state and removals too. The caller
    /// settles the commit ([`Refresher::settle`]). On a store error, the
    /// refresh's failed outcome (its poll state recorded as failed).
    pub(super) async fn write_chunk(
        &self,
        source: &SourceConfig,
        planner: &mut dedup::Planner<'_, '_>,
        slugs: Vec<(String, ItemKey)>,
        closing: Option<Closing>,
        tally: &mut Tally,
        now: DateTime<Utc>,
    ) -> Result<Committed, Stop> {
        let result = self.reconcile(source, planner, tally, now);
        let (mut batch, merges) = match result {
            Ok(planned) => planned,
            Err(err) => return Err(Stop::Failed(self.store_failed(source, &err).await)),
        };
        if batch
            .upserts
            .iter()
            .any(|(_, item)| item.entry.known_digest.is_some())
        {
            return Err(Stop::Hollow);
        }
        tally.counts.merged += merges;
        batch.slugs = slugs;
        if let Some(Closing {
            mut poll,
            mut removals,
        }) = closing
        {
            // Items told apart by less than their guid or link: in the
            // source's status with the parse warnings.
            for warning in &tally.counts.warnings {
                if poll.parse_warnings.len() < 5 {
                    poll.parse_warnings.push(warning.clone());
                }
            }
            poll.parse_warning_count += tally.counts.warnings.len();
            // A removal that dedup matched again (a renamed article) stays.
            removals.retain(|r| !tally.kept.contains(&r.key));
            batch.removals = removals;
            batch.poll = Some(poll);
        }
        tally.counts.skipped += match self.retain(source, &mut batch, now) {
            Ok(refused) => refused,
            Err(err) => return Err(Stop::Failed(self.store_failed(source, &err).await)),
        };
        let inserted = batch
            .upserts
            .iter()
            .filter(|(old, _)| old.is_none())
            .count();
        tally.new += inserted;
        tally.updated += batch.upserts.len() - inserted - merges;
        tally.removed += batch.removals.len();
        match self.store.commit(&batch) {
            Ok(committed) => Ok(committed),
            Err(err) => Err(Stop::Failed(self.store_failed(source, &err).await)),
        }
    }

    /// The batch of the next [`CHUNK`] entries of a document: their items,
    /// aliases and signatures, and the merges into items of other sources
    /// (with how many items of other sources it rewrites).
    fn reconcile(
        &self,
        source: &SourceConfig,
        planner: &mut dedup::Planner,
        tally: &mut Tally,
        now: DateTime<Utc>,
    ) -> Result<(Batch, usize), StoreError> {
        let mut index = self.store.clone();
        let plan = planner.next(CHUNK, now, &mut index)?;
        for warning in &plan.warnings {
            debug!(source = %source.id, %warning, "identity warning");
        }
        tally.counts.warnings.extend(plan.warnings);
        let mut batch = Batch {
            source: source.id.clone(),
            aliases: plan.aliases,
            signatures: plan.signatures,
            ..Batch::default()
        };
        for decision in plan.decisions {
            match decision {
                Decision::Insert(item) => {
                    tally.kept.insert(item.key);
                    batch.upserts.push((None, item));
                }
                Decision::Update { old, new } => {
                    tally.kept.insert(new.key);
                    batch.upserts.push((Some(*old), new));
                }
                Decision::Unchanged(key) => {
                    tally.kept.insert(key);
                    tally.counts.unchanged += 1;
                }
                Decision::Tombstoned(_) | Decision::TooOld => tally.counts.skipped += 1,
            }
        }

        // Merges into items of other sources: one write per item joined.
        let mut merges = 0;
        let mut joined: Vec<(ItemKey, Vec<MergeRecord>)> = Vec::new();
        for (primary, record) in plan.merges {
            match joined.iter_mut().find(|(k, _)| *k == primary) {
                Some((_, records)) => records.push(record),
                None => joined.push((primary, vec![record])),
            }
        }
        for (primary, records) in joined {
            if let Some(old) = self.store.item(&primary)? {
                let mut new = old.clone();
                for record in records {
                    let listed = new.merged.len();
                    match new.merged.iter_mut().find(|m| m.key == record.key) {
                        Some(same) => *same = record,
                        None if listed < MERGED_CAP => new.merged.push(record),
                        // Listed enough: the duplicate still names the item
                        // it joined (and is published as it), unlisted.
                        None => {}
                    }
                }
                if new.merged != old.merged {
                    batch.upserts.push((Some(old), new));
                    merges += 1;
                }
            }
        }
        Ok((batch, merges))
    }

    /// Retention: removes the source's items beyond `max_items` or older
    /// than `max_age` (new ones too), leaving tombstones; and drops the
    /// source's expired tombstones. Returns how many new items it refused.
    fn retain(
        &self,
        source: &SourceConfig,
        batch: &mut Batch,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut refused = 0;
        let settings = &source.dedup;
        let until = now + to_chrono(settings.tombstone_ttl);
        if settings.max_items.is_some() || settings.max_age.is_some() {
            let removed: HashSet<ItemKey> = batch.removals.iter().map(|r| r.key).collect();
            let mut list: HashMap<ItemKey, DateTime<Utc>> = self
                .store
                .source_keys(&source.id)?
                .into_iter()
                .filter(|(k, _)| !removed.contains(k))
                .collect();
            for (_, item) in &batch.upserts {
                if item.source == source.id {
                    list.insert(item.key, item.published);
                }
            }
            let list: Vec<(ItemKey, DateTime<Utc>)> = list.into_iter().collect();
            let expired = dedup::expired(
                &list,
                settings.max_items,
                settings.max_age.map(to_chrono),
                now,
            );
            for key in expired {
                let pending = batch
                    .upserts
                    .iter()
                    .position(|(_, i)| i.key == key && i.source == source.id);
                let item = match pending {
                    Some(at) => {
                        let (old, new) = batch.upserts.remove(at);
                        match old {
                            Some(old) => batch.removals.push(old),
                            None => refused += 1,
                        }
                        batch.signatures.retain(|(k, _)| *k != key);
                        new
                    }
                    None => match self.store.item(&key)? {
                        Some(item) => {
                            batch.removals.push(item.clone());
                            item
                        }
                        None => continue,
                    },
                };
                batch.tombstones.push((
                    key,
                    Tombstone {
                        until,
                        aliases: item.aliases,
                    },
                ));
            }
        }
        let upserted: HashSet<ItemKey> = batch.upserts.iter().map(|(_, i)| i.key).collect();
        batch.expired_tombstones = self
            .store
            .tombstones(&source.id)?
            .into_iter()
            .filter(|(k, t)| t.until <= now && !upserted.contains(k))
            .collect();
        Ok(refused)
    }

    /// A refresh the store could not read or write: a failure of the
    /// source, recorded on its stored poll state (not this response's
    /// validators: its items were not stored, so the next poll must fetch
    /// them again).
    async fn store_failed(&self, source: &SourceConfig, err: &StoreError) -> Outcome {
        let state = self
            .store
            .poll_state(&source.id)
            .ok()
            .flatten()
            .unwrap_or_default();
        self.failed(source, state, format!("store: {err}"), Utc::now())
            .await
    }
}
