//! A fetched document's entries sanitized only where they are new: most
//! entries of a changed feed are the same as in its last document, and
//! sanitizing (ammonia) is most of what parsing costs.
//!
//! Each entry comes from the parse unfinished (`parse::Unfinished`: its
//! summary and content still raw) with a digest of everything its finished
//! form is made of and of the source's rules. The store's
//! `finished` row of the source maps the digests of its last document's
//! entries to the content digests they became. An entry whose digest is
//! there is not sanitized: it goes on hollow (no summary or content) with
//! that content digest, which dedup compares with the stored item's. The
//! others are finished and shaped by the rules as before.
//!
//! A hollow entry can only be found unchanged. When the store changed since
//! (the item was deleted or rewritten by hand), the plan would write one:
//! the chunk stops before any write ([`Stop::Hollow`]) and the document is
//! finished whole and ingested again. So hollow entries are used only in a
//! document of one chunk whose entries all have distinct guids (their
//! identities then do not depend on their content; see `dedup::document`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tracing::{debug, warn};

use super::batch::{Stop, shape_entry};
use super::{CHUNK, Outcome, Refresher};
use crate::config::SourceConfig;
use crate::ingest::parse::Unfinished;
use crate::model::{Entry, PollState};

/// An unfinished entry's digest and the content digest it became.
type Pair = ([u8; 16], [u8; 16]);

impl Refresher<'_> {
    /// [`Refresher::ingest_document`] of a fetched document's unfinished
    /// entries: only those its last document did not have are sanitized.
    /// A document of more than one chunk, or whose entries lack distinct
    /// guids, is sanitized whole and ingested as before.
    pub(super) async fn ingest_unfinished(
        &self,
        source: &SourceConfig,
        entries: Vec<Unfinished>,
        document_urls: Vec<String>,
        poll: PollState,
        now: DateTime<Utc>,
    ) -> Outcome {
        if entries.len() > CHUNK || !distinct_guids(&entries) {
            let entries = entries.into_iter().map(Unfinished::finish).collect();
            return self
                .ingest_document(source, entries, document_urls, poll, now)
                .await;
        }
        let rules = rules_digest(source);
        let raws: Vec<[u8; 16]> = entries.iter().map(|e| e.digest(&rules)).collect();
        let known = self
            .store
            .finished_digests(&source.id)
            .unwrap_or_else(|err| {
                debug!(source = %source.id, %err, "finished digests unreadable: all sanitized");
                HashMap::new()
            });
        let spare = raws
            .iter()
            .any(|r| known.contains_key(r))
            .then(|| entries.clone());
        let (shaped, mut pairs, dropped) = finish(source, entries, &raws, &known);
        let first = self
            .ingest_shaped(
                source,
                shaped,
                dropped,
                document_urls.clone(),
                poll.clone(),
                now,
            )
            .await;
        let outcome = match (first, spare) {
            (Ok(outcome), _) => outcome,
            (Err(Stop::Hollow), Some(entries)) => {
                debug!(source = %source.id, "a stored item changed under an unchanged entry: the document sanitized whole");
                let (shaped, again, dropped) = finish(source, entries, &raws, &HashMap::new());
                pairs = again;
                self.ingest_shaped(source, shaped, dropped, document_urls, poll, now)
                    .await
                    .unwrap_or_else(|stop| stop.outcome(source))
            }
            (Err(stop), _) => stop.outcome(source),
        };
        let same =
            pairs.len() == known.len() && pairs.iter().all(|(raw, d)| known.get(raw) == Some(d));
        if !same
            && matches!(outcome, Outcome::Refreshed { .. })
            && let Err(err) = self.store.put_finished_digests(&source.id, &pairs)
        {
            warn!(source = %source.id, %err, "could not keep the finished digests: the next refresh sanitizes every entry");
        }
        outcome
    }
}

/// The entries as the rules make them: those in `known` hollow, the others
/// finished and shaped; with the pair of each entry kept and how many the
/// rules dropped.
fn finish(
    source: &SourceConfig,
    entries: Vec<Unfinished>,
    raws: &[[u8; 16]],
    known: &HashMap<[u8; 16], [u8; 16]>,
) -> (Vec<Entry>, Vec<Pair>, usize) {
    let mut out = Vec::with_capacity(entries.len());
    let mut pairs = Vec::with_capacity(entries.len());
    let mut dropped = 0;
    for (entry, raw) in entries.into_iter().zip(raws) {
        let entry = match known.get(raw) {
            Some(digest) => entry.hollow(*digest),
            None => match shape_entry(source, entry.finish()) {
                Some(entry) => entry,
                None => {
                    dropped += 1;
                    continue;
                }
            },
        };
        pairs.push((*raw, entry.content_digest()));
        out.push(entry);
    }
    (out, pairs, dropped)
}

/// What the source's rules add to each entry's digest: other rules, other
/// finished entries (nothing without rules).
fn rules_digest(source: &SourceConfig) -> Vec<u8> {
    match source.rules.is_empty() {
        true => Vec::new(),
        false => Sha256::digest(format!("{:?}", source.rules).as_bytes()).to_vec(),
    }
}

/// Every entry has a guid, and no two the same.
fn distinct_guids(entries: &[Unfinished]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    entries.iter().all(|e| {
        e.entry()
            .upstream_id
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .is_some_and(|g| seen.insert(g))
    })
}
