//! Shared test fixtures, one of each: the mock feed host ([`host`]), the
//! feed builder ([`feed`]), the config writer ([`config`]), the daemon in
//! this process and the `syndic` binary under a pretend systemd
//! ([`daemon`]), the seeded random generator ([`rand`]), exact-HTTP helpers
//! ([`exact`]) and the skip recorder ([`skip`]).
#![allow(dead_code, unused_imports)]

pub mod config;
pub mod daemon;
pub mod exact;
pub mod feed;
pub mod host;
pub mod rand;
pub mod skip;

pub use config::{ConfigFile, write_config, write_file};
pub use daemon::{Daemon, TestDaemon, http_get, reopen_store, syndic, syndic_command, syndic_text};
pub use feed::{Feed, Item, atom_feed, fixture_day, rss_feed};
pub use host::{Hold, MockHost, Reply, Scripted, Seen};
pub use rand::Lcg;
