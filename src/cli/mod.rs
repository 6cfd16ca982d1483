//! The command line's parts beyond argument parsing (which stays in
//! `main.rs` with `run`): one module per concern.

pub(crate) mod backup;
pub(crate) mod logging;
pub(crate) mod opml;
pub(crate) mod report;
pub(crate) mod service;
