//! The process's allocator: mimalloc, for every binary that links syndic
//! (the daemon, its tests and benches).
//!
//! With glibc's malloc, sled's page churn (each page read from disk is
//! decoded into many small allocations and soon dropped) left its free
//! lists fragmented: `_int_malloc` alone took 15-17% of the CPU of the
//! poller bench's first round, and the memory a big ingest freed stayed in
//! glibc's arenas until a `malloc_trim`. mimalloc took a quarter less CPU on
//! the same round and gives freed memory back by itself (after its
//! `purge_delay`), so nothing here trims (BENCHMARKS.md, Allocator).
//! Transparent huge pages are not asked for (the `no_thp` feature): with
//! them the same round peaked 50-100 MiB higher.
//!
//! `--features system-allocator` builds with the system's malloc instead:
//! heaptrack and valgrind see only that one.

#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
