//! Any bytes, as a local Markdown or plain-text article.
#![no_main]
use libfuzzer_sys::fuzz_target;
use syndic::ingest::local::parse_article;

fuzz_target!(|data: &[u8]| {
    let _ = parse_article("fuzz/article.md", data);
    let _ = parse_article("fuzz/article.txt", data);
});
