//! Any request headers, through the conditional-GET logic of every format:
//! only 200 or 304, always an ETag, never a body on a 304.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (status, etag, body) in syndic::serve::fuzz_conditional(data) {
        assert!(status == 200 || status == 304, "status {status}");
        assert!(etag, "no ETag");
        assert_eq!(body, status == 200, "body on a {status}");
    }
});
