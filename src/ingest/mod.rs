//! Ingest: turning a source into entries. `fetch` is the only HTTP client,
//! `local` the only reader of article files, `parse` turns feed bytes into
//! normalized entries. None of them touches the store; `crate::refresh`
//! runs them and hands the result to dedup and the store. `watch` tells
//! when an article folder changed (it reads nothing).

pub mod fetch;
pub mod guard;
pub mod local;
pub mod page;
pub mod parse;
pub mod poll;
pub mod watch;
