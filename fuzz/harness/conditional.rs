//! The conditional-request logic ([`syndic::serve::respond_with_feed`]) on
//! arbitrary request headers: the harness of the `conditional` fuzz target
//! (`fuzz/fuzz_targets/conditional.rs`) and of its short form in
//! `tests/fuzz_smoke.rs`, which both include this file.

use axum::body::HttpBody;
use axum::http::{HeaderMap, HeaderValue, header};
use syndic::serve::{FeedHeaders, respond_with_feed};

/// `raw` is header lines (`Name: value`, invalid ones skipped), answered
/// for a fixed feed of each format. Returns, per format, the status, the
/// response's ETag and whether it has body bytes (the body's size as the
/// response states it: every body here is whole bytes or empty).
pub fn fuzz_conditional(raw: &[u8]) -> Vec<(u16, Option<String>, bool)> {
    static FEED: std::sync::OnceLock<syndic::publish::RenderedFeed> = std::sync::OnceLock::new();
    let feed = FEED.get_or_init(|| {
        let meta =
            syndic::publish::FeedMeta::new("fuzz", "Fuzz", "Fuzz feed", "http://fuzz.example");
        syndic::publish::render(&meta, &[])
    });
    let mut headers = HeaderMap::new();
    for line in raw.split(|b| *b == b'\n') {
        let mut parts = line.splitn(2, |b| *b == b':');
        let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name),
            HeaderValue::from_bytes(value.trim_ascii()),
        ) {
            headers.append(name, value);
        }
    }
    let policy = FeedHeaders {
        max_age: 60,
        link: None,
        vary_accept: true,
    };
    syndic::publish::Format::ALL
        .iter()
        .map(|f| {
            let r = respond_with_feed(feed.get(*f), &headers, &policy);
            let etag = r
                .headers()
                .get(header::ETAG)
                .map(|tag| String::from_utf8_lossy(tag.as_bytes()).into_owned());
            let body = r.body().size_hint().lower() > 0;
            (r.status().as_u16(), etag, body)
        })
        .collect()
}
