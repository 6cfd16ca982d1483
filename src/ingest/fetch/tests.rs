use std::io::Write;

use super::resolve::bounded_blocking;
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_lookups_that_were_given_up_on_still_hold_their_slot() {
    // A lookup every 10 ms that hangs 150 ms, each given up on after
    // 5 ms: no more than the 4 slots ever run at once. (A slot held by
    // the caller, not by the thread, is free again 5 ms on: about 15
    // would run at once.)
    use std::sync::atomic::{AtomicUsize, Ordering};
    let slots = Arc::new(Semaphore::new(4));
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let mut gave_up = 0;
    for _ in 0..40 {
        let (running, most) = (running.clone(), most.clone());
        let work = bounded_blocking(&slots, move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(150));
            running.fetch_sub(1, Ordering::SeqCst);
        });
        gave_up += usize::from(
            tokio::time::timeout(Duration::from_millis(5), work)
                .await
                .is_err(),
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(gave_up, 40, "every caller gave up");
    let most = most.load(Ordering::SeqCst);
    assert_eq!(most, 4, "{most} lookups ran at once with 4 slots");
}

#[test]
fn a_failure_says_its_cause_in_a_few_words() {
    let dns = "error sending request for url (https://blog.example/feed.xml): client error (Connect): dns error: failed to lookup address information: Name or service not known";
    assert_eq!(
        chain_in_few_words(&[], dns, "blog.example"),
        "DNS lookup failed for blog.example (no network, or a wrong host name?)"
    );
    let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    assert_eq!(
        chain_in_few_words(
            &[&refused],
            "client error (Connect): tcp connect error",
            "h.example"
        ),
        "connection refused by h.example"
    );
    let expired = "client error (Connect): invalid peer certificate: Expired";
    assert_eq!(
        chain_in_few_words(&[], expired, "h.example"),
        "TLS: h.example's certificate expired"
    );
    let issuer = "client error (Connect): invalid peer certificate: UnknownIssuer";
    assert_eq!(
        chain_in_few_words(&[], issuer, "h.example"),
        "TLS: h.example's certificate is not from a trusted issuer"
    );
    assert_eq!(
        chain_in_few_words(&[], "something else", "h.example"),
        "cannot reach h.example"
    );
    let timeout = FetchError::Timeout {
        connect: Duration::from_secs(10),
        total: Duration::from_secs(30),
    };
    assert_eq!(timeout.summary(), "timed out");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn decoders_round_trip_and_cap() {
    let data = vec![b'a'; 100_000];
    let mut d = BodyDecoder::new("gzip", 200_000).unwrap();
    for chunk in gzip(&data).chunks(100) {
        d.write(chunk).unwrap();
    }
    assert_eq!(d.finish().unwrap(), data);

    let mut d = BodyDecoder::new("gzip", 10_000).unwrap();
    let err = gzip(&data)
        .chunks(100)
        .find_map(|c| d.write(c).err())
        .expect("cap reached while streaming");
    assert!(
        matches!(err, FetchError::DecodedTooLarge { limit: 10_000 }),
        "{err:?}"
    );

    let mut br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
        w.write_all(&data).unwrap();
    }
    let mut d = BodyDecoder::new("br", 200_000).unwrap();
    d.write(&br).unwrap();
    assert_eq!(d.finish().unwrap(), data);
    let mut d = BodyDecoder::new("br", 1000).unwrap();
    assert!(matches!(
        d.write(&br),
        Err(FetchError::DecodedTooLarge { .. })
    ));

    assert!(matches!(
        BodyDecoder::new("compress", 10),
        Err(FetchError::Decoding { .. })
    ));
    let mut d = BodyDecoder::new("gzip", 100).unwrap();
    let bad = d
        .write(b"not gzip at all")
        .err()
        .or_else(|| d.finish().err());
    assert!(matches!(bad, Some(FetchError::Decoding { .. })), "{bad:?}");
}

#[test]
fn permanent_target_is_the_leading_permanent_run() {
    let hop = |status, from: &str, to: &str| Hop {
        status,
        from: from.into(),
        to: to.into(),
    };
    let mut meta = ResponseMeta::default();
    assert_eq!(meta.permanent_target(), None);
    meta.redirects = vec![hop(301, "a", "b"), hop(308, "b", "c"), hop(302, "c", "d")];
    assert_eq!(meta.permanent_target(), Some("c"));
    meta.redirects = vec![hop(302, "a", "b"), hop(301, "b", "c")];
    assert_eq!(meta.permanent_target(), None);
}

#[test]
fn link_headers_give_each_relation_with_its_target() {
    let links = super::link_relations(
        "<https://hub.example/>; rel=\"hub\", <https://a.example/feed?x=1,2>; rel=\"self alternate\"; \
         title=\"a, b\", </relative>;rel=HUB",
    );
    assert_eq!(
        links,
        [
            ("hub".to_string(), "https://hub.example/".to_string()),
            (
                "self".to_string(),
                "https://a.example/feed?x=1,2".to_string()
            ),
            (
                "alternate".to_string(),
                "https://a.example/feed?x=1,2".to_string()
            ),
            ("hub".to_string(), "/relative".to_string()),
        ]
    );
    assert!(super::link_relations("garbage").is_empty());
}
