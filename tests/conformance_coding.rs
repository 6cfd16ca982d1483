//! Content coding conformance, against the real server on 127.0.0.1: each
//! case cites the part of RFC 9110 12.5.3 (Accept-Encoding) it protects.
//! The bugs of issue 17 each have their own test, named after them.
//!
//! What syndic chooses (also in `src/serve/negotiate.rs`): the highest
//! weight wins whatever the order; ties go to br, then gzip, then identity;
//! identity is acceptable unless refused and, when the client does not
//! name it (or `*`), ranks below every coding it named; 406 only when br,
//! gzip and identity are all refused.

mod common;

use common::TestDaemon;
use common::exact::{Raw, feed_with_items, raw_get, raw_request};

/// The coding of a response: its Content-Encoding, checked against the body.
fn coding(r: &Raw) -> &str {
    assert_eq!(r.status, 200, "{r:?}");
    let coding = r.header("content-encoding").unwrap_or("identity");
    match coding {
        "gzip" => assert_eq!(&r.body[..2], &[0x1f, 0x8b], "gzip magic"),
        "identity" => assert!(r.body.starts_with(b"<?xml"), "plain XML"),
        "br" => assert!(!r.body.starts_with(b"<?xml"), "not plain"),
        other => panic!("unexpected coding {other}"),
    }
    assert!(
        r.headers
            .iter()
            .any(|(n, v)| n == "vary" && v.to_ascii_lowercase().contains("accept-encoding")),
        "Vary: Accept-Encoding (RFC 9110 12.5.5)"
    );
    coding
}

async fn coding_for(d: &TestDaemon, lines: &[&str]) -> String {
    let headers: Vec<(&str, &str)> = lines.iter().map(|l| ("Accept-Encoding", *l)).collect();
    coding(&raw_get(d.addr, "/feeds/all.rss", &headers).await).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_encoding_star_does_not_override_explicit_refusals() {
    // Issue 17: `br;q=0, gzip;q=0, *;q=0.5` was answered with br. RFC 9110
    // 12.5.3: "*" matches codings not listed; a listed q=0 is "not
    // acceptable". Only identity remains (through "*").
    let (_dir, d) = feed_with_items().await;
    assert_eq!(
        coding_for(&d, &["br;q=0, gzip;q=0, *;q=0.5"]).await,
        "identity"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_encoding_br_refused_with_bare_star_gives_gzip() {
    // Issue 17: `br;q=0, *` was answered with br.
    let (_dir, d) = feed_with_items().await;
    assert_eq!(coding_for(&d, &["br;q=0, *"]).await, "gzip");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_encoding_order_does_not_decide() {
    // Issue 17: `*, br;q=0` gave a different answer than `br;q=0, *`.
    // RFC 9110 12.5.3 weighs codings by q, never by position.
    let (_dir, d) = feed_with_items().await;
    assert_eq!(coding_for(&d, &["*, br;q=0"]).await, "gzip");
    assert_eq!(coding_for(&d, &["br;q=0.4, gzip;q=0.5"]).await, "gzip");
    assert_eq!(coding_for(&d, &["gzip;q=0.4, br;q=0.5"]).await, "br");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_encoding_upper_case_q_refuses() {
    // Issue 17: `gzip;Q=0` was answered with gzip. Parameter names are
    // case-insensitive (RFC 9110 5.6.6), and so is the coding name (8.4.1).
    let (_dir, d) = feed_with_items().await;
    assert_eq!(coding_for(&d, &["gzip;Q=0"]).await, "identity");
    assert_eq!(coding_for(&d, &["GZip;Q=1"]).await, "gzip");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc9110_12_5_3_cases() {
    let (_dir, d) = feed_with_items().await;
    // No Accept-Encoding: any coding is acceptable; syndic sends identity.
    let plain = raw_get(d.addr, "/feeds/all.rss", &[]).await;
    assert_eq!(coding(&plain), "identity");
    // An empty value: "the user agent does not want any content coding".
    assert_eq!(coding_for(&d, &[""]).await, "identity");
    // The list read across header lines (RFC 9110 5.3).
    assert_eq!(coding_for(&d, &["gzip", "br"]).await, "br");
    assert_eq!(coding_for(&d, &["gzip", "gzip;q=0"]).await, "identity");
    // identity named with a higher weight than gzip wins.
    assert_eq!(
        coding_for(&d, &["gzip;q=0.2, identity;q=0.9"]).await,
        "identity"
    );
    // identity refused, gzip acceptable.
    assert_eq!(coding_for(&d, &["identity;q=0, gzip;q=0.1"]).await, "gzip");
    // "*;q=0" with identity named keeps identity.
    assert_eq!(coding_for(&d, &["*;q=0, identity"]).await, "identity");
    // An unknown coding only: identity.
    assert_eq!(coding_for(&d, &["compress, deflate"]).await, "identity");
    // x-gzip is gzip (RFC 9110 8.4.1.3).
    assert_eq!(coding_for(&d, &["x-gzip"]).await, "gzip");
    // A weight outside the qvalue grammar (12.4.2) is ignored, not read as 0.
    assert_eq!(coding_for(&d, &["br;q=2, gzip"]).await, "gzip");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc9110_12_5_3_nothing_acceptable_is_406() {
    // "identity;q=0" and "*;q=0" without an identity entry refuse identity;
    // with br and gzip refused too, nothing is acceptable: 406 (15.5.7).
    let (_dir, d) = feed_with_items().await;
    for refusal in [
        "*;q=0",
        "identity;q=0",
        "br;q=0, gzip;q=0, identity;q=0",
        "*;q=0, compress",
    ] {
        let r = raw_get(d.addr, "/feeds/all.rss", &[("Accept-Encoding", refusal)]).await;
        assert_eq!(r.status, 406, "{refusal}: {r:?}");
        assert!(String::from_utf8_lossy(&r.body).contains("br, gzip or identity"));
    }
    let head = raw_request(
        d.addr,
        "HEAD",
        "/feeds/all.atom",
        &[("Accept-Encoding", "*;q=0")],
    )
    .await;
    assert_eq!(head.status, 406);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_coding_has_its_own_etag_and_validates_304() {
    // RFC 9110 8.8.3: the coded variants are different representations,
    // with different entity tags; a 304 carries the tag of the variant the
    // request would get (15.4.5).
    let (_dir, d) = feed_with_items().await;
    let mut tags = Vec::new();
    for ae in ["identity", "gzip", "br"] {
        let r = raw_get(d.addr, "/feeds/all.rss", &[("Accept-Encoding", ae)]).await;
        assert_eq!(coding(&r), ae);
        let tag = r.header("etag").unwrap().to_string();
        let again = raw_get(
            d.addr,
            "/feeds/all.rss",
            &[("Accept-Encoding", ae), ("If-None-Match", &tag)],
        )
        .await;
        assert_eq!(again.status, 304);
        assert_eq!(again.header("etag"), Some(tag.as_str()));
        assert!(again.body.is_empty());
        tags.push(tag);
    }
    tags.dedup();
    assert_eq!(tags.len(), 3, "{tags:?}");
    d.stop().await;
}
