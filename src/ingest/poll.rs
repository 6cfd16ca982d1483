//! When to poll a remote source next: pure decisions, each taking `now`
//! explicitly so they test without clocks or I/O. [`crate::refresh`] calls
//! them with what [`super::fetch`] saw and stores the result in the source's
//! [`crate::model::PollState`].
//!
//! | situation | next poll |
//! |---|---|
//! | 200 / 304 | `max(interval, min_interval)`, or later when a host hint says so (`Cache-Control: max-age`, `Expires`, RSS `ttl`, `sy:updatePeriod`/`sy:updateFrequency`), hints clamped to `[min_interval, max_interval]`; then moved out of RSS `skipHours`/`skipDays` (never beyond `max_interval`) |
//! | 429 / 503 with `Retry-After` | not before the date it names (seconds or HTTP-date, RFC 9110 10.2.3), nor before `min_interval`; not a failure |
//! | network error, 5xx, 429/503 without `Retry-After`, other 4xx | exponential backoff: `min(base * 2^(n-1), cap) * (1 + j/10)`, `j` in `[0, 1)`, base the interval, cap `max_interval` (default 24 h) |
//! | 404 | the slow end, `max_interval`; shown as failing |
//! | 410 | never (the source is marked gone) |
//!
//! Redirects: a permanent redirect (301/308) replaces the stored URL only
//! after the same target was seen on [`PERMANENT_REDIRECT_POLLS`]
//! consecutive polls ([`permanent_redirect`]).

use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use sha2::{Digest, Sha256};

use crate::config::{Schedule, SourceConfig};
use crate::model::PollReason;

/// A permanent redirect is believed after being seen on this many
/// consecutive polls (hotel-wifi 301s must not rewrite subscriptions).
pub const PERMANENT_REDIRECT_POLLS: u32 = 3;

/// Backoff delays are stretched by up to this fraction, at random, so that
/// sources failing together do not retry together.
pub const BACKOFF_JITTER: f64 = 0.1;

/// The intervals that bound one source's polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The configured interval; zero for a cron schedule (the cron decides).
    pub interval: Duration,
    /// Floor: no two polls of the URL closer than this.
    pub min_interval: Duration,
    /// Ceiling for hints and backoff; the pace of a 404.
    pub max_interval: Duration,
}

impl Policy {
    pub fn for_source(source: &SourceConfig) -> Policy {
        Policy {
            interval: match &source.refresh {
                Schedule::Every(d) => *d,
                Schedule::Cron(_) => Duration::ZERO,
            },
            min_interval: source.min_interval,
            max_interval: source.max_interval.max(source.min_interval),
        }
    }

    /// The time between two polls of a healthy source without hints.
    pub fn base(&self) -> Duration {
        self.interval.max(self.min_interval)
    }
}

/// What the host and the feed said about how often to come back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hints {
    /// `Cache-Control: max-age`.
    pub max_age: Option<Duration>,
    /// `Expires` minus `Date` (or minus now without `Date`), when ahead.
    pub expires_in: Option<Duration>,
    /// RSS `<ttl>`, minutes.
    pub ttl: Option<Duration>,
    /// `sy:updatePeriod` divided by `sy:updateFrequency`.
    pub update_period: Option<Duration>,
    /// RSS `<skipHours>`: bit `h` set for hour `h` (0-23, GMT).
    pub skip_hours: u32,
    /// RSS `<skipDays>`: bit 0 Monday .. bit 6 Sunday.
    pub skip_days: u8,
}

impl Hints {
    /// The longest "not before" the hints ask for.
    fn wait(&self) -> Option<Duration> {
        [self.max_age, self.expires_in, self.ttl, self.update_period]
            .into_iter()
            .flatten()
            .max()
    }
}

fn add(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now.checked_add_signed(chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The next poll after a 200 or 304.
pub fn next_after_success(
    policy: &Policy,
    hints: &Hints,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, PollReason) {
    let base = policy.base();
    let mut wait = base;
    let mut reason = PollReason::Interval;
    if let Some(hint) = hints.wait() {
        let hint = hint.clamp(policy.min_interval, policy.max_interval);
        if hint > base {
            wait = hint;
            reason = PollReason::Hint;
        }
    }
    let next = add(now, wait);
    let limit = add(now, policy.max_interval.max(base));
    match skip_forward(next, hints.skip_hours, hints.skip_days) {
        Some(moved) if moved > next => (moved.min(limit), PollReason::Skip),
        _ => (next, reason),
    }
}

/// Moves `at` to the start of the first hour that is neither a skipped hour
/// nor on a skipped day. `None` when no hour of the next eight days is
/// free, which only every hour or every day skipped gives (such hints are
/// nonsense and ignored).
pub fn skip_forward(at: DateTime<Utc>, skip_hours: u32, skip_days: u8) -> Option<DateTime<Utc>> {
    let skipped = |t: DateTime<Utc>| {
        skip_hours & (1 << t.hour()) != 0
            || skip_days & (1 << t.weekday().num_days_from_monday()) != 0
    };
    let mut t = at;
    for _ in 0..(24 * 8) {
        if !skipped(t) {
            return Some(t);
        }
        let hour_start = Utc
            .with_ymd_and_hms(t.year(), t.month(), t.day(), t.hour(), 0, 0)
            .single()?;
        t = hour_start + chrono::Duration::hours(1);
    }
    None
}

/// The date a `Retry-After` value names: delay-seconds or an HTTP-date
/// (RFC 9110 10.2.3). A date in the past means now. `None` when the value
/// is neither.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurd values saturate (10 years) instead of overflowing.
        let secs: u64 = value.parse().unwrap_or(u64::MAX).min(315_360_000);
        return Some(add(now, Duration::from_secs(secs)));
    }
    let date: DateTime<Utc> = httpdate::parse_http_date(value).ok()?.into();
    Some(date.max(now))
}

/// The next poll after a 429 or 503 that carried a usable `Retry-After`
/// resolving to `until`: never before it, nor before `min_interval`.
pub fn next_after_retry_after(
    policy: &Policy,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    until.max(add(now, policy.min_interval))
}

/// The wait after the `failures`-th consecutive failure (1 for the first):
/// `min(base * 2^(failures-1), cap) * (1 + BACKOFF_JITTER * jitter)`, with
/// `base` the source's interval (at least a minute), `cap` its
/// `max_interval` and `jitter` in `[0, 1)`.
pub fn backoff(policy: &Policy, failures: u32, jitter: f64) -> Duration {
    let base = policy.base().max(Duration::from_secs(60));
    let cap = policy.max_interval.max(base);
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(30));
    let delay = base.saturating_mul(factor).min(cap);
    delay.mul_f64(1.0 + BACKOFF_JITTER * jitter.clamp(0.0, 0.999_999))
}

/// The next poll after a 404: the slow end.
pub fn next_after_not_found(policy: &Policy, now: DateTime<Utc>) -> DateTime<Utc> {
    add(now, policy.max_interval.max(policy.base()))
}

/// Where a source stands with permanent redirects after one poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectStreak {
    /// The permanent target seen on the last polls, if any.
    pub target: Option<String>,
    /// On how many consecutive polls it was seen.
    pub streak: u32,
    /// Set when the stored URL must now become this target.
    pub adopt: Option<String>,
}

/// Counts consecutive polls that saw the same permanent redirect `seen`
/// (the URL reached through 301/308 only, `None` when the poll saw none);
/// the target is adopted at the `needed`-th consecutive sighting.
pub fn permanent_redirect(
    target: Option<&str>,
    streak: u32,
    seen: Option<&str>,
    needed: u32,
) -> RedirectStreak {
    let Some(seen) = seen else {
        return RedirectStreak {
            target: None,
            streak: 0,
            adopt: None,
        };
    };
    let streak = if target == Some(seen) {
        streak.saturating_add(1)
    } else {
        1
    };
    if streak >= needed.max(1) {
        RedirectStreak {
            target: None,
            streak: 0,
            adopt: Some(seen.to_string()),
        }
    } else {
        RedirectStreak {
            target: Some(seen.to_string()),
            streak,
            adopt: None,
        }
    }
}

/// How far the wall clock stepped back since the last attempt at
/// `last_attempt`, when `now` is before it by more than [`CLOCK_SLACK`]
/// (a time sync or a wrong clock set right). Times decided at that attempt
/// (the next poll, a `Retry-After` hold) are then moved back by the step:
/// they keep their distance from the attempt, so a clock set back a day
/// does not hold a source for a day. `None` when the clock did not step
/// back.
pub fn clock_step_back(
    last_attempt: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<chrono::Duration> {
    let step = last_attempt - now;
    (step > chrono::Duration::from_std(CLOCK_SLACK).unwrap_or_default()).then_some(step)
}

/// How far behind the last attempt the clock may be before it counts as
/// stepped back ([`clock_step_back`]): small skews are left alone.
pub const CLOCK_SLACK: Duration = Duration::from_secs(2);

/// A fraction in `[0, 1)` derived from `seed` and `now`: the jitter of one
/// decision, reproducible in tests.
pub fn jitter(seed: &str, now: DateTime<Utc>) -> f64 {
    let mut hasher = Sha256::new();
    hasher.update(seed.as_bytes());
    hasher.update(now.timestamp_nanos_opt().unwrap_or(0).to_be_bytes());
    let digest: [u8; 32] = hasher.finalize().into();
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(raw) >> 11) as f64 / (1u64 << 53) as f64
}

/// The window first polls are spread over: 750 ms per source, at most
/// 5 minutes.
pub fn start_window(sources: usize) -> Duration {
    Duration::from_millis(750)
        .saturating_mul(u32::try_from(sources).unwrap_or(u32::MAX))
        .min(Duration::from_secs(300))
}

/// Delay of the first poll of the `index`-th of `count` sources after the
/// daemon starts: the window ([`start_window`]) is cut into one slot per
/// source, and each source fires at a jittered point of the first third of
/// its slot. Sources never fire together (at least two thirds of a slot
/// apart) and the exact instants change from one start to the next.
pub fn start_delay(seed: &str, started: DateTime<Utc>, index: usize, count: usize) -> Duration {
    let count = u32::try_from(count.max(1)).unwrap_or(u32::MAX);
    let index = u32::try_from(index).unwrap_or(u32::MAX).min(count - 1);
    let slot = start_window(count as usize) / count;
    slot * index + slot.mul_f64(jitter(seed, started) / 3.0)
}

/// `Cache-Control: max-age` and `Expires` (RFC 9111 5.2.2.1, 5.3) as
/// "not before" hints. `max-age` wins over `Expires`; `no-store`,
/// `no-cache` and an invalid or past `Expires` give no hint. `Expires` is
/// measured from the response's `Date` when there is one, so a skewed
/// server clock does not matter.
pub fn cache_hints(
    cache_control: Option<&str>,
    expires: Option<&str>,
    date: Option<&str>,
    now: DateTime<Utc>,
) -> (Option<Duration>, Option<Duration>) {
    let mut max_age = None;
    for directive in cache_control.unwrap_or("").split(',') {
        let directive = directive.trim();
        let (name, value) = match directive.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return (None, None);
        }
        if name.eq_ignore_ascii_case("max-age")
            && let Some(secs) = value.and_then(|v| v.parse::<u64>().ok())
        {
            max_age = Some(Duration::from_secs(secs));
        }
    }
    if max_age.is_some() {
        return (max_age, None);
    }
    let parse = |v: Option<&str>| -> Option<DateTime<Utc>> {
        httpdate::parse_http_date(v?.trim()).ok().map(Into::into)
    };
    let expires_in = parse(expires).and_then(|exp| {
        let from = parse(date).unwrap_or(now);
        (exp - from).to_std().ok().filter(|d| !d.is_zero())
    });
    (None, expires_in)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const H: Duration = Duration::from_secs(3600);

    fn policy() -> Policy {
        Policy {
            interval: Duration::from_secs(1800),
            min_interval: H,
            max_interval: 24 * H,
        }
    }

    #[test]
    fn interval_never_below_min_interval() {
        let now = t("2026-01-05T10:00:00Z");
        let (next, reason) = next_after_success(&policy(), &Hints::default(), now);
        assert_eq!(next, t("2026-01-05T11:00:00Z"));
        assert_eq!(reason, PollReason::Interval);
        let p = Policy {
            interval: 3 * H,
            ..policy()
        };
        assert_eq!(
            next_after_success(&p, &Hints::default(), now).0,
            t("2026-01-05T13:00:00Z")
        );
    }

    #[test]
    fn hints_are_not_before_and_clamped() {
        let now = t("2026-01-05T10:00:00Z");
        let hints = Hints {
            max_age: Some(2 * H),
            ..Hints::default()
        };
        assert_eq!(
            next_after_success(&policy(), &hints, now),
            (t("2026-01-05T12:00:00Z"), PollReason::Hint)
        );
        // A short hint never shortens the interval.
        let short = Hints {
            ttl: Some(Duration::from_secs(60)),
            ..Hints::default()
        };
        assert_eq!(
            next_after_success(&policy(), &short, now),
            (t("2026-01-05T11:00:00Z"), PollReason::Interval)
        );
        // A huge hint is clamped to max_interval.
        let huge = Hints {
            update_period: Some(365 * 24 * H),
            ..Hints::default()
        };
        assert_eq!(
            next_after_success(&policy(), &huge, now),
            (t("2026-01-06T10:00:00Z"), PollReason::Hint)
        );
    }

    #[test]
    fn skip_hours_and_days_move_the_poll() {
        // 2026-01-05 is a Monday.
        let now = t("2026-01-05T10:20:00Z");
        let hints = Hints {
            skip_hours: (1 << 11) | (1 << 12),
            ..Hints::default()
        };
        assert_eq!(
            next_after_success(&policy(), &hints, now),
            (t("2026-01-05T13:00:00Z"), PollReason::Skip)
        );
        let days = Hints {
            skip_days: 1, // Monday
            ..Hints::default()
        };
        assert_eq!(
            next_after_success(&policy(), &days, now),
            (t("2026-01-06T00:00:00Z"), PollReason::Skip)
        );
        // A weekend skipped from a Saturday morning: Monday's first hour.
        let weekend = (1 << 5) | (1 << 6);
        assert_eq!(
            skip_forward(t("2026-01-10T10:20:00Z"), 0, weekend),
            Some(t("2026-01-12T00:00:00Z"))
        );
        assert_eq!(
            skip_forward(t("2026-01-09T10:20:00Z"), 0, weekend),
            Some(t("2026-01-09T10:20:00Z")),
            "a Friday is not skipped"
        );
        // Every hour, or every day, skipped: the hints are ignored.
        assert_eq!(skip_forward(now, (1 << 24) - 1, 0), None);
        assert_eq!(skip_forward(now, 0, 0x7f), None);
        assert_eq!(
            skip_forward(now, (1 << 24) - 1 - (1 << 23), 0x7f - 1),
            Some(t("2026-01-05T23:00:00Z")),
            "one free hour on the one free day"
        );
        // Skipping can never push past max_interval.
        let p = Policy {
            max_interval: 2 * H,
            ..policy()
        };
        let week = Hints {
            skip_days: 0b0111111,
            ..Hints::default()
        };
        assert_eq!(
            next_after_success(&p, &week, now).0,
            t("2026-01-05T12:20:00Z")
        );
        // Everything skipped: ignored.
        assert_eq!(skip_forward(now, (1 << 24) - 1, 0), None);
    }

    #[test]
    fn retry_after_both_forms() {
        let now = t("2026-01-05T10:00:00Z");
        assert_eq!(retry_after("120", now), Some(t("2026-01-05T10:02:00Z")));
        assert_eq!(
            retry_after("Mon, 05 Jan 2026 13:00:00 GMT", now),
            Some(t("2026-01-05T13:00:00Z"))
        );
        assert_eq!(retry_after("Sun, 04 Jan 2026 13:00:00 GMT", now), Some(now));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
        assert!(retry_after("99999999999999999999999", now).is_some());
        // Never before min_interval.
        assert_eq!(
            next_after_retry_after(&policy(), t("2026-01-05T10:02:00Z"), now),
            t("2026-01-05T11:00:00Z")
        );
        assert_eq!(
            next_after_retry_after(&policy(), t("2026-01-05T15:00:00Z"), now),
            t("2026-01-05T15:00:00Z")
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let p = policy();
        assert_eq!(backoff(&p, 1, 0.0), H);
        assert_eq!(backoff(&p, 2, 0.0), 2 * H);
        assert_eq!(backoff(&p, 3, 0.0), 4 * H);
        assert_eq!(backoff(&p, 6, 0.0), 24 * H);
        assert_eq!(backoff(&p, 60, 0.0), 24 * H);
        assert_eq!(backoff(&p, 2, 0.5), Duration::from_secs(7200 + 360));
        let top = backoff(&p, 60, 0.999);
        assert!(top > 24 * H && top < 24 * H + 24 * H / 10, "{top:?}");
    }

    #[test]
    fn not_found_goes_to_the_slow_end() {
        let now = t("2026-01-05T10:00:00Z");
        assert_eq!(
            next_after_not_found(&policy(), now),
            t("2026-01-06T10:00:00Z")
        );
    }

    #[test]
    fn permanent_redirect_needs_consecutive_sightings() {
        let a = permanent_redirect(None, 0, Some("http://b/"), 3);
        assert_eq!(
            (a.target.as_deref(), a.streak, a.adopt.as_deref()),
            (Some("http://b/"), 1, None)
        );
        let b = permanent_redirect(a.target.as_deref(), a.streak, Some("http://b/"), 3);
        assert_eq!(b.streak, 2);
        // A poll without the redirect resets the streak.
        let reset = permanent_redirect(b.target.as_deref(), b.streak, None, 3);
        assert_eq!((reset.target, reset.streak), (None, 0));
        // A different target restarts it.
        let other = permanent_redirect(b.target.as_deref(), b.streak, Some("http://c/"), 3);
        assert_eq!(other.streak, 1);
        let c = permanent_redirect(b.target.as_deref(), b.streak, Some("http://b/"), 3);
        assert_eq!(c.adopt.as_deref(), Some("http://b/"));
    }

    #[test]
    fn cache_control_and_expires() {
        let now = t("2026-01-05T10:00:00Z");
        assert_eq!(
            cache_hints(Some("public, max-age=7200"), None, None, now),
            (Some(2 * H), None)
        );
        assert_eq!(
            cache_hints(
                Some("max-age=\"60\""),
                Some("Mon, 05 Jan 2026 20:00:00 GMT"),
                None,
                now
            ),
            (Some(Duration::from_secs(60)), None)
        );
        assert_eq!(
            cache_hints(None, Some("Mon, 05 Jan 2026 13:00:00 GMT"), None, now),
            (None, Some(3 * H))
        );
        // Measured from the server's Date, not our clock.
        assert_eq!(
            cache_hints(
                None,
                Some("Mon, 05 Jan 2026 13:00:00 GMT"),
                Some("Mon, 05 Jan 2026 12:00:00 GMT"),
                now
            ),
            (None, Some(H))
        );
        assert_eq!(cache_hints(None, Some("0"), None, now), (None, None));
        assert_eq!(
            cache_hints(Some("no-cache, max-age=600"), None, None, now),
            (None, None)
        );
    }

    /// The polling hints the parse reads from a feed body (none when it
    /// does not parse), as the poller holds them.
    fn feed_hints(body: &[u8]) -> Hints {
        let feed = crate::ingest::parse::parse_feed(body, &Default::default())
            .map(|f| f.hints)
            .unwrap_or_default();
        Hints {
            ttl: feed.ttl_secs.map(Duration::from_secs),
            update_period: feed.update_period_secs.map(Duration::from_secs),
            skip_hours: feed.skip_hours,
            skip_days: feed.skip_days,
            ..Hints::default()
        }
    }

    #[test]
    fn rss_hints_come_out_of_the_parse() {
        let body = br#"<?xml version="1.0"?>
<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel>
<title>t</title><ttl>90</ttl>
<skipHours><hour>0</hour><hour>23</hour></skipHours>
<skipDays><day>Saturday</day><day>Sunday</day></skipDays>
<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>
<item><description><![CDATA[<ttl>1</ttl>]]></description></item>
<!-- <ttl>2</ttl> -->
</channel></rss>"#;
        let hints = feed_hints(body);
        assert_eq!(hints.ttl, Some(Duration::from_secs(90 * 60)));
        assert_eq!(hints.skip_hours, (1 << 0) | (1 << 23));
        assert_eq!(hints.skip_days, (1 << 5) | (1 << 6));
        assert_eq!(hints.update_period, Some(Duration::from_secs(6 * 3600)));
        assert_eq!(
            feed_hints(b"<feed><title>x</title></feed>"),
            Hints::default()
        );
        assert_eq!(feed_hints(b"<rss><ttl>"), Hints::default());
        assert_eq!(feed_hints(b"<"), Hints::default());
    }

    #[test]
    fn jitter_is_a_fraction_and_spreads_starts() {
        let now = t("2026-01-05T10:00:00Z");
        let window = start_window(1000);
        assert_eq!(window, Duration::from_secs(300));
        let delays: Vec<Duration> = (0..1000)
            .map(|i| start_delay(&format!("s{i}"), now, i, 1000))
            .collect();
        assert!(delays.iter().all(|d| *d < window));
        // Slots of 300 ms: consecutive sources at least 200 ms apart.
        for pair in delays.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(200), "{pair:?}");
        }
        assert_ne!(
            start_delay("s0", now, 0, 1000),
            start_delay("s0", now + chrono::Duration::seconds(1), 0, 1000)
        );
        // An index past the count (a source added since the count was
        // taken) is held to the last slot, inside the window.
        let last = start_delay("late", now, 1000, 1000);
        assert!(last < window && last >= window / 1000 * 999, "{last:?}");
        assert_eq!(
            start_delay("late", now, 5000, 1000),
            last,
            "clamped to the last slot"
        );
        let j = jitter("x", now);
        assert!((0.0..1.0).contains(&j));
        assert_eq!(j, jitter("x", now));
    }

    #[test]
    fn a_clock_stepped_back_is_told_apart_from_skew() {
        let last = t("2026-01-05T10:00:00Z");
        assert_eq!(clock_step_back(last, last), None);
        assert_eq!(
            clock_step_back(last, last + chrono::Duration::hours(1)),
            None
        );
        // Two seconds behind is skew, not a step.
        assert_eq!(
            clock_step_back(last, last - chrono::Duration::seconds(2)),
            None
        );
        assert_eq!(
            clock_step_back(last, last - chrono::Duration::seconds(3)),
            Some(chrono::Duration::seconds(3))
        );
        assert_eq!(
            clock_step_back(last, last - chrono::Duration::days(1)),
            Some(chrono::Duration::days(1))
        );
    }
}
