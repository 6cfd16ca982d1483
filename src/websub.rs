//! WebSub subscriber (W3C WebSub, sections 5 to 7): a remote source whose
//! feed names a hub and a topic (`rel="hub"`, `rel="self"`, in the `Link`
//! header or the document; recorded by each refresh in its poll state) is
//! subscribed to, so that the hub pushes its changes.
//!
//! - **Subscribe** ([`reconcile`]): a POST to the hub with `hub.callback`
//!   (`{public_url}/websub/{source}`), `hub.topic`, a random `hub.secret`
//!   per subscription and `hub.lease_seconds` ([`LEASE_REQUEST`]). Renewed
//!   when a third of the granted lease is left; tried again an hour after a
//!   failure. A source removed from the config, switched to `websub =
//!   false`, or whose hub or topic changed is unsubscribed. A `public_url`
//!   on loopback cannot be reached by a public hub: that is reported, and
//!   nothing is sent.
//! - **Verification of intent** ([`verify`]): the hub's GET is answered
//!   with its `hub.challenge` only for a subscription of that source and
//!   topic that is pending in that mode; anything else is 404.
//! - **Content distribution** ([`authenticate`]): a POST must carry a valid
//!   `X-Hub-Signature` (`sha1`, `sha256`, `sha384` or `sha512` HMAC of the
//!   body under that subscription's secret) for a subscription of that
//!   source that takes pushes. The caller (`serve`) caps its size and rate
//!   and ingests it through the same parse, rules, dedup and store as a
//!   poll; an empty body (a thin ping) asks for a fetch.
//!
//! Polling goes on for a pushed source at its `max_interval`, as a safety
//! net (`refresh`).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use hmac::{KeyInit, Mac};
use tracing::{info, warn};

use crate::config::{Config, SourceConfig, SourceKind};
use crate::ingest::fetch::Fetcher;
use crate::model::{Subscription, SubscriptionState};
use crate::redact::Redacted;
use crate::store::Store;

/// The lease asked for (10 days); the hub decides.
pub const LEASE_REQUEST: u64 = 10 * 86_400;

/// A subscription the hub has not verified within this is failed.
const VERIFY_WITHIN: Duration = Duration::hours(1);

/// A failed subscription is tried again after this.
const RETRY_AFTER: Duration = Duration::hours(1);

/// The origin the SSRF guard judges a hub by when the subscription does
/// not say (written before it did): a name that does not resolve counts
/// as public.
const UNKNOWN_ORIGIN: &str = "http://removed-source.invalid/";

/// Pushes taken per source per minute; more are refused (429).
pub const PUSHES_PER_MINUTE: u32 = 60;

/// The callback URL of `source` under the public base.
pub fn callback_url(public_base: &str, source: &str) -> String {
    format!("{}/websub/{source}", public_base.trim_end_matches('/'))
}

/// Whether a refresh of `source` found a hub and topic that its
/// subscriptions do not cover yet (or whose failure is due for a retry):
/// then the WebSub task runs at once rather than at its next minute.
pub fn needs_attention(store: &Store, source: &SourceConfig, now: DateTime<Utc>) -> bool {
    if !wants_pushes(source) {
        return false;
    }
    let Ok(Some(state)) = store.poll_state(&source.id) else {
        return false;
    };
    let Some((hub, topic)) = state.websub_hubs.first().zip(state.websub_topic.as_ref()) else {
        return false;
    };
    let Ok(subs) = store.subscriptions(&source.id) else {
        return false;
    };
    !subs.iter().any(|s| {
        s.hub == *hub
            && s.topic == *topic
            && !matches!(&s.state, SubscriptionState::Failed { retry_at, .. } if *retry_at <= now)
    })
}

/// When the next subscription needs [`reconcile`]: a renewal, a retry, a
/// verification that did not come.
pub fn next_due(store: &Store) -> Option<DateTime<Utc>> {
    let subs = store.all_subscriptions().ok()?;
    subs.iter()
        .map(|(_, sub)| match &sub.state {
            SubscriptionState::Active { until } => {
                *until - Duration::seconds(sub.lease_seconds.unwrap_or(LEASE_REQUEST) as i64) / 3
            }
            SubscriptionState::Failed { retry_at, .. } => *retry_at,
            SubscriptionState::Subscribing { .. } | SubscriptionState::Unsubscribing => {
                sub.since + VERIFY_WITHIN
            }
        })
        .min()
}

/// Subscribes, renews and unsubscribes every source as the config and the
/// poll states ask (see the module doc).
pub async fn reconcile(store: &Store, fetcher: &Fetcher, config: &Config, now: DateTime<Utc>) {
    let base = config.daemon.public_base();
    let subscribed = match store.all_subscriptions() {
        Ok(all) => all,
        Err(err) => {
            warn!(%err, "websub: subscriptions not read");
            return;
        }
    };
    for source in &config.sources {
        if wants_pushes(source) {
            reconcile_source(store, fetcher, &base, source, now).await;
        }
    }
    // Subscriptions of sources no longer configured (or no longer pushed).
    for (id, sub) in subscribed {
        if config.source(&id).is_some_and(wants_pushes) {
            continue;
        }
        // Its configured URL is gone: the hub is judged as a fetch of the
        // URL it had when it subscribed.
        let origin = match sub.origin.is_empty() {
            true => UNKNOWN_ORIGIN.to_string(),
            false => sub.origin.clone(),
        };
        leave(store, fetcher, &id, sub, &origin, now).await;
    }
}

fn wants_pushes(source: &SourceConfig) -> bool {
    source.websub && matches!(source.kind, SourceKind::Remote { .. })
}

/// [`reconcile`] for one configured source.
pub async fn reconcile_source(
    store: &Store,
    fetcher: &Fetcher,
    public_base: &str,
    source: &SourceConfig,
    now: DateTime<Utc>,
) {
    let SourceKind::Remote { url } = &source.kind else {
        return;
    };
    let Ok(Some(state)) = store.poll_state(&source.id) else {
        return;
    };
    let wanted = state.websub_hubs.first().zip(state.websub_topic.as_ref());
    let Ok(subs) = store.subscriptions(&source.id) else {
        return;
    };
    for sub in &subs {
        let current = wanted.is_some_and(|(hub, topic)| *hub == sub.hub && *topic == sub.topic);
        if !current {
            leave(store, fetcher, &source.id, sub.clone(), url.as_str(), now).await;
        }
    }
    let Some((hub, topic)) = wanted else {
        return;
    };
    let existing = subs
        .into_iter()
        .find(|s| s.hub == *hub && s.topic == *topic);
    let due = match &existing {
        None => true,
        Some(sub) => match &sub.state {
            SubscriptionState::Subscribing { .. } => {
                if now - sub.since > VERIFY_WITHIN {
                    let failed = Subscription {
                        state: SubscriptionState::Failed {
                            why: "the hub did not verify the subscription within an hour".into(),
                            retry_at: now + RETRY_AFTER,
                        },
                        since: now,
                        ..sub.clone()
                    };
                    let _ = store.put_subscription(&source.id, &failed);
                }
                false
            }
            SubscriptionState::Active { until } => {
                let lease = Duration::seconds(sub.lease_seconds.unwrap_or(LEASE_REQUEST) as i64);
                *until - lease / 3 <= now
            }
            SubscriptionState::Failed { retry_at, .. } => *retry_at <= now,
            SubscriptionState::Unsubscribing => true,
        },
    };
    if due {
        let callback = callback_url(public_base, &source.id);
        subscribe(
            store,
            fetcher,
            &source.id,
            hub,
            topic,
            &callback,
            url.as_str(),
            existing,
            now,
        )
        .await;
    }
}

/// Asks `hub` for a subscription (or its renewal) to `topic`.
#[allow(clippy::too_many_arguments)]
async fn subscribe(
    store: &Store,
    fetcher: &Fetcher,
    source: &str,
    hub: &str,
    topic: &str,
    callback: &str,
    origin: &str,
    existing: Option<Subscription>,
    now: DateTime<Utc>,
) {
    let still = existing
        .as_ref()
        .and_then(Subscription::taking_pushes_until);
    let secret = match &existing {
        // A renewal keeps its secret: pushes in flight still verify.
        Some(sub) if still.is_some() => sub.secret.clone(),
        _ => new_secret(),
    };
    let mut sub = Subscription {
        hub: hub.to_string(),
        topic: topic.to_string(),
        callback: callback.to_string(),
        origin: origin.to_string(),
        secret,
        state: SubscriptionState::Subscribing { until: still },
        since: now,
        lease_seconds: existing.as_ref().and_then(|s| s.lease_seconds),
    };
    if let Some(why) = unreachable_callback(callback, hub) {
        sub.state = SubscriptionState::Failed {
            why,
            retry_at: now + Duration::days(1),
        };
        warn!(source, hub = %Redacted(hub), "websub: not subscribed: the hub cannot reach public_url");
        let _ = store.put_subscription(source, &sub);
        return;
    }
    // Pending before the request: the hub may verify before it answers.
    if let Err(err) = store.put_subscription(source, &sub) {
        warn!(source, %err, "websub: subscription not written; not subscribing");
        return;
    }
    let lease = LEASE_REQUEST.to_string();
    let fields = [
        ("hub.callback", callback),
        ("hub.mode", "subscribe"),
        ("hub.topic", topic),
        ("hub.secret", sub.secret.as_str()),
        ("hub.lease_seconds", lease.as_str()),
    ];
    match fetcher.post_form(hub, &fields, origin).await {
        Ok(status) => {
            info!(source, hub = %Redacted(hub), topic = %Redacted(topic), status, "websub: subscription requested");
        }
        Err(err) => {
            warn!(source, hub = %Redacted(hub), %err, "websub: subscription refused");
            // The verification may have come already: only a pending one
            // is failed.
            if let Ok(subs) = store.subscriptions(source)
                && let Some(now_sub) = subs.into_iter().find(|s| s.topic == topic)
                && matches!(now_sub.state, SubscriptionState::Subscribing { .. })
            {
                sub.state = SubscriptionState::Failed {
                    why: format!("the hub refused the subscription: {err}"),
                    retry_at: now + RETRY_AFTER,
                };
                sub.since = now;
                let _ = store.put_subscription(source, &sub);
            }
        }
    }
}

/// Unsubscribes `sub` (or forgets it when there is nothing to undo).
async fn leave(
    store: &Store,
    fetcher: &Fetcher,
    source: &str,
    sub: Subscription,
    origin: &str,
    now: DateTime<Utc>,
) {
    match sub.state {
        SubscriptionState::Failed { .. } => {
            let _ = store.remove_subscription(source, &sub.topic);
        }
        SubscriptionState::Unsubscribing => {
            if now - sub.since > VERIFY_WITHIN {
                let _ = store.remove_subscription(source, &sub.topic);
            }
        }
        SubscriptionState::Active { .. } | SubscriptionState::Subscribing { .. } => {
            let leaving = Subscription {
                state: SubscriptionState::Unsubscribing,
                since: now,
                ..sub
            };
            if store.put_subscription(source, &leaving).is_err() {
                return;
            }
            let fields = [
                ("hub.callback", leaving.callback.as_str()),
                ("hub.mode", "unsubscribe"),
                ("hub.topic", leaving.topic.as_str()),
            ];
            match fetcher.post_form(&leaving.hub, &fields, origin).await {
                Ok(_) => {
                    info!(source, hub = %Redacted(&leaving.hub), "websub: unsubscription requested")
                }
                Err(err) => {
                    warn!(source, hub = %Redacted(&leaving.hub), %err, "websub: unsubscription refused; forgotten");
                    let _ = store.remove_subscription(source, &leaving.topic);
                }
            }
        }
    }
}

/// 32 random bytes, hex.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).unwrap_or_else(|_| {
        // No system randomness: a digest of the time and the process.
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(seed.as_bytes()).into();
        bytes = digest;
    });
    hex::encode(bytes)
}

/// Why a hub could not reach `callback`: it is on loopback (or another
/// internal address, written as such) while the hub is not.
fn unreachable_callback(callback: &str, hub: &str) -> Option<String> {
    let inside = |u: &str| {
        let Ok(url) = url::Url::parse(u) else {
            return false;
        };
        match url.host() {
            Some(url::Host::Ipv4(ip)) => crate::ingest::guard::is_internal(ip.into()),
            Some(url::Host::Ipv6(ip)) => crate::ingest::guard::is_internal(ip.into()),
            Some(url::Host::Domain(name)) => {
                name.eq_ignore_ascii_case("localhost") || name.ends_with(".localhost")
            }
            None => false,
        }
    };
    (inside(callback) && !inside(hub)).then(|| {
        format!(
            "public_url ({}) is not reachable from the hub {}: set [daemon] public_url to the \
             address the internet reaches this daemon at, or websub = false on the source",
            Redacted(callback),
            Redacted(hub)
        )
    })
}

/// The hub's verification of intent (a GET on the callback, its query
/// `params`): the challenge to echo, or `None` (answered 404).
pub fn verify(
    store: &Store,
    source: &str,
    params: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Option<String> {
    let mode = params.get("hub.mode")?;
    let topic = params.get("hub.topic")?;
    let sub = store
        .subscriptions(source)
        .ok()?
        .into_iter()
        .find(|s| s.topic == *topic)?;
    match (mode.as_str(), &sub.state) {
        ("subscribe", SubscriptionState::Subscribing { .. }) => {
            let challenge = params.get("hub.challenge")?.clone();
            let lease = params
                .get("hub.lease_seconds")
                .and_then(|l| l.parse::<u64>().ok())
                .unwrap_or(LEASE_REQUEST);
            let active = Subscription {
                state: SubscriptionState::Active {
                    until: now + Duration::seconds(lease.min(365 * 86_400) as i64),
                },
                since: now,
                lease_seconds: Some(lease),
                ..sub
            };
            store.put_subscription(source, &active).ok()?;
            info!(source, topic = %Redacted(topic), lease, "websub: subscription verified");
            Some(challenge)
        }
        ("unsubscribe", SubscriptionState::Unsubscribing) => {
            let challenge = params.get("hub.challenge")?.clone();
            store.remove_subscription(source, topic).ok()?;
            info!(source, topic = %Redacted(topic), "websub: unsubscription verified");
            Some(challenge)
        }
        ("denied", SubscriptionState::Subscribing { .. } | SubscriptionState::Active { .. }) => {
            let reason = params
                .get("hub.reason")
                .map_or("no reason given", String::as_str);
            let failed = Subscription {
                state: SubscriptionState::Failed {
                    why: format!("the hub denied the subscription: {reason}"),
                    retry_at: now + Duration::days(1),
                },
                since: now,
                ..sub
            };
            store.put_subscription(source, &failed).ok()?;
            warn!(source, topic = %Redacted(topic), reason, "websub: subscription denied");
            Some(String::new())
        }
        _ => None,
    }
}

/// Why a push was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    /// No subscription of this source takes pushes.
    Unknown,
    /// No `X-Hub-Signature`, or one in an unknown form.
    Unsigned,
    /// The signature does not match the body.
    BadSignature,
}

/// Checks a push to `source`'s callback: its `signature` header against
/// the secret of each subscription of the source that takes pushes.
pub fn authenticate(
    store: &Store,
    source: &str,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    let subs = store
        .subscriptions(source)
        .map_err(|_| Rejection::Unknown)?;
    let live: Vec<&Subscription> = subs
        .iter()
        .filter(|s| s.taking_pushes_until().is_some_and(|until| until > now))
        .collect();
    if live.is_empty() {
        return Err(Rejection::Unknown);
    }
    let (method, hex_sig) = signature
        .and_then(|s| s.trim().split_once('='))
        .ok_or(Rejection::Unsigned)?;
    let given = hex::decode(hex_sig.trim()).map_err(|_| Rejection::BadSignature)?;
    let matches = |secret: &str| -> Result<bool, Rejection> {
        let key = secret.as_bytes();
        Ok(match method.trim().to_ascii_lowercase().as_str() {
            "sha1" => verify_mac::<sha1::Sha1>(key, body, &given),
            "sha256" => verify_mac::<sha2::Sha256>(key, body, &given),
            "sha384" => verify_mac::<sha2::Sha384>(key, body, &given),
            "sha512" => verify_mac::<sha2::Sha512>(key, body, &given),
            _ => return Err(Rejection::Unsigned),
        })
    };
    for sub in live {
        if matches(&sub.secret)? {
            return Ok(());
        }
    }
    Err(Rejection::BadSignature)
}

/// Whether `given` is the HMAC of `body` under `key` (compared in
/// constant time).
fn verify_mac<D: hmac::EagerHash>(key: &[u8], body: &[u8], given: &[u8]) -> bool {
    let Ok(mut mac) = <hmac::Hmac<D> as KeyInit>::new_from_slice(key) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(given).is_ok()
}

/// A source's subscription as `syndic sources` and `/` show it; `None`
/// when it has none.
pub fn describe(store: &Store, source: &str) -> Option<String> {
    let subs = store.subscriptions(source).ok()?;
    let sub = subs
        .iter()
        .find(|s| !matches!(s.state, SubscriptionState::Unsubscribing))
        .or(subs.first())?;
    let hub = Redacted(&sub.hub);
    Some(match &sub.state {
        SubscriptionState::Subscribing { .. } => {
            format!("pending at {hub} since {}", sub.since.to_rfc3339())
        }
        SubscriptionState::Active { until } => {
            format!("active at {hub} until {}", until.to_rfc3339())
        }
        SubscriptionState::Unsubscribing => format!("unsubscribing from {hub}"),
        SubscriptionState::Failed { why, retry_at } => {
            format!(
                "failed at {hub}: {why} (next try {})",
                retry_at.to_rfc3339()
            )
        }
    })
}

/// Pushes taken per source in the current minute (see
/// [`PUSHES_PER_MINUTE`]).
#[derive(Default)]
pub struct Limiter {
    counts: Mutex<HashMap<String, (i64, u32)>>,
}

impl Limiter {
    /// Whether one more push to `source` may be taken now.
    pub fn allow(&self, source: &str, now: DateTime<Utc>) -> bool {
        let minute = now.timestamp() / 60;
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() > 10_000 {
            counts.retain(|_, (m, _)| *m == minute);
        }
        let entry = counts.entry(source.to_string()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1 <= PUSHES_PER_MINUTE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_callback_is_unreachable_from_a_public_hub_only() {
        assert!(
            unreachable_callback(
                "http://localhost:8080/websub/a",
                "https://pubsubhubbub.appspot.com/"
            )
            .is_some()
        );
        assert!(
            unreachable_callback("http://127.0.0.1:8080/websub/a", "https://hub.example/")
                .is_some()
        );
        assert!(
            unreachable_callback(
                "http://127.0.0.1:8080/websub/a",
                "http://127.0.0.1:9000/hub"
            )
            .is_none()
        );
        assert!(
            unreachable_callback("https://feeds.example.org/websub/a", "https://hub.example/")
                .is_none()
        );
    }

    #[test]
    fn macs_of_every_method_verify_and_a_changed_body_does_not() {
        let key = b"secret";
        let mut mac = <hmac::Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key).unwrap();
        mac.update(b"body");
        let sig = mac.finalize().into_bytes();
        assert!(verify_mac::<sha1::Sha1>(key, b"body", &sig));
        assert!(!verify_mac::<sha1::Sha1>(key, b"body!", &sig));
        assert!(!verify_mac::<sha2::Sha256>(key, b"body", &sig));
    }

    #[test]
    fn the_limiter_counts_per_source_and_minute() {
        let limiter = Limiter::default();
        let now = Utc::now();
        for _ in 0..PUSHES_PER_MINUTE {
            assert!(limiter.allow("a", now));
        }
        assert!(!limiter.allow("a", now));
        assert!(limiter.allow("b", now));
        assert!(limiter.allow("a", now + Duration::seconds(61)));
    }
}
