//! Conditional request conformance, against the real server on 127.0.0.1:
//! each case cites the part of RFC 9110 (13.1 preconditions, 13.2.2 their
//! order, 5.3 list fields) or the reader behaviour it protects. The bugs of
//! issue 17 each have their own test, named after them.

mod common;

use common::exact::{feed_with_items, raw_get};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_none_match_on_two_header_lines() {
    // Issue 17: only the first If-None-Match line was read. RFC 9110 5.3:
    // a list field split over several lines is one list.
    let (_dir, d) = feed_with_items().await;
    let tag = raw_get(d.addr, "/feeds/all.rss", &[])
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let r = raw_get(
        d.addr,
        "/feeds/all.rss",
        &[("If-None-Match", "\"old-one\""), ("If-None-Match", &tag)],
    )
    .await;
    assert_eq!(r.status, 304, "{r:?}");
    let r = raw_get(
        d.addr,
        "/feeds/all.rss",
        &[
            ("If-None-Match", "\"old-one\""),
            ("If-None-Match", "W/\"old-two\""),
        ],
    )
    .await;
    assert_eq!(r.status, 200);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc9110_13_1_2_if_none_match_forms() {
    let (_dir, d) = feed_with_items().await;
    let tag = raw_get(d.addr, "/feeds/all.atom", &[])
        .await
        .header("etag")
        .unwrap()
        .to_string();
    for (value, status) in [
        (tag.clone(), 304),
        // Weak comparison: W/ is ignored.
        (format!("W/{tag}"), 304),
        // A member of a list, with odd whitespace.
        (format!("\"x\" ,{tag} , \"y\""), 304),
        // "*" matches any current representation.
        ("*".to_string(), 304),
        // Tags are case-sensitive opaque strings.
        (tag.to_uppercase(), 200),
        ("\"x\"".to_string(), 200),
    ] {
        let r = raw_get(d.addr, "/feeds/all.atom", &[("If-None-Match", &value)]).await;
        assert_eq!(r.status, status, "If-None-Match: {value}");
        if status == 304 {
            // 15.4.5: a 304 carries the validators and Cache-Control a 200 would.
            assert_eq!(r.header("etag"), Some(tag.as_str()));
            assert!(r.header("cache-control").is_some());
            assert!(r.header("last-modified").is_some());
            assert!(r.body.is_empty());
        }
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc9110_13_2_2_if_none_match_wins_over_if_modified_since() {
    let (_dir, d) = feed_with_items().await;
    let first = raw_get(d.addr, "/feeds/all.json", &[]).await;
    let lm = first.header("last-modified").unwrap().to_string();
    // A non-matching tag with a matching date: the date is ignored (13.1.3).
    let r = raw_get(
        d.addr,
        "/feeds/all.json",
        &[("If-None-Match", "\"stale\""), ("If-Modified-Since", &lm)],
    )
    .await;
    assert_eq!(r.status, 200);
    // The date alone gives a 304.
    let r = raw_get(d.addr, "/feeds/all.json", &[("If-Modified-Since", &lm)]).await;
    assert_eq!(r.status, 304);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc9110_13_1_3_invalid_if_modified_since_is_ignored() {
    let (_dir, d) = feed_with_items().await;
    let lm = raw_get(d.addr, "/feeds/all.rss", &[])
        .await
        .header("last-modified")
        .unwrap()
        .to_string();
    let at = chrono::DateTime::<chrono::Utc>::from(httpdate::parse_http_date(&lm).unwrap());
    let asctime = at.format("%a %b %e %H:%M:%S %Y").to_string();
    let earlier = (at - chrono::Duration::seconds(1))
        .format("%a %b %e %H:%M:%S %Y")
        .to_string();
    for (lines, status) in [
        (vec![("If-Modified-Since", "yesterday")], 200),
        // Not one HTTP-date: two lines make the field invalid.
        (
            vec![
                ("If-Modified-Since", lm.as_str()),
                ("If-Modified-Since", lm.as_str()),
            ],
            200,
        ),
        // The obsolete formats are HTTP-dates too (5.6.7).
        (vec![("If-Modified-Since", asctime.as_str())], 304),
        (vec![("If-Modified-Since", earlier.as_str())], 200),
        (vec![("If-Modified-Since", lm.as_str())], 304),
    ] {
        let r = raw_get(d.addr, "/feeds/all.rss", &lines).await;
        assert_eq!(r.status, status, "{lines:?}");
    }
    d.stop().await;
}
