//! Any bytes, as a fetched feed body with and without an HTTP charset.
#![no_main]
use libfuzzer_sys::fuzz_target;
use syndic::ingest::parse::{ParseOptions, parse_feed, to_json_view};

fuzz_target!(|data: &[u8]| {
    for content_type in [None, Some("application/rss+xml; charset=iso-8859-1")] {
        let opts = ParseOptions {
            content_type,
            base_url: Some("http://fuzz.example/feed"),
        };
        if let Ok(feed) = parse_feed(data, &opts) {
            let _ = to_json_view(&feed);
        }
    }
});
