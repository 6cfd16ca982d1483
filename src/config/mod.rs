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
//!
//! This file holds the typed configuration and its public API; the rest is
//! split by concern: `error` (the error types), `units` (durations and byte
//! sizes), `raw` (the tables as written), `validate` (the shared checks and
//! the top-level build), `daemon`, `defaults`, `source`, `feed`, `include`
//! and `podcast` (one table or key group each), `suggest` ("did you mean"
//! helpers) and `tests`.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

mod credentials;
mod daemon;
mod defaults;
mod error;
mod feed;
mod include;
mod podcast;
mod raw;
mod rules;
mod source;
mod suggest;
#[cfg(test)]
mod tests;
mod units;
mod validate;

pub use error::{ConfigError, ConfigErrors};
pub use podcast::Podcast;
pub use units::{format_duration, parse_byte_size, parse_duration};

use validate::{Ctx, build};

pub use credentials::{Credentials, Secret};

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
    /// Position of each source in `sources` by id: [`Config::source`] is
    /// called per request and per refresh, with tens of thousands of
    /// sources.
    source_index: HashMap<String, usize>,
    /// Each remote URL that two or more sources poll, with their positions
    /// in `sources` (see [`Config::sources_sharing_url`]).
    shared_urls: HashMap<String, Vec<usize>>,
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
    /// `[[source.rule]]` tables, applied to each fetched or read entry
    /// before it is stored (see `rules`). Default: none.
    pub rules: Vec<crate::rules::Rule>,
    /// `headers`, `basic_auth`, `user_agent` (`url` sources only): how its
    /// requests authenticate (see [`Credentials`]). Default: none.
    pub credentials: Credentials,
    /// `full_text = true` or `full_text_selector = "CSS"` (`url` sources
    /// only): each new item's page is fetched and its main content stored
    /// in place of the feed's (see `refresh::full_text`). Default: off.
    pub full_text: Option<FullText>,
    /// `websub` (`url` sources only): subscribe to the WebSub hub the feed
    /// names, if any, and take its pushes (see `websub`). Default: `true`.
    pub websub: bool,
}

/// How a `full_text` source finds the main content of an item's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FullText {
    /// `full_text = true`: the readability algorithm.
    Readability,
    /// `full_text_selector`: the elements these CSS selectors name.
    Selector(crate::rules::Selectors),
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
    /// `[[feed.rule]]` tables, applied when the feed is rendered, after
    /// the keyword lists (which are in here as the rules they stand for:
    /// a `keep`, then a `drop`, on the item's text). Default: none.
    pub rules: Vec<crate::rules::Rule>,
    /// `formats`: the formats the feed is offered in, among `"rss"`,
    /// `"atom"` and `"json"`, in that order, without duplicates; never empty.
    /// Default: all three.
    pub formats: Vec<String>,
    /// `hub`: WebSub hub URLs (one string or an array of http(s) URLs). When
    /// set, feeds carry `rel="hub"` links and each change is announced to
    /// every hub. Default: none.
    pub hubs: Vec<Url>,
    /// `webhook`: URLs (one string or an array) that each new publication
    /// of the feed is POSTed to, as a JSON Feed document of the items new
    /// since the last one (see `publish::webhook`). Default: none.
    pub webhooks: Vec<Url>,
    /// `webhook_secret`: the key of the `X-Syndic-Signature-256` HMAC of
    /// each webhook body (`${VAR}` read from the environment). Default:
    /// none (bodies are not signed).
    pub webhook_secret: Option<Secret>,
    /// `${VAR}`s of `webhook_secret` not set when the config was read (see
    /// [`Credentials::unset`]).
    pub unset: Vec<String>,
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
            rules: Vec::new(),
            formats: FEED_FORMATS.iter().map(|f| f.to_string()).collect(),
            hubs: Vec::new(),
            webhooks: Vec::new(),
            webhook_secret: None,
            unset: Vec::new(),
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

impl Config {
    /// Reads and validates the config file at `path`. A file that cannot be
    /// read is one error naming the path (with line and column 0).
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, path),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                Err(ConfigErrors(vec![ConfigError {
                    file: path.to_path_buf(),
                    line: 0,
                    column: 0,
                    message: format!("config file `{}` not found", path.display()),
                    help: Some(
                        "run syndic in the folder that holds feeds.toml, or name the file: \
                         --config PATH (or SYNDIC_CONFIG=PATH)"
                            .to_string(),
                    ),
                }]))
            }
            Err(err) => Err(ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                column: 0,
                message: format!("cannot read config file `{}`: {err}", path.display()),
                help: Some("check that the file is readable and is UTF-8 text".to_string()),
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

    /// A config from its parts (the source index built here).
    pub(super) fn new(
        path: PathBuf,
        daemon: DaemonConfig,
        defaults: Defaults,
        sources: Vec<SourceConfig>,
        feeds: Vec<FeedConfig>,
    ) -> Config {
        let source_index = sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        let mut shared_urls: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, s) in sources.iter().enumerate() {
            if let SourceKind::Remote { url } = &s.kind {
                shared_urls.entry(url.to_string()).or_default().push(i);
            }
        }
        shared_urls.retain(|_, sharers| sharers.len() > 1);
        Config {
            path,
            daemon,
            defaults,
            sources,
            feeds,
            source_index,
            shared_urls,
        }
    }

    /// The other remote sources that poll the same URL as `source` (they
    /// share its requests): looked up, not searched for, since a refresh
    /// asks for every source.
    pub fn sources_sharing_url(&self, source: &SourceConfig) -> Vec<&SourceConfig> {
        let SourceKind::Remote { url } = &source.kind else {
            return Vec::new();
        };
        let same = |s: &&SourceConfig| {
            s.id != source.id && matches!(&s.kind, SourceKind::Remote { url: u } if u == url)
        };
        self.shared_urls
            .get(url.as_str())
            .into_iter()
            .flatten()
            .filter_map(|&i| self.sources.get(i))
            .filter(same)
            .collect()
    }

    /// Every `${VAR}` of a source's credentials or a feed's webhook secret
    /// that was not set when the config was read, as `file:line:column:
    /// what` (see [`Credentials::unset`]); a daemon must not start or
    /// reload with one.
    pub fn unset_variables(&self) -> Vec<&str> {
        let sources = self.sources.iter().flat_map(|s| &s.credentials.unset);
        let feeds = self.feeds.iter().flat_map(|f| &f.unset);
        sources.chain(feeds).map(String::as_str).collect()
    }

    /// The source with this id.
    pub fn source(&self, id: &str) -> Option<&SourceConfig> {
        let indexed = self
            .source_index
            .get(id)
            .and_then(|&i| self.sources.get(i))
            .filter(|s| s.id == id);
        // `sources` is public: a caller that edited it still gets the truth.
        indexed.or_else(|| self.sources.iter().find(|s| s.id == id))
    }

    /// The feed with this name.
    pub fn feed(&self, name: &str) -> Option<&FeedConfig> {
        self.feeds.iter().find(|f| f.name == name)
    }
}
