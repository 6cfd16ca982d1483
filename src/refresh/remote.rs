//! The refresh of a fetched source: the request with its validators,
//! permanent redirects, the answer's status (304, 404, 410, 429/503 with
//! `Retry-After`), the next poll and the backoff after a failure.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use super::{CAUSE_SEPARATOR, Outcome, Refresher, to_chrono};
use crate::config::SourceConfig;
use crate::ingest::fetch::{FetchError, FetchOutcome, Reach, ResponseMeta, Validators};
use crate::ingest::parse::{self, ParseOptions, Unfinished};
use crate::ingest::poll::{self, Hints, Policy};
use crate::model::{PollReason, PollState};

impl Refresher<'_> {
    pub(super) async fn refresh_remote(
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

        if let Some(step) = state
            .last_attempt
            .and_then(|last| poll::clock_step_back(last, now))
        {
            self.clock_stepped_back(source, &url, &mut state, step)
                .await;
        }

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
        let previous = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let reach = reach(source, configured);
        let result = self.fetcher.get_document(&url, &previous, &reach).await;
        // Boxed: the fetch above is where a storm of refreshes waits for
        // its slots, and what follows (parse, full text, dedup, store) is
        // most of this future's size; inline, each waiting refresh would
        // hold about 8 KB (170 MB at 20,000 sources).
        Box::pin(self.apply_fetch(source, &url, &reach, state, result, now)).await
    }

    /// What a fetch's `result` does to `source`: its items and poll state
    /// stored, or the failure recorded.
    async fn apply_fetch(
        &self,
        source: &SourceConfig,
        url: &str,
        reach: &Reach,
        mut state: PollState,
        result: Result<FetchOutcome, FetchError>,
        now: DateTime<Utc>,
    ) -> Outcome {
        let policy = &Policy::for_source(source);
        let pushed = source.websub
            && self.store.subscriptions(&source.id).is_ok_and(|subs| {
                subs.iter()
                    .any(|s| s.taking_pushes_until().is_some_and(|until| until > now))
            });
        let meta = match &result {
            Ok(FetchOutcome::NotModified(meta) | FetchOutcome::Status(meta)) => Some(meta),
            Ok(FetchOutcome::Fetched { meta, .. }) => Some(meta),
            Err(_) => None,
        };
        state.last_code = meta.map(|meta| meta.status);
        if let Some(meta) = meta {
            self.follow_permanent_redirect(source, &mut state, meta);
        }
        match result {
            Err(err) => {
                // The few words first: a table cut to its width, a glance
                // at `/`, still say what happened.
                let cause = format!("{}{CAUSE_SEPARATOR}fetch {url}: {err}", err.summary());
                self.remote_failed(source, state, policy, cause, now).await
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
                self.remote_succeeded(pushed, &mut state, policy, &meta, "304", now);
                match self.store.put_poll_state(&source.id, &state).await {
                    Ok(()) => Outcome::NotModified,
                    Err(err) => Outcome::Failed(err.to_string()),
                }
            }
            Ok(FetchOutcome::Status(meta)) => {
                self.remote_status(source, state, policy, &meta, now).await
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
                let parsed = match parse::parse_feed_unfinished(&body, &opts) {
                    Ok(parsed) => parsed,
                    // Old validators stay: the next poll must fetch the body
                    // again.
                    Err(err) => {
                        let cause = format!("parse {}: {err}", meta.final_url);
                        return self.remote_failed(source, state, policy, cause, now).await;
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
                state.parse_warnings = parsed
                    .warnings
                    .iter()
                    .take(5)
                    .map(|w| w.text.clone())
                    .collect();
                state.parse_warning_count = parsed.warnings.len();
                // Validators of this response are stored with its items, in
                // the same transaction; a 200 replaces both (one it lacks is
                // gone). Not those of a truncated body: the next poll must
                // fetch it whole.
                if !parsed.warnings.iter().any(parse::is_truncation_warning) {
                    state.etag = meta.validators.etag.clone();
                    state.last_modified = meta.validators.last_modified.clone();
                }
                state.last_body_bytes = wire_bytes;
                state.feed_hints = parsed.hints;
                (state.websub_hubs, state.websub_topic) = websub_links(
                    meta.link.as_deref(),
                    &meta.final_url,
                    &parsed.hubs,
                    parsed.feed_url.as_deref(),
                );
                let status = meta.status.to_string();
                self.remote_succeeded(pushed, &mut state, policy, &meta, &status, now);
                // Addresses of the document itself: a link to one of them
                // identifies no item.
                let document_urls = [Some(meta.final_url.clone()), parsed.home_page_url]
                    .into_iter()
                    .flatten()
                    .collect();
                let Some(how) = &source.full_text else {
                    return self
                        .ingest_unfinished(source, parsed.entries, document_urls, state, now)
                        .await;
                };
                let entries = parsed.entries.into_iter().map(Unfinished::finish).collect();
                let done = self.full_text(source, how, reach, entries, true, now).await;
                if done.deferred > 0 {
                    // Read whole again next time, for the pages left.
                    state.etag = None;
                    state.last_modified = None;
                }
                self.ingest_document(source, done.entries, document_urls, state, now)
                    .await
            }
        }
    }

    /// A document a WebSub hub pushed for `source` (a fat ping), through
    /// the same parse, full text, rules, dedup and store as a fetched one.
    /// The poll state (validators, next poll) stays as it is.
    pub async fn ingest_push(
        &self,
        source: &SourceConfig,
        body: &[u8],
        content_type: Option<&str>,
        now: DateTime<Utc>,
    ) -> Outcome {
        let crate::config::SourceKind::Remote { url } = &source.kind else {
            return Outcome::Failed("a push to a source that is not a `url`".into());
        };
        let state = match self.store.poll_state(&source.id) {
            Ok(state) => state.unwrap_or_default(),
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        let base = state.url.clone().unwrap_or_else(|| url.to_string());
        let opts = ParseOptions {
            content_type,
            base_url: Some(&base),
        };
        let parsed = match parse::parse_feed(body, &opts) {
            Ok(parsed) => parsed,
            Err(err) => {
                return Outcome::Failed(format!("parse the document pushed for {base}: {err}"));
            }
        };
        let mut entries = parsed.entries;
        if let Some(how) = &source.full_text {
            let reach = reach(source, url.as_str());
            entries = self
                .full_text(source, how, &reach, entries, false, now)
                .await
                .entries;
        }
        let document_urls = [Some(base), parsed.home_page_url]
            .into_iter()
            .flatten()
            .collect();
        self.ingest_document(source, entries, document_urls, state, now)
            .await
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
        pushed: bool,
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
        let (mut next, mut reason) = poll::next_after_success(policy, &hints, now);
        // Pushed: polled at the slow end, as a safety net.
        if pushed && next < now + to_chrono(policy.max_interval) {
            next = now + to_chrono(policy.max_interval);
            reason = PollReason::Pushed;
        }
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

    /// The wall clock is `step` behind this source's last attempt: it was
    /// set back. The times decided at that attempt keep their distance from
    /// it, counted from now (the attempt itself is taken as now), and are
    /// stored at once, so the next look does not move them again.
    async fn clock_stepped_back(
        &self,
        source: &SourceConfig,
        url: &str,
        state: &mut PollState,
        step: chrono::Duration,
    ) {
        warn!(source = %source.id, step_secs = step.num_seconds(), "the clock is behind this source's last poll (set back?): its waits now count from now");
        let back = |t: &mut Option<DateTime<Utc>>| *t = t.map(|t| t - step);
        back(&mut state.last_attempt);
        back(&mut state.next_poll_at);
        back(&mut state.retry_after_until);
        self.fetcher.move_hold_back(url, step);
        if let Err(err) = self.store.put_poll_state(&source.id, state).await {
            warn!(source = %source.id, %err, "poll state not saved");
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

/// How `source`'s requests reach out: the SSRF guard judges its
/// configured URL, not a moved one; its credentials go to that origin only.
fn reach(source: &SourceConfig, configured: &str) -> Reach {
    Reach {
        origin: configured.to_string(),
        allow_internal: source.allow_internal,
        credentials: source.credentials.clone(),
        page: false,
    }
}

/// The WebSub hubs and topic a fetched feed names: those of its `Link`
/// header first (WebSub 4: the header wins), else those of the document;
/// absolute against `base`.
fn websub_links(
    header: Option<&str>,
    base: &str,
    doc_hubs: &[String],
    doc_self: Option<&str>,
) -> (Vec<String>, Option<String>) {
    let base = url::Url::parse(base).ok();
    let absolute = |u: &str| match &base {
        Some(b) => b.join(u).ok().map(String::from),
        None => url::Url::parse(u).ok().map(String::from),
    };
    let links = header
        .map(crate::ingest::fetch::link_relations)
        .unwrap_or_default();
    let mut hubs: Vec<String> = links
        .iter()
        .filter(|(rel, _)| rel == "hub")
        .filter_map(|(_, u)| absolute(u))
        .collect();
    let mut topic = links
        .iter()
        .find(|(rel, _)| rel == "self")
        .and_then(|(_, u)| absolute(u));
    if hubs.is_empty() {
        hubs = doc_hubs.to_vec();
    }
    if topic.is_none() {
        topic = doc_self.map(str::to_string);
    }
    (hubs, topic)
}
