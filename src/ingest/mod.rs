//! Ingest: turning a source into entries. `fetch` is the only HTTP client,
//! `local` the only reader of article files, `parse` turns feed bytes into
//! normalized entries. None of them touches the store; `crate::refresh`
//! runs them and hands the result to dedup and the store.

pub mod fetch;
pub mod guard;
pub mod local;
// Audited by hand; exempt from the crate's no-panic lints for now (lib.rs).
#[cfg_attr(
    not(test),
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
pub mod parse;
pub mod poll;
