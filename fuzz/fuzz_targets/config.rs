//! Any text, as feeds.toml.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = syndic::config::Config::parse(text, std::path::Path::new("/nonexistent/feeds.toml"));
    }
});
