//! One refresh of one source, end to end: the one place that knows every
//! stage. `fetch or read -> parse -> dedup against the store -> one store
//! transaction (items, indexes and poll state together)`; a document of
//! more than [`CHUNK`] entries is deduplicated and written [`CHUNK`] entries
//! per transaction, the poll state with the last. The caller then
//! re-renders the feeds that include the source when items changed.
//!
//! A failure at any stage leaves the stored items as they were (but for
//! the chunks of a big document already written: its validators are not,
//! so the document is read again whole) and records the cause in the
//! source's poll state.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use crate::config::{Schedule, SourceConfig, SourceKind};
use crate::dedup::{self, Decision};
use crate::ingest::fetch::{FetchOutcome, Fetcher, Reach, ResponseMeta, Validators};
use crate::ingest::local::{self, ArticleFile};
use crate::ingest::parse::{self, ParseOptions};
use crate::ingest::poll::{self, Hints, Policy};
use crate::model::{
    Entry, ItemKey, LocalFileState, MergeRecord, PollReason, PollState, StoredItem,
};
use crate::store::{Batch, Store, StoreError, Tombstone};

/// The entries of one document and its own addresses.
struct Document {
    entries: Vec<Entry>,
    urls: Vec<String>,
}

/// Longest wait between polls of a failing source.
const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);

/// Most duplicates an item lists in `merged` (its published sources, `via`
/// links). A story carried by thousands of sources would otherwise be
/// rewritten whole, and its list read by every render, once per source:
/// past this many, a duplicate still joins the item (and is published as
/// it) without being listed.
pub const MERGED_CAP: usize = 50;

/// What one refresh did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Not due yet (a remote source polled recently); nothing was sent.
    NotDue { next_poll_at: DateTime<Utc> },
    /// 304 Not Modified.
    NotModified,
    /// The source was read and its items reconciled with the store.
    /// `updated` counts the source's own items; `unchanged` counts every
    /// entry that caused no write (unchanged, tombstoned, or too old).
    Refreshed {
        new: usize,
        updated: usize,
        removed: usize,
        unchanged: usize,
    },
    /// Fetch, parse or store failed; stored items are untouched.
    Failed(String),
    /// 429/503 with `Retry-After`: no request to the URL before `until`.
    RetryLater { until: DateTime<Utc> },
    /// 410 Gone: the source is marked gone and no longer polled.
    Gone,
}

impl Outcome {
    /// True when stored items changed, so feeds need rendering again.
    pub fn changed_items(&self) -> bool {
        matches!(self, Outcome::Refreshed { new, updated, removed, .. } if new + updated + removed > 0)
    }
}

/// What reconciling counted besides the batches themselves.
#[derive(Debug, Default)]
struct Counts {
    unchanged: usize,
    /// Entries ignored: tombstoned, or older than `max_age`.
    skipped: usize,
    /// Items of other sources rewritten to record a merged duplicate.
    merged: usize,
    /// The document's identity warnings (see [`dedup::Plan::warnings`]).
    warnings: Vec<String>,
}

/// Entries of a document planned and written per store transaction (see
/// [`Refresher::ingest`]).
pub const CHUNK: usize = 500;

/// A big document's freed memory is returned to the system every this many
/// chunks and after the last (see `memory`): after every chunk, the trim
/// took 29% of a 100,000-entry ingest (BENCHMARKS.md, dedup).
const TRIM_EVERY: usize = 8;

/// The parts of the daemon a refresh needs.
pub struct Refresher<'a> {
    pub store: &'a Store,
    pub fetcher: &'a Fetcher,
    /// The public base URL, without a trailing slash (for article links).
    pub public_base: &'a str,
}

impl Refresher<'_> {
    /// Refreshes one source. With `force`, a remote source is polled even if
    /// its next poll is not due (the `syndic fetch` command); a
    /// `Retry-After` is honoured even then.
    pub async fn refresh(&self, source: &SourceConfig, force: bool) -> Outcome {
        self.refresh_at(source, force, Utc::now()).await
    }

    /// [`Refresher::refresh`] with the clock given: every decision about
    /// when to poll is taken against `now`.
    pub async fn refresh_at(
        &self,
        source: &SourceConfig,
        force: bool,
        now: DateTime<Utc>,
    ) -> Outcome {
        let state = match self.store.poll_state(&source.id) {
            Ok(state) => state.unwrap_or_default(),
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        let outcome = match &source.kind {
            SourceKind::Remote { url } => {
                self.refresh_remote(source, url.as_str(), state, now, force)
                    .await
            }
            SourceKind::Local { path } => self.refresh_local(source, path, state, now).await,
        };
        match &outcome {
            Outcome::Failed(cause) => warn!(source = %source.id, %cause, "refresh failed"),
            Outcome::Gone => warn!(source = %source.id, "source gone (410): no longer polled"),
            // One INFO per change; a scan or poll that changed nothing
            // (a folder rescanned every minute) is debug.
            Outcome::Refreshed {
                new,
                updated,
                removed,
                unchanged,
            } if new + updated + removed > 0 => {
                info!(source = %source.id, new, updated, removed, unchanged, "refreshed")
            }
            other => debug!(source = %source.id, outcome = ?other, "refreshed"),
        }
        outcome
    }

    async fn refresh_remote(
        &self,
        source: &SourceConfig,
        configured: &str,
        mut state: PollState,
        now: DateTime<Utc>,
        force: bool,
    ) -> Outcome {
        // A URL changed in the config starts afresh: validators, redirects,
        // holds and "gone" belong to the old URL. A store written before
        // `configured_url` existed had `url` equal to the configured one.
        if !state.is_for(configured) {
            state = PollState {
                url: Some(configured.to_string()),
                configured_url: Some(configured.to_string()),
                last_attempt: state.last_attempt,
                last_success: state.last_success,
                last_status: state.last_status,
                // A restart with a new URL may poll it now, not the old
                // URL's host: keep nothing else.
                ..PollState::default()
            };
        }
        state.configured_url = Some(configured.to_string());
        let url = state.url.clone().unwrap_or_else(|| configured.to_string());
        state.url = Some(url.clone());

        // Retry-After is honoured even on a forced fetch (RFC 9110 10.2.3),
        // for this source's state and for any source that shares the URL.
        let held = [state.retry_after_until, self.fetcher.held_until(&url)]
            .into_iter()
            .flatten()
            .max();
        if let Some(until) = held
            && until > now
        {
            return Outcome::NotDue {
                next_poll_at: until,
            };
        }
        if !force {
            if state.gone {
                return Outcome::Gone;
            }
            if let Some(next) = state.next_poll_at
                && next > now
            {
                return Outcome::NotDue { next_poll_at: next };
            }
        }
        state.last_attempt = Some(now);
        state.retry_after_until = None;
        let policy = Policy::for_source(source);
        let previous = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        // The SSRF guard judges the configured URL, not a moved one.
        let reach = Reach {
            origin: configured.to_string(),
            allow_internal: source.allow_internal,
        };
        let result = self.fetcher.get_with(&url, &previous, &reach).await;
        let meta = match &result {
            Ok(FetchOutcome::NotModified(meta) | FetchOutcome::Status(meta)) => Some(meta),
            Ok(FetchOutcome::Fetched { meta, .. }) => Some(meta),
            Err(_) => None,
        };
        if let Some(meta) = meta {
            self.follow_permanent_redirect(source, &mut state, meta);
        }
        match result {
            Err(err) => {
                // The few words first: a table cut to its width, a glance
                // at `/`, still say what happened.
                let cause = format!("{}{CAUSE_SEPARATOR}fetch {url}: {err}", err.summary());
                self.remote_failed(source, state, &policy, cause, now).await
            }
            Ok(FetchOutcome::NotModified(meta)) => {
                // A 304 may carry new validators (RFC 9111 4.3.4): take
                // each one it sends, keep the other.
                if meta.validators.etag.is_some() {
                    state.etag = meta.validators.etag.clone();
                }
                if meta.validators.last_modified.is_some() {
                    state.last_modified = meta.validators.last_modified.clone();
                }
                state.bytes_saved = state.bytes_saved.saturating_add(state.last_body_bytes);
                self.remote_succeeded(&mut state, &policy, &meta, "304", now);
                match self.store.put_poll_state(&source.id, &state).await {
                    Ok(()) => Outcome::NotModified,
                    Err(err) => Outcome::Failed(err.to_string()),
                }
            }
            Ok(FetchOutcome::Status(meta)) => {
                self.remote_status(source, state, &policy, &meta, now).await
            }
            Ok(FetchOutcome::Fetched {
                meta,
                body,
                wire_bytes,
            }) => {
                let opts = ParseOptions {
                    content_type: meta.content_type.as_deref(),
                    base_url: Some(&meta.final_url),
                };
                let parsed = match parse::parse_feed(&body, &opts) {
                    Ok(parsed) => parsed,
                    // Old validators stay: the next poll must fetch the body
                    // again.
                    Err(err) => {
                        let cause = format!("parse {}: {err}", meta.final_url);
                        return self.remote_failed(source, state, &policy, cause, now).await;
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
                state.parse_warning_count = parsed.warnings.len();
                // Validators of this response are stored with its items, in
                // the same transaction; a 200 replaces both (one it lacks is
                // gone). Not those of a truncated body: the next poll must
                // fetch it whole.
                if !parsed
                    .warnings
                    .iter()
                    .any(|w| parse::is_truncation_warning(w))
                {
                    state.etag = meta.validators.etag.clone();
                    state.last_modified = meta.validators.last_modified.clone();
                }
                state.last_body_bytes = wire_bytes;
                state.feed_hints = parsed.hints;
                let status = meta.status.to_string();
                self.remote_succeeded(&mut state, &policy, &meta, &status, now);
                // Addresses of the document itself: a link to one of them
                // identifies no item.
                let document_urls = [Some(meta.final_url.clone()), parsed.home_page_url]
                    .into_iter()
                    .flatten()
                    .collect();
                self.ingest_document(source, parsed.entries, document_urls, state, now)
                    .await
            }
        }
    }

    /// Counts the polls that saw the same permanent redirect and moves the
    /// source to its target at the [`poll::PERMANENT_REDIRECT_POLLS`]-th;
    /// the validators move with it (they came from the target).
    fn follow_permanent_redirect(
        &self,
        source: &SourceConfig,
        state: &mut PollState,
        meta: &ResponseMeta,
    ) {
        let streak = poll::permanent_redirect(
            state.redirect_target.as_deref(),
            state.redirect_streak,
            meta.permanent_target(),
            poll::PERMANENT_REDIRECT_POLLS,
        );
        state.redirect_target = streak.target;
        state.redirect_streak = streak.streak;
        if let Some(target) = streak.adopt {
            info!(source = %source.id, from = ?state.url, to = %target, "permanent redirect adopted");
            state.url = Some(target);
        }
    }

    fn remote_succeeded(
        &self,
        state: &mut PollState,
        policy: &Policy,
        meta: &ResponseMeta,
        status: &str,
        now: DateTime<Utc>,
    ) {
        let (max_age, expires_in) = poll::cache_hints(
            meta.cache_control.as_deref(),
            meta.expires.as_deref(),
            meta.date.as_deref(),
            now,
        );
        let hints = Hints {
            max_age,
            expires_in,
            ttl: state.feed_hints.ttl_secs.map(Duration::from_secs),
            update_period: state.feed_hints.update_period_secs.map(Duration::from_secs),
            skip_hours: state.feed_hints.skip_hours,
            skip_days: state.feed_hints.skip_days,
        };
        let (next, reason) = poll::next_after_success(policy, &hints, now);
        state.last_status = Some(status.to_string());
        state.last_success = Some(now);
        state.consecutive_failures = 0;
        state.gone = false;
        state.next_poll_at = Some(next);
        state.next_poll_reason = reason;
    }

    /// A final status other than 2xx/304.
    async fn remote_status(
        &self,
        source: &SourceConfig,
        mut state: PollState,
        policy: &Policy,
        meta: &ResponseMeta,
        now: DateTime<Utc>,
    ) -> Outcome {
        let status = meta.status;
        let phrase = status_text(status);
        match status {
            410 => {
                state.gone = true;
                state.last_status = Some(format!("HTTP 410 {phrase}"));
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                state.next_poll_at = None;
                state.next_poll_reason = PollReason::Gone;
                self.save_state(source, &state).await;
                Outcome::Gone
            }
            404 => {
                let cause = format!("HTTP 404 {phrase} at {}", meta.final_url);
                state.last_status = Some(cause.clone());
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                state.next_poll_at = Some(poll::next_after_not_found(policy, now));
                state.next_poll_reason = PollReason::NotFound;
                self.save_state(source, &state).await;
                Outcome::Failed(cause)
            }
            429 | 503
                if let Some(until) = meta
                    .retry_after
                    .as_deref()
                    .and_then(|v| poll::retry_after(v, now)) =>
            {
                // Not a failure (RFC 6585 4): the host asked us to wait.
                state.last_status = Some(format!("HTTP {status} {phrase}"));
                state.retry_after_until = Some(until);
                state.next_poll_at = Some(poll::next_after_retry_after(policy, until, now));
                state.next_poll_reason = PollReason::RetryAfter;
                self.fetcher.hold(&meta.final_url, until);
                if let Some(url) = &state.url {
                    self.fetcher.hold(url, until);
                }
                self.save_state(source, &state).await;
                Outcome::RetryLater { until }
            }
            _ => {
                let cause = format!("HTTP {status} {phrase} at {}", meta.final_url);
                self.remote_failed(source, state, policy, cause, now).await
            }
        }
    }

    async fn remote_failed(
        &self,
        source: &SourceConfig,
        mut state: PollState,
        policy: &Policy,
        cause: String,
        now: DateTime<Utc>,
    ) -> Outcome {
        state.last_status = Some(cause.clone());
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        let wait = poll::backoff(
            policy,
            state.consecutive_failures,
            poll::jitter(&source.id, now),
        );
        state.next_poll_at = Some(now + to_chrono(wait));
        state.next_poll_reason = PollReason::Backoff;
        self.save_state(source, &state).await;
        Outcome::Failed(cause)
    }

    async fn save_state(&self, source: &SourceConfig, state: &PollState) {
        if let Err(err) = self.store.put_poll_state(&source.id, state).await {
            warn!(source = %source.id, %err, "poll state not saved");
        }
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
        // Everything worth telling the writer, per file: shown by
        // `syndic sources`, on `/` and in the log.
        let mut notes: Vec<String> = Vec::new();
        for (path, cause) in &unreadable {
            warn!(source = %source.id, %path, %cause, "article skipped");
            notes.push(format!("{path}: skipped: {cause}"));
        }
        // What the folder's items are, by path: their upstream ids and keys
        // only. An unchanged file is not read, and its stored item is
        // neither decoded nor passed through dedup again: a rescan reads
        // and writes what changed (plus one stat per file and one small
        // read per stored item).
        let stored = match self.store.source_upstream_ids(&source.id) {
            Ok(ids) => ids,
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        let by_path: HashMap<&str, ItemKey> =
            stored.iter().map(|(p, k)| (p.as_str(), *k)).collect();
        let previous: HashMap<&str, &LocalFileState> =
            state.files.iter().map(|f| (f.path.as_str(), f)).collect();

        let mut entries = Vec::new();
        let mut keep = HashSet::new();
        let mut file_states = Vec::new();
        let mut drafts = Vec::new();
        let mut rejected = Vec::new();
        let mut unchanged_files = 0;
        for file in &files {
            let unchanged = previous
                .get(file.rel_path.as_str())
                .is_some_and(|p| p.mtime_ns == file.mtime_ns && p.size == file.size);
            let mut record = LocalFileState {
                path: file.rel_path.clone(),
                mtime_ns: file.mtime_ns,
                size: file.size,
                notes: Vec::new(),
                expires: None,
                publish_at: None,
            };
            let expired = previous
                .get(file.rel_path.as_str())
                .and_then(|p| p.expires)
                .is_some_and(|at| at <= now);
            if unchanged && !expired && by_path.contains_key(file.rel_path.as_str()) {
                keep.insert(file.rel_path.clone());
                unchanged_files += 1;
                if let Some(p) = previous.get(file.rel_path.as_str()) {
                    record.notes.clone_from(&p.notes);
                    record.expires = p.expires;
                }
                notes.extend(record.notes.iter().cloned());
                file_states.push(record);
                continue;
            }
            match self.read_article(source, root, file, now) {
                Ok(read) => {
                    for note in &read.notes {
                        info!(source = %source.id, %note, "article");
                    }
                    notes.extend(read.notes.iter().cloned());
                    record.notes = read.notes;
                    record.expires = read.expires;
                    record.publish_at = read.publish_at;
                    match read.entry {
                        Some(entry) => {
                            keep.insert(file.rel_path.clone());
                            entries.push(entry);
                        }
                        None => drafts.push(file.rel_path.clone()),
                    }
                    file_states.push(record);
                }
                Err(cause) => {
                    // Keep what was stored; try the file again next time.
                    warn!(source = %source.id, path = %file.rel_path, %cause, "article not read");
                    if rejected.len() < MAX_REJECTED_LISTED {
                        rejected.push(cause.clone());
                    }
                    notes.push(cause);
                    keep.insert(file.rel_path.clone());
                }
            }
        }
        state.parse_warning_count = notes.len();
        notes.truncate(5);
        state.parse_warnings = notes;
        state.rejected_articles = rejected;
        // Files that are gone, and files that became drafts, leave the
        // feeds: only their items are read whole.
        let mut removals: Vec<StoredItem> = Vec::new();
        for (path, key) in &stored {
            if keep.contains(path) {
                continue;
            }
            match self.store.item(key) {
                Ok(Some(item)) => removals.push(item),
                Ok(None) => {}
                Err(err) => return Outcome::Failed(err.to_string()),
            }
        }
        drop(by_path);
        drop(stored);
        debug!(source = %source.id, files = files.len(), drafts = drafts.len(), "scanned");
        state.files = file_states;
        self.succeeded(source, &mut state, "local", now);
        let slugs = match self.assign_slugs(source, &mut entries) {
            Ok(slugs) => slugs,
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        // Dedup reads and the write that follows happen under the store's
        // ingest lock: two sources refreshed at once must see each other's
        // items to merge them.
        let _ingest = self.store.ingest_lock().await;
        let document = Document {
            entries,
            urls: Vec::new(),
        };
        let outcome = self
            .ingest(source, document, removals, slugs, state, now)
            .await;
        if files.len() > CHUNK {
            // A big folder's listing and ids were allocated and freed on
            // whichever thread ran the scan: back to the system (`memory`).
            crate::memory::release();
        }
        match outcome {
            Outcome::Refreshed {
                new,
                updated,
                removed,
                unchanged,
            } => Outcome::Refreshed {
                new,
                updated,
                removed,
                unchanged: unchanged + unchanged_files,
            },
            other => other,
        }
    }

    /// Reads and parses one article file: its entry, `None` when it is
    /// not to be published now (a draft, scheduled later, expired), and
    /// what to tell the writer about it.
    fn read_article(
        &self,
        source: &SourceConfig,
        root: &std::path::Path,
        file: &ArticleFile,
        now: DateTime<Utc>,
    ) -> Result<ReadArticle, String> {
        let bytes = local::read_article_file(root, file, source.max_article_bytes)
            .map_err(|e| e.to_string())?;
        let article = local::parse_article(&file.rel_path, &bytes).map_err(|e| e.to_string())?;
        let mut notes = article.warnings;
        let path = &file.rel_path;
        let unpublished = if let Some(reason) = article.draft_reason.filter(|_| article.draft) {
            Some(reason)
        } else if let Some(at) = article.publish_at.filter(|at| *at > now) {
            Some(format!(
                "{path}: scheduled: published at {}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ))
        } else {
            article.expires.filter(|at| *at <= now).map(|at| {
                format!(
                    "{path}: expired at {}: not published",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            })
        };
        if let Some(reason) = unpublished {
            notes.push(reason);
            // Not a draft: the source's timer publishes it at its time.
            let publish_at = article.publish_at.filter(|at| *at > now && !article.draft);
            return Ok(ReadArticle {
                entry: None,
                notes,
                expires: None,
                publish_at,
            });
        }
        let expires = article.expires;
        let mut entry = article.entry;
        let _ = source;
        let slug = entry.slug.clone().unwrap_or_else(|| "article".into());
        let page = format!("{}/articles/{}", self.public_base, slug);
        // Relative paths are read from the article's page as a folder:
        // `img/a.png` is `/articles/{slug}/img/a.png`, where the file
        // beside the article is served.
        let base = url::Url::parse(&format!("{page}/")).ok();
        for reference in &article.references {
            match local::find_attachment(root, &file.rel_path, &reference.url) {
                Some(found) if !entry.attachments.contains(&found.path) => {
                    entry.attachments.push(found.path);
                }
                Some(_) => {}
                None if reference.image => notes.push(format!(
                    "{path}: image `{}` is not a file beside the article",
                    reference.url
                )),
                None => {}
            }
        }
        if let Some(enclosure) = article.enclosure {
            match enclosure_of(root, &file.rel_path, &enclosure, base.as_ref()) {
                Some((found, path)) => {
                    if let Some(path) = path.filter(|p| !entry.attachments.contains(p)) {
                        entry.attachments.push(path);
                    }
                    entry.enclosures.push(found);
                }
                None => notes.push(format!(
                    "{path}: enclosure `{enclosure}` is neither an http(s) URL nor a file beside the article: left out"
                )),
            }
        }
        entry.content_html = entry
            .content_html
            .map(|h| parse::sanitize_html(&h, base.as_ref()));
        entry.summary_html = entry
            .summary_html
            .map(|h| parse::sanitize_html(&h, base.as_ref()));
        entry.link = Some(page);
        Ok(ReadArticle {
            entry: Some(entry),
            notes,
            expires,
            publish_at: None,
        })
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
                let old_dir = format!("{}/articles/{slug}/", self.public_base);
                slug = format!("{slug}-{}", &key.to_hex()[..8]);
                let new_dir = format!("{}/articles/{slug}/", self.public_base);
                // Relative paths were resolved under the page's old name.
                for field in [&mut entry.content_html, &mut entry.summary_html] {
                    if let Some(html) = field.as_mut() {
                        *html = html.replace(&old_dir, &new_dir);
                    }
                }
                for enclosure in &mut entry.enclosures {
                    if let Some(rest) = enclosure.url.strip_prefix(&old_dir) {
                        enclosure.url = format!("{new_dir}{rest}");
                    }
                }
                entry.link = Some(format!("{}/articles/{}", self.public_base, slug));
                entry.slug = Some(slug.clone());
            }
            taken.insert(slug.clone(), key);
            out.push((slug, key));
        }
        Ok(out)
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
    /// item.
    pub async fn ingest_document(
        &self,
        source: &SourceConfig,
        entries: Vec<Entry>,
        document_urls: Vec<String>,
        poll: PollState,
        now: DateTime<Utc>,
    ) -> Outcome {
        let _ingest = self.store.ingest_lock().await;
        let document = Document {
            entries,
            urls: document_urls,
        };
        self.ingest(source, document, Vec::new(), Vec::new(), poll, now)
            .await
    }

    /// Reconciles a document's entries with the store (the `dedup` plan)
    /// and writes the result, [`CHUNK`] entries per store transaction: what
    /// a refresh holds besides its document is bounded by a chunk, however
    /// long the document. Each transaction is atomic; the poll state (and
    /// so the validators), the removals and the slugs are written with the
    /// last one only, so that a crash or a store error in between leaves the
    /// document to be read again, not skipped. Called under the ingest lock.
    async fn ingest(
        &self,
        source: &SourceConfig,
        document: Document,
        removals: Vec<StoredItem>,
        slugs: Vec<(String, ItemKey)>,
        poll: PollState,
        now: DateTime<Utc>,
    ) -> Outcome {
        let settings = &source.dedup;
        let feed_url = match &source.kind {
            SourceKind::Remote { url } => Some(url.to_string()),
            SourceKind::Local { .. } => None,
        };
        let policy = dedup::Policy {
            source: &source.id,
            feed_url: feed_url.as_deref(),
            document_urls: document.urls,
            urls: &settings.urls,
            fuzzy_identity: matches!(source.kind, SourceKind::Remote { .. }),
            near_threshold_pct: settings.near_threshold_pct,
            max_age: settings.max_age.map(to_chrono),
        };
        let mut planner = dedup::Planner::new(&policy, document.entries);
        let chunked = planner.remaining() > CHUNK;
        let mut chunks = 0;
        let mut with_last = (poll, removals, slugs);
        let mut kept: HashSet<ItemKey> = HashSet::new();
        let mut counts = Counts::default();
        let (mut new, mut updated, mut removed) = (0, 0, 0);
        loop {
            let result = self.reconcile(source, &mut planner, &mut kept, &mut counts, now);
            let (mut batch, merges) = match result {
                Ok(planned) => planned,
                Err(err) => return self.store_failed(source, &err).await,
            };
            counts.merged += merges;
            let last = planner.remaining() == 0;
            if last {
                let (mut poll, mut removals, slugs) = std::mem::take(&mut with_last);
                // Items told apart by less than their guid or link: in
                // the source's status with the parse warnings.
                for warning in &counts.warnings {
                    if poll.parse_warnings.len() < 5 {
                        poll.parse_warnings.push(warning.clone());
                    }
                }
                poll.parse_warning_count += counts.warnings.len();
                // A removal that dedup matched again (a renamed article)
                // stays.
                removals.retain(|r| !kept.contains(&r.key));
                batch.removals = removals;
                batch.slugs = slugs;
                batch.poll = Some(poll);
            }
            counts.skipped += match self.retain(source, &mut batch, now) {
                Ok(refused) => refused,
                Err(err) => return self.store_failed(source, &err).await,
            };
            let inserted = batch
                .upserts
                .iter()
                .filter(|(old, _)| old.is_none())
                .count();
            new += inserted;
            updated += batch.upserts.len() - inserted - merges;
            removed += batch.removals.len();
            let result = self.store.apply(&batch).await;
            drop(batch);
            chunks += 1;
            if chunked && (last || chunks % TRIM_EVERY == 0) {
                // What the chunks freed goes back to the system, not only
                // to the allocator (see `memory`).
                crate::memory::release();
            }
            if let Err(err) = result {
                return self.store_failed(source, &err).await;
            }
            if last {
                break;
            }
        }
        if counts.skipped > 0 || counts.merged > 0 {
            debug!(source = %source.id, skipped = counts.skipped, merged = counts.merged, "dedup");
        }
        Outcome::Refreshed {
            new,
            updated,
            removed,
            unchanged: counts.unchanged + counts.skipped,
        }
    }

    /// The batch of the next [`CHUNK`] entries of a document: their items,
    /// aliases and signatures, and the merges into items of other sources
    /// (with how many items of other sources it rewrites).
    fn reconcile(
        &self,
        source: &SourceConfig,
        planner: &mut dedup::Planner,
        kept: &mut HashSet<ItemKey>,
        counts: &mut Counts,
        now: DateTime<Utc>,
    ) -> Result<(Batch, usize), StoreError> {
        let mut index = self.store.clone();
        let plan = planner.next(CHUNK, now, &mut index)?;
        for warning in &plan.warnings {
            debug!(source = %source.id, %warning, "identity warning");
        }
        counts.warnings.extend(plan.warnings);
        let mut batch = Batch {
            source: source.id.clone(),
            aliases: plan.aliases,
            signatures: plan.signatures,
            ..Batch::default()
        };
        for decision in plan.decisions {
            match decision {
                Decision::Insert(item) => {
                    kept.insert(item.key);
                    batch.upserts.push((None, item));
                }
                Decision::Update { old, new } => {
                    kept.insert(new.key);
                    batch.upserts.push((Some(*old), new));
                }
                Decision::Unchanged(key) => {
                    kept.insert(key);
                    counts.unchanged += 1;
                }
                Decision::Tombstoned(_) | Decision::TooOld => counts.skipped += 1,
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
        state.next_poll_at = Some(next_scheduled(source, now));
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

/// An article's `enclosure`: an http(s) URL (type from its extension,
/// length unknown), or a file beside the article (served under its page;
/// type and length from the file), with the attachment path to list.
fn enclosure_of(
    root: &std::path::Path,
    article_rel: &str,
    written: &str,
    page_dir: Option<&url::Url>,
) -> Option<(crate::model::Enclosure, Option<String>)> {
    if let Ok(url) = url::Url::parse(written)
        && matches!(url.scheme(), "http" | "https")
    {
        let enclosure = crate::model::Enclosure {
            mime_type: local::media_type(url.path()),
            url: url.to_string(),
            length: 0,
        };
        return Some((enclosure, None));
    }
    let found = local::find_attachment(root, article_rel, written)?;
    let url = page_dir?.join(written).ok()?;
    let enclosure = crate::model::Enclosure {
        url: url.to_string(),
        mime_type: found.mime_type,
        length: found.size,
    };
    Some((enclosure, Some(found.path)))
}

/// One article file read by a local refresh.
struct ReadArticle {
    /// `None`: not published now (draft, scheduled, expired).
    entry: Option<Entry>,
    /// Warnings and why it is not published, naming the file.
    notes: Vec<String>,
    /// When a published article expires.
    expires: Option<DateTime<Utc>>,
    /// When an article scheduled for later is published.
    publish_at: Option<DateTime<Utc>>,
}

/// The time between two polls of a healthy source: its interval (or, for
/// a cron schedule, nothing extra), never below its `min_interval` for
/// remote sources.
/// When the scheduler runs a source next after a run at `now`: the next
/// time of its cron expression, else `now` plus its interval; never before
/// `now` plus [`poll_interval`].
pub fn next_scheduled(source: &SourceConfig, now: DateTime<Utc>) -> DateTime<Utc> {
    let floor = now + to_chrono(poll_interval(source));
    let scheduled = match &source.refresh {
        Schedule::Every(every) => Some(now + to_chrono(*every)),
        Schedule::Cron(_) => source
            .refresh
            .cron()
            .and_then(|cron| cron.iter_after(now).next()),
    };
    scheduled.map_or(floor, |at| at.max(floor))
}

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

/// The reason phrase of the statuses a feed host commonly answers.
fn status_text(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        406 => "Not Acceptable",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// How many unreadable files of one scan a source's poll state lists.
const MAX_REJECTED_LISTED: usize = 20;

/// Between a failure's few words and its whole message in a stored cause
/// (`DNS lookup failed for example.org (...) — fetch https://...: ...`).
pub const CAUSE_SEPARATOR: &str = " — ";

/// The few words of a status or failure cause: what comes before
/// [`CAUSE_SEPARATOR`] (the whole text when there is none).
pub fn short_cause(status: &str) -> &str {
    status.split(CAUSE_SEPARATOR).next().unwrap_or(status)
}

/// What to do about a failing source, for the places that show its cause.
pub fn retry_hint(id: &str) -> String {
    format!("retry now: syndic fetch {id}")
}

/// What `syndic sources` and the HTML index show about one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceHealth {
    /// The URL polled: the configured one, or where a permanent redirect
    /// moved it (with the pending redirect and its streak, if any).
    pub url: String,
    /// The last status, `never polled` before the first attempt; `GONE`
    /// for a 410.
    pub status: String,
    /// When the next poll may happen; `None` when it never will (gone).
    pub next_poll: Option<DateTime<Utc>>,
    /// Why then: `interval`, `host hint`, `Retry-After`, `backoff`, ...
    pub why: String,
    /// True when the source is failing (errors, 404, gone).
    pub failing: bool,
    /// A local source's next scheduled article (published or expiring),
    /// as of its last scan; its timer refreshes the source then.
    pub next_article: Option<crate::model::ArticleEvent>,
}

impl SourceHealth {
    pub fn of(source: &SourceConfig, state: &PollState) -> SourceHealth {
        let configured = match &source.kind {
            SourceKind::Remote { url } => url.to_string(),
            SourceKind::Local { path } => path.display().to_string(),
        };
        // Shown, never fetched: secrets in URLs and error texts as `***`.
        let mut url = crate::redact::url(state.url.as_deref().unwrap_or(&configured));
        if let Some(target) = &state.redirect_target {
            url.push_str(&format!(
                " (301 to {} seen {}/{})",
                crate::redact::Redacted(target),
                state.redirect_streak,
                poll::PERMANENT_REDIRECT_POLLS
            ));
        }
        let status = if state.gone {
            "GONE (410)".to_string()
        } else {
            state.last_status.as_deref().map_or_else(
                || "never polled".into(),
                |s| crate::redact::text(s).into_owned(),
            )
        };
        let next_poll = if state.gone {
            None
        } else {
            match (state.next_poll_at, state.retry_after_until) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            }
        };
        let next_article = match source.kind {
            SourceKind::Local { .. } => state.next_article_event(Utc::now()),
            SourceKind::Remote { .. } => None,
        };
        // The timer refreshes a local source at its next article's time.
        let next_poll = match (&next_article, next_poll) {
            (Some(event), Some(scan)) if event.at < scan => Some(event.at),
            (Some(event), None) => Some(event.at),
            (_, scan) => scan,
        };
        let why = if matches!(source.kind, SourceKind::Local { .. }) {
            match &next_article {
                Some(event) if next_poll == Some(event.at) => "article timer".to_string(),
                _ => "schedule".to_string(),
            }
        } else if state.last_attempt.is_none() {
            "first poll".to_string()
        } else {
            state.next_poll_reason.to_string()
        };
        SourceHealth {
            url,
            status,
            next_poll,
            why,
            failing: state.gone || state.consecutive_failures > 0,
            next_article,
        }
    }
}
