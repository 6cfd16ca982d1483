//! Any bytes, as a fetched feed body with and without an HTTP charset, and
//! through the scan for polling hints (`<ttl>`, `<skipHours>`, ...).
//!
//! libfuzzer-sys aborts on every panic, even one that is caught. The feed-rs
//! adapter (`src/ingest/parse/feedrs/mod.rs`) runs feed-rs (and the quick-xml
//! under it) in `catch_unwind` and recovers from their known panics (slicing
//! inside a multi-byte character of an RSS author, an XML declaration in the
//! middle of a document), so a panic raised inside feed-rs or quick-xml is
//! reported once per place and the run goes on. Any other panic aborts the
//! run as a crash, and so does any panic that escapes the parser (it cannot
//! unwind through libFuzzer's C entry point).
#![no_main]
use std::collections::HashSet;
use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use syndic::ingest::parse::{ParseOptions, parse_feed, to_json_view};

static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fn tolerate_caught_parser_panics() {
    let abort = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if !["/feed-rs-", "/quick-xml-"].iter().any(|lib| place.contains(lib)) {
            return abort(info);
        }
        let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
        if seen.get_or_insert_with(HashSet::new).insert(place.clone()) {
            eprintln!("parser library panic at {place} (caught by the adapter): {info}");
        }
    }));
}

fuzz_target!(init: tolerate_caught_parser_panics(), |data: &[u8]| {
    // The polling hints (`ttl`, `skipHours`, ...) come out of this parse.
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
