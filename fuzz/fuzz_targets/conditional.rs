//! Any request headers, through the conditional-GET logic of every format:
//! only 200, 304 or 406 (every coding refused), an ETag on 200 and 304,
//! never a body on a 304.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../harness/conditional.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    for (status, etag, body) in harness::fuzz_conditional(data) {
        assert!(status == 200 || status == 304 || status == 406, "status {status}");
        assert_eq!(etag.is_some(), status != 406, "ETag on a {status}");
        assert_eq!(body, status != 304, "body on a {status}");
    }
});
