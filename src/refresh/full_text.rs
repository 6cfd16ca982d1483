//! Full text: a `full_text` source's entries with the main content of
//! their pages in place of the feed's teaser, before rules and dedup.
//!
//! Each page is fetched by the one fetcher, with the source's own reach:
//! the SSRF guard judges it against the source's configured URL (a public
//! feed's page may not lead inside), its credentials go only to that URL's
//! origin, and the per-host and global caps, timeouts, size caps and
//! `Retry-After` holds apply as to any poll. What was found is kept in the
//! store's `pages` tree ([`PageRecord`]) with the page's validators: the
//! page of an entry the feed sends unchanged is not fetched again, and that
//! of a changed entry is asked for with `If-None-Match`/`If-Modified-Since`.
//! An entry keeps the feed's content when its page fails, with the cause in
//! `Entry::full_text` (shown by `syndic explain`).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tracing::{debug, info, warn};

use super::Refresher;
use crate::config::{FullText, SourceConfig};
use crate::ingest::fetch::{FetchError, FetchOutcome, Reach, Validators};
use crate::ingest::{page, poll};
use crate::model::{Entry, PageOutcome, PageRecord};
use crate::redact::Redacted;

/// Most pages fetched in one refresh. The first read of a long feed
/// fetches this many (the feed's first entries, its newest as feeds are
/// written); the others keep the feed's content for now, and the feed's
/// validators are not kept so that the next poll reads it whole again and
/// fetches the next ones.
pub const MAX_PAGES: usize = 50;

/// Pages of one refresh fetched at once (the fetcher's per-host cap
/// applies under it).
const AT_ONCE: usize = 4;

/// A refresh's entries after full text, and how many pages were left for
/// a later refresh.
pub(super) struct WithPages {
    pub(super) entries: Vec<Entry>,
    pub(super) deferred: usize,
}

/// A page to fetch: its link, and what was known of it before.
struct Job {
    link: String,
    feed_digest: [u8; 16],
    previous: Option<PageRecord>,
}

impl Refresher<'_> {
    /// `entries` with their pages' main content (see the module doc).
    /// `whole`: the entries are the source's whole document, so the
    /// records of pages it no longer lists are dropped (not after a push,
    /// which may carry only the new items).
    pub(super) async fn full_text(
        &self,
        source: &SourceConfig,
        how: &FullText,
        reach: &Reach,
        mut entries: Vec<Entry>,
        whole: bool,
        now: DateTime<Utc>,
    ) -> WithPages {
        let reach = &Reach {
            page: true,
            ..reach.clone()
        };
        let mut records = self.store.page_records(&source.id).unwrap_or_else(|err| {
            warn!(source = %source.id, %err, "page records not read: pages are fetched again");
            HashMap::new()
        });
        let mut jobs = Vec::new();
        let mut queued = HashSet::new();
        let mut listed = HashSet::new();
        for entry in &entries {
            let Some(link) = page_link(entry) else {
                continue;
            };
            listed.insert(link.to_string());
            let feed_digest = entry.content_digest();
            let known = records.get(link);
            let fresh = known.is_some_and(|r| {
                r.feed_digest == feed_digest
                    && !matches!(
                        r.outcome,
                        PageOutcome::Failed {
                            transient: true,
                            ..
                        }
                    )
            });
            if !fresh && queued.insert(link.to_string()) {
                jobs.push(Job {
                    link: link.to_string(),
                    feed_digest,
                    previous: known.cloned(),
                });
            }
        }
        let deferred: HashSet<String> = jobs
            .iter()
            .skip(MAX_PAGES)
            .map(|j| j.link.clone())
            .collect();
        jobs.truncate(MAX_PAGES);
        let fetched = jobs.len();
        // Hosts that asked to wait (429/503) in this refresh: their other
        // pages are not asked for.
        let waiting = Mutex::new(HashSet::new());
        let found: Vec<(String, PageRecord)> = futures_util::stream::iter(jobs)
            .map(|job| self.fetch_page(source, how, reach, job, &waiting, now))
            .buffer_unordered(AT_ONCE)
            .collect()
            .await;
        let stale: Vec<String> = records
            .keys()
            .filter(|link| whole && !listed.contains(*link))
            .cloned()
            .collect();
        if let Err(err) = self.store.put_page_records(&source.id, &found, &stale) {
            warn!(source = %source.id, %err, "page records not written: pages are fetched again");
        }
        for (link, record) in found {
            records.insert(link, record);
        }
        if fetched > 0 || !deferred.is_empty() {
            info!(source = %source.id, fetched, deferred = deferred.len(), "item pages fetched for full text");
        }
        for entry in &mut entries {
            let Some(link) = page_link(entry).map(str::to_string) else {
                entry.full_text =
                    Some("the feed's content kept: the item has no http(s) link".into());
                continue;
            };
            if deferred.contains(&link) {
                entry.full_text = Some(format!(
                    "the feed's content kept for now: more than {MAX_PAGES} pages to fetch in one refresh"
                ));
                continue;
            }
            if let Some(record) = records.get(&link) {
                apply(entry, &record.outcome);
            }
        }
        WithPages {
            entries,
            deferred: deferred.len(),
        }
    }

    /// Fetches one page and extracts its content (on a blocking thread).
    async fn fetch_page(
        &self,
        source: &SourceConfig,
        how: &FullText,
        reach: &Reach,
        job: Job,
        waiting: &Mutex<HashSet<String>>,
        now: DateTime<Utc>,
    ) -> (String, PageRecord) {
        let Job {
            link,
            feed_digest,
            previous,
        } = job;
        let record = |outcome, validators: Validators| PageRecord {
            feed_digest,
            etag: validators.etag,
            last_modified: validators.last_modified,
            fetched_at: now,
            outcome,
        };
        let failed = |cause: String, transient: bool| {
            record(
                PageOutcome::Failed { cause, transient },
                Validators::default(),
            )
        };
        let host = url::Url::parse(&link)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        let held = self.fetcher.held_until(&link).filter(|until| *until > now);
        if held.is_some() || lock(waiting).contains(&host) {
            let until = held.map_or_else(|| "later".to_string(), |t| t.to_rfc3339());
            let cause = format!("{host} asked to wait (Retry-After) until {until}");
            return (link, failed(cause, true));
        }
        // Validators only for a page that gave content: a failure is
        // fetched whole again.
        let validators = match &previous {
            Some(PageRecord {
                etag,
                last_modified,
                outcome: PageOutcome::Extracted { .. },
                ..
            }) => Validators {
                etag: etag.clone(),
                last_modified: last_modified.clone(),
            },
            _ => Validators::default(),
        };
        let result = self.fetcher.get_with(&link, &validators, reach).await;
        let outcome = match result {
            Err(err) => {
                let transient =
                    matches!(err, FetchError::Timeout { .. } | FetchError::Network { .. });
                failed(format!("fetch {}: {err}", Redacted(&link)), transient)
            }
            Ok(FetchOutcome::NotModified(meta)) => match previous {
                Some(PageRecord {
                    outcome: outcome @ PageOutcome::Extracted { .. },
                    ..
                }) => {
                    let mut kept = validators;
                    if meta.validators.etag.is_some() {
                        kept.etag = meta.validators.etag;
                    }
                    if meta.validators.last_modified.is_some() {
                        kept.last_modified = meta.validators.last_modified;
                    }
                    record(outcome, kept)
                }
                _ => failed(
                    format!(
                        "fetch {}: 304 to a request without validators",
                        Redacted(&link)
                    ),
                    true,
                ),
            },
            Ok(FetchOutcome::Status(meta)) => {
                let status = meta.status;
                let until = meta
                    .retry_after
                    .as_deref()
                    .and_then(|v| poll::retry_after(v, now));
                if matches!(status, 429 | 503) {
                    lock(waiting).insert(host);
                    if let Some(until) = until {
                        self.fetcher.hold(&meta.final_url, until);
                        self.fetcher.hold(&link, until);
                    }
                }
                failed(
                    format!(
                        "fetch {}: HTTP {status} at {}",
                        Redacted(&link),
                        Redacted(&meta.final_url)
                    ),
                    status == 429 || status >= 500,
                )
            }
            Ok(FetchOutcome::Fetched { meta, body, .. }) => {
                let how = how.clone();
                let url = meta.final_url.clone();
                let content_type = meta.content_type.clone();
                let extracted = tokio::task::spawn_blocking(move || {
                    page::main_content(&body, content_type.as_deref(), &url, &how)
                        .map(|html| (url, html))
                })
                .await
                .unwrap_or_else(|err| Err(format!("extraction failed: {err}")));
                match extracted {
                    Ok((url, html)) => {
                        record(PageOutcome::Extracted { url, html }, meta.validators)
                    }
                    Err(cause) => {
                        debug!(source = %source.id, %link, %cause, "no main content");
                        failed(cause, false)
                    }
                }
            }
        };
        (link, outcome)
    }
}

/// The entry's page, when it has an http(s) link.
fn page_link(entry: &Entry) -> Option<&str> {
    entry
        .link
        .as_deref()
        .filter(|l| l.starts_with("http://") || l.starts_with("https://"))
}

/// `entry` with what its page gave: the main content, the feed's content
/// becoming the summary when the feed sent none; or the cause kept.
fn apply(entry: &mut Entry, outcome: &PageOutcome) {
    match outcome {
        PageOutcome::Extracted { url, html } => {
            if entry.summary_html.is_none() {
                entry.summary_html = entry.content_html.take();
            }
            entry.content_html = Some(html.clone());
            entry.full_text = Some(format!("content extracted from {}", Redacted(url)));
        }
        PageOutcome::Failed { cause, .. } => {
            entry.full_text = Some(format!("the feed's content kept: {cause}"));
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
