//! What is shown about a source (`syndic sources`, the HTML index, the
//! status line): its health, and a failure's cause in a few words.

use chrono::{DateTime, Utc};

use crate::config::{SourceConfig, SourceKind};
use crate::ingest::poll;
use crate::model::PollState;

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
