//! Webhooks out: a feed with `webhook = [...]` POSTs each new publication
//! to every URL, as a JSON Feed document (`application/feed+json`) of the
//! items new since the last publication that URL was owed (the first
//! publication included: every item then). The items are those of the
//! feed's own JSON Feed rendering, so a receiver sees what a subscriber
//! sees.
//!
//! Headers: `X-Syndic-Delivery` (an id, the same for the same feed, URL and
//! new items: a receiver deduplicates on it), `X-Syndic-Feed` (the feed's
//! name) and, with `webhook_secret`, `X-Syndic-Signature-256:
//! sha256=HEX`, the HMAC-SHA256 of the body under the secret.
//!
//! Delivery is at least once: the delivery and the ids it covers are
//! stored together (see `store::webhooks`) before it is sent; it leaves
//! the store when the receiver answers 2xx. A failure is retried with
//! exponential backoff ([`retry_delay`]) up to [`MAX_ATTEMPTS`] times, then
//! given up with an error in the log. A delivery whose feed or URL left the
//! config is dropped. The SSRF guard applies to the URL as to a source's
//! (see `Fetcher::post`).

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tracing::{error, info, warn};

use crate::config::Config;
use crate::ingest::fetch::Fetcher;
use crate::model::Delivery;
use crate::store::{Store, StoreError};

/// Attempts per delivery, the first included (about 7 hours of retries).
pub const MAX_ATTEMPTS: u32 = 15;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Syndic-Signature-256";
/// The delivery id header.
pub const DELIVERY_HEADER: &str = "X-Syndic-Delivery";

/// The wait before the attempt after `attempts` failed ones: 5 s, doubled
/// each time, at most an hour.
pub fn retry_delay(attempts: u32) -> Duration {
    let secs = 5u64.saturating_mul(1 << attempts.saturating_sub(1).min(20));
    Duration::from_secs(secs.min(3600))
}

/// `sha256=HEX` of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// What a publication owes one webhook URL.
#[derive(Debug, PartialEq)]
pub struct Owed {
    /// Every id the feed now publishes (the next publication's "seen").
    pub ids: Vec<String>,
    /// The JSON Feed document of the items not in `seen`, with their ids;
    /// `None` when there are none.
    pub new: Option<(String, Vec<String>)>,
}

/// The items of the rendered JSON Feed `json` whose ids are not in `seen`
/// (all of them when `seen` is `None`: the first publication).
pub fn owed(json: &[u8], seen: Option<&[String]>) -> Result<Owed, String> {
    let mut doc: Value =
        serde_json::from_slice(json).map_err(|e| format!("the feed's JSON Feed: {e}"))?;
    let items = match doc.get_mut("items").map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let id = |item: &Value| item.get("id").and_then(Value::as_str).map(str::to_string);
    let ids: Vec<String> = items.iter().filter_map(id).collect();
    let seen: HashSet<&str> = seen
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .collect();
    let fresh: Vec<Value> = items
        .into_iter()
        .filter(|item| id(item).is_some_and(|i| !seen.contains(i.as_str())))
        .collect();
    if fresh.is_empty() {
        return Ok(Owed { ids, new: None });
    }
    let fresh_ids: Vec<String> = fresh.iter().filter_map(id).collect();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("items".into(), Value::Array(fresh));
        // Paging links belong to the feed, not to this batch.
        obj.remove("next_url");
    }
    let body = serde_json::to_string(&doc).map_err(|e| e.to_string())?;
    Ok(Owed {
        ids,
        new: Some((body, fresh_ids)),
    })
}

/// The id of the delivery of `items` of `feed` to `url`.
pub fn delivery_id(feed: &str, url: &str, items: &[String]) -> String {
    let mut hasher = Sha256::new();
    for part in [feed, url]
        .into_iter()
        .chain(items.iter().map(String::as_str))
    {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest: [u8; 32] = hasher.finalize().into();
    hex::encode(digest.get(..16).unwrap_or_default())
}

/// Records what a new rendering of `feed` (its JSON Feed bytes `json`)
/// owes each of its webhook URLs; how many deliveries were queued.
pub fn record(
    store: &Store,
    feed: &crate::config::FeedConfig,
    json: &[u8],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut queued = 0;
    for url in &feed.webhooks {
        let url = url.as_str();
        let seen = store.webhook_seen(&feed.name, url)?;
        let owed = match owed(json, seen.as_deref()) {
            Ok(owed) => owed,
            Err(err) => {
                error!(feed = %feed.name, %err, "webhook: rendering not read");
                continue;
            }
        };
        if seen.as_deref() == Some(owed.ids.as_slice()) {
            continue;
        }
        let delivery = owed.new.map(|(body, items)| Delivery {
            id: delivery_id(&feed.name, url, &items),
            feed: feed.name.clone(),
            url: url.to_string(),
            body,
            created: now,
            attempts: 0,
            next_at: now,
            last_error: None,
        });
        store.record_publication(&feed.name, url, &owed.ids, delivery.as_ref())?;
        queued += usize::from(delivery.is_some());
    }
    Ok(queued)
}

/// Sends every delivery that is due; when the next one falls due (`None`:
/// none is owed).
pub async fn deliver_due(
    store: &Store,
    fetcher: &Fetcher,
    config: &Config,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let owed = match store.deliveries() {
        Ok(owed) => owed,
        Err(err) => {
            warn!(%err, "webhook: deliveries not read");
            return Some(now + chrono::Duration::seconds(30));
        }
    };
    // What a receiver is sent is on disk first: a crash cannot make it
    // sent and forgotten.
    if !owed.is_empty()
        && let Err(err) = store.flush().await
    {
        warn!(%err, "webhook: store not flushed; deliveries wait");
        return Some(now + chrono::Duration::seconds(30));
    }
    let mut next: Option<DateTime<Utc>> = None;
    for mut delivery in owed {
        let feed = config
            .feed(&delivery.feed)
            .filter(|f| f.webhooks.iter().any(|u| u.as_str() == delivery.url));
        let Some(feed) = feed else {
            warn!(feed = %delivery.feed, url = %crate::redact::Redacted(&delivery.url), id = %delivery.id, "webhook: no longer configured; delivery dropped");
            let _ = store.remove_delivery(&delivery);
            continue;
        };
        if delivery.next_at > now {
            next = Some(next.map_or(delivery.next_at, |n| n.min(delivery.next_at)));
            continue;
        }
        let secret = feed.webhook_secret.as_ref().map(|s| s.expose());
        let signed = secret.map(|s| signature(s, delivery.body.as_bytes()));
        let mut headers = vec![
            ("content-type", "application/feed+json"),
            (DELIVERY_HEADER, delivery.id.as_str()),
            ("X-Syndic-Feed", delivery.feed.as_str()),
        ];
        if let Some(signed) = &signed {
            headers.push((SIGNATURE_HEADER, signed.as_str()));
        }
        let sent = fetcher
            .post(&delivery.url, &headers, delivery.body.clone().into_bytes())
            .await;
        delivery.attempts += 1;
        let url = crate::redact::Redacted(&delivery.url).to_string();
        match sent {
            Ok(status) => {
                info!(feed = %delivery.feed, %url, id = %delivery.id, status, attempts = delivery.attempts, "webhook: delivered");
                if let Err(err) = store.remove_delivery(&delivery) {
                    warn!(%err, "webhook: a sent delivery not removed (it will be sent again)");
                }
            }
            Err(err) if delivery.attempts >= MAX_ATTEMPTS => {
                error!(feed = %delivery.feed, %url, id = %delivery.id, attempts = delivery.attempts, %err, "webhook: given up");
                let _ = store.remove_delivery(&delivery);
            }
            Err(err) => {
                let wait = retry_delay(delivery.attempts);
                warn!(feed = %delivery.feed, %url, id = %delivery.id, attempts = delivery.attempts, retry_in = ?wait, %err, "webhook: delivery failed");
                delivery.next_at = Utc::now()
                    + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
                delivery.last_error = Some(err.to_string());
                if let Err(err) = store.put_delivery(&delivery) {
                    warn!(%err, "webhook: delivery state not written");
                }
                next = Some(next.map_or(delivery.next_at, |n| n.min(delivery.next_at)));
            }
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(ids: &[&str]) -> Vec<u8> {
        let items: Vec<Value> = ids
            .iter()
            .map(|id| serde_json::json!({ "id": id, "title": format!("T {id}") }))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "version": "https://jsonfeed.org/version/1.1",
            "title": "F",
            "next_url": "https://x.example/feeds/f/archive/1.json",
            "items": items,
        }))
        .unwrap()
    }

    #[test]
    fn the_first_publication_owes_every_item_and_the_next_only_the_new_ones() {
        let first = owed(&feed(&["b", "a"]), None).unwrap();
        assert_eq!(first.ids, ["b", "a"]);
        let (body, items) = first.new.unwrap();
        assert_eq!(items, ["b", "a"]);
        let doc: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["title"], "F");
        assert!(doc.get("next_url").is_none());
        let seen = first.ids;
        let next = owed(&feed(&["c", "b", "a"]), Some(&seen)).unwrap();
        let (body, items) = next.new.unwrap();
        assert_eq!(items, ["c"]);
        let doc: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["items"].as_array().unwrap().len(), 1);
        assert_eq!(doc["items"][0]["title"], "T c");
        // An item that left the feed owes nothing.
        assert_eq!(owed(&feed(&["c", "b"]), Some(&next.ids)).unwrap().new, None);
    }

    #[test]
    fn the_signature_is_the_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn retries_back_off_to_an_hour_and_ids_follow_the_items() {
        assert_eq!(retry_delay(1), Duration::from_secs(5));
        assert_eq!(retry_delay(2), Duration::from_secs(10));
        assert_eq!(retry_delay(40), Duration::from_secs(3600));
        let id = delivery_id("f", "https://h.example/", &["a".into()]);
        assert_eq!(id, delivery_id("f", "https://h.example/", &["a".into()]));
        assert_ne!(id, delivery_id("f", "https://h.example/", &["b".into()]));
        assert_eq!(id.len(), 32);
    }
}
