//! Giving freed memory back to the system.
//!
//! glibc's malloc keeps the memory a big ingest frees in its arenas, for
//! reuse, instead of returning it: after a 20,000-item feed the daemon
//! stayed 140 MB above what it used (BENCHMARKS.md, ingest memory), until
//! restart. [`release`] asks it to return what it holds free.

/// Returns the allocator's free memory to the system (glibc's
/// `malloc_trim`); a no-op with another C library. Costs a walk of the
/// allocator's arenas (milliseconds): for after big work, not per request.
pub fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions: it only walks and trims
    // glibc's own arenas, under their locks, and may be called at any time.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}
