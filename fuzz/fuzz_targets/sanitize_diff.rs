//! Differential: any text through the HTML sanitizer's fast path and
//! through ammonia; whenever the fast path accepts the input, both must
//! write the same bytes; the same for taking its text. The first byte picks
//! the base URL (none, or one).
#![no_main]
use libfuzzer_sys::fuzz_target;
use syndic::ingest::parse::{html_to_text_both_ways, sanitize_html_both_ways};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(html) = std::str::from_utf8(rest) else {
        return;
    };
    let base = url::Url::parse("https://fuzz.example/dir/page").ok();
    let base = if selector & 1 == 1 { base.as_ref() } else { None };
    let (fast, ammonia) = sanitize_html_both_ways(html, base);
    if let Some(fast) = fast {
        assert_eq!(fast, ammonia, "input {html:?}, base {base:?}");
    }
    let (fast, ammonia) = html_to_text_both_ways(html);
    if let Some(fast) = fast {
        assert_eq!(fast, ammonia, "text of {html:?}");
    }
});
