//! syndic: a feed publisher and aggregator daemon.
//!
//! ```text
//! feeds.toml ─> config ─> schedule ─(tick per source)─> ingest ─> dedup ─> store ─> publish ─> serve
//!                            │          fetch (HTTP)      │         │        (sled)   render    axum
//!                            │          local (files)     │         │                 rss/atom/json
//!                            │          parse+normalize ──┘         │
//!                            └──(on change / at start)──────────────┴─> publish (re-render)
//! app: the state they share; daemon: wires it all, owns tasks, signals and shutdown
//! ```
//!
//! | module | owns |
//! |---|---|
//! | [`config`] | reading and validating `feeds.toml` |
//! | [`model`] | plain data shared by all stages |
//! | [`ingest`] | one refresh of one source: fetch or read, parse, normalize |
//! | [`dedup`] | item identity (canonical URLs, aliases), the insert/update/skip/merge decision, near-duplicate signatures, retention |
//! | [`refresh`] | one refresh of one source through every stage |
//! | [`store`] | the sled database (the only sled user) |
//! | [`publish`] | selecting items for a feed and rendering RSS/Atom/JSON bytes |
//! | [`serve`] | the HTTP surface (axum) |
//! | [`server`] | connections under it: caps and timeouts against abusive clients |
//! | [`schedule`] | when each source is refreshed and each scheduled feed published (a timer over a queue of next runs) |
//! | [`app`] | the shared state ([`app::App`]): config, store, fetcher, rendered feeds, counters; refreshing a source, rendering feeds, the status line, `max-age` |
//! | [`daemon`] | wiring, lifecycle, signals, reload |
//! | [`articles`] | local sources between scans: publish/expiry timers, folder watches |
//! | [`notify`] | telling systemd ready / status / watchdog / stopping |
//! | [`metrics`] | counters and the Prometheus text of `/metrics` |
//! | [`admin`] | the local admin socket the CLI uses next to a running daemon |
//! | [`redact`] | secrets in URLs shown as `***` in pages, OPML, feeds, logs, CLI output |
//! | [`memory`] | the process's allocator (mimalloc) |
// No unsafe code.
#![forbid(unsafe_code)]
// No panic on outside input: outside tests, no `unwrap`/`expect` and no
// unchecked indexing or slicing (`get`, checked arithmetic and errors
// instead); a provably safe exception carries an `allow` and the reason.
// No module is exempt (`ingest::parse` included).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod admin;
pub mod app;
pub mod articles;
pub mod config;
pub mod daemon;
pub mod dedup;
pub mod ingest;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod publish;
pub mod redact;
pub mod refresh;
pub mod rules;
pub mod schedule;
pub mod serve;
pub mod server;
pub mod store;
pub mod websub;

// The test suite's skip recorder (one file, shared with `tests/`).
#[cfg(test)]
#[path = "../tests/common/skip.rs"]
mod test_skip;
