//! One refresh of one source, end to end: the one place that knows every
//! stage. `fetch or read -> parse -> dedup against the store -> one store
//! transaction (items, indexes and poll state together)`. The caller then
//! re-renders the feeds that include the source when items changed.
//!
//! A failure at any stage leaves the stored items as they were and records
//! the cause in the source's poll state.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use crate::config::{Schedule, SourceConfig, SourceKind};
use crate::dedup::{self, Decision};
use crate::ingest::fetch::{FetchOutcome, Fetcher, Validators};
use crate::ingest::local::{self, ArticleFile};
use crate::ingest::parse::{self, ParseOptions};
use crate::model::{Entry, ItemKey, LocalFileState, PollState, StoredItem};
use crate::store::{Batch, Store, StoreError};

/// Longest wait between polls of a failing source.
const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);

/// What one refresh did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Not due yet (a remote source polled recently); nothing was sent.
    NotDue { next_poll_at: DateTime<Utc> },
    /// 304 Not Modified.
    NotModified,
    /// The source was read and its items reconciled with the store.
    Refreshed {
        new: usize,
        updated: usize,
        removed: usize,
        unchanged: usize,
    },
    /// Fetch, parse or store failed; stored items are untouched.
    Failed(String),
}

impl Outcome {
    /// True when stored items changed, so feeds need rendering again.
    pub fn changed_items(&self) -> bool {
        matches!(self, Outcome::Refreshed { new, updated, removed, .. } if new + updated + removed > 0)
    }
}

/// The parts of the daemon a refresh needs.
pub struct Refresher<'a> {
    pub store: &'a Store,
    pub fetcher: &'a Fetcher,
    /// The public base URL, without a trailing slash (for article links).
    pub public_base: &'a str,
}

impl Refresher<'_> {
    /// Refreshes one source. With `force`, a remote source is polled even if
    /// its next poll is not due (the `syndic fetch` command).
    pub async fn refresh(&self, source: &SourceConfig, force: bool) -> Outcome {
        let now = Utc::now();
        let state = match self.store.poll_state(&source.id) {
            Ok(state) => state.unwrap_or_default(),
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        let outcome = match &source.kind {
            SourceKind::Remote { url } => {
                if !force
                    && let Some(next) = state.next_poll_at
                    && next > now
                {
                    return Outcome::NotDue { next_poll_at: next };
                }
                self.refresh_remote(source, url.as_str(), state, now).await
            }
            SourceKind::Local { path } => self.refresh_local(source, path, state, now).await,
        };
        match &outcome {
            Outcome::Failed(cause) => warn!(source = %source.id, %cause, "refresh failed"),
            Outcome::Refreshed {
                new,
                updated,
                removed,
                unchanged,
            } => info!(source = %source.id, new, updated, removed, unchanged, "refreshed"),
            other => debug!(source = %source.id, outcome = ?other, "refreshed"),
        }
        outcome
    }

    async fn refresh_remote(
        &self,
        source: &SourceConfig,
        url: &str,
        mut state: PollState,
        now: DateTime<Utc>,
    ) -> Outcome {
        // A URL changed in the config starts afresh: old validators belong
        // to the old URL.
        if state.url.as_deref() != Some(url) {
            state.url = Some(url.to_string());
            state.etag = None;
            state.last_modified = None;
        }
        state.last_attempt = Some(now);
        let previous = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let fetched = match self.fetcher.get(url, &previous).await {
            Ok(FetchOutcome::NotModified(v)) => {
                // A 304 may carry new validators (RFC 9111 4.3.4): take
                // each one it sends, keep the other.
                if v.etag.is_some() {
                    state.etag = v.etag;
                }
                if v.last_modified.is_some() {
                    state.last_modified = v.last_modified;
                }
                self.succeeded(source, &mut state, "304", now);
                return match self.store.put_poll_state(&source.id, &state).await {
                    Ok(()) => Outcome::NotModified,
                    Err(err) => Outcome::Failed(err.to_string()),
                };
            }
            Ok(FetchOutcome::Fetched(f)) => f,
            Err(err) => {
                return self
                    .failed(source, state, format!("fetch: {err}"), now)
                    .await;
            }
        };
        let opts = ParseOptions {
            content_type: fetched.content_type.as_deref(),
            base_url: Some(&fetched.final_url),
        };
        let parsed = match parse::parse_feed(&fetched.body, &opts) {
            Ok(parsed) => parsed,
            // Old validators stay: the next poll must fetch the body again.
            Err(err) => {
                return self
                    .failed(source, state, format!("parse: {err}"), now)
                    .await;
            }
        };
        for warning in &parsed.warnings {
            debug!(source = %source.id, %warning, "parse warning");
        }
        if let Some(first) = parsed.warnings.first() {
            info!(
                source = %source.id,
                warnings = parsed.warnings.len(),
                %first,
                "feed parsed with warnings"
            );
        }
        state.parse_warnings = parsed.warnings.iter().take(5).cloned().collect();
        // Validators of this response are stored with its items, in the
        // same transaction; not those of a truncated body (the next poll
        // must fetch it whole).
        if !parsed
            .warnings
            .iter()
            .any(|w| parse::is_truncation_warning(w))
        {
            state.etag = fetched.validators.etag;
            state.last_modified = fetched.validators.last_modified;
        }
        self.succeeded(source, &mut state, &fetched.status.to_string(), now);
        let result = self.reconcile(source, parsed.entries, Vec::new(), Vec::new(), state, now);
        self.write(source, result).await
    }

    async fn refresh_local(
        &self,
        source: &SourceConfig,
        root: &std::path::Path,
        mut state: PollState,
        now: DateTime<Utc>,
    ) -> Outcome {
        state.last_attempt = Some(now);
        let (files, unreadable) = match local::scan_folder(root) {
            Ok(found) => found,
            Err(err) => {
                return self
                    .failed(source, state, format!("read folder: {err}"), now)
                    .await;
            }
        };
        for (path, cause) in &unreadable {
            warn!(source = %source.id, %path, %cause, "article skipped");
        }
        let stored = match self.store.source_items(&source.id) {
            Ok(items) => items,
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        let by_path: HashMap<&str, &StoredItem> = stored
            .iter()
            .filter_map(|i| i.entry.upstream_id.as_deref().map(|p| (p, i)))
            .collect();
        let previous: HashMap<&str, &LocalFileState> =
            state.files.iter().map(|f| (f.path.as_str(), f)).collect();

        let mut entries = Vec::new();
        let mut keep = HashSet::new();
        let mut file_states = Vec::new();
        let mut drafts = Vec::new();
        for file in &files {
            let unchanged = previous
                .get(file.rel_path.as_str())
                .is_some_and(|p| p.mtime_ns == file.mtime_ns && p.size == file.size);
            let record = LocalFileState {
                path: file.rel_path.clone(),
                mtime_ns: file.mtime_ns,
                size: file.size,
            };
            if unchanged && let Some(item) = by_path.get(file.rel_path.as_str()) {
                keep.insert(file.rel_path.clone());
                entries.push(item.entry.clone());
                file_states.push(record);
                continue;
            }
            match self.read_article(source, file) {
                Ok(Some(entry)) => {
                    keep.insert(file.rel_path.clone());
                    entries.push(entry);
                    file_states.push(record);
                }
                Ok(None) => {
                    drafts.push(file.rel_path.clone());
                    file_states.push(record);
                }
                Err(cause) => {
                    // Keep what was stored; try the file again next time.
                    warn!(source = %source.id, path = %file.rel_path, %cause, "article not parsed");
                    keep.insert(file.rel_path.clone());
                    if let Some(item) = by_path.get(file.rel_path.as_str()) {
                        entries.push(item.entry.clone());
                    }
                }
            }
        }
        // Files that are gone, and files that became drafts, leave the feeds.
        let removals: Vec<StoredItem> = stored
            .iter()
            .filter(|i| {
                i.entry
                    .upstream_id
                    .as_deref()
                    .is_none_or(|p| !keep.contains(p))
            })
            .cloned()
            .collect();
        debug!(source = %source.id, files = files.len(), drafts = drafts.len(), "scanned");
        state.files = file_states;
        self.succeeded(source, &mut state, "local", now);
        let slugs = match self.assign_slugs(source, &mut entries) {
            Ok(slugs) => slugs,
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        let result = self.reconcile(source, entries, removals, slugs, state, now);
        self.write(source, result).await
    }

    /// Reads and parses one article file; `Ok(None)` for a draft.
    fn read_article(
        &self,
        source: &SourceConfig,
        file: &ArticleFile,
    ) -> Result<Option<Entry>, String> {
        let bytes = std::fs::read(&file.abs_path).map_err(|e| format!("read: {e}"))?;
        let article = local::parse_article(&file.rel_path, &bytes).map_err(|e| e.to_string())?;
        if article.draft {
            return Ok(None);
        }
        let mut entry = article.entry;
        let _ = source;
        let slug = entry.slug.clone().unwrap_or_else(|| "article".into());
        let page = format!("{}/articles/{}", self.public_base, slug);
        let base = url::Url::parse(&page).ok();
        entry.content_html = entry
            .content_html
            .map(|h| parse::sanitize_html(&h, base.as_ref()));
        entry.summary_html = entry
            .summary_html
            .map(|h| parse::sanitize_html(&h, base.as_ref()));
        entry.link = Some(page);
        Ok(Some(entry))
    }

    /// Makes each article's slug unique across the store: a slug another
    /// item owns gets the item key's first hex digits appended.
    fn assign_slugs(
        &self,
        source: &SourceConfig,
        entries: &mut [Entry],
    ) -> Result<Vec<(String, ItemKey)>, StoreError> {
        let mut taken: HashMap<String, ItemKey> = HashMap::new();
        let mut out = Vec::new();
        for entry in entries.iter_mut() {
            let key = ItemKey::derive(&source.id, &dedup::identity(entry));
            let Some(mut slug) = entry.slug.clone() else {
                continue;
            };
            let owner = match taken.get(&slug) {
                Some(k) => Some(*k),
                None => self.store.slug_owner(&slug)?,
            };
            if owner.is_some_and(|k| k != key) {
                slug = format!("{slug}-{}", &key.to_hex()[..8]);
                entry.link = Some(format!("{}/articles/{}", self.public_base, slug));
                entry.slug = Some(slug.clone());
            }
            taken.insert(slug.clone(), key);
            out.push((slug, key));
        }
        Ok(out)
    }

    fn reconcile(
        &self,
        source: &SourceConfig,
        entries: Vec<Entry>,
        removals: Vec<StoredItem>,
        slugs: Vec<(String, ItemKey)>,
        poll: PollState,
        now: DateTime<Utc>,
    ) -> Result<(Batch, usize), StoreError> {
        let decisions = dedup::plan(&source.id, entries, now, |key| self.store.item(key))?;
        let mut batch = Batch {
            source: source.id.clone(),
            removals,
            slugs,
            poll,
            ..Batch::default()
        };
        let mut unchanged = 0;
        for decision in decisions {
            match decision {
                Decision::Insert(item) => batch.upserts.push((None, item)),
                Decision::Update { old, new } => batch.upserts.push((Some(*old), new)),
                Decision::Unchanged(_) => unchanged += 1,
            }
        }
        Ok((batch, unchanged))
    }

    async fn write(
        &self,
        source: &SourceConfig,
        result: Result<(Batch, usize), StoreError>,
    ) -> Outcome {
        let (batch, unchanged) = match result {
            Ok(r) => r,
            Err(err) => return Outcome::Failed(format!("store: {err}")),
        };
        let new = batch
            .upserts
            .iter()
            .filter(|(old, _)| old.is_none())
            .count();
        let updated = batch.upserts.len() - new;
        let removed = batch.removals.len();
        if let Err(err) = self.store.apply(&batch).await {
            return Outcome::Failed(format!("store: {err}"));
        }
        let _ = source;
        Outcome::Refreshed {
            new,
            updated,
            removed,
            unchanged,
        }
    }

    fn succeeded(
        &self,
        source: &SourceConfig,
        state: &mut PollState,
        status: &str,
        now: DateTime<Utc>,
    ) {
        state.last_status = Some(status.to_string());
        state.last_success = Some(now);
        state.consecutive_failures = 0;
        state.next_poll_at = Some(now + to_chrono(poll_interval(source)));
    }

    async fn failed(
        &self,
        source: &SourceConfig,
        mut state: PollState,
        cause: String,
        now: DateTime<Utc>,
    ) -> Outcome {
        state.last_status = Some(cause.clone());
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        state.next_poll_at = Some(now + to_chrono(backoff(source, state.consecutive_failures)));
        if let Err(err) = self.store.put_poll_state(&source.id, &state).await {
            warn!(source = %source.id, %err, "poll state not saved");
        }
        Outcome::Failed(cause)
    }
}

/// The time between two polls of a healthy source: its interval (or, for
/// a cron schedule, nothing extra), never below its `min_interval` for
/// remote sources.
pub fn poll_interval(source: &SourceConfig) -> Duration {
    let interval = match &source.refresh {
        Schedule::Every(d) => *d,
        Schedule::Cron(_) => Duration::ZERO,
    };
    match source.kind {
        SourceKind::Remote { .. } => interval.max(source.min_interval),
        // Local folders are cheap to read: no floor, and the schedule alone
        // decides.
        SourceKind::Local { .. } => Duration::ZERO,
    }
}

/// Exponential backoff after `failures` consecutive failures: the interval
/// doubled per failure, capped at 24 hours.
pub fn backoff(source: &SourceConfig, failures: u32) -> Duration {
    let base = poll_interval(source).max(Duration::from_secs(60));
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
