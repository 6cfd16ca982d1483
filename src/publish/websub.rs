//! WebSub (W3C) publishing: feeds with `hub = [...]` configured carry
//! `rel="hub"` and `rel="self"` links (in the documents and in the HTTP
//! `Link` header), and every change of a feed is announced to each hub with
//! one `hub.mode=publish` POST naming the feed's topic URLs (one `hub.url`
//! per offered format). A failed POST is retried with exponential backoff.
//! Nothing is sent when a rendering did not change the feed's bytes: the
//! caller only pings when [`super::Published::put`] reports a change.

use std::time::Duration;

use tracing::{info, warn};

use crate::ingest::fetch::Fetcher;

/// Attempts per hub and change, the first included.
pub const ATTEMPTS: u32 = 5;
/// Delay before the first retry; doubled for each later one.
pub const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);

/// The HTTP `Link` header of a feed document with hubs: every hub as
/// `rel="hub"` and the document's own URL as `rel="self"` (WebSub 4).
pub fn link_header(self_url: &str, hubs: &[String]) -> Option<String> {
    if hubs.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = hubs.iter().map(|h| format!("<{h}>; rel=\"hub\"")).collect();
    parts.push(format!("<{self_url}>; rel=\"self\""));
    Some(parts.join(", "))
}

/// The form fields of one publish ping for these topics.
pub fn ping_fields(topics: &[String]) -> Vec<(&'static str, &str)> {
    let mut fields = vec![("hub.mode", "publish")];
    fields.extend(topics.iter().map(|t| ("hub.url", t.as_str())));
    fields
}

/// The delay before retry `n` (1 = first retry): 1s, 2s, 4s, ...
pub fn retry_delay(first: Duration, n: u32) -> Duration {
    first.saturating_mul(1u32 << n.saturating_sub(1).min(16))
}

/// Announces a change of `feed` (its `topics`) to `hub`, retrying up to
/// [`ATTEMPTS`] times; returns whether the hub accepted it.
pub async fn announce(
    fetcher: &Fetcher,
    feed: &str,
    hub: &str,
    topics: &[String],
    first_delay: Duration,
) -> bool {
    let fields = ping_fields(topics);
    for attempt in 1..=ATTEMPTS {
        match fetcher.post_form(hub, &fields, hub).await {
            Ok(status) => {
                info!(feed, hub, status, attempt, "websub: hub notified");
                return true;
            }
            Err(err) if attempt < ATTEMPTS => {
                let delay = retry_delay(first_delay, attempt);
                warn!(feed, hub, %err, attempt, retry_in = ?delay, "websub: ping failed, will retry");
                tokio::time::sleep(delay).await;
            }
            Err(err) => {
                warn!(feed, hub, %err, attempt, "websub: ping failed, giving up until the next change");
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_names_hubs_and_self() {
        assert_eq!(link_header("http://x/feeds/a.rss", &[]), None);
        assert_eq!(
            link_header("http://x/feeds/a.rss", &["https://hub.example/".into()]).unwrap(),
            "<https://hub.example/>; rel=\"hub\", <http://x/feeds/a.rss>; rel=\"self\""
        );
    }

    #[test]
    fn ping_names_every_topic_and_backoff_doubles() {
        let topics = vec!["http://x/a.rss".to_string(), "http://x/a.atom".to_string()];
        assert_eq!(
            ping_fields(&topics),
            vec![
                ("hub.mode", "publish"),
                ("hub.url", "http://x/a.rss"),
                ("hub.url", "http://x/a.atom")
            ]
        );
        let s = Duration::from_secs(1);
        assert_eq!(retry_delay(s, 1), Duration::from_secs(1));
        assert_eq!(retry_delay(s, 2), Duration::from_secs(2));
        assert_eq!(retry_delay(s, 4), Duration::from_secs(8));
    }
}
