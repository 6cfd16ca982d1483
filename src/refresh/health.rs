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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;
    use crate::config::{DEFAULT_MAX_ARTICLE_BYTES, DEFAULT_MAX_INTERVAL, Schedule, SourceDedup};
    use crate::model::{ArticleAction, LocalFileState, PollReason};

    fn source(kind: SourceKind) -> SourceConfig {
        SourceConfig {
            id: "s".to_string(),
            kind,
            title: None,
            refresh: Schedule::Every(Duration::from_secs(3600)),
            min_interval: Duration::from_secs(300),
            max_interval: DEFAULT_MAX_INTERVAL,
            tags: Vec::new(),
            dedup: SourceDedup::default(),
            allow_internal: false,
            max_article_bytes: DEFAULT_MAX_ARTICLE_BYTES,
            rules: Vec::new(),
            credentials: Default::default(),
            full_text: None,
            websub: true,
        }
    }

    fn remote() -> SourceConfig {
        source(SourceKind::Remote {
            url: url::Url::parse("https://user:secret@feeds.example/rss").unwrap(),
        })
    }

    fn local() -> SourceConfig {
        source(SourceKind::Local {
            path: "/srv/articles".into(),
        })
    }

    /// Hours from the first call (whole seconds, the same instant for every
    /// call): article events must lie in the future.
    fn later(hours: i64) -> DateTime<Utc> {
        static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
        let base = *BASE.get_or_init(|| Utc::now().timestamp());
        Utc.timestamp_opt(base + hours * 3600, 0).unwrap()
    }

    fn scheduled(path: &str, publish_at: DateTime<Utc>) -> LocalFileState {
        LocalFileState {
            path: path.to_string(),
            mtime_ns: 0,
            size: 1,
            notes: Vec::new(),
            expires: None,
            publish_at: Some(publish_at),
        }
    }

    #[test]
    fn the_short_cause_is_what_comes_before_the_separator() {
        assert_eq!(
            short_cause("DNS lookup failed for x — fetch https://x/: no such host"),
            "DNS lookup failed for x"
        );
        assert_eq!(short_cause("304"), "304");
        assert_eq!(short_cause(""), "");
        assert_eq!(retry_hint("lwn"), "retry now: syndic fetch lwn");
    }

    #[test]
    fn a_remote_source_shows_its_state_with_secrets_hidden() {
        let never = SourceHealth::of(&remote(), &PollState::default());
        assert_eq!(never.status, "never polled");
        assert_eq!(never.why, "first poll");
        assert!(!never.failing);
        assert!(!never.url.contains("secret"), "{}", never.url);
        assert_eq!(never.next_article, None);

        let next = later(1);
        let failing = PollState {
            last_attempt: Some(later(-1)),
            last_status: Some("HTTP 500 — fetch https://feeds.example/rss".into()),
            consecutive_failures: 2,
            next_poll_at: Some(next),
            next_poll_reason: PollReason::Backoff,
            ..PollState::default()
        };
        let health = SourceHealth::of(&remote(), &failing);
        assert!(health.failing);
        assert_eq!(health.why, PollReason::Backoff.to_string());
        assert_eq!(health.next_poll, Some(next));
        // A Retry-After later than the scheduled poll wins, and the
        // other way round.
        let retry = PollState {
            retry_after_until: Some(later(3)),
            ..failing.clone()
        };
        assert_eq!(
            SourceHealth::of(&remote(), &retry).next_poll,
            Some(later(3))
        );
        let early = PollState {
            retry_after_until: Some(later(-2)),
            ..failing.clone()
        };
        assert_eq!(SourceHealth::of(&remote(), &early).next_poll, Some(next));
        let gone = PollState {
            gone: true,
            ..failing
        };
        let health = SourceHealth::of(&remote(), &gone);
        assert_eq!(
            (health.status.as_str(), health.next_poll),
            ("GONE (410)", None)
        );
        assert!(health.failing);
        let gone_only = PollState {
            gone: true,
            ..PollState::default()
        };
        assert!(
            SourceHealth::of(&remote(), &gone_only).failing,
            "gone alone is failing"
        );
    }

    #[test]
    fn a_local_source_is_next_refreshed_by_its_scan_or_its_article_timer() {
        let scan = later(2);
        let state = |files: Vec<LocalFileState>| PollState {
            last_attempt: Some(later(-1)),
            last_status: Some("local".into()),
            next_poll_at: Some(scan),
            files,
            ..PollState::default()
        };
        // No scheduled article: the scan's time.
        let health = SourceHealth::of(&local(), &state(Vec::new()));
        assert_eq!(
            (health.next_poll, health.why.as_str()),
            (Some(scan), "schedule")
        );
        assert_eq!(health.url, "/srv/articles");
        // An article due before the scan: its time, by the timer.
        let health = SourceHealth::of(&local(), &state(vec![scheduled("soon.md", later(1))]));
        assert_eq!(health.next_poll, Some(later(1)));
        assert_eq!(health.why, "article timer");
        let event = health.next_article.unwrap();
        assert_eq!(
            (event.path.as_str(), event.action),
            ("soon.md", ArticleAction::Publish)
        );
        // One due after the scan: the scan comes first.
        let health = SourceHealth::of(&local(), &state(vec![scheduled("late.md", later(3))]));
        assert_eq!(
            (health.next_poll, health.why.as_str()),
            (Some(scan), "schedule")
        );
        assert_eq!(health.next_article.unwrap().path, "late.md");
        // At the same instant: that instant.
        let health = SourceHealth::of(&local(), &state(vec![scheduled("same.md", scan)]));
        assert_eq!(health.next_poll, Some(scan));
        // No scan scheduled: the article's time.
        let unscheduled = PollState {
            next_poll_at: None,
            ..state(vec![scheduled("soon.md", later(1))])
        };
        let health = SourceHealth::of(&local(), &unscheduled);
        assert_eq!(
            (health.next_poll, health.why.as_str()),
            (Some(later(1)), "article timer")
        );
    }
}
