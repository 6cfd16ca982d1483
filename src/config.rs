//! Reading and validating `feeds.toml`, syndic's only configuration file.
//!
//! This module is the only reader of `feeds.toml`. [`Config::load`] (or
//! [`Config::parse`] for text already in memory) turns the file into a
//! validated, typed [`Config`], or into [`ConfigErrors`]: a list of every
//! problem found, each naming the file, the 1-based line and column of the
//! offending key or value, what is wrong and, where it can, what to write
//! instead. Nothing in here panics on bad input.
//!
//! The file has four kinds of tables, all optional in the TOML sense but with
//! at least one `[[source]]` and one `[[feed]]` required:
//!
//! ```toml
//! [daemon]                       # how the daemon runs (all keys optional)
//! listen = "127.0.0.1:8080"
//! store = "store"                # relative to this file's folder
//! public_url = "https://feeds.example.org"
//! contact = "mailto:admin@example.org"
//! log_level = "info"
//! admin_listen = "127.0.0.1:8081" # operator pages; default: loopback, listen port + 1
//! public_status = false          # true: operator pages on `listen` too
//! secret_params = ["session"]    # shown as *** besides the built-in list
//!
//! [defaults]                     # defaults for sources and feeds (all optional)
//! refresh = "30m"                # an interval, or a cron expression
//! min_interval = "1h"
//! timeout = "30s"
//! max_body_bytes = "10MiB"
//! allow_internal = false         # SSRF guard: see SourceConfig::allow_internal
//! feed_limit = 50
//! strip_www = true               # dedup: www.example.org matches example.org
//! tracking_params = ["from"]     # dedup: removed from links besides the built-in list
//! tombstone_ttl = "30d"          # dedup: how long a removed item stays removed
//! near_duplicates = true         # dedup: merge near-identical stories across sources
//! near_duplicate_threshold = 0.6
//! max_items = 500                # retention per source (default: no limit)
//! max_age = "90d"                # retention per source (default: no limit)
//!
//! [[source]]                     # one per feed to read
//! id = "lwn"
//! url = "https://lwn.net/headlines/rss"   # or: path = "notes" (a local folder)
//! tags = ["linux"]
//! allow_internal = false         # default: [defaults] allow_internal
//! max_items = 100                # also max_age, near_duplicates, near_duplicate_threshold
//!
//! [[feed]]                       # one per feed to publish, at /feeds/{name}.rss
//! name = "linux"
//! title = "Linux news"
//! include = ["tag:linux"]        # "*", "tag:NAME" or source ids
//! refresh = "0 0 6 * * *"        # publish schedule (default: every change at once)
//! ```
//!
//! Durations are written as a number and a unit, `s`, `m`, `h`, `d` or `w`,
//! possibly combined from the largest unit down (`"1h30m"`); see
//! [`parse_duration`]. Byte sizes are an integer of bytes or a string such as
//! `"10MiB"` or `"512KiB"`; see [`parse_byte_size`].
//!
//! Every table rejects unknown keys: a misspelt key is an error at that key,
//! whose help lists the keys the table accepts.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use url::Url;

mod podcast;
pub use podcast::Podcast;

/// Default address the HTTP server listens on: `127.0.0.1:8080`.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
/// Default store folder, relative to the config file's folder: `store`.
pub const DEFAULT_STORE: &str = "store";
/// Default refresh interval of sources: 30 minutes.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(30 * 60);
/// Default floor between two polls of one remote source: 1 hour.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(60 * 60);
/// Smallest `min_interval` accepted anywhere: 1 minute.
pub const MIN_MIN_INTERVAL: Duration = Duration::from_secs(60);
/// Default ceiling of host hints and error backoff, and the pace of a
/// source answering 404: 24 hours.
pub const DEFAULT_MAX_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);
/// Largest `max_interval` accepted: 30 days.
pub const MAX_MAX_INTERVAL: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// Default total timeout of one fetch: 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default largest response body accepted from a source: 10 MiB, in bytes.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;

/// Default `max_article_bytes`: 1 MiB, some ten times the longest articles
/// people write; a larger file in an article folder is skipped with a warning.
pub const DEFAULT_MAX_ARTICLE_BYTES: u64 = 1024 * 1024;
/// Default number of items per output feed: 50.
pub const DEFAULT_FEED_LIMIT: usize = 50;
/// Largest accepted item limit of an output feed: 1000.
pub const MAX_FEED_LIMIT: usize = 1000;
/// Default time a key removed by retention stays removed: 30 days.
pub const DEFAULT_TOMBSTONE_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Default near-duplicate threshold: 60 (percent of estimated Jaccard
/// similarity of word 3-shingles).
pub const DEFAULT_NEAR_THRESHOLD_PCT: u8 = 60;
/// Longest duration accepted anywhere: 36500 days (about 100 years).
/// Times are computed as "now plus this", which must stay a valid date.
pub const MAX_DURATION: Duration = Duration::from_secs(36_500 * 24 * 3600);
/// Longest accepted source id, feed name or tag, in characters: 64.
pub const MAX_NAME_LEN: usize = 64;

const SCHEDULE_HELP: &str =
    "write an interval such as \"30m\" or a cron expression such as \"0 */30 * * * *\"";
const DURATION_HELP: &str = "write a number and a unit (s, m, h, d or w) \
     such as \"90s\", \"30m\", \"2h\", \"1d\" or \"1h30m\"";
const MIN_INTERVAL_HELP: &str =
    "polling a source more often than once a minute is not allowed; write \"1m\" or more";
const CONTACT_HELP: &str = "write printable ASCII such as \"mailto:admin@example.org\" \
     or \"https://example.org/about\", or remove the key";
const BOTH_HELP: &str =
    "keep `url` for a feed fetched over HTTP, or `path` for a local folder, not both";
const NEITHER_HELP: &str = "add url = \"https://...\" for a feed fetched over HTTP, \
     or path = \"...\" for a local folder";
const INCLUDE_HELP: &str = "write include = [\"*\"] for every source, \
     [\"tag:NAME\"] for the sources with a tag, or source ids";
const SIZE_HELP: &str =
    "write a size such as \"10MiB\" or \"512KiB\", or a plain integer of bytes such as 1048576";
const NAME_HELP: &str =
    "use lowercase letters, digits, '-' and '_', starting with a letter or digit";

// ---------------------------------------------------------------------------
// Typed configuration
// ---------------------------------------------------------------------------

/// The whole validated configuration, as read from `feeds.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file the configuration was read from, as given to
    /// [`Config::load`] or [`Config::parse`].
    pub path: PathBuf,
    /// The `[daemon]` table; all defaults when the table is absent.
    pub daemon: DaemonConfig,
    /// The `[defaults]` table; all defaults when the table is absent.
    pub defaults: Defaults,
    /// The `[[source]]` tables, in file order. Never empty.
    pub sources: Vec<SourceConfig>,
    /// The `[[feed]]` tables, in file order. Never empty.
    pub feeds: Vec<FeedConfig>,
}

/// The `[daemon]` table: how the daemon itself runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonConfig {
    /// `listen`: socket address of the HTTP server, an IP address and a port
    /// such as `"127.0.0.1:8080"` or `"[::]:8080"`.
    /// Default: `127.0.0.1:8080` ([`DEFAULT_LISTEN`]).
    pub listen: SocketAddr,
    /// `store`: folder of the item store. A relative path is resolved against
    /// the folder of the config file; this field holds the resolved path.
    /// Default: `store` next to the config file ([`DEFAULT_STORE`]).
    pub store: PathBuf,
    /// `public_url`: the address readers reach the published feeds at, used
    /// for links inside the feeds. Must be http or https, with no query or
    /// fragment; see [`DaemonConfig::public_base`] to build links.
    /// Default: `http://{listen}`.
    pub public_url: Url,
    /// `contact`: who runs this daemon, such as `"mailto:admin@example.org"`
    /// or a URL; it goes into the User-Agent of every fetch. Printable ASCII.
    /// Default: none.
    pub contact: Option<String>,
    /// `log_level`: a log filter such as `"info"` or `"syndic=debug"`,
    /// trimmed. Default: none (the daemon picks its own).
    pub log_level: Option<String>,
    /// `admin_listen`: where the operator's surface (source health and
    /// errors, `/metrics`, the OPML of the sources) is served: a socket
    /// address, or `"off"`. Default: loopback, the public port plus one
    /// ([`AdminListen::Beside`]; see [`DaemonConfig::admin_addr`]).
    pub admin_listen: AdminListen,
    /// `public_status`: also serve the operator's surface on the public
    /// listener. Default: `false` (the public listener answers 404 there).
    pub public_status: bool,
    /// `secret_params`: query parameter names whose values are secrets,
    /// besides the built-in list of [`crate::redact::SECRET_PARAMS`];
    /// lowercased. Their values are shown as `***` everywhere. Default: none.
    pub secret_params: Vec<String>,
}

/// Where the operator's HTTP surface listens (`[daemon] admin_listen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminListen {
    /// Not set: `127.0.0.1`, the public listener's port plus one (port 0,
    /// any free port, when the public one is 0).
    #[default]
    Beside,
    /// An address the config names.
    At(SocketAddr),
    /// `"off"`: no admin listener (the admin socket of the CLI stays).
    Off,
}

impl DaemonConfig {
    /// [`public_url`](Self::public_url) as a string without any trailing
    /// `/`, ready for `format!("{}/feeds/{name}.rss", config.public_base())`.
    pub fn public_base(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_string()
    }

    /// The address of the admin listener when the public one was asked for
    /// at `public` (the configured or `--listen` address, or the address of
    /// the socket systemd passed); `None` when `admin_listen = "off"`.
    pub fn admin_addr(&self, public: SocketAddr) -> Option<SocketAddr> {
        match self.admin_listen {
            AdminListen::Off => None,
            AdminListen::At(addr) => Some(addr),
            AdminListen::Beside => {
                let port = match public.port() {
                    0 => 0,
                    port => port.checked_add(1).unwrap_or(0),
                };
                Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
            }
        }
    }
}

/// The `[defaults]` table: values sources and feeds use when they set none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// `refresh`: when sources are polled, an interval or a cron expression.
    /// Default: every 30 minutes ([`DEFAULT_REFRESH`]).
    pub refresh: Schedule,
    /// `min_interval`: the shortest time between two polls of one remote
    /// source, whatever its schedule says. At least 1 minute.
    /// Default: 1 hour ([`DEFAULT_MIN_INTERVAL`]).
    pub min_interval: Duration,
    /// `max_interval`: the longest wait host hints (`Cache-Control`, RSS
    /// `ttl`, ...) and error backoff may impose, and the pace at which a
    /// source answering 404 is still polled. From `min_interval` to 30 days.
    /// Default: 24 hours ([`DEFAULT_MAX_INTERVAL`]).
    pub max_interval: Duration,
    /// `timeout`: total time one fetch may take, connection to last byte.
    /// Greater than zero. Default: 30 seconds ([`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
    /// `max_body_bytes`: largest response body accepted from a source, in
    /// bytes; written as `"10MiB"`, `"512KiB"` or a plain integer of bytes.
    /// Greater than zero. Default: 10 MiB ([`DEFAULT_MAX_BODY_BYTES`]).
    pub max_body_bytes: u64,
    /// `max_article_bytes`: largest article file read from a local folder,
    /// written like `max_body_bytes`. Greater than zero.
    /// Default: 1 MiB ([`DEFAULT_MAX_ARTICLE_BYTES`]).
    pub max_article_bytes: u64,
    /// `allow_internal`: the default of every remote source's
    /// [`SourceConfig::allow_internal`]. Default: `false`.
    pub allow_internal: bool,
    /// `feed_limit`: items per output feed when a feed sets no `limit`,
    /// in 1..=1000. Default: 50 ([`DEFAULT_FEED_LIMIT`]).
    pub feed_limit: usize,
    /// Deduplication and retention settings, the defaults of every source:
    /// see [`SourceDedup`].
    pub dedup: SourceDedup,
}

/// Per-source dedup and retention settings. `max_items`, `max_age`,
/// `near_duplicates` and `near_duplicate_threshold` may be set in
/// `[defaults]` and in each `[[source]]`; `strip_www`, `tracking_params` and
/// `tombstone_ttl` only in `[defaults]` (every source gets them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDedup {
    /// `strip_www` (bool) and `tracking_params` (list of parameter names,
    /// removed from links when matching, besides `utm_*` and
    /// `dedup::url::TRACKING_PARAMS`). Default: `true`, none.
    pub urls: crate::dedup::UrlOptions,
    /// `tombstone_ttl`: how long the key of an item removed by retention is
    /// remembered, so a source still listing it does not bring it back.
    /// Default: 30 days ([`DEFAULT_TOMBSTONE_TTL`]).
    pub tombstone_ttl: Duration,
    /// `max_items`: most items kept for the source, at least 1; the oldest
    /// leave the store and the feeds. Default: no limit.
    pub max_items: Option<usize>,
    /// `max_age`: items published longer ago leave the store and the feeds,
    /// and new ones that old are not stored. Default: no limit.
    pub max_age: Option<Duration>,
    /// `near_duplicates = false` turns near-duplicate merging off;
    /// `near_duplicate_threshold` (a fraction in 0.05..=1.0, such as 0.6)
    /// sets how similar two texts must be. Held as a percentage; `None` is
    /// off. Default: on, 0.6 ([`DEFAULT_NEAR_THRESHOLD_PCT`]).
    pub near_threshold_pct: Option<u8>,
}

impl Default for SourceDedup {
    fn default() -> Self {
        SourceDedup {
            urls: crate::dedup::UrlOptions::default(),
            tombstone_ttl: DEFAULT_TOMBSTONE_TTL,
            max_items: None,
            max_age: None,
            near_threshold_pct: Some(DEFAULT_NEAR_THRESHOLD_PCT),
        }
    }
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            refresh: Schedule::Every(DEFAULT_REFRESH),
            min_interval: DEFAULT_MIN_INTERVAL,
            max_interval: DEFAULT_MAX_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_article_bytes: DEFAULT_MAX_ARTICLE_BYTES,
            allow_internal: false,
            feed_limit: DEFAULT_FEED_LIMIT,
            dedup: SourceDedup::default(),
        }
    }
}

/// When a source is polled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every this long (greater than zero); written as an interval such as
    /// `"30m"`.
    Every(Duration),
    /// At the times of a cron expression, held normalized: six fields,
    /// seconds first, separated by single spaces. A five-field expression in
    /// the file (minutes first) is stored with `"0 "` prefixed. Parse it with
    /// [`cron_parser`] (or [`Schedule::cron`]) to get the times.
    Cron(String),
}

impl Schedule {
    /// The parsed cron expression, or `None` for [`Schedule::Every`].
    pub fn cron(&self) -> Option<croner::Cron> {
        match self {
            Schedule::Every(_) => None,
            Schedule::Cron(expr) => cron_parser().parse(expr).ok(),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Every(d) => write!(f, "every {}", format_duration(*d)),
            Schedule::Cron(expr) => write!(f, "cron \"{expr}\""),
        }
    }
}

/// The cron parser every [`Schedule::Cron`] was validated with: six fields,
/// seconds required, and day-of-month and day-of-week both required to match.
pub fn cron_parser() -> croner::parser::CronParser {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
}

/// One `[[source]]` table: a feed syndic reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    /// `id` (required): unique name of the source, `[a-z0-9][a-z0-9_-]*`,
    /// at most 64 characters. Feeds include it by this id.
    pub id: String,
    /// Where the source is read from: `url = "..."` or `path = "..."`,
    /// exactly one of them.
    pub kind: SourceKind,
    /// `title`: display name of the source, not empty when given.
    /// Default: none (use the title the source itself announces).
    pub title: Option<String>,
    /// `refresh`: when to poll it, an interval or a cron expression.
    /// Default: `defaults.refresh`.
    pub refresh: Schedule,
    /// `min_interval`: shortest time between two polls of this source; may
    /// be set lower than the default, but not below 1 minute.
    /// Default: `defaults.min_interval`.
    pub min_interval: Duration,
    /// `max_interval`: ceiling of hints and backoff for this source, from
    /// its `min_interval` to 30 days. Default: `defaults.max_interval`.
    pub max_interval: Duration,
    /// `tags`: labels feeds can include it by (`"tag:NAME"`); each one
    /// `[a-z0-9][a-z0-9_-]*`, at most 64 characters, duplicates dropped.
    /// Default: none.
    pub tags: Vec<String>,
    /// Retention and near-duplicate settings; see [`SourceDedup`].
    pub dedup: SourceDedup,
    /// `allow_internal` (remote sources only): lifts the SSRF guard, which
    /// otherwise keeps a source whose `url` is public (resolves to public
    /// addresses) from reaching loopback, link-local (cloud metadata),
    /// private or other internal addresses, by a redirect or a DNS answer
    /// that changed. A source whose `url` itself points inside may always
    /// go inside. Default: `defaults.allow_internal` (`false`).
    pub allow_internal: bool,
    /// `max_article_bytes` (local folders only): largest article file read;
    /// a larger one is skipped with a warning. Default:
    /// `defaults.max_article_bytes` (1 MiB).
    pub max_article_bytes: u64,
}

/// Where a source is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// `url`: an http or https address with a host, fetched over HTTP.
    Remote {
        /// The address to fetch.
        url: Url,
    },
    /// `path`: an existing folder on this machine, resolved against the
    /// config file's folder when relative; this field holds the resolved path.
    Local {
        /// The resolved folder.
        path: PathBuf,
    },
}

/// One `[[feed]]` table: a feed syndic publishes at `/feeds/{name}.rss`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedConfig {
    /// `name` (required): unique name, `[a-z0-9][a-z0-9_-]*`, at most 64
    /// characters; the feed is served at `/feeds/{name}.rss`.
    pub name: String,
    /// `title` (required): the feed's title, not empty.
    pub title: String,
    /// `description`: the feed's description, not empty when given.
    /// Default: the title.
    pub description: String,
    /// `include` (required, not empty): what goes into the feed, as written:
    /// `"*"` (every source), `"tag:NAME"` (every source with that tag) or a
    /// source id.
    pub include: Vec<String>,
    /// The ids of the sources `include` resolves to, in config order,
    /// without duplicates. Never empty.
    pub sources: Vec<String>,
    /// `limit`: most items in the feed, 1..=1000.
    /// Default: `defaults.feed_limit`.
    pub limit: usize,
    /// `link`: the web page the feed belongs to (RSS channel `link`, Atom
    /// `rel="alternate"`, JSON Feed `home_page_url`); an http(s) URL.
    /// Default: none (the daemon's `public_url` home page).
    pub link: Option<Url>,
    /// `language`: the feed's language, a language tag such as `"en"` or
    /// `"pt-BR"` (letters, digits and `-`, starting with 2 or 3 letters).
    /// Default: none (not announced).
    pub language: Option<String>,
    /// `author`: the feed's author, a name. Default: none (the feed title is
    /// used where a format requires an author, as Atom does).
    pub author: Option<String>,
    /// `image`: an http(s) URL of the feed's image or logo (RSS `image`,
    /// Atom `logo`, JSON Feed `icon`). Default: none.
    pub image: Option<Url>,
    /// `icon`: an http(s) URL of a small square icon (Atom `icon`, JSON Feed
    /// `favicon`). Default: none.
    pub icon: Option<Url>,
    /// `exclude`: source ids or `"tag:NAME"` entries taken out of what
    /// `include` selects, as written. Already applied to
    /// [`sources`](Self::sources). Default: none.
    pub exclude: Vec<String>,
    /// `include_keywords`: when not empty, only items whose title or
    /// content contains one of these words (case-insensitive) are published.
    /// Default: none (every item).
    pub include_keywords: Vec<String>,
    /// `exclude_keywords`: items whose title or content contains one of these
    /// words (case-insensitive) are left out. Default: none.
    pub exclude_keywords: Vec<String>,
    /// `formats`: the formats the feed is offered in, among `"rss"`,
    /// `"atom"` and `"json"`, in that order, without duplicates; never empty.
    /// Default: all three.
    pub formats: Vec<String>,
    /// `hub`: WebSub hub URLs (one string or an array of http(s) URLs). When
    /// set, feeds carry `rel="hub"` links and each change is announced to
    /// every hub. Default: none.
    pub hubs: Vec<Url>,
    /// `archive`: whether items beyond `limit` stay reachable through RFC
    /// 5005 archive documents. Default: true.
    pub archive: bool,
    /// `refresh`: the feed's publish schedule, an interval or a cron
    /// expression. When set, changes of its sources are published at these
    /// times only (a digest feed: `"0 0 6 * * *"` publishes once a day),
    /// and the feed is rendered anew at each of them (items that aged out
    /// leave even when no source changed); `Cache-Control: max-age` then
    /// runs to the next publish time. Default: none (published as soon as a
    /// source changes).
    pub refresh: Option<Schedule>,
    /// `podcast = true`: the feed is a podcast (see [`Podcast`] for its
    /// keys): its RSS carries the iTunes tags podcast directories require,
    /// and it publishes only items with an enclosure. Default: none.
    pub podcast: Option<Podcast>,
}

/// Every output format a feed can be offered in, in canonical order.
pub const FEED_FORMATS: [&str; 3] = ["rss", "atom", "json"];

impl FeedConfig {
    /// A feed with only the required keys set and every option at its
    /// default; for tests and tools that build configs in code.
    pub fn new(name: &str, title: &str, sources: Vec<String>, limit: usize) -> FeedConfig {
        FeedConfig {
            name: name.to_string(),
            title: title.to_string(),
            description: title.to_string(),
            include: sources.clone(),
            sources,
            limit,
            link: None,
            language: None,
            author: None,
            image: None,
            icon: None,
            exclude: Vec::new(),
            include_keywords: Vec::new(),
            exclude_keywords: Vec::new(),
            formats: FEED_FORMATS.iter().map(|f| f.to_string()).collect(),
            hubs: Vec::new(),
            archive: true,
            refresh: None,
            podcast: None,
        }
    }

    /// Whether the feed is offered in `format` (`"rss"`, `"atom"`, `"json"`).
    pub fn offers(&self, format: &str) -> bool {
        self.formats.iter().any(|f| f == format)
    }
}

/// A value written as one string or an array of strings.
#[derive(Debug, Clone)]
struct OneOrMany(Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            One(String),
            Many(Vec<String>),
        }
        match Either::deserialize(deserializer) {
            Ok(Either::One(s)) => Ok(OneOrMany(vec![s])),
            Ok(Either::Many(v)) => Ok(OneOrMany(v)),
            Err(_) => Err(de::Error::custom(
                "expected a string or an array of strings",
            )),
        }
    }
}

impl Config {
    /// Reads and validates the config file at `path`. A file that cannot be
    /// read is one error naming the path (with line and column 0).
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, path),
            Err(err) => Err(ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                column: 0,
                message: format!("cannot read config file `{}`: {err}", path.display()),
                help: Some("check that the file exists, is readable and is UTF-8 text".to_string()),
            }])),
        }
    }

    /// Validates the config `text`. `path` names the file in error messages
    /// and relative paths in the file are resolved against its folder; the
    /// file itself is not read.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
        let mut ctx = Ctx::new(text, path);
        let config = build(&mut ctx);
        match config {
            Some(config) if ctx.errors.is_empty() => Ok(config),
            _ => Err(ctx.finish()),
        }
    }

    /// The source with this id.
    pub fn source(&self, id: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// The feed with this name.
    pub fn feed(&self, name: &str) -> Option<&FeedConfig> {
        self.feeds.iter().find(|f| f.name == name)
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// One problem in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file.
    pub file: PathBuf,
    /// 1-based line of the offending key or value; 0 when the error is about
    /// the whole file (it could not be read).
    pub line: usize,
    /// 1-based column, in characters, of the offending key or value; 0 when
    /// `line` is 0.
    pub column: usize,
    /// What is wrong, naming the table and key, such as
    /// ``source `x`: url must be http or https, got `ftp://x` ``.
    pub message: String,
    /// What to write instead, when there is something to say.
    pub help: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in the config file, in file order. Never empty when
/// returned by [`Config::load`] or [`Config::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The errors, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    /// How many errors there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    /// One block per error (the error line, then its help line), separated
    /// by newlines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, err) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{err}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

// ---------------------------------------------------------------------------
// Durations and sizes
// ---------------------------------------------------------------------------

/// Parses a duration: one or more `<integer><unit>` parts, units `w`
/// (weeks), `d` (days), `h`, `m` and `s`, each at most once and from the
/// largest down, optionally separated by spaces: `"90s"`, `"30m"`, `"2h"`,
/// `"1d"`, `"1h30m"`, `"1w"`. Bare numbers, other units, signs, fractions
/// and overflow give `None`. `"0s"` gives a zero duration.
pub fn parse_duration(text: &str) -> Option<Duration> {
    const UNITS: [(char, u64); 5] = [
        ('w', 7 * 24 * 3600),
        ('d', 24 * 3600),
        ('h', 3600),
        ('m', 60),
        ('s', 1),
    ];
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    // Index into UNITS of the next unit allowed: units go largest first.
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return None;
        }
        let (number, tail) = rest.split_at_checked(digits)?;
        let number: u64 = number.parse().ok()?;
        rest = tail;
        let unit = rest.chars().next()?;
        let offset = UNITS
            .get(next_unit..)?
            .iter()
            .position(|(u, _)| *u == unit)?;
        let seconds = UNITS.get(next_unit + offset)?.1;
        next_unit += offset + 1;
        total = total.checked_add(number.checked_mul(seconds)?)?;
        rest = rest.get(unit.len_utf8()..)?.trim_start();
    }
    Some(Duration::from_secs(total))
}

/// Writes a duration the way [`parse_duration`] reads it, largest unit
/// first: `"1h30m"`, `"45s"`, `"0s"`. Sub-second parts are dropped.
pub fn format_duration(duration: Duration) -> String {
    let mut secs = duration.as_secs();
    if secs == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [
        ('w', 7 * 24 * 3600),
        ('d', 24 * 3600),
        ('h', 3600),
        ('m', 60),
        ('s', 1),
    ] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// Parses a byte size: an integer of bytes, optionally followed (spaces
/// allowed) by a unit, case-insensitive: `B`, `KiB`, `MiB`, `GiB`, `TiB`
/// (powers of 1024) or `KB`, `MB`, `GB`, `TB` (powers of 1000). `None` for
/// anything else or on overflow.
pub fn parse_byte_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let (number, unit) = text.split_at_checked(digits)?;
    let number: u64 = number.parse().ok()?;
    let unit = unit.trim_start().to_ascii_lowercase();
    let factor: u64 = match unit.as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return None,
    };
    number.checked_mul(factor)
}

// ---------------------------------------------------------------------------
// Raw (as written) tables
// ---------------------------------------------------------------------------

/// A value that may be written as a string or an integer; checked later so
/// that a bare number can get a helpful message.
#[derive(Debug, Clone)]
enum Scalar {
    Str(String),
    Int(i64),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                i64::try_from(v)
                    .map(Scalar::Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Str(s) => f.write_str(s),
            Scalar::Int(n) => write!(f, "{n}"),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDaemon {
    listen: Option<Spanned<String>>,
    store: Option<Spanned<String>>,
    public_url: Option<Spanned<String>>,
    contact: Option<Spanned<String>>,
    log_level: Option<Spanned<String>>,
    admin_listen: Option<Spanned<String>>,
    public_status: Option<bool>,
    secret_params: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    refresh: Option<Spanned<Scalar>>,
    min_interval: Option<Spanned<Scalar>>,
    max_interval: Option<Spanned<Scalar>>,
    timeout: Option<Spanned<Scalar>>,
    max_body_bytes: Option<Spanned<Scalar>>,
    max_article_bytes: Option<Spanned<Scalar>>,
    allow_internal: Option<Spanned<bool>>,
    feed_limit: Option<Spanned<i64>>,
    strip_www: Option<Spanned<bool>>,
    tracking_params: Option<Vec<Spanned<String>>>,
    tombstone_ttl: Option<Spanned<Scalar>>,
    max_items: Option<Spanned<i64>>,
    max_age: Option<Spanned<Scalar>>,
    near_duplicates: Option<Spanned<bool>>,
    near_duplicate_threshold: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    title: Option<Spanned<String>>,
    refresh: Option<Spanned<Scalar>>,
    min_interval: Option<Spanned<Scalar>>,
    max_interval: Option<Spanned<Scalar>>,
    tags: Option<Vec<Spanned<String>>>,
    max_items: Option<Spanned<i64>>,
    max_age: Option<Spanned<Scalar>>,
    near_duplicates: Option<Spanned<bool>>,
    near_duplicate_threshold: Option<Spanned<f64>>,
    allow_internal: Option<Spanned<bool>>,
    max_article_bytes: Option<Spanned<Scalar>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    name: Option<Spanned<String>>,
    title: Option<Spanned<String>>,
    description: Option<Spanned<String>>,
    include: Option<Spanned<Vec<Spanned<String>>>>,
    limit: Option<Spanned<i64>>,
    link: Option<Spanned<String>>,
    language: Option<Spanned<String>>,
    author: Option<Spanned<String>>,
    image: Option<Spanned<String>>,
    icon: Option<Spanned<String>>,
    exclude: Option<Spanned<Vec<Spanned<String>>>>,
    include_keywords: Option<Vec<Spanned<String>>>,
    exclude_keywords: Option<Vec<Spanned<String>>>,
    formats: Option<Spanned<Vec<Spanned<String>>>>,
    hub: Option<Spanned<OneOrMany>>,
    archive: Option<bool>,
    refresh: Option<Spanned<Scalar>>,
    podcast: Option<bool>,
    category: Option<Spanned<String>>,
    explicit: Option<Spanned<bool>>,
    owner_email: Option<Spanned<String>>,
}

/// The top-level tables, as (key, how it is written).
const TOP_LEVEL: [(&str, &str); 4] = [
    ("daemon", "[daemon]"),
    ("defaults", "[defaults]"),
    ("source", "[[source]]"),
    ("feed", "[[feed]]"),
];

/// The keys a `#[derive(Deserialize)]` struct accepts, in declaration order,
/// read from what serde passes to `deserialize_struct`.
fn struct_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    struct FieldsOf<'a>(&'a mut &'static [&'static str]);

    impl<'de> de::Deserializer<'de> for FieldsOf<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields read"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    // The error is expected: the deserializer only records the field list.
    let _ = T::deserialize(FieldsOf(&mut fields));
    fields
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

/// Collects errors and turns byte offsets into lines and columns.
struct Ctx<'t> {
    text: &'t str,
    file: PathBuf,
    /// Folder relative paths are resolved against.
    base: PathBuf,
    line_starts: Vec<usize>,
    errors: Vec<ConfigError>,
}

impl<'t> Ctx<'t> {
    fn new(text: &'t str, file: &Path) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Ctx {
            text,
            file: file.to_path_buf(),
            base: base_dir(file),
            line_starts,
            errors: Vec::new(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        (line, column)
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        self.position(span.start).0
    }

    fn error(&mut self, span: Range<usize>, message: impl Into<String>, help: Option<String>) {
        let (line, column) = self.position(span.start);
        self.errors.push(ConfigError {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
            help,
        });
    }

    fn end_of_file(&self) -> Range<usize> {
        self.text.len()..self.text.len()
    }

    fn finish(mut self) -> ConfigErrors {
        // Stable: errors at one position keep the order they were found in.
        self.errors.sort_by_key(|e| (e.line, e.column));
        ConfigErrors(self.errors)
    }
}

/// The folder of the config file, made absolute when the working directory
/// is known.
fn base_dir(file: &Path) -> PathBuf {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    match absolute.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `raw` resolved against `base` when relative, without `.` components.
fn resolve_path(base: &Path, raw: &str) -> PathBuf {
    let raw = Path::new(raw);
    let joined = if raw.is_absolute() {
        raw.to_path_buf()
    } else {
        base.join(raw)
    };
    joined.components().collect()
}

/// How a table is named in messages: `daemon`, ``source `x` `` or `feed #2`.
fn table_label(kind: &str, index: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{kind} `{name}`"),
        None => format!("{kind} #{}", index + 1),
    }
}

/// The string value of `key` in `table`, if it is a string.
fn peek_str(table: &DeTable<'_>, key: &str) -> Option<String> {
    table
        .get(key)
        .and_then(|v| v.get_ref().as_str())
        .map(str::to_string)
}

/// The string elements of the array `key` in `table`.
fn peek_str_array(table: &DeTable<'_>, key: &str) -> Vec<String> {
    table
        .get(key)
        .and_then(|v| v.get_ref().as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.get_ref().as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Deserializes one table into `T`, reporting (and dropping) unknown keys
/// first so that every unknown key and the known keys' values are all
/// checked. `written` is how the table is written in the file, such as
/// `[[source]]`; `label` names it in messages.
fn take_table<T: DeserializeOwned>(
    ctx: &mut Ctx<'_>,
    mut table: DeTable<'_>,
    span: Range<usize>,
    written: &str,
    label: &str,
) -> Option<T> {
    let fields = struct_fields::<T>();
    let unknown: Vec<(String, Range<usize>)> = table
        .keys()
        .filter(|key| !fields.contains(&&**key.get_ref()))
        .map(|key| (key.get_ref().to_string(), key.span()))
        .collect();
    for (key, key_span) in unknown {
        table.remove(key.as_str());
        let valid = fields
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let help = match nearest(&key, fields.iter().copied()) {
            Some(near) => format!("did you mean `{near}`? the keys of {written} are {valid}"),
            None => format!("the keys of {written} are {valid}"),
        };
        ctx.error(
            key_span,
            format!("{label}: unknown key `{key}`"),
            Some(help),
        );
    }
    let value_spans: Vec<(String, Range<usize>)> = table
        .iter()
        .map(|(k, v)| (k.get_ref().to_string(), v.span()))
        .collect();
    let deserializer = ValueDeserializer::from(Spanned::new(span.clone(), DeValue::Table(table)));
    match T::deserialize(deserializer) {
        Ok(value) => Some(value),
        Err(err) => {
            let err_span = err.span().unwrap_or(span);
            let key = value_spans
                .iter()
                .find(|(_, s)| s.start <= err_span.start && err_span.end <= s.end)
                .map(|(k, _)| k.as_str());
            let message = match key {
                Some(key) => format!("{label}: {key}: {}", err.message()),
                None => format!("{label}: {}", err.message()),
            };
            ctx.error(err_span, message, None);
            None
        }
    }
}

/// The candidate closest to `word` by edit distance, if close enough to be a
/// likely typo.
fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

// Every index is bounded by the loops: `row` has `b.len() + 1` entries.
#[allow(clippy::indexing_slicing)]
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// A list of names for a help text: `` `a`, `b`, `c` ``, cut after ten.
fn list_names<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    let mut out = names
        .iter()
        .take(10)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 10 {
        out.push_str(&format!(" and {} more", names.len() - 10));
    }
    out
}

/// Checks a source id, feed name or tag; `Err` holds the help text, with a
/// corrected suggestion when one can be made.
fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if first_ok && rest_ok && name.len() <= MAX_NAME_LEN {
        return Ok(());
    }
    let suggestion = suggest_name(name);
    if suggestion.is_empty() || suggestion == name {
        Err(format!("{NAME_HELP}, at most {MAX_NAME_LEN} characters"))
    } else {
        Err(format!("write `{suggestion}` ({NAME_HELP})"))
    }
}

/// `name` lowercased, with every run of other characters replaced by one
/// `-`, without leading `-`/`_` or trailing `-`, cut to [`MAX_NAME_LEN`].
fn suggest_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            c
        } else {
            '-'
        };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let out = out.trim_start_matches(['-', '_']);
    let out: String = out.chars().take(MAX_NAME_LEN).collect();
    out.trim_end_matches('-').to_string()
}

/// Parses a `refresh` value; `Err` holds the problem (after the key name).
fn parse_schedule(value: &Scalar) -> Result<Schedule, String> {
    let text = match value {
        Scalar::Int(n) => return Err(format!("`{n}` has no unit")),
        Scalar::Str(s) => s.trim(),
    };
    if let Some(duration) = parse_duration(text) {
        if duration.is_zero() {
            return Err(format!("must be greater than zero, got `{text}`"));
        }
        if duration > MAX_DURATION {
            return Err(too_long(text));
        }
        return Ok(Schedule::Every(duration));
    }
    if !text.contains(char::is_whitespace) {
        return Err(format!(
            "`{text}` is neither an interval nor a cron expression"
        ));
    }
    let mut fields: Vec<&str> = text.split_whitespace().collect();
    match fields.len() {
        5 => fields.insert(0, "0"),
        6 => {}
        n => {
            return Err(format!(
                "cron expression `{text}` has {n} fields, \
                 expected 5 (minute first) or 6 (second first)"
            ));
        }
    }
    let normalized = fields.join(" ");
    match cron_parser().parse(&normalized) {
        Ok(_) => Ok(Schedule::Cron(normalized)),
        Err(err) => Err(format!("invalid cron expression `{text}`: {err}")),
    }
}

/// Checks a duration value; `Err` holds the problem and the help.
fn parse_duration_value(value: &Scalar) -> Result<Duration, (String, String)> {
    match value {
        Scalar::Int(n) => Err((
            format!("`{n}` has no unit"),
            format!("add a unit: \"{n}s\", \"{n}m\" or \"{n}h\""),
        )),
        Scalar::Str(s) => match parse_duration(s) {
            Some(d) if d > MAX_DURATION => Err((too_long(s), DURATION_HELP.to_string())),
            Some(d) => Ok(d),
            None => Err((
                format!("`{s}` is not a duration"),
                DURATION_HELP.to_string(),
            )),
        },
    }
}

/// The problem of a duration over [`MAX_DURATION`].
fn too_long(text: &str) -> String {
    format!(
        "`{}` is longer than 36500d (about 100 years), the longest accepted",
        text.trim()
    )
}

/// Checks an http(s) URL with a host; `Err` holds the problem (after the key
/// name) and the help.
fn check_http_url(raw: &str) -> Result<Url, (String, String)> {
    let example = "write a full address such as \"https://example.org/feed.xml\"";
    let url = match Url::parse(raw.trim()) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err((
                format!("`{raw}` is not an absolute URL"),
                format!("did you mean \"https://{}\"? {example}", raw.trim()),
            ));
        }
        Err(err) => {
            return Err((
                format!("`{raw}` is not a valid URL: {err}"),
                example.to_string(),
            ));
        }
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err((
            format!("must be http or https, got `{raw}`"),
            example.to_string(),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err((format!("has no host: `{raw}`"), example.to_string()));
    }
    Ok(url)
}

fn build(ctx: &mut Ctx<'_>) -> Option<Config> {
    // Only the first syntax error is reported: the ones after it are
    // mostly the parser's recovery tripping over the same mistake.
    let root = match DeTable::parse(ctx.text) {
        Ok(root) => root,
        Err(err) => {
            let span = err.span().unwrap_or(0..0);
            ctx.error(span, format!("invalid TOML: {}", err.message()), None);
            return None;
        }
    };

    let mut daemon_value = None;
    let mut defaults_value = None;
    let mut source_value = None;
    let mut feed_value = None;
    for (key, value) in root.into_inner() {
        match key.get_ref().as_ref() {
            "daemon" => daemon_value = Some(value),
            "defaults" => defaults_value = Some(value),
            "source" => source_value = Some(value),
            "feed" => feed_value = Some(value),
            other => {
                let tables = TOP_LEVEL.iter().map(|(_, w)| *w).collect::<Vec<_>>();
                let valid = tables.join(", ");
                let help = match nearest(other, TOP_LEVEL.iter().map(|(k, _)| *k)) {
                    Some(near) => {
                        let written = TOP_LEVEL
                            .iter()
                            .find(|(k, _)| *k == near)
                            .map_or(near, |(_, w)| *w);
                        format!("did you mean {written}? the tables are {valid}")
                    }
                    None => format!("the tables are {valid}"),
                };
                ctx.error(key.span(), format!("unknown table `{other}`"), Some(help));
            }
        }
    }

    let defaults = build_defaults(ctx, defaults_value);
    let daemon = build_daemon(ctx, daemon_value);
    let sources = build_sources(ctx, source_value, &defaults);
    let feeds = build_feeds(ctx, feed_value, &defaults, &sources);

    let built: Vec<SourceConfig> = sources.into_iter().filter_map(|s| s.built).collect();
    Some(Config {
        path: ctx.file.clone(),
        daemon: daemon?,
        defaults,
        sources: built,
        feeds,
    })
}

/// A single table (`[daemon]`, `[defaults]`) deserialized, or `None` after
/// reporting why not (an absent table is `Some(default)`).
fn take_single<T: DeserializeOwned + Default>(
    ctx: &mut Ctx<'_>,
    value: Option<Spanned<DeValue<'_>>>,
    name: &str,
) -> Option<T> {
    let Some(value) = value else {
        return Some(T::default());
    };
    let span = value.span();
    match value.into_inner() {
        DeValue::Table(table) => take_table(ctx, table, span, &format!("[{name}]"), name),
        other => {
            ctx.error(
                span,
                format!("`{name}` must be a table, got {}", other.type_str()),
                Some(format!("write it as a [{name}] table")),
            );
            None
        }
    }
}

fn build_defaults(ctx: &mut Ctx<'_>, value: Option<Spanned<DeValue<'_>>>) -> Defaults {
    let mut defaults = Defaults::default();
    let Some(raw) = take_single::<RawDefaults>(ctx, value, "defaults") else {
        return defaults;
    };
    if let Some(refresh) = raw.refresh {
        match parse_schedule(refresh.get_ref()) {
            Ok(schedule) => defaults.refresh = schedule,
            Err(problem) => ctx.error(
                refresh.span(),
                format!("defaults: refresh {problem}"),
                Some(SCHEDULE_HELP.to_string()),
            ),
        }
    }
    if let Some(min_interval) = raw.min_interval
        && let Some(d) = check_min_interval(ctx, &min_interval, "defaults")
    {
        defaults.min_interval = d;
    }
    if let Some(max_interval) = raw.max_interval
        && let Some(d) = check_max_interval(ctx, &max_interval, defaults.min_interval, "defaults")
    {
        defaults.max_interval = d;
    }
    if let Some(timeout) = raw.timeout {
        match parse_duration_value(timeout.get_ref()) {
            Ok(d) if d.is_zero() => ctx.error(
                timeout.span(),
                "defaults: timeout must be greater than zero",
                Some("write a duration such as \"30s\"".to_string()),
            ),
            Ok(d) => defaults.timeout = d,
            Err((problem, help)) => ctx.error(
                timeout.span(),
                format!("defaults: timeout {problem}"),
                Some(help),
            ),
        }
    }
    if let Some(size) = raw.max_body_bytes
        && let Some(n) = check_byte_size(ctx, &size, "defaults: max_body_bytes")
    {
        defaults.max_body_bytes = n;
    }
    if let Some(size) = raw.max_article_bytes
        && let Some(n) = check_byte_size(ctx, &size, "defaults: max_article_bytes")
    {
        defaults.max_article_bytes = n;
    }
    if let Some(allow) = raw.allow_internal {
        defaults.allow_internal = *allow.get_ref();
    }
    if let Some(limit) = raw.feed_limit
        && let Some(n) = check_limit(ctx, &limit, "defaults: feed_limit")
    {
        defaults.feed_limit = n;
    }
    if let Some(strip) = raw.strip_www {
        defaults.dedup.urls.strip_www = *strip.get_ref();
    }
    for param in raw.tracking_params.iter().flatten() {
        let name = param.get_ref().trim().to_ascii_lowercase();
        if name.is_empty() || name.contains(['&', '=', '?', '#', ' ']) {
            ctx.error(
                param.span(),
                format!(
                    "defaults: tracking_params: `{}` is not a parameter name",
                    param.get_ref()
                ),
                Some("write query parameter names such as \"from\" or \"campaign_id\"".to_string()),
            );
        } else if !defaults.dedup.urls.extra_tracking.contains(&name) {
            defaults.dedup.urls.extra_tracking.push(name);
        }
    }
    if let Some(ttl) = raw.tombstone_ttl {
        match parse_duration_value(ttl.get_ref()) {
            Ok(d) => defaults.dedup.tombstone_ttl = d,
            Err((problem, help)) => ctx.error(
                ttl.span(),
                format!("defaults: tombstone_ttl {problem}"),
                Some(help),
            ),
        }
    }
    let dedup = build_source_dedup(
        ctx,
        "defaults",
        &defaults.dedup.clone(),
        raw.max_items,
        raw.max_age,
        raw.near_duplicates,
        raw.near_duplicate_threshold,
    );
    if let Some(dedup) = dedup {
        defaults.dedup = dedup;
    }
    defaults
}

/// Checks the retention and near-duplicate keys of a `[[source]]` or of
/// `[defaults]`; `None` after reporting an error.
fn build_source_dedup(
    ctx: &mut Ctx<'_>,
    label: &str,
    defaults: &SourceDedup,
    max_items: Option<Spanned<i64>>,
    max_age: Option<Spanned<Scalar>>,
    near_duplicates: Option<Spanned<bool>>,
    threshold: Option<Spanned<f64>>,
) -> Option<SourceDedup> {
    let mut out = defaults.clone();
    let mut ok = true;
    if let Some(max) = max_items {
        match usize::try_from(*max.get_ref()) {
            Ok(n) if n >= 1 => out.max_items = Some(n),
            _ => {
                ctx.error(
                    max.span(),
                    format!(
                        "{label}: max_items must be at least 1, got {}",
                        max.get_ref()
                    ),
                    Some(
                        "write a number of items such as 500, or remove the key for no limit"
                            .to_string(),
                    ),
                );
                ok = false;
            }
        }
    }
    if let Some(age) = max_age {
        match parse_duration_value(age.get_ref()) {
            Ok(d) if d.is_zero() => {
                ctx.error(
                    age.span(),
                    format!("{label}: max_age must be greater than zero"),
                    Some(
                        "write a duration such as \"90d\", or remove the key for no limit"
                            .to_string(),
                    ),
                );
                ok = false;
            }
            Ok(d) => out.max_age = Some(d),
            Err((problem, help)) => {
                ctx.error(
                    age.span(),
                    format!("{label}: max_age {problem}"),
                    Some(help),
                );
                ok = false;
            }
        }
    }
    if let Some(t) = threshold {
        let v = *t.get_ref();
        if (0.05..=1.0).contains(&v) {
            out.near_threshold_pct = Some((v * 100.0).round() as u8);
        } else {
            ctx.error(
                t.span(),
                format!("{label}: near_duplicate_threshold must be between 0.05 and 1.0, got {v}"),
                Some(
                    "write a fraction of shared text such as 0.6 (higher merges less)".to_string(),
                ),
            );
            ok = false;
        }
    }
    match near_duplicates.map(|n| *n.get_ref()) {
        Some(false) => out.near_threshold_pct = None,
        Some(true) if out.near_threshold_pct.is_none() => {
            out.near_threshold_pct = Some(DEFAULT_NEAR_THRESHOLD_PCT)
        }
        _ => {}
    }
    ok.then_some(out)
}

fn check_min_interval(ctx: &mut Ctx<'_>, value: &Spanned<Scalar>, label: &str) -> Option<Duration> {
    match parse_duration_value(value.get_ref()) {
        Ok(d) if d < MIN_MIN_INTERVAL => {
            ctx.error(
                value.span(),
                format!(
                    "{label}: min_interval must be at least 1m, got `{}`",
                    value.get_ref()
                ),
                Some(MIN_INTERVAL_HELP.to_string()),
            );
            None
        }
        Ok(d) => Some(d),
        Err((problem, help)) => {
            ctx.error(
                value.span(),
                format!("{label}: min_interval {problem}"),
                Some(help),
            );
            None
        }
    }
}

/// A byte size greater than zero: `"10MiB"`, `"512KiB"` or an integer.
fn check_byte_size(ctx: &mut Ctx<'_>, size: &Spanned<Scalar>, label: &str) -> Option<u64> {
    let parsed = match size.get_ref() {
        Scalar::Int(n) => u64::try_from(*n).ok(),
        Scalar::Str(s) => parse_byte_size(s),
    };
    match parsed {
        Some(0) => ctx.error(
            size.span(),
            format!("{label} must be greater than zero"),
            Some(SIZE_HELP.to_string()),
        ),
        Some(n) => return Some(n),
        None => ctx.error(
            size.span(),
            format!("{label} `{}` is not a byte size", size.get_ref()),
            Some(SIZE_HELP.to_string()),
        ),
    }
    None
}

fn check_max_interval(
    ctx: &mut Ctx<'_>,
    value: &Spanned<Scalar>,
    min_interval: Duration,
    label: &str,
) -> Option<Duration> {
    match parse_duration_value(value.get_ref()) {
        Ok(d) if d < min_interval || d > MAX_MAX_INTERVAL => {
            ctx.error(
                value.span(),
                format!(
                    "{label}: max_interval must be between min_interval ({}) and 30d, got `{}`",
                    format_duration(min_interval),
                    value.get_ref()
                ),
                Some("write a duration such as \"24h\" or \"7d\"".to_string()),
            );
            None
        }
        Ok(d) => Some(d),
        Err((problem, help)) => {
            ctx.error(
                value.span(),
                format!("{label}: max_interval {problem}"),
                Some(help),
            );
            None
        }
    }
}

fn check_limit(ctx: &mut Ctx<'_>, value: &Spanned<i64>, what: &str) -> Option<usize> {
    let n = *value.get_ref();
    match usize::try_from(n) {
        Ok(n) if (1..=MAX_FEED_LIMIT).contains(&n) => Some(n),
        _ => {
            ctx.error(
                value.span(),
                format!("{what} must be between 1 and {MAX_FEED_LIMIT}, got {n}"),
                Some(format!(
                    "write a number of items from 1 to {MAX_FEED_LIMIT}, \
                     such as {DEFAULT_FEED_LIMIT}"
                )),
            );
            None
        }
    }
}

const ADMIN_LISTEN_HELP: &str = "write a loopback address and a port, such as \"127.0.0.1:8081\", \
     or \"off\"; remove the key for the default (127.0.0.1, the public port plus one)";

fn build_daemon(ctx: &mut Ctx<'_>, value: Option<Spanned<DeValue<'_>>>) -> Option<DaemonConfig> {
    let raw = take_single::<RawDaemon>(ctx, value, "daemon").unwrap_or_default();

    let mut listen = DEFAULT_LISTEN;
    if let Some(raw_listen) = &raw.listen {
        match raw_listen.get_ref().trim().parse::<SocketAddr>() {
            Ok(addr) => listen = addr,
            Err(_) => ctx.error(
                raw_listen.span(),
                format!(
                    "daemon: listen `{}` is not a socket address",
                    raw_listen.get_ref()
                ),
                Some(
                    "write an IP address and a port, such as \"127.0.0.1:8080\" or \"[::]:8080\""
                        .to_string(),
                ),
            ),
        }
    }

    let store = match &raw.store {
        Some(raw_store) if raw_store.get_ref().trim().is_empty() => {
            ctx.error(
                raw_store.span(),
                "daemon: store is empty",
                Some(format!(
                    "write a folder such as \"{DEFAULT_STORE}\", or remove the key"
                )),
            );
            resolve_path(&ctx.base, DEFAULT_STORE)
        }
        Some(raw_store) => {
            let path = resolve_path(&ctx.base, raw_store.get_ref());
            if path.exists() && !path.is_dir() {
                ctx.error(
                    raw_store.span(),
                    format!(
                        "daemon: store `{}` exists and is not a folder",
                        path.display()
                    ),
                    Some(format!(
                        "relative paths are resolved against `{}`; \
                         name a folder, or a path that does not exist yet",
                        ctx.base.display()
                    )),
                );
            }
            path
        }
        None => resolve_path(&ctx.base, DEFAULT_STORE),
    };

    let public_url = match &raw.public_url {
        Some(raw_url) => {
            let help_base =
                "write the address readers reach syndic at, such as \"https://feeds.example.org\"";
            match check_http_url(raw_url.get_ref()) {
                Ok(url) if url.query().is_some() => {
                    ctx.error(
                        raw_url.span(),
                        format!(
                            "daemon: public_url must not have a query, got `{}`",
                            raw_url.get_ref()
                        ),
                        Some(help_base.to_string()),
                    );
                    None
                }
                Ok(url) if url.fragment().is_some() => {
                    ctx.error(
                        raw_url.span(),
                        format!(
                            "daemon: public_url must not have a fragment, got `{}`",
                            raw_url.get_ref()
                        ),
                        Some(help_base.to_string()),
                    );
                    None
                }
                Ok(url) => Some(url),
                Err((problem, _)) => {
                    ctx.error(
                        raw_url.span(),
                        format!("daemon: public_url {problem}"),
                        Some(help_base.to_string()),
                    );
                    None
                }
            }
        }
        None => match Url::parse(&format!("http://{listen}")) {
            Ok(url) => Some(url),
            Err(err) => {
                let span = raw.listen.as_ref().map_or(0..0, Spanned::span);
                ctx.error(
                    span,
                    format!("daemon: cannot make a public_url from listen `{listen}`: {err}"),
                    Some("set public_url in [daemon]".to_string()),
                );
                None
            }
        },
    };

    let contact = raw.contact.as_ref().and_then(|c| {
        let text = c.get_ref().trim();
        if text.is_empty() || !text.chars().all(|ch| ch == ' ' || ch.is_ascii_graphic()) {
            ctx.error(
                c.span(),
                format!(
                    "daemon: contact `{}` cannot go into a User-Agent header",
                    c.get_ref().escape_debug()
                ),
                Some(CONTACT_HELP.to_string()),
            );
            None
        } else {
            Some(text.to_string())
        }
    });

    let log_level = raw.log_level.as_ref().and_then(|l| {
        let text = l.get_ref().trim();
        if text.is_empty() {
            ctx.error(
                l.span(),
                "daemon: log_level is empty",
                Some(
                    "write a level such as \"info\" or \"syndic=debug\", or remove the key"
                        .to_string(),
                ),
            );
            None
        } else {
            Some(text.to_string())
        }
    });

    let admin_listen = match &raw.admin_listen {
        None => AdminListen::Beside,
        Some(raw_admin) => {
            let text = raw_admin.get_ref().trim();
            if text.eq_ignore_ascii_case("off") {
                AdminListen::Off
            } else {
                match text.parse::<SocketAddr>() {
                    Ok(addr) if addr == listen && addr.port() != 0 => {
                        ctx.error(
                            raw_admin.span(),
                            format!("daemon: admin_listen `{text}` is the public listen address"),
                            Some(ADMIN_LISTEN_HELP.to_string()),
                        );
                        AdminListen::Beside
                    }
                    Ok(addr) => AdminListen::At(addr),
                    Err(_) => {
                        ctx.error(
                            raw_admin.span(),
                            format!("daemon: admin_listen `{text}` is not a socket address"),
                            Some(ADMIN_LISTEN_HELP.to_string()),
                        );
                        AdminListen::Beside
                    }
                }
            }
        }
    };

    let mut secret_params: Vec<String> = Vec::new();
    for param in raw.secret_params.iter().flatten() {
        let name = param.get_ref().trim().to_ascii_lowercase();
        if name.is_empty() || name.contains(['&', '=', '?', '#', ' ']) {
            ctx.error(
                param.span(),
                format!(
                    "daemon: secret_params: `{}` is not a parameter name",
                    param.get_ref()
                ),
                Some(
                    "write query parameter names such as \"session\" or \"private_id\"".to_string(),
                ),
            );
        } else if !secret_params.contains(&name) {
            secret_params.push(name);
        }
    }

    Some(DaemonConfig {
        listen,
        store,
        public_url: public_url?,
        contact,
        log_level,
        admin_listen,
        public_status: raw.public_status.unwrap_or(false),
        secret_params,
    })
}

/// The elements of a `[[source]]` / `[[feed]]` array, with their spans, or
/// nothing after reporting that the value is not an array of tables.
fn array_of_tables<'i>(
    ctx: &mut Ctx<'_>,
    value: Option<Spanned<DeValue<'i>>>,
    name: &str,
) -> Vec<(Range<usize>, Option<DeTable<'i>>)> {
    let Some(value) = value else {
        return Vec::new();
    };
    let span = value.span();
    match value.into_inner() {
        DeValue::Array(items) => items
            .into_iter()
            .map(|item| {
                let item_span = item.span();
                match item.into_inner() {
                    DeValue::Table(table) => (item_span, Some(table)),
                    other => {
                        ctx.error(
                            item_span.clone(),
                            format!("each `{name}` must be a table, got {}", other.type_str()),
                            Some(format!("write each one as a [[{name}]] table")),
                        );
                        (item_span, None)
                    }
                }
            })
            .collect(),
        DeValue::Table(_) => {
            ctx.error(
                span,
                format!("`{name}` must be an array of tables"),
                Some(format!(
                    "write [[{name}]] (double brackets) instead of [{name}]"
                )),
            );
            Vec::new()
        }
        other => {
            ctx.error(
                span,
                format!(
                    "`{name}` must be an array of tables, got {}",
                    other.type_str()
                ),
                Some(format!("write each one as a [[{name}]] table")),
            );
            Vec::new()
        }
    }
}

/// A `[[source]]` as far as feeds are concerned: its id and tags as written
/// (even when the table has errors, to avoid follow-on errors in feeds),
/// and the built source when it has none.
struct SourceEntry {
    id: Option<String>,
    tags: Vec<String>,
    built: Option<SourceConfig>,
}

fn build_sources(
    ctx: &mut Ctx<'_>,
    value: Option<Spanned<DeValue<'_>>>,
    defaults: &Defaults,
) -> Vec<SourceEntry> {
    let items = array_of_tables(ctx, value, "source");
    if items.is_empty() {
        let span = ctx.end_of_file();
        ctx.error(
            span,
            "no sources: there is no [[source]] table",
            Some("add a [[source]] with an id and a url (or a path)".to_string()),
        );
    }
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut entries = Vec::new();
    for (index, (span, table)) in items.into_iter().enumerate() {
        let Some(table) = table else { continue };
        let peeked_id = peek_str(&table, "id");
        let peeked_tags = peek_str_array(&table, "tags");
        let label = table_label("source", index, peeked_id.as_deref());
        let built = take_table::<RawSource>(ctx, table, span.clone(), "[[source]]", &label)
            .and_then(|raw| build_source(ctx, raw, span, &label, defaults, &mut first_line));
        entries.push(SourceEntry {
            id: peeked_id,
            tags: peeked_tags,
            built,
        });
    }
    entries
}

/// Checks a source id or feed name: characters and uniqueness. Returns
/// whether it is fine.
fn check_unique_name(
    ctx: &mut Ctx<'_>,
    name: &Spanned<String>,
    label: &str,
    what: &str,
    first_line: &mut HashMap<String, usize>,
) -> bool {
    let mut ok = true;
    if let Err(help) = check_name(name.get_ref()) {
        ctx.error(
            name.span(),
            format!("{label}: invalid {what} `{}`", name.get_ref()),
            Some(help),
        );
        ok = false;
    }
    let line = ctx.line_of(&name.span());
    if let Some(first) = first_line.get(name.get_ref()) {
        ctx.error(
            name.span(),
            format!(
                "{label}: duplicate {what} `{}`, first used at line {first}",
                name.get_ref()
            ),
            Some(format!("each {what} must be unique; rename one of them")),
        );
        ok = false;
    } else {
        first_line.insert(name.get_ref().clone(), line);
    }
    ok
}

fn build_source(
    ctx: &mut Ctx<'_>,
    raw: RawSource,
    span: Range<usize>,
    label: &str,
    defaults: &Defaults,
    first_line: &mut HashMap<String, usize>,
) -> Option<SourceConfig> {
    let mut ok = true;

    let id = match &raw.id {
        Some(id) => {
            ok &= check_unique_name(ctx, id, label, "source id", first_line);
            id.get_ref().clone()
        }
        None => {
            ctx.error(
                span.clone(),
                format!("{label}: missing `id`"),
                Some(format!("add id = \"...\" ({NAME_HELP})")),
            );
            ok = false;
            String::new()
        }
    };

    let kind = match (&raw.url, &raw.path) {
        (Some(_), Some(path)) => {
            ctx.error(
                path.span(),
                format!("{label}: both `url` and `path` are set"),
                Some(BOTH_HELP.to_string()),
            );
            None
        }
        (None, None) => {
            ctx.error(
                span,
                format!("{label}: neither `url` nor `path` is set"),
                Some(NEITHER_HELP.to_string()),
            );
            None
        }
        (Some(url), None) => match check_http_url(url.get_ref()) {
            Ok(parsed) => Some(SourceKind::Remote { url: parsed }),
            Err((problem, help)) => {
                ctx.error(url.span(), format!("{label}: url {problem}"), Some(help));
                None
            }
        },
        (None, Some(path)) => check_source_path(ctx, path, label),
    };
    ok &= kind.is_some();

    let title = match &raw.title {
        Some(title) if title.get_ref().trim().is_empty() => {
            ctx.error(
                title.span(),
                format!("{label}: title is empty"),
                Some("write a title, or remove the key to use the source's own".to_string()),
            );
            ok = false;
            None
        }
        Some(title) => Some(title.get_ref().trim().to_string()),
        None => None,
    };

    let refresh = match &raw.refresh {
        Some(refresh) => match parse_schedule(refresh.get_ref()) {
            Ok(schedule) => schedule,
            Err(problem) => {
                ctx.error(
                    refresh.span(),
                    format!("{label}: refresh {problem}"),
                    Some(SCHEDULE_HELP.to_string()),
                );
                ok = false;
                defaults.refresh.clone()
            }
        },
        None => defaults.refresh.clone(),
    };

    let min_interval = match &raw.min_interval {
        Some(value) => check_min_interval(ctx, value, label).unwrap_or_else(|| {
            ok = false;
            defaults.min_interval
        }),
        None => defaults.min_interval,
    };

    let max_interval = match &raw.max_interval {
        Some(value) => check_max_interval(ctx, value, min_interval, label).unwrap_or_else(|| {
            ok = false;
            defaults.max_interval
        }),
        None => defaults.max_interval.max(min_interval),
    };

    let mut tags: Vec<String> = Vec::new();
    for tag in raw.tags.iter().flatten() {
        if let Err(help) = check_name(tag.get_ref()) {
            ctx.error(
                tag.span(),
                format!("{label}: invalid tag `{}`", tag.get_ref()),
                Some(help),
            );
            ok = false;
        } else if !tags.contains(tag.get_ref()) {
            tags.push(tag.get_ref().clone());
        }
    }

    let dedup = build_source_dedup(
        ctx,
        label,
        &defaults.dedup,
        raw.max_items,
        raw.max_age,
        raw.near_duplicates,
        raw.near_duplicate_threshold,
    );
    ok &= dedup.is_some();

    let allow_internal = match (&raw.allow_internal, &kind) {
        (Some(allow), Some(SourceKind::Local { .. })) => {
            ctx.error(
                allow.span(),
                format!("{label}: allow_internal applies to `url` sources, not to a `path`"),
                Some("remove the key: a local folder is not fetched over the network".to_string()),
            );
            ok = false;
            false
        }
        (Some(allow), _) => *allow.get_ref(),
        (None, _) => defaults.allow_internal,
    };

    let max_article_bytes = match (&raw.max_article_bytes, &kind) {
        (Some(size), Some(SourceKind::Remote { .. })) => {
            ctx.error(
                size.span(),
                format!("{label}: max_article_bytes applies to `path` sources, not to a `url`"),
                Some("use max_body_bytes in [defaults] for fetched feeds".to_string()),
            );
            ok = false;
            defaults.max_article_bytes
        }
        (Some(size), _) => check_byte_size(ctx, size, &format!("{label}: max_article_bytes"))
            .unwrap_or_else(|| {
                ok = false;
                defaults.max_article_bytes
            }),
        (None, _) => defaults.max_article_bytes,
    };

    let kind = kind?;
    ok.then_some(SourceConfig {
        id,
        kind,
        title,
        refresh,
        min_interval,
        max_interval,
        tags,
        dedup: dedup.unwrap_or_default(),
        allow_internal,
        max_article_bytes,
    })
}

fn check_source_path(ctx: &mut Ctx<'_>, path: &Spanned<String>, label: &str) -> Option<SourceKind> {
    if path.get_ref().trim().is_empty() {
        ctx.error(
            path.span(),
            format!("{label}: path is empty"),
            Some("write the folder to read, such as \"notes\"".to_string()),
        );
        return None;
    }
    let resolved = resolve_path(&ctx.base, path.get_ref());
    let help = Some(format!(
        "relative paths are resolved against the config file's folder `{}`; \
         create the folder or fix the path",
        ctx.base.display()
    ));
    match std::fs::metadata(&resolved) {
        Ok(meta) if meta.is_dir() => Some(SourceKind::Local { path: resolved }),
        Ok(_) => {
            ctx.error(
                path.span(),
                format!("{label}: path `{}` is not a directory", resolved.display()),
                help,
            );
            None
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            ctx.error(
                path.span(),
                format!("{label}: path `{}` does not exist", resolved.display()),
                help,
            );
            None
        }
        Err(err) => {
            ctx.error(
                path.span(),
                format!("{label}: cannot read path `{}`: {err}", resolved.display()),
                help,
            );
            None
        }
    }
}

fn build_feeds(
    ctx: &mut Ctx<'_>,
    value: Option<Spanned<DeValue<'_>>>,
    defaults: &Defaults,
    sources: &[SourceEntry],
) -> Vec<FeedConfig> {
    let items = array_of_tables(ctx, value, "feed");
    if items.is_empty() {
        let span = ctx.end_of_file();
        ctx.error(
            span,
            "nothing to publish: there is no [[feed]] table",
            Some("add a [[feed]] with a name, a title and include = [\"*\"]".to_string()),
        );
    }
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut feeds = Vec::new();
    for (index, (span, table)) in items.into_iter().enumerate() {
        let Some(table) = table else { continue };
        let label = table_label("feed", index, peek_str(&table, "name").as_deref());
        if let Some(feed) = take_table::<RawFeed>(ctx, table, span.clone(), "[[feed]]", &label)
            .and_then(|raw| build_feed(ctx, raw, span, &label, defaults, sources, &mut first_line))
        {
            feeds.push(feed);
        }
    }
    feeds
}

fn build_feed(
    ctx: &mut Ctx<'_>,
    raw: RawFeed,
    span: Range<usize>,
    label: &str,
    defaults: &Defaults,
    sources: &[SourceEntry],
    first_line: &mut HashMap<String, usize>,
) -> Option<FeedConfig> {
    let mut ok = true;

    let name = match &raw.name {
        Some(name) => {
            ok &= check_unique_name(ctx, name, label, "feed name", first_line);
            name.get_ref().clone()
        }
        None => {
            ctx.error(
                span.clone(),
                format!("{label}: missing `name`"),
                Some(format!(
                    "add name = \"...\"; the feed is served at /feeds/{{name}}.rss ({NAME_HELP})"
                )),
            );
            ok = false;
            String::new()
        }
    };

    let title = match &raw.title {
        Some(title) if title.get_ref().trim().is_empty() => {
            ctx.error(
                title.span(),
                format!("{label}: title is empty"),
                Some("write the feed's title".to_string()),
            );
            ok = false;
            String::new()
        }
        Some(title) => title.get_ref().trim().to_string(),
        None => {
            ctx.error(
                span.clone(),
                format!("{label}: missing `title`"),
                Some("add title = \"...\"".to_string()),
            );
            ok = false;
            String::new()
        }
    };

    let description = match &raw.description {
        Some(d) if d.get_ref().trim().is_empty() => {
            ctx.error(
                d.span(),
                format!("{label}: description is empty"),
                Some("write a description, or remove the key to use the title".to_string()),
            );
            ok = false;
            String::new()
        }
        Some(d) => d.get_ref().trim().to_string(),
        None => title.clone(),
    };

    let limit = match &raw.limit {
        Some(limit) => check_limit(ctx, limit, &format!("{label}: limit")).unwrap_or_else(|| {
            ok = false;
            defaults.feed_limit
        }),
        None => defaults.feed_limit,
    };

    let refresh = match &raw.refresh {
        Some(refresh) => match parse_schedule(refresh.get_ref()) {
            Ok(schedule) => Some(schedule),
            Err(problem) => {
                ctx.error(
                    refresh.span(),
                    format!("{label}: refresh {problem}"),
                    Some(format!(
                        "{SCHEDULE_HELP}, or remove the key to publish every change at once"
                    )),
                );
                ok = false;
                None
            }
        },
        None => None,
    };

    let podcast = podcast::build(ctx, &raw, span.clone(), label, &mut ok);
    let (include, resolved) = resolve_include(ctx, &raw, span.clone(), label, sources, &mut ok);
    let options = build_feed_options(ctx, &raw, span, label, sources, &resolved, &mut ok);

    ok.then_some(FeedConfig {
        name,
        title,
        description,
        include,
        sources: resolved
            .into_iter()
            .filter(|id| !options.excluded.contains(id))
            .collect(),
        limit,
        link: options.link,
        language: options.language,
        author: options.author,
        image: options.image,
        icon: options.icon,
        exclude: options.exclude,
        include_keywords: options.include_keywords,
        exclude_keywords: options.exclude_keywords,
        formats: options.formats,
        hubs: options.hubs,
        archive: raw.archive.unwrap_or(true),
        refresh,
        podcast,
    })
}

/// The optional presentation and filtering keys of a `[[feed]]`, checked.
#[derive(Default)]
struct FeedOptions {
    link: Option<Url>,
    language: Option<String>,
    author: Option<String>,
    image: Option<Url>,
    icon: Option<Url>,
    exclude: Vec<String>,
    excluded: HashSet<String>,
    include_keywords: Vec<String>,
    exclude_keywords: Vec<String>,
    formats: Vec<String>,
    hubs: Vec<Url>,
}

/// Checks a language tag: 2-3 letters, then `-` separated subtags of 1-8
/// letters or digits.
fn check_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn build_feed_options(
    ctx: &mut Ctx<'_>,
    raw: &RawFeed,
    span: Range<usize>,
    label: &str,
    sources: &[SourceEntry],
    included: &[String],
    ok: &mut bool,
) -> FeedOptions {
    let mut out = FeedOptions::default();
    let mut url_option = |ctx: &mut Ctx<'_>, value: &Option<Spanned<String>>, key: &str| {
        let value = value.as_ref()?;
        match check_http_url(value.get_ref()) {
            Ok(url) => Some(url),
            Err((problem, help)) => {
                ctx.error(
                    value.span(),
                    format!("{label}: {key} {problem}"),
                    Some(help),
                );
                *ok = false;
                None
            }
        }
    };
    out.link = url_option(ctx, &raw.link, "link");
    out.image = url_option(ctx, &raw.image, "image");
    out.icon = url_option(ctx, &raw.icon, "icon");

    if let Some(language) = &raw.language {
        let tag = language.get_ref().trim();
        if check_language(tag) {
            out.language = Some(tag.to_string());
        } else {
            ctx.error(
                language.span(),
                format!("{label}: language `{tag}` is not a language tag"),
                Some("write a language tag such as \"en\", \"fr\" or \"pt-BR\"".to_string()),
            );
            *ok = false;
        }
    }

    if let Some(author) = &raw.author {
        if author.get_ref().trim().is_empty() {
            ctx.error(
                author.span(),
                format!("{label}: author is empty"),
                Some("write the author's name, or remove the key".to_string()),
            );
            *ok = false;
        } else {
            out.author = Some(author.get_ref().trim().to_string());
        }
    }

    if let Some(exclude) = &raw.exclude {
        for entry in exclude.get_ref() {
            let text = entry.get_ref().as_str();
            let matched: Vec<&str> = sources
                .iter()
                .filter(|s| match text.strip_prefix("tag:") {
                    Some(tag) => s.tags.iter().any(|t| t == tag),
                    None => s.id.as_deref() == Some(text),
                })
                .filter_map(|s| s.id.as_deref())
                .collect();
            if matched.is_empty() {
                ctx.error(
                    entry.span(),
                    format!("{label}: exclude `{text}` matches no source"),
                    Some("write source ids or \"tag:NAME\" of sources that exist".to_string()),
                );
                *ok = false;
            }
            out.excluded.extend(matched.into_iter().map(str::to_string));
            out.exclude.push(text.to_string());
        }
        if *ok && !included.is_empty() && included.iter().all(|id| out.excluded.contains(id)) {
            ctx.error(
                exclude.span(),
                format!("{label}: includes nothing: `exclude` removes every included source"),
                Some("exclude fewer sources, or include more".to_string()),
            );
            *ok = false;
        }
    }

    let mut keywords = |ctx: &mut Ctx<'_>, list: &Option<Vec<Spanned<String>>>, key: &str| {
        let mut words = Vec::new();
        for word in list.iter().flatten() {
            let w = word.get_ref().trim();
            if w.is_empty() {
                ctx.error(
                    word.span(),
                    format!("{label}: {key} has an empty keyword"),
                    Some(
                        "remove the empty string; keywords match title or content, ignoring case"
                            .to_string(),
                    ),
                );
                *ok = false;
            } else if !words.iter().any(|x: &String| x == w) {
                words.push(w.to_string());
            }
        }
        words
    };
    out.include_keywords = keywords(ctx, &raw.include_keywords, "include_keywords");
    out.exclude_keywords = keywords(ctx, &raw.exclude_keywords, "exclude_keywords");

    out.formats = match &raw.formats {
        None => FEED_FORMATS.iter().map(|f| f.to_string()).collect(),
        Some(formats) => {
            let mut bad = false;
            for f in formats.get_ref() {
                if !FEED_FORMATS.contains(&f.get_ref().as_str()) {
                    ctx.error(
                        f.span(),
                        format!("{label}: unknown format `{}`", f.get_ref()),
                        Some("the formats are \"rss\", \"atom\" and \"json\"".to_string()),
                    );
                    bad = true;
                }
            }
            let list: Vec<String> = FEED_FORMATS
                .iter()
                .filter(|known| formats.get_ref().iter().any(|f| f.get_ref() == *known))
                .map(|f| f.to_string())
                .collect();
            if list.is_empty() && !bad {
                ctx.error(
                    formats.span(),
                    format!("{label}: formats is empty"),
                    Some("offer at least one of \"rss\", \"atom\", \"json\", or remove the key for all three".to_string()),
                );
                bad = true;
            }
            *ok &= !bad;
            list
        }
    };

    if let Some(hub) = &raw.hub {
        for url in &hub.get_ref().0 {
            let at = hub.span();
            match check_http_url(url) {
                Ok(parsed) => {
                    if !out.hubs.contains(&parsed) {
                        out.hubs.push(parsed);
                    }
                }
                Err((problem, help)) => {
                    ctx.error(at, format!("{label}: hub {problem}"), Some(help));
                    *ok = false;
                }
            }
        }
    }
    let _ = span;
    out
}

/// Resolves a feed's `include` to source ids, in config order, reporting
/// unknown entries and an include that matches nothing.
fn resolve_include(
    ctx: &mut Ctx<'_>,
    raw: &RawFeed,
    span: Range<usize>,
    label: &str,
    sources: &[SourceEntry],
    ok: &mut bool,
) -> (Vec<String>, Vec<String>) {
    let include_help = INCLUDE_HELP;
    let Some(include) = &raw.include else {
        ctx.error(
            span,
            format!("{label}: includes nothing: `include` is missing"),
            Some(include_help.to_string()),
        );
        *ok = false;
        return (Vec::new(), Vec::new());
    };

    let mut ids: Vec<&str> = Vec::new();
    for id in sources.iter().filter_map(|s| s.id.as_deref()) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let mut tags: Vec<&str> = Vec::new();
    for tag in sources.iter().flat_map(|s| &s.tags) {
        if !tags.contains(&tag.as_str()) {
            tags.push(tag);
        }
    }

    let mut all = false;
    let mut wanted_tags: HashSet<&str> = HashSet::new();
    let mut wanted_ids: HashSet<&str> = HashSet::new();
    let mut entry_errors = false;
    for entry in include.get_ref() {
        let text = entry.get_ref().as_str();
        if text == "*" {
            all = true;
        } else if let Some(tag) = text.strip_prefix("tag:") {
            if tags.contains(&tag) {
                wanted_tags.insert(tag);
            } else {
                let help = if tags.is_empty() {
                    "no source has tags; add tags = [\"NAME\"] to a [[source]]".to_string()
                } else {
                    match nearest(tag, tags.iter().copied()) {
                        Some(near) => format!(
                            "did you mean \"tag:{near}\"? the tags are {}",
                            list_names(tags.iter().copied())
                        ),
                        None => format!("the tags are {}", list_names(tags.iter().copied())),
                    }
                };
                ctx.error(
                    entry.span(),
                    format!("{label}: include `{text}`: no source has tag `{tag}`"),
                    Some(help),
                );
                entry_errors = true;
            }
        } else if ids.contains(&text) {
            wanted_ids.insert(text);
        } else {
            let help = if ids.is_empty() {
                "there are no sources; add a [[source]] first".to_string()
            } else {
                match nearest(text, ids.iter().copied()) {
                    Some(near) => format!(
                        "did you mean \"{near}\"? the source ids are {}",
                        list_names(ids.iter().copied())
                    ),
                    None => format!(
                        "the source ids are {}; or {include_help}",
                        list_names(ids.iter().copied())
                    ),
                }
            };
            ctx.error(
                entry.span(),
                format!("{label}: include `{text}` is not a source id"),
                Some(help),
            );
            entry_errors = true;
        }
    }

    let mut resolved: Vec<String> = Vec::new();
    for source in sources {
        let Some(id) = source.id.as_deref() else {
            continue;
        };
        let matched = all
            || wanted_ids.contains(id)
            || source.tags.iter().any(|t| wanted_tags.contains(t.as_str()));
        if matched && !resolved.iter().any(|r| r == id) {
            resolved.push(id.to_string());
        }
    }

    if entry_errors {
        *ok = false;
    } else if resolved.is_empty() {
        let problem = if include.get_ref().is_empty() {
            "`include` is empty"
        } else {
            "it matches no source"
        };
        ctx.error(
            include.span(),
            format!("{label}: includes nothing: {problem}"),
            Some(include_help.to_string()),
        );
        *ok = false;
    }

    let written = include
        .get_ref()
        .iter()
        .map(|e| e.get_ref().clone())
        .collect();
    (written, resolved)
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "feeds.toml";

    fn parse(text: &str) -> Result<Config, ConfigErrors> {
        Config::parse(text, Path::new(FILE))
    }

    fn errors(text: &str) -> Vec<ConfigError> {
        match parse(text) {
            Ok(config) => panic!("expected errors, got {config:#?}"),
            Err(errors) => errors.0,
        }
    }

    /// The only error of `text`.
    fn one_error(text: &str) -> ConfigError {
        let errs = errors(text);
        assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
        errs.into_iter().next().unwrap()
    }

    /// The error at `line`:`column`.
    fn error_at(errs: &[ConfigError], line: usize, column: usize) -> &ConfigError {
        errs.iter()
            .find(|e| e.line == line && e.column == column)
            .unwrap_or_else(|| panic!("no error at {line}:{column} in {errs:#?}"))
    }

    fn help(err: &ConfigError) -> &str {
        err.help
            .as_deref()
            .unwrap_or_else(|| panic!("no help in {err:#?}"))
    }

    const MINIMAL: &str = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a.xml\"\n\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";

    fn with_minimal(prefix: &str) -> String {
        format!("{prefix}\n{MINIMAL}")
    }

    #[test]
    fn full_config_round_trips_to_typed_values() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("notes")).unwrap();
        let local_abs = tempfile::tempdir().unwrap();
        let text = format!(
            r#"
[daemon]
listen = "0.0.0.0:9000"
store = "data/store"
public_url = "https://feeds.example.org/syndic/"
contact = "mailto:admin@example.org"
log_level = "syndic=debug"

[defaults]
refresh = "1h30m"
min_interval = "2h"
timeout = "45s"
max_body_bytes = "512KiB"
feed_limit = 20

[[source]]
id = "lwn"
url = "https://lwn.net/headlines/rss"
title = "LWN"
refresh = "*/15 * * * *"
min_interval = "5m"
tags = ["linux", "news", "linux"]

[[source]]
id = "notes"
path = "./notes"
tags = ["mine"]

[[source]]
id = "abs_dir"
path = "{abs}"
refresh = "0 0 6 * * *"

[[feed]]
name = "linux"
title = "Linux"
description = "Linux news"
include = ["tag:linux", "notes", "lwn"]
limit = 100

[[feed]]
name = "everything"
title = "Everything"
include = ["*"]
"#,
            abs = local_abs.path().display()
        );
        let file = dir.path().join("feeds.toml");
        let config = Config::parse(&text, &file).unwrap();

        assert_eq!(config.path, file);
        assert_eq!(
            config.daemon,
            DaemonConfig {
                listen: "0.0.0.0:9000".parse().unwrap(),
                store: dir.path().join("data").join("store"),
                public_url: Url::parse("https://feeds.example.org/syndic/").unwrap(),
                contact: Some("mailto:admin@example.org".to_string()),
                log_level: Some("syndic=debug".to_string()),
                admin_listen: AdminListen::Beside,
                public_status: false,
                secret_params: Vec::new(),
            }
        );
        assert_eq!(
            config.daemon.public_base(),
            "https://feeds.example.org/syndic"
        );
        assert_eq!(
            config.defaults,
            Defaults {
                refresh: Schedule::Every(Duration::from_secs(5400)),
                min_interval: Duration::from_secs(7200),
                max_interval: DEFAULT_MAX_INTERVAL,
                timeout: Duration::from_secs(45),
                max_body_bytes: 512 * 1024,
                max_article_bytes: DEFAULT_MAX_ARTICLE_BYTES,
                allow_internal: false,
                feed_limit: 20,
                dedup: SourceDedup::default(),
            }
        );
        assert_eq!(
            config.sources,
            vec![
                SourceConfig {
                    id: "lwn".to_string(),
                    kind: SourceKind::Remote {
                        url: Url::parse("https://lwn.net/headlines/rss").unwrap()
                    },
                    title: Some("LWN".to_string()),
                    refresh: Schedule::Cron("0 */15 * * * *".to_string()),
                    min_interval: Duration::from_secs(300),
                    max_interval: DEFAULT_MAX_INTERVAL,
                    tags: vec!["linux".to_string(), "news".to_string()],
                    dedup: SourceDedup::default(),
                    allow_internal: false,
                    max_article_bytes: DEFAULT_MAX_ARTICLE_BYTES,
                },
                SourceConfig {
                    id: "notes".to_string(),
                    kind: SourceKind::Local {
                        path: dir.path().join("notes")
                    },
                    title: None,
                    refresh: Schedule::Every(Duration::from_secs(5400)),
                    min_interval: Duration::from_secs(7200),
                    max_interval: DEFAULT_MAX_INTERVAL,
                    tags: vec!["mine".to_string()],
                    dedup: SourceDedup::default(),
                    allow_internal: false,
                    max_article_bytes: DEFAULT_MAX_ARTICLE_BYTES,
                },
                SourceConfig {
                    id: "abs_dir".to_string(),
                    kind: SourceKind::Local {
                        path: local_abs.path().to_path_buf()
                    },
                    title: None,
                    refresh: Schedule::Cron("0 0 6 * * *".to_string()),
                    min_interval: Duration::from_secs(7200),
                    max_interval: DEFAULT_MAX_INTERVAL,
                    tags: vec![],
                    dedup: SourceDedup::default(),
                    allow_internal: false,
                    max_article_bytes: DEFAULT_MAX_ARTICLE_BYTES,
                },
            ]
        );
        assert_eq!(
            config.feeds,
            vec![
                FeedConfig {
                    name: "linux".to_string(),
                    title: "Linux".to_string(),
                    description: "Linux news".to_string(),
                    include: vec!["tag:linux".into(), "notes".into(), "lwn".into()],
                    // config order, deduplicated (lwn matched twice)
                    sources: vec!["lwn".to_string(), "notes".to_string()],
                    limit: 100,
                    ..FeedConfig::new("linux", "Linux", vec![], 100)
                },
                FeedConfig {
                    name: "everything".to_string(),
                    title: "Everything".to_string(),
                    description: "Everything".to_string(),
                    include: vec!["*".into()],
                    sources: vec!["lwn".into(), "notes".into(), "abs_dir".into()],
                    limit: 20,
                    ..FeedConfig::new("everything", "Everything", vec![], 20)
                },
            ]
        );
        assert_eq!(config.source("notes"), Some(&config.sources[1]));
        assert_eq!(config.source("nope"), None);
        assert_eq!(config.feed("everything"), Some(&config.feeds[1]));
        assert_eq!(config.feed("nope"), None);
        assert!(config.sources[0].refresh.cron().is_some());
        assert!(config.sources[1].refresh.cron().is_none());
    }

    #[test]
    fn missing_daemon_and_defaults_tables_mean_all_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("feeds.toml");
        let config = Config::parse(MINIMAL, &file).unwrap();
        assert_eq!(config.daemon.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.daemon.store, dir.path().join("store"));
        assert_eq!(config.daemon.public_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(config.daemon.public_base(), "http://127.0.0.1:8080");
        assert_eq!(config.daemon.contact, None);
        assert_eq!(config.daemon.log_level, None);
        assert_eq!(config.defaults, Defaults::default());
        assert_eq!(
            config.defaults.refresh,
            Schedule::Every(Duration::from_secs(30 * 60))
        );
        assert_eq!(config.defaults.min_interval, Duration::from_secs(3600));
        assert_eq!(config.defaults.timeout, Duration::from_secs(30));
        assert_eq!(config.defaults.max_body_bytes, 10 * 1024 * 1024);
        assert_eq!(config.defaults.feed_limit, 50);
        let source = &config.sources[0];
        assert_eq!(source.refresh, config.defaults.refresh);
        assert_eq!(source.min_interval, config.defaults.min_interval);
        assert_eq!(source.title, None);
        assert!(source.tags.is_empty());
        let feed = &config.feeds[0];
        assert_eq!(feed.limit, 50);
        assert_eq!(feed.description, "All");
        assert_eq!(feed.sources, vec!["a".to_string()]);
    }

    #[test]
    fn default_public_url_follows_listen() {
        let config = parse(&with_minimal("[daemon]\nlisten = \"[::1]:9999\"")).unwrap();
        assert_eq!(config.daemon.public_base(), "http://[::1]:9999");
        let config = parse(&with_minimal("[daemon]\nlisten = \"0.0.0.0:80\"")).unwrap();
        assert_eq!(config.daemon.public_base(), "http://0.0.0.0");
    }

    #[test]
    fn relative_store_resolves_against_config_folder_and_absolute_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("conf").join("feeds.toml");
        let text = with_minimal("[daemon]\nstore = \"../var/syndic\"");
        let config = Config::parse(&text, &file).unwrap();
        assert_eq!(
            config.daemon.store,
            dir.path()
                .join("conf")
                .join("..")
                .join("var")
                .join("syndic")
        );
        let text = with_minimal("[daemon]\nstore = \"/var/lib/syndic\"");
        let config = Config::parse(&text, &file).unwrap();
        assert_eq!(config.daemon.store, PathBuf::from("/var/lib/syndic"));
    }

    #[test]
    fn store_that_is_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("afile"), "x").unwrap();
        let file = dir.path().join("feeds.toml");
        let text = with_minimal("[daemon]\nstore = \"afile\"");
        let errs = Config::parse(&text, &file).unwrap_err().0;
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!((errs[0].line, errs[0].column), (2, 9));
        assert!(errs[0].message.contains("store"), "{}", errs[0].message);
        assert!(
            errs[0]
                .message
                .contains(&dir.path().join("afile").display().to_string()),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn unknown_key_in_source_is_reported_at_the_key_with_valid_keys() {
        let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\n  refrsh = \"1h\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\n";
        let err = one_error(text);
        assert_eq!((err.line, err.column), (4, 3));
        assert_eq!(err.file, PathBuf::from(FILE));
        assert_eq!(err.message, "source `a`: unknown key `refrsh`");
        let help = help(&err);
        assert!(help.contains("did you mean `refresh`?"), "{help}");
        for key in [
            "id",
            "url",
            "path",
            "title",
            "refresh",
            "min_interval",
            "tags",
        ] {
            assert!(help.contains(&format!("`{key}`")), "{help} lacks {key}");
        }
    }

    #[test]
    fn unknown_keys_in_every_table_are_all_reported() {
        let text = "[daemon]\nlisten = \"127.0.0.1:1\"\nport = 80\n\n[defaults]\nrefresh_every = \"1h\"\n\n[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\nlimt = 5\ncolour = \"red\"\n";
        let errs = errors(text);
        assert_eq!(errs.len(), 4, "{errs:#?}");
        let port = error_at(&errs, 3, 1);
        assert_eq!(port.message, "daemon: unknown key `port`");
        let h = help(port);
        for key in [
            "listen",
            "store",
            "public_url",
            "contact",
            "log_level",
            "admin_listen",
            "public_status",
            "secret_params",
        ] {
            assert!(h.contains(&format!("`{key}`")), "{h}");
        }
        assert!(h.contains("[daemon]"), "{h}");
        let refresh_every = error_at(&errs, 6, 1);
        assert_eq!(
            refresh_every.message,
            "defaults: unknown key `refresh_every`"
        );
        let h = help(refresh_every);
        for key in [
            "refresh",
            "min_interval",
            "timeout",
            "max_body_bytes",
            "feed_limit",
        ] {
            assert!(h.contains(&format!("`{key}`")), "{h}");
        }
        let limt = error_at(&errs, 16, 1);
        assert_eq!(limt.message, "feed `f`: unknown key `limt`");
        assert!(help(limt).contains("did you mean `limit`?"));
        let colour = error_at(&errs, 17, 1);
        assert_eq!(colour.message, "feed `f`: unknown key `colour`");
        let h = help(colour);
        assert!(!h.contains("did you mean"), "{h}");
        for key in ["name", "title", "description", "include", "limit"] {
            assert!(h.contains(&format!("`{key}`")), "{h}");
        }
    }

    #[test]
    fn unknown_key_does_not_hide_other_errors_in_the_same_table() {
        let text = "[[source]]\nid = \"a\"\nurl = \"ftp://example.org/\"\nbogus = 1\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\n";
        let errs = errors(text);
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert_eq!(errs[0].line, 3);
        assert!(errs[0].message.contains("url must be http or https"));
        assert_eq!(errs[1].line, 4);
        assert!(errs[1].message.contains("unknown key `bogus`"));
    }

    #[test]
    fn unknown_top_level_table_is_an_error() {
        let err = one_error(&with_minimal("[deamon]\nlisten = \"127.0.0.1:80\""));
        assert_eq!((err.line, err.column), (1, 2));
        assert_eq!(err.message, "unknown table `deamon`");
        let h = help(&err);
        assert!(h.contains("did you mean [daemon]?"), "{h}");
        assert!(h.contains("[[source]]") && h.contains("[[feed]]") && h.contains("[defaults]"));

        let err = one_error(&with_minimal("title = \"x\""));
        assert_eq!((err.line, err.column), (1, 1));
        assert_eq!(err.message, "unknown table `title`");
    }

    #[test]
    fn table_written_with_single_brackets_or_as_value_is_an_error() {
        let text = "[source]\nid = \"a\"\nurl = \"https://example.org/\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
        let errs = errors(text);
        let err = error_at(&errs, 1, 1);
        assert!(
            err.message.contains("`source` must be an array of tables"),
            "{}",
            err.message
        );
        assert!(help(err).contains("[[source]]"));

        let err = one_error(&with_minimal("daemon = 5"));
        assert_eq!((err.line, err.column), (1, 10));
        assert!(
            err.message.contains("`daemon` must be a table"),
            "{}",
            err.message
        );
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = errors("[daemon]\nlisten = \"127.0.0.1:80\nstore = 1\n")[0].clone();
        assert_eq!(err.line, 2);
        assert!(err.message.starts_with("invalid TOML:"), "{}", err.message);

        let err = one_error("[[source]]\nid = \"a\"\nid = \"b\"\n");
        assert_eq!((err.line, err.column), (3, 1));
        assert!(err.message.contains("duplicate key"), "{}", err.message);
    }

    #[test]
    fn type_errors_name_the_table_and_key() {
        let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\ntitle = 42\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = \"a\"\n";
        let errs = errors(text);
        assert_eq!(errs.len(), 2, "{errs:#?}");
        let title = error_at(&errs, 4, 9);
        assert!(
            title.message.starts_with("source `a`: title: invalid type"),
            "{}",
            title.message
        );
        let include = error_at(&errs, 9, 11);
        assert!(
            include
                .message
                .starts_with("feed `f`: include: invalid type"),
            "{}",
            include.message
        );
    }

    #[test]
    fn message_and_display_format() {
        let text = "[[source]]\nid = \"x\"\n  url =  \"ftp://x\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"x\"]\n";
        let err = one_error(text);
        assert_eq!((err.line, err.column), (3, 10));
        assert_eq!(
            err.message,
            "source `x`: url must be http or https, got `ftp://x`"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "feeds.toml:3:10: source `x`: url must be http or https, got `ftp://x`\n  help: {}",
                help(&err)
            )
        );
        let no_help = ConfigError {
            file: PathBuf::from("a.toml"),
            line: 1,
            column: 2,
            message: "m".to_string(),
            help: None,
        };
        assert_eq!(no_help.to_string(), "a.toml:1:2: m");
        let both = ConfigErrors(vec![err.clone(), no_help]);
        assert_eq!(both.to_string(), format!("{err}\na.toml:1:2: m"));
        assert_eq!(both.len(), 2);
        assert_eq!(both.iter().count(), 2);
    }

    #[test]
    fn url_must_parse_and_have_a_host() {
        let text = "[[source]]\nid = \"a\"\nurl = \"example.org/feed\"\n[[source]]\nid = \"b\"\nurl = \"http://exa mple.org\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
        let errs = errors(text);
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert_eq!((errs[0].line, errs[0].column), (3, 7));
        assert_eq!(
            errs[0].message,
            "source `a`: url `example.org/feed` is not an absolute URL"
        );
        assert!(help(&errs[0]).contains("https://example.org/feed"));
        assert_eq!((errs[1].line, errs[1].column), (6, 7));
        assert!(
            errs[1]
                .message
                .starts_with("source `b`: url `http://exa mple.org` is not a valid URL"),
            "{}",
            errs[1].message
        );
    }

    #[test]
    fn path_source_must_be_an_existing_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file.txt"), "x").unwrap();
        let file = dir.path().join("feeds.toml");
        let text = "[[source]]\nid = \"missing\"\npath = \"nope\"\n[[source]]\nid = \"file\"\npath = \"file.txt\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
        let errs = Config::parse(text, &file).unwrap_err().0;
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert_eq!((errs[0].line, errs[0].column), (3, 8));
        assert_eq!(
            errs[0].message,
            format!(
                "source `missing`: path `{}` does not exist",
                dir.path().join("nope").display()
            )
        );
        assert!(help(&errs[0]).contains(&dir.path().display().to_string()));
        assert_eq!((errs[1].line, errs[1].column), (6, 8));
        assert_eq!(
            errs[1].message,
            format!(
                "source `file`: path `{}` is not a directory",
                dir.path().join("file.txt").display()
            )
        );
    }

    #[test]
    fn url_and_path_exactly_one() {
        let text = "[[source]]\nid = \"both\"\nurl = \"https://example.org/\"\npath = \".\"\n[[source]]\nid = \"neither\"\ntitle = \"N\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
        let errs = errors(text);
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert_eq!((errs[0].line, errs[0].column), (4, 8));
        assert_eq!(
            errs[0].message,
            "source `both`: both `url` and `path` are set"
        );
        assert_eq!((errs[1].line, errs[1].column), (5, 1));
        assert_eq!(
            errs[1].message,
            "source `neither`: neither `url` nor `path` is set"
        );
    }

    #[test]
    fn refresh_accepts_intervals_and_cron_and_rejects_the_rest() {
        let cases: [(&str, Schedule); 4] = [
            ("\"2h\"", Schedule::Every(Duration::from_secs(7200))),
            ("\"*/30 * * * *\"", Schedule::Cron("0 */30 * * * *".into())),
            (
                "\"  15   0 * * * MON-FRI \"",
                Schedule::Cron("15 0 * * * MON-FRI".into()),
            ),
            ("\"1h 30m\"", Schedule::Every(Duration::from_secs(5400))),
        ];
        for (written, expected) in cases {
            let text = with_minimal(&format!("[defaults]\nrefresh = {written}"));
            let config = parse(&text).unwrap();
            assert_eq!(config.defaults.refresh, expected, "{written}");
            assert_eq!(config.sources[0].refresh, expected, "{written}");
        }

        let bad = [
            ("\"0m\"", "defaults: refresh must be greater than zero"),
            (
                "\"often\"",
                "defaults: refresh `often` is neither an interval nor a cron expression",
            ),
            (
                "\"61 * * * *\"",
                "defaults: refresh invalid cron expression `61 * * * *`",
            ),
            (
                "\"* * * *\"",
                "defaults: refresh cron expression `* * * *` has 4 fields",
            ),
            ("\"0 0 0 1 1 * 2030\"", "has 7 fields"),
            ("30", "defaults: refresh `30` has no unit"),
        ];
        for (written, message) in bad {
            let err = one_error(&with_minimal(&format!("[defaults]\nrefresh = {written}")));
            assert_eq!((err.line, err.column), (2, 11), "{written}");
            assert!(err.message.contains(message), "{written}: {}", err.message);
            assert_eq!(help(&err), SCHEDULE_HELP);
            assert!(help(&err).contains("\"0 */30 * * * *\""));
        }
    }

    #[test]
    fn bad_source_refresh_is_reported_at_the_value() {
        let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\nrefresh = \"* * * * 9\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\n";
        let err = one_error(text);
        assert_eq!((err.line, err.column), (4, 11));
        assert!(
            err.message
                .starts_with("source `a`: refresh invalid cron expression `* * * * 9`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn duplicate_source_ids_and_feed_names_point_at_the_second() {
        let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/1\"\n\n[[source]]\nid = \"a\"\nurl = \"https://example.org/2\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\n\n[[feed]]\nname = \"f\"\ntitle = \"G\"\ninclude = [\"*\"]\n";
        let errs = errors(text);
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert_eq!((errs[0].line, errs[0].column), (6, 6));
        assert_eq!(
            errs[0].message,
            "source `a`: duplicate source id `a`, first used at line 2"
        );
        assert_eq!((errs[1].line, errs[1].column), (15, 8));
        assert_eq!(
            errs[1].message,
            "feed `f`: duplicate feed name `f`, first used at line 10"
        );
    }

    #[test]
    fn bad_ids_and_names_get_a_suggestion() {
        let long = "a".repeat(65);
        let text = format!(
            "[[source]]\nid = \"My Blog!\"\nurl = \"https://example.org/\"\ntags = [\"Rust Lang\"]\n[[source]]\nid = \"{long}\"\nurl = \"https://example.org/\"\n[[source]]\nid = \"\"\nurl = \"https://example.org/\"\n[[feed]]\nname = \"_Weekly.Digest\"\ntitle = \"W\"\ninclude = [\"*\"]\n"
        );
        let errs = errors(&text);
        assert_eq!(errs.len(), 5, "{errs:#?}");
        assert_eq!((errs[0].line, errs[0].column), (2, 6));
        assert_eq!(
            errs[0].message,
            "source `My Blog!`: invalid source id `My Blog!`"
        );
        assert!(
            help(&errs[0]).starts_with("write `my-blog`"),
            "{}",
            help(&errs[0])
        );
        assert_eq!((errs[1].line, errs[1].column), (4, 9));
        assert_eq!(
            errs[1].message,
            "source `My Blog!`: invalid tag `Rust Lang`"
        );
        assert!(help(&errs[1]).starts_with("write `rust-lang`"));
        assert_eq!(errs[2].line, 6);
        assert!(errs[2].message.contains("invalid source id"));
        assert!(help(&errs[2]).starts_with(&format!("write `{}`", "a".repeat(64))));
        assert_eq!(errs[3].line, 9);
        assert!(
            errs[3].message.contains("invalid source id ``"),
            "{}",
            errs[3].message
        );
        assert!(help(&errs[3]).contains("lowercase letters"));
        assert_eq!((errs[4].line, errs[4].column), (12, 8));
        assert_eq!(
            errs[4].message,
            "feed `_Weekly.Digest`: invalid feed name `_Weekly.Digest`"
        );
        assert!(
            help(&errs[4]).starts_with("write `weekly-digest`"),
            "{}",
            help(&errs[4])
        );
    }

    #[test]
    fn include_resolves_tags_ids_and_star_in_config_order() {
        let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\ntags = [\"x\"]\n[[source]]\nid = \"b\"\nurl = \"https://example.org/b\"\ntags = [\"y\"]\n[[source]]\nid = \"c\"\nurl = \"https://example.org/c\"\ntags = [\"x\", \"y\"]\n[[feed]]\nname = \"ys\"\ntitle = \"Y\"\ninclude = [\"c\", \"tag:y\", \"a\"]\n[[feed]]\nname = \"all\"\ntitle = \"A\"\ninclude = [\"tag:x\", \"*\"]\n";
        let config = parse(text).unwrap();
        assert_eq!(config.feed("ys").unwrap().sources, vec!["a", "b", "c"]);
        assert_eq!(config.feed("ys").unwrap().include, vec!["c", "tag:y", "a"]);
        assert_eq!(config.feed("all").unwrap().sources, vec!["a", "b", "c"]);
        let text = text.replace("[\"c\", \"tag:y\", \"a\"]", "[\"tag:y\"]");
        assert_eq!(
            parse(&text).unwrap().feed("ys").unwrap().sources,
            vec!["b", "c"]
        );
    }

    #[test]
    fn include_unknown_id_or_tag_is_an_error_with_suggestions() {
        let text = "[[source]]\nid = \"rust-blog\"\nurl = \"https://example.org/a\"\ntags = [\"rust\"]\n[[source]]\nid = \"lwn\"\nurl = \"https://example.org/b\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"rust-blgo\", \"tag:rusty\", \"zzz\", \"lwn\"]\n";
        let errs = errors(text);
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert_eq!((errs[0].line, errs[0].column), (11, 12));
        assert_eq!(
            errs[0].message,
            "feed `f`: include `rust-blgo` is not a source id"
        );
        assert!(
            help(&errs[0]).starts_with("did you mean \"rust-blog\"?"),
            "{}",
            help(&errs[0])
        );
        assert_eq!((errs[1].line, errs[1].column), (11, 25));
        assert_eq!(
            errs[1].message,
            "feed `f`: include `tag:rusty`: no source has tag `rusty`"
        );
        assert!(
            help(&errs[1]).starts_with("did you mean \"tag:rust\"?"),
            "{}",
            help(&errs[1])
        );
        assert_eq!((errs[2].line, errs[2].column), (11, 38));
        assert_eq!(
            errs[2].message,
            "feed `f`: include `zzz` is not a source id"
        );
        let h = help(&errs[2]);
        assert!(h.contains("`rust-blog`, `lwn`"), "{h}");
    }

    #[test]
    fn feeds_that_include_nothing_are_errors() {
        let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\n[[feed]]\nname = \"empty\"\ntitle = \"E\"\ninclude = []\n[[feed]]\nname = \"missing\"\ntitle = \"M\"\n";
        let errs = errors(text);
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert_eq!((errs[0].line, errs[0].column), (7, 11));
        assert_eq!(
            errs[0].message,
            "feed `empty`: includes nothing: `include` is empty"
        );
        assert!(help(&errs[0]).contains("[\"*\"]"));
        assert_eq!((errs[1].line, errs[1].column), (8, 1));
        assert_eq!(
            errs[1].message,
            "feed `missing`: includes nothing: `include` is missing"
        );
    }

    #[test]
    fn include_of_a_broken_source_is_not_a_second_error() {
        let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\ntags = [\"t\"]\ntitle = 1\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\", \"tag:t\"]\n";
        let err = one_error(text);
        assert_eq!(err.line, 5);
        assert!(err.message.contains("title"));
    }

    #[test]
    fn feed_name_and_title_are_required() {
        let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\n[[feed]]\ninclude = [\"*\"]\n[[feed]]\nname = \"t\"\ntitle = \"  \"\ndescription = \"\"\ninclude = [\"*\"]\n";
        let errs = errors(text);
        assert_eq!(errs.len(), 4, "{errs:#?}");
        assert_eq!((errs[0].line, errs[0].column), (4, 1));
        assert_eq!(errs[0].message, "feed #1: missing `name`");
        assert_eq!((errs[1].line, errs[1].column), (4, 1));
        assert_eq!(errs[1].message, "feed #1: missing `title`");
        assert_eq!((errs[2].line, errs[2].column), (8, 9));
        assert_eq!(errs[2].message, "feed `t`: title is empty");
        assert_eq!((errs[3].line, errs[3].column), (9, 15));
        assert_eq!(errs[3].message, "feed `t`: description is empty");
    }

    #[test]
    fn source_id_is_required() {
        let text = "[[source]]\nurl = \"https://example.org/a\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
        let errs = errors(text);
        let err = error_at(&errs, 1, 1);
        assert_eq!(err.message, "source #1: missing `id`");
    }

    #[test]
    fn daemon_values_are_checked() {
        let text = with_minimal(
            "[daemon]\nlisten = \"localhost:8080\"\npublic_url = \"ftp://example.org\"\ncontact = \"me\\nyou\"\nlog_level = \" \"\n",
        );
        let errs = errors(&text);
        assert_eq!(errs.len(), 4, "{errs:#?}");
        assert_eq!((errs[0].line, errs[0].column), (2, 10));
        assert_eq!(
            errs[0].message,
            "daemon: listen `localhost:8080` is not a socket address"
        );
        assert!(help(&errs[0]).contains("127.0.0.1:8080"));
        assert_eq!((errs[1].line, errs[1].column), (3, 14));
        assert_eq!(
            errs[1].message,
            "daemon: public_url must be http or https, got `ftp://example.org`"
        );
        assert_eq!((errs[2].line, errs[2].column), (4, 11));
        assert!(
            errs[2].message.starts_with("daemon: contact"),
            "{}",
            errs[2].message
        );
        assert_eq!((errs[3].line, errs[3].column), (5, 13));
        assert_eq!(errs[3].message, "daemon: log_level is empty");
    }

    #[test]
    fn public_url_rejects_query_and_fragment() {
        let err = one_error(&with_minimal(
            "[daemon]\npublic_url = \"https://example.org/?a=1\"",
        ));
        assert_eq!((err.line, err.column), (2, 14));
        assert_eq!(
            err.message,
            "daemon: public_url must not have a query, got `https://example.org/?a=1`"
        );
        let err = one_error(&with_minimal(
            "[daemon]\npublic_url = \"https://example.org/#top\"",
        ));
        assert_eq!(
            err.message,
            "daemon: public_url must not have a fragment, got `https://example.org/#top`"
        );
        let config = parse(&with_minimal(
            "[daemon]\npublic_url = \"https://example.org\"",
        ))
        .unwrap();
        assert_eq!(config.daemon.public_base(), "https://example.org");
    }

    #[test]
    fn min_interval_must_be_at_least_one_minute() {
        let err = one_error(&with_minimal("[defaults]\nmin_interval = \"30s\""));
        assert_eq!((err.line, err.column), (2, 16));
        assert_eq!(
            err.message,
            "defaults: min_interval must be at least 1m, got `30s`"
        );

        let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\nmin_interval = \"59s\"\n[[source]]\nid = \"b\"\nurl = \"https://example.org/b\"\nmin_interval = \"1m\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"b\"]\n";
        let err = one_error(text);
        assert_eq!((err.line, err.column), (4, 16));
        assert_eq!(
            err.message,
            "source `a`: min_interval must be at least 1m, got `59s`"
        );

        let text = text.replace("\"59s\"", "\"1m\"");
        let config = parse(&text).unwrap();
        assert_eq!(
            config.source("a").unwrap().min_interval,
            Duration::from_secs(60)
        );
    }

    #[test]
    fn dedup_and_retention_keys_have_documented_defaults_and_overrides() {
        let text = "[defaults]\nstrip_www = false\ntracking_params = [\"From\", \"from\"]\ntombstone_ttl = \"7d\"\nmax_items = 100\nnear_duplicate_threshold = 0.8\n[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\nmax_age = \"2d\"\nnear_duplicates = false\n[[source]]\nid = \"b\"\nurl = \"https://example.org/b\"\nmax_items = 5\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
        let config = parse(text).unwrap();
        let a = &config.source("a").unwrap().dedup;
        assert!(!a.urls.strip_www);
        assert_eq!(a.urls.extra_tracking, ["from"]);
        assert_eq!(a.tombstone_ttl, Duration::from_secs(7 * 86400));
        assert_eq!(a.max_items, Some(100));
        assert_eq!(a.max_age, Some(Duration::from_secs(2 * 86400)));
        assert_eq!(a.near_threshold_pct, None);
        let b = &config.source("b").unwrap().dedup;
        assert_eq!(
            (b.max_items, b.max_age, b.near_threshold_pct),
            (Some(5), None, Some(80))
        );

        let plain = parse(MINIMAL).unwrap();
        let d = &plain.sources[0].dedup;
        assert!(d.urls.strip_www && d.urls.extra_tracking.is_empty());
        assert_eq!(d.tombstone_ttl, DEFAULT_TOMBSTONE_TTL);
        assert_eq!((d.max_items, d.max_age), (None, None));
        assert_eq!(d.near_threshold_pct, Some(DEFAULT_NEAR_THRESHOLD_PCT));
    }

    #[test]
    fn bad_dedup_and_retention_values_are_reported_at_the_value() {
        let err = one_error(&with_minimal("[defaults]\nmax_items = 0"));
        assert_eq!((err.line, err.column), (2, 13));
        assert_eq!(err.message, "defaults: max_items must be at least 1, got 0");
        let err = one_error(&with_minimal("[defaults]\nnear_duplicate_threshold = 1.5"));
        assert_eq!((err.line, err.column), (2, 28));
        assert!(
            err.message.contains("between 0.05 and 1.0"),
            "{}",
            err.message
        );
        let err = one_error(&with_minimal("[defaults]\ntombstone_ttl = \"soon\""));
        assert_eq!((err.line, err.column), (2, 17));
        let err = one_error(&with_minimal("[defaults]\ntracking_params = [\"a=b\"]"));
        assert_eq!((err.line, err.column), (2, 20));
        let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\nmax_age = 30\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\n";
        let err = one_error(text);
        assert_eq!((err.line, err.column), (4, 11));
        assert_eq!(err.message, "source `a`: max_age `30` has no unit");
    }

    #[test]
    fn durations_need_units() {
        let err = one_error(&with_minimal("[defaults]\ntimeout = 30"));
        assert_eq!((err.line, err.column), (2, 11));
        assert_eq!(err.message, "defaults: timeout `30` has no unit");
        assert_eq!(help(&err), "add a unit: \"30s\", \"30m\" or \"30h\"");
        let err = one_error(&with_minimal("[defaults]\ntimeout = \"0s\""));
        assert_eq!(err.message, "defaults: timeout must be greater than zero");
        let err = one_error(&with_minimal("[defaults]\ntimeout = \"half a minute\""));
        assert_eq!(
            err.message,
            "defaults: timeout `half a minute` is not a duration"
        );
    }

    #[test]
    fn limits_must_be_between_1_and_1000() {
        for (value, ok) in [
            (0, false),
            (1, true),
            (1000, true),
            (1001, false),
            (-5, false),
        ] {
            let text = format!(
                "[defaults]\nfeed_limit = {value}\n[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\nlimit = {value}\n"
            );
            match parse(&text) {
                Ok(config) => {
                    assert!(ok, "{value}");
                    assert_eq!(config.feeds[0].limit, value as usize);
                    assert_eq!(config.defaults.feed_limit, value as usize);
                }
                Err(errs) => {
                    assert!(!ok, "{value}: {errs}");
                    assert_eq!(errs.len(), 2, "{errs}");
                    assert_eq!((errs.0[0].line, errs.0[0].column), (2, 14));
                    assert_eq!(
                        errs.0[0].message,
                        format!("defaults: feed_limit must be between 1 and 1000, got {value}")
                    );
                    assert_eq!((errs.0[1].line, errs.0[1].column), (10, 9));
                    assert_eq!(
                        errs.0[1].message,
                        format!("feed `f`: limit must be between 1 and 1000, got {value}")
                    );
                }
            }
        }
    }

    #[test]
    fn allow_internal_defaults_off_and_is_set_per_source() {
        let sources = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a.xml\"\n\n\
                       [[source]]\nid = \"b\"\nurl = \"https://example.org/b.xml\"\nallow_internal = true\n\n\
                       [[source]]\nid = \"c\"\nurl = \"https://example.org/c.xml\"\nallow_internal = false\n\n\
                       [[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";
        let allowed = |config: &Config| -> Vec<bool> {
            config.sources.iter().map(|s| s.allow_internal).collect()
        };
        let config = parse(sources).unwrap();
        assert!(!config.defaults.allow_internal);
        assert_eq!(allowed(&config), [false, true, false]);
        // The [defaults] switch is every source's default; a source's own
        // key wins.
        let config = parse(&format!("[defaults]\nallow_internal = true\n{sources}")).unwrap();
        assert!(config.defaults.allow_internal);
        assert_eq!(allowed(&config), [true, true, false]);
    }

    #[test]
    fn allow_internal_errors_point_at_the_value() {
        let err = one_error(&with_minimal("[defaults]\nallow_internal = \"yes\""));
        assert_eq!((err.line, err.column), (2, 18), "{err}");
        assert!(
            err.message.starts_with("defaults: allow_internal: "),
            "{err}"
        );
        assert!(err.message.contains("bool"), "{err}");

        let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a.xml\"\nallow_internal = 1\n\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";
        let err = one_error(text);
        assert_eq!((err.line, err.column), (4, 18), "{err}");
        assert!(
            err.message.starts_with("source `a`: allow_internal: "),
            "{err}"
        );

        // A local folder is not fetched: the key makes no sense there.
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[[source]]\nid = \"notes\"\npath = \"{}\"\nallow_internal = true\n\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n",
            dir.path().display()
        );
        let err = one_error(&text);
        assert_eq!((err.line, err.column), (4, 18), "{err}");
        assert_eq!(
            err.message,
            "source `notes`: allow_internal applies to `url` sources, not to a `path`"
        );
        assert!(help(&err).contains("remove the key"), "{err}");

        // A misspelling is caught and the right key suggested.
        let err = one_error(&with_minimal("[defaults]\nallow_internals = true"));
        assert_eq!((err.line, err.column), (2, 1), "{err}");
        assert!(
            help(&err).contains("did you mean `allow_internal`?"),
            "{err}"
        );
    }

    #[test]
    fn max_body_bytes_takes_sizes_and_integers() {
        for (written, bytes) in [
            ("\"10MiB\"", 10 * 1024 * 1024),
            ("\"512KiB\"", 512 * 1024),
            ("\"2 MB\"", 2_000_000),
            ("\"1gib\"", 1 << 30),
            ("1048576", 1_048_576),
            ("\"4096\"", 4096),
        ] {
            let config = parse(&with_minimal(&format!(
                "[defaults]\nmax_body_bytes = {written}"
            )))
            .unwrap();
            assert_eq!(config.defaults.max_body_bytes, bytes, "{written}");
        }
        for (written, message) in [
            ("0", "defaults: max_body_bytes must be greater than zero"),
            (
                "\"0KiB\"",
                "defaults: max_body_bytes must be greater than zero",
            ),
            ("-1", "defaults: max_body_bytes `-1` is not a byte size"),
            (
                "\"10 megs\"",
                "defaults: max_body_bytes `10 megs` is not a byte size",
            ),
        ] {
            let err = one_error(&with_minimal(&format!(
                "[defaults]\nmax_body_bytes = {written}"
            )));
            assert_eq!((err.line, err.column), (2, 18), "{written}");
            assert_eq!(err.message, message);
            assert_eq!(help(&err), SIZE_HELP);
        }
    }

    #[test]
    fn max_article_bytes_defaults_and_per_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("notes")).unwrap();
        let file = dir.path().join("feeds.toml");
        let feed = "[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";
        let text =
            format!("[daemon]\ncontact = \"me\"\n[[source]]\nid = \"n\"\npath = \"notes\"\n{feed}");
        let config = Config::parse(&text, &file).unwrap();
        assert_eq!(config.defaults.max_article_bytes, 1024 * 1024);
        assert_eq!(config.sources[0].max_article_bytes, 1024 * 1024);
        let text = format!(
            "[daemon]\ncontact = \"me\"\n[defaults]\nmax_article_bytes = \"64KiB\"\n\
             [[source]]\nid = \"n\"\npath = \"notes\"\n\
             [[source]]\nid = \"m\"\npath = \"notes\"\nmax_article_bytes = \"2MiB\"\n{feed}"
        );
        let config = Config::parse(&text, &file).unwrap();
        assert_eq!(config.source("n").unwrap().max_article_bytes, 64 * 1024);
        assert_eq!(
            config.source("m").unwrap().max_article_bytes,
            2 * 1024 * 1024
        );
        let text = format!(
            "[daemon]\ncontact = \"me\"\n[[source]]\nid = \"n\"\npath = \"notes\"\nmax_article_bytes = 0\n\
             [[source]]\nid = \"u\"\nurl = \"https://example.org/f\"\nmax_article_bytes = 10\n{feed}"
        );
        let errs = Config::parse(&text, &file).unwrap_err().0;
        let messages: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
        assert!(
            messages.contains(&"source `n`: max_article_bytes must be greater than zero"),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("max_article_bytes applies to `path` sources")),
            "{messages:?}"
        );
    }

    #[test]
    fn zero_sources_and_zero_feeds_are_errors() {
        let errs = errors("");
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert!(errs.iter().all(|e| (e.line, e.column) == (1, 1)));
        assert!(
            errs[0].message.starts_with("no sources"),
            "{}",
            errs[0].message
        );
        assert!(
            errs[1].message.starts_with("nothing to publish"),
            "{}",
            errs[1].message
        );
        assert!(help(&errs[1]).contains("[[feed]]"));

        let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\n";
        let err = one_error(text);
        assert_eq!((err.line, err.column), (4, 1));
        assert_eq!(
            err.message,
            "nothing to publish: there is no [[feed]] table"
        );

        let text = "[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
        let errs = errors(text);
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert_eq!((errs[0].line, errs[0].column), (4, 11));
        assert_eq!(
            errs[0].message,
            "feed `f`: includes nothing: it matches no source"
        );
        assert_eq!((errs[1].line, errs[1].column), (5, 1));
        assert_eq!(errs[1].message, "no sources: there is no [[source]] table");
    }

    #[test]
    fn all_errors_are_collected_in_file_order() {
        let text = "[daemon]\nlisten = \"nope\"\n[defaults]\ntimeout = \"x\"\n[[source]]\nid = \"A\"\nurl = \"gopher://a\"\n[[source]]\nid = \"b\"\nurl = \"https://b.example\"\nmin_interval = \"1s\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"nope\"]\nlimit = 0\n";
        let errs = errors(text);
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 4, 6, 7, 11, 15, 16], "{errs:#?}");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "# é\n[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\ntitle = \"café\"  ;\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
        let err = one_error(text);
        assert_eq!((err.line, err.column), (5, 17));
        let text = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\ntitle = \"ééé\" ; bogus = 1\n";
        let err = errors(text).remove(0);
        assert_eq!((err.line, err.column), (4, 15));
    }

    #[test]
    fn parse_duration_accepts_units_and_rejects_bare_numbers() {
        let ok = [
            ("90s", 90),
            ("30m", 1800),
            ("2h", 7200),
            ("1d", 86400),
            ("1h30m", 5400),
            ("1w", 604_800),
            ("1w2d3h4m5s", 604_800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
            (" 1h 30m ", 5400),
            ("0s", 0),
        ];
        for (text, secs) in ok {
            assert_eq!(
                parse_duration(text),
                Some(Duration::from_secs(secs)),
                "{text}"
            );
        }
        for text in [
            "",
            "30",
            "1.5h",
            "-1h",
            "+1h",
            "1x",
            "h",
            "1h1h",
            "30m1h",
            "1H",
            "1 h",
            "99999999999999999999s",
            "18446744073709551615w",
        ] {
            assert_eq!(parse_duration(text), None, "{text}");
        }
        for secs in [0, 59, 60, 3600, 5400, 90061, 604_800 * 3 + 1] {
            let d = Duration::from_secs(secs);
            assert_eq!(parse_duration(&format_duration(d)), Some(d), "{secs}");
        }
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn parse_byte_size_units() {
        assert_eq!(parse_byte_size("10MiB"), Some(10 << 20));
        assert_eq!(parse_byte_size("512 KiB"), Some(512 << 10));
        assert_eq!(parse_byte_size("3kb"), Some(3000));
        assert_eq!(parse_byte_size("7B"), Some(7));
        assert_eq!(parse_byte_size("7"), Some(7));
        assert_eq!(parse_byte_size("MiB"), None);
        assert_eq!(parse_byte_size("1.5MiB"), None);
        assert_eq!(parse_byte_size("99999999999TiB"), None);
    }

    #[test]
    fn load_reads_the_file_and_reports_an_unreadable_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("feeds.toml");
        std::fs::write(&file, MINIMAL).unwrap();
        let config = Config::load(&file).unwrap();
        assert_eq!(config.path, file);
        assert_eq!(config.daemon.store, dir.path().join("store"));

        let missing = dir.path().join("missing.toml");
        let errs = Config::load(&missing).unwrap_err();
        assert_eq!(errs.len(), 1);
        let err = &errs.0[0];
        assert_eq!(err.file, missing);
        assert_eq!((err.line, err.column), (0, 0));
        assert!(
            err.message.contains(&missing.display().to_string()),
            "{}",
            err.message
        );
        assert!(
            err.to_string()
                .starts_with(&format!("{}: cannot read", missing.display()))
        );
    }

    #[test]
    fn max_interval_defaults_to_a_day_and_is_bounded() {
        let config = Config::parse(MINIMAL, Path::new(FILE)).unwrap();
        assert_eq!(config.defaults.max_interval, DEFAULT_MAX_INTERVAL);
        assert_eq!(config.sources[0].max_interval, DEFAULT_MAX_INTERVAL);
        let text = "[defaults]\nmax_interval = \"2d\"\n[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\nmax_interval = \"6h\"\n[[source]]\nid = \"b\"\nurl = \"https://example.org/b\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
        let config = Config::parse(text, Path::new(FILE)).unwrap();
        assert_eq!(
            config.source("a").unwrap().max_interval,
            Duration::from_secs(6 * 3600)
        );
        assert_eq!(
            config.source("b").unwrap().max_interval,
            Duration::from_secs(2 * 86400)
        );
        let err = one_error(&with_minimal("[defaults]\nmax_interval = \"31d\""));
        assert_eq!(
            err.message,
            "defaults: max_interval must be between min_interval (1h) and 30d, got `31d`"
        );
        let err = one_error(&with_minimal("[defaults]\nmax_interval = \"30m\""));
        assert!(
            err.message.contains("between min_interval"),
            "{}",
            err.message
        );
    }

    #[test]
    fn struct_fields_lists_the_keys_in_declaration_order() {
        assert_eq!(
            struct_fields::<RawSource>(),
            [
                "id",
                "url",
                "path",
                "title",
                "refresh",
                "min_interval",
                "max_interval",
                "tags",
                "max_items",
                "max_age",
                "near_duplicates",
                "near_duplicate_threshold",
                "allow_internal",
                "max_article_bytes"
            ]
        );
        assert_eq!(
            struct_fields::<RawFeed>(),
            [
                "name",
                "title",
                "description",
                "include",
                "limit",
                "link",
                "language",
                "author",
                "image",
                "icon",
                "exclude",
                "include_keywords",
                "exclude_keywords",
                "formats",
                "hub",
                "archive",
                "refresh",
                "podcast",
                "category",
                "explicit",
                "owner_email"
            ]
        );
    }

    #[test]
    fn name_suggestions() {
        assert_eq!(check_name("ok_name-1"), Ok(()));
        assert_eq!(suggest_name("My  Blog!!"), "my-blog");
        assert_eq!(suggest_name("-_x"), "x");
        assert_eq!(suggest_name("!!!"), "");
        assert!(check_name("-x").is_err());
        assert!(check_name(&"a".repeat(64)).is_ok());
        assert!(check_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn schedule_display() {
        assert_eq!(
            Schedule::Every(Duration::from_secs(1800)).to_string(),
            "every 30m"
        );
        assert_eq!(
            Schedule::Cron("0 0 * * * *".into()).to_string(),
            "cron \"0 0 * * * *\""
        );
    }

    #[test]
    fn inline_tables_and_crlf_line_endings_work() {
        let text = "source = [\r\n  { id = \"a\", url = \"https://example.org/a\" },\r\n  { id = \"b\", url = \"ftp://b\" },\r\n]\r\nfeed = [{ name = \"f\", title = \"F\", include = [\"*\"] }]\r\n";
        let err = one_error(text);
        assert_eq!((err.line, err.column), (3, 21));
        assert_eq!(
            err.message,
            "source `b`: url must be http or https, got `ftp://b`"
        );
        let config = parse(&text.replace("ftp://b", "http://b.example")).unwrap();
        assert_eq!(config.feeds[0].sources, vec!["a", "b"]);
    }

    #[test]
    fn array_elements_must_be_tables() {
        let text = "source = [1]\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
        let errs = errors(text);
        let err = error_at(&errs, 1, 11);
        assert_eq!(err.message, "each `source` must be a table, got integer");
    }

    #[test]
    fn nested_table_inside_a_known_table_is_an_unknown_key() {
        let err = one_error(&with_minimal("[daemon.tls]\ncert = \"x\""));
        assert_eq!((err.line, err.column), (1, 9));
        assert_eq!(err.message, "daemon: unknown key `tls`");
    }

    #[test]
    fn relative_config_path_resolves_against_the_working_directory() {
        let config = Config::parse(MINIMAL, Path::new("feeds.toml")).unwrap();
        assert_eq!(config.path, PathBuf::from("feeds.toml"));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(config.daemon.store, cwd.join("store"));
    }

    #[test]
    fn empty_path_is_an_error() {
        let text = "[[source]]\nid = \"a\"\npath = \"\"\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n";
        let err = one_error(text);
        assert_eq!((err.line, err.column), (3, 8));
        assert_eq!(err.message, "source `a`: path is empty");
    }

    #[test]
    fn admin_listen_defaults_beside_the_public_port_on_loopback() {
        let daemon = |extra: &str| {
            let text = format!(
                "[daemon]\nlisten = \"0.0.0.0:9000\"\n{extra}\n[[source]]\nid = \"a\"\nurl = \"https://example.org/\"\n\n[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\n"
            );
            Config::parse(&text, Path::new("/tmp/feeds.toml")).map(|c| c.daemon)
        };
        let d = daemon("").unwrap();
        assert_eq!(d.admin_listen, AdminListen::Beside);
        assert!(!d.public_status);
        assert_eq!(
            d.admin_addr("0.0.0.0:9000".parse().unwrap()),
            Some("127.0.0.1:9001".parse().unwrap())
        );
        assert_eq!(
            d.admin_addr("127.0.0.1:0".parse().unwrap()),
            Some("127.0.0.1:0".parse().unwrap())
        );
        assert_eq!(
            d.admin_addr("[::]:65535".parse().unwrap()),
            Some("127.0.0.1:0".parse().unwrap())
        );
        let d = daemon("admin_listen = \"[::1]:9100\"\npublic_status = true").unwrap();
        assert_eq!(
            d.admin_listen,
            AdminListen::At("[::1]:9100".parse().unwrap())
        );
        assert!(d.public_status);
        assert_eq!(
            d.admin_addr("0.0.0.0:9000".parse().unwrap()),
            Some("[::1]:9100".parse().unwrap())
        );
        let d = daemon("admin_listen = \"off\"\nsecret_params = [\"Session\", \"x\", \"session\"]")
            .unwrap();
        assert_eq!(d.secret_params, vec!["session", "x"]);
        let errs = daemon("secret_params = [\"a=b\"]").unwrap_err().0;
        assert_eq!(
            errs[0].message,
            "daemon: secret_params: `a=b` is not a parameter name"
        );
        assert_eq!(d.admin_addr("0.0.0.0:9000".parse().unwrap()), None);
        let errs = daemon("admin_listen = \"localhost\"").unwrap_err().0;
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!(errs[0].line, 3);
        assert_eq!(
            errs[0].message,
            "daemon: admin_listen `localhost` is not a socket address"
        );
        let errs = daemon("admin_listen = \"0.0.0.0:9000\"").unwrap_err().0;
        assert_eq!(
            errs[0].message,
            "daemon: admin_listen `0.0.0.0:9000` is the public listen address"
        );
    }

    #[test]
    fn raw_tables_deny_unknown_fields_by_themselves() {
        let err = toml::from_str::<RawSource>("bogus = 1").unwrap_err();
        assert!(
            err.message().contains("unknown field `bogus`"),
            "{}",
            err.message()
        );
        assert!(toml::from_str::<RawDaemon>("bogus = 1").is_err());
        assert!(toml::from_str::<RawDefaults>("bogus = 1").is_err());
        assert!(toml::from_str::<RawFeed>("bogus = 1").is_err());
    }

    const TWO_SOURCES: &str = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\ntags = [\"t\"]\n[[source]]\nid = \"b\"\nurl = \"https://example.org/b\"\n";

    #[test]
    fn feed_options_parse_with_defaults() {
        let config = parse(&format!(
            "{TWO_SOURCES}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n\
             link = \"https://example.org/\"\nlanguage = \"pt-BR\"\nauthor = \" Ann \"\n\
             image = \"https://example.org/logo.png\"\nicon = \"https://example.org/i.png\"\n\
             exclude = [\"tag:t\"]\ninclude_keywords = [\"Rust\", \"rust\"]\nexclude_keywords = [\"ad\"]\n\
             formats = [\"json\", \"rss\"]\nhub = \"https://hub.example.org/\"\narchive = false\n\
             [[feed]]\nname = \"g\"\ntitle = \"G\"\ninclude = [\"*\"]\nhub = [\"https://h1.example/\", \"https://h2.example/\"]\n"
        ))
        .unwrap();
        let f = &config.feeds[0];
        assert_eq!(f.sources, vec!["b".to_string()]);
        assert_eq!(
            f.link.as_ref().map(Url::as_str),
            Some("https://example.org/")
        );
        assert_eq!(f.language.as_deref(), Some("pt-BR"));
        assert_eq!(f.author.as_deref(), Some("Ann"));
        assert_eq!(
            f.image.as_ref().map(Url::as_str),
            Some("https://example.org/logo.png")
        );
        assert_eq!(
            f.icon.as_ref().map(Url::as_str),
            Some("https://example.org/i.png")
        );
        assert_eq!(
            f.include_keywords,
            vec!["Rust".to_string(), "rust".to_string()]
        );
        assert_eq!(f.exclude_keywords, vec!["ad".to_string()]);
        assert_eq!(f.formats, vec!["rss".to_string(), "json".to_string()]);
        assert_eq!(f.hubs.len(), 1);
        assert!(!f.archive);
        let g = &config.feeds[1];
        assert_eq!(g.formats, vec!["rss", "atom", "json"]);
        assert_eq!(g.hubs.len(), 2);
        assert!(g.archive);
        assert_eq!(g.language, None);
        assert_eq!(g.sources, vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn bad_feed_options_are_reported_at_the_value() {
        let errs = errors(&format!(
            "{TWO_SOURCES}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n\
             link = \"example.org\"\nlanguage = \"english!\"\nexclude = [\"zz\"]\n\
             formats = [\"rss\", \"xml\"]\nhub = \"ftp://hub\"\ninclude_keywords = [\" \"]\nauthor = \"\"\n"
        ));
        let messages: Vec<(usize, usize, &str)> = errs
            .iter()
            .map(|e| (e.line, e.column, e.message.as_str()))
            .collect();
        assert_eq!(
            messages,
            vec![
                (12, 8, "feed `f`: link `example.org` is not an absolute URL"),
                (
                    13,
                    12,
                    "feed `f`: language `english!` is not a language tag"
                ),
                (14, 12, "feed `f`: exclude `zz` matches no source"),
                (15, 19, "feed `f`: unknown format `xml`"),
                (
                    16,
                    7,
                    "feed `f`: hub must be http or https, got `ftp://hub`"
                ),
                (17, 21, "feed `f`: include_keywords has an empty keyword"),
                (18, 10, "feed `f`: author is empty"),
            ]
        );
    }

    #[test]
    fn feed_publish_schedule_parses_and_bad_ones_are_reported() {
        let config = parse(&format!(
            "{TWO_SOURCES}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\nrefresh = \"0 6 * * *\"\n\
             [[feed]]\nname = \"g\"\ntitle = \"G\"\ninclude = [\"*\"]\nrefresh = \"15m\"\n\
             [[feed]]\nname = \"h\"\ntitle = \"H\"\ninclude = [\"*\"]\n"
        ))
        .unwrap();
        assert_eq!(
            config.feeds[0].refresh,
            Some(Schedule::Cron("0 0 6 * * *".to_string()))
        );
        assert_eq!(
            config.feeds[1].refresh,
            Some(Schedule::Every(Duration::from_secs(900)))
        );
        assert_eq!(config.feeds[2].refresh, None);

        let errs = errors(&format!(
            "{TWO_SOURCES}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\nrefresh = \"soon\"\n"
        ));
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert_eq!((errs[0].line, errs[0].column), (12, 11));
        assert_eq!(
            errs[0].message,
            "feed `f`: refresh `soon` is neither an interval nor a cron expression"
        );
        assert!(
            errs[0]
                .help
                .as_deref()
                .is_some_and(|h| h.contains("remove the key")),
            "{errs:#?}"
        );
    }

    #[test]
    fn exclude_of_everything_and_empty_formats_are_errors() {
        let errs = errors(&format!(
            "{TWO_SOURCES}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"a\"]\nexclude = [\"a\"]\nformats = []\n"
        ));
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert_eq!(
            errs[0].message,
            "feed `f`: includes nothing: `exclude` removes every included source"
        );
        assert_eq!(errs[1].message, "feed `f`: formats is empty");
        assert_eq!((errs[1].line, errs[1].column), (13, 11));
    }
}
