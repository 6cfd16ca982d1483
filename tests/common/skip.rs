//! A test that cannot run where it is run says so instead of passing in
//! silence: `SKIP: test: why` on stderr and, when `SYNDIC_SKIP_LOG` names a
//! file, one line in it. `.ci/run` sets it and prints the count in its
//! closing line; on CI (root, with `../shared`) the count must be 0.
//!
//! One file, included by path where `tests/common` is not (the library's
//! own unit tests, the conformance harness).

/// Records that `test` did not run, and why.
pub fn skip(test: &str, why: &str) {
    eprintln!("SKIP: {test}: {why}");
    if let Some(path) = std::env::var_os("SYNDIC_SKIP_LOG") {
        use std::io::Write;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        if let Ok(mut log) = log {
            let _ = writeln!(log, "{test}: {why}");
        }
    }
}
