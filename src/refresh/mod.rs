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
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | [`Refresher`], [`Outcome`], the entry point, when a source is polled next |
//! | `remote.rs` | a fetched source: validators, redirects, statuses, `Retry-After`, backoff |
//! | `local.rs` | an articles folder: the scan, reading each changed article, slugs |
//! | `batch.rs` | the dedup plan and the store transactions, [`CHUNK`] entries each, retention |
//! | `unfinished.rs` | a fetched document's entries sanitized only where they are new |
//! | `health.rs` | what is shown about a source: [`SourceHealth`], [`short_cause`] |

use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use crate::config::{Schedule, SourceConfig, SourceKind};
use crate::ingest::fetch::Fetcher;
use crate::model::PollState;
use crate::store::Store;

mod batch;
mod full_text;
mod health;
mod local;
mod remote;
mod reshape;
mod unfinished;

pub use reshape::reshape;

pub use batch::{CHUNK, MERGED_CAP};
pub use full_text::MAX_PAGES;
pub use health::{CAUSE_SEPARATOR, SourceHealth, retry_hint, short_cause};

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
            // Boxed: a local scan's state would otherwise make every
            // remote refresh, waiting for its fetch, as large.
            SourceKind::Local { path } => {
                Box::pin(self.refresh_local(source, path, state, now)).await
            }
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
