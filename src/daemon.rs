//! The daemon: wires config, store, fetcher, publisher, scheduler and
//! server together, and owns their lifecycle. [`run`] takes the listener
//! and a shutdown token, so tests drive the real daemon on port 0 and stop
//! it themselves.
//!
//! Lifecycle: render every feed from the store, start the scheduler, say
//! `READY=1` ([`crate::notify`]), serve. [`reload`] (SIGHUP) swaps in a new
//! config without a restart. On shutdown: `STOPPING=1`, stop accepting,
//! finish in-flight requests (within [`HTTP_GRACE`]) and refreshes (within
//! [`SHUTDOWN_GRACE`]), flush the store. Both graces together stay well
//! inside the unit's `TimeoutStopSec=`.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::config::{Config, ConfigErrors, Schedule, SourceConfig};
use crate::ingest::fetch::{FetchSettings, Fetcher};
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::publish::{self, FeedMeta, Published};
use crate::refresh::{Outcome, Refresher};
use crate::schedule::Scheduler;
use crate::store::Store;

/// How long in-flight refreshes may take to finish after a stop signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Renders after refreshes are coalesced: a feed is rendered at most once
/// per window, on a blocking thread, however many of its sources changed
/// meanwhile; a refresh's change is served at most this long (plus one
/// rendering) after it is stored. See [`App::refresh_source`].
pub const RENDER_WINDOW: Duration = Duration::from_millis(500);

/// How long a feed's worked-out `max-age` is reused (see
/// [`App::feed_max_age`]); no longer than the shortest `max-age` it gives.
const MAX_AGE_REUSE: Duration = Duration::from_secs(60);

/// How long in-flight HTTP requests may take to finish after a stop signal
/// (feeds are bytes in memory: a healthy request takes milliseconds).
pub const HTTP_GRACE: Duration = Duration::from_secs(5);

/// Everything the tasks and the server share.
pub struct App {
    config: RwLock<Arc<Config>>,
    pub store: Store,
    pub published: Published,
    fetcher: RwLock<Fetcher>,
    /// Sources with a refresh under way: a second one is skipped, not queued.
    running: Mutex<HashSet<String>>,
    ready: AtomicBool,
    pub started_at: DateTime<Utc>,
    pub metrics: Metrics,
    pub notifier: Notifier,
    /// The running scheduler, once [`run`] has started it (reload needs it).
    scheduler: tokio::sync::Mutex<Option<Scheduler>>,
    /// Serializes reloads (a second SIGHUP waits for the first).
    reloading: tokio::sync::Mutex<()>,
    /// The address [`run`] serves on (for the status line).
    listening: std::sync::OnceLock<std::net::SocketAddr>,
    /// The address of the admin listener, when there is one.
    admin_listening: std::sync::OnceLock<std::net::SocketAddr>,
    /// When each feed with a publish schedule last published (or its
    /// schedule started): where its interval counts from.
    publish_ticks: Mutex<HashMap<String, DateTime<Utc>>>,
    /// `max-age` of each feed without a publish schedule, with when it was
    /// worked out: it visits every source of the feed (tens of thousands
    /// for an `include = ["*"]` feed), so a request reuses it for up to
    /// [`MAX_AGE_REUSE`]. Cleared at reload.
    max_ages: Mutex<HashMap<String, (std::time::Instant, u64)>>,
    /// Article pages, rendered once per change.
    pub pages: crate::serve::PageCache,
    /// Timers and folder watches of the local sources (started by [`run`]).
    pub articles: crate::articles::Articles,
    /// Feeds waiting for the next coalesced rendering pass.
    render_queue: Mutex<RenderQueue>,
    /// The number of the last rendering pass finished.
    render_done: tokio::sync::watch::Sender<u64>,
    /// Renderings made per feed (changed or not), for tests and benchmarks.
    renderings: Mutex<HashMap<String, u64>>,
    /// This app, for the rendering task (which must not keep it alive).
    me: std::sync::Weak<App>,
    /// Asks the admin socket's task to check its file (made again when
    /// deleted): at each reload and watchdog tick.
    pub admin_recheck: tokio::sync::Notify,
    /// Why the last reload was rejected, while the old config runs; cleared
    /// by a reload that succeeds. Shown on `/`, in `syndic sources` and in
    /// `STATUS=`, not only in the log.
    reload_rejected: Mutex<Option<String>>,
}

/// The coalesced renderings after refreshes (see [`RENDER_WINDOW`]).
#[derive(Default)]
struct RenderQueue {
    /// Feeds to render in the next pass.
    feeds: HashSet<String>,
    /// Passes started; the next pass is `started + 1`.
    started: u64,
    /// When the last pass started.
    last: Option<std::time::Instant>,
    /// A task is there to run the next pass.
    scheduled: bool,
}

impl App {
    /// An app that does not talk to systemd (tests, one-shot commands).
    pub fn new(config: Config, store: Store) -> anyhow::Result<Arc<App>> {
        App::with_notifier(config, store, Notifier::disabled())
    }

    /// An app that reports its lifecycle through `notifier`.
    pub fn with_notifier(
        config: Config,
        store: Store,
        notifier: Notifier,
    ) -> anyhow::Result<Arc<App>> {
        crate::redact::configure(&config.daemon.secret_params);
        let fetcher = Fetcher::new(&fetch_settings(&config)).context("building the HTTP client")?;
        restore_holds(&fetcher, &config, &store);
        Ok(Arc::new_cyclic(|me| App {
            config: RwLock::new(Arc::new(config)),
            store,
            published: Published::default(),
            fetcher: RwLock::new(fetcher),
            running: Mutex::new(HashSet::new()),
            ready: AtomicBool::new(false),
            started_at: Utc::now(),
            metrics: Metrics::default(),
            notifier,
            scheduler: tokio::sync::Mutex::new(None),
            reloading: tokio::sync::Mutex::new(()),
            listening: std::sync::OnceLock::new(),
            admin_listening: std::sync::OnceLock::new(),
            publish_ticks: Mutex::new(HashMap::new()),
            max_ages: Mutex::new(HashMap::new()),
            pages: crate::serve::PageCache::default(),
            articles: crate::articles::Articles::default(),
            render_queue: Mutex::new(RenderQueue::default()),
            render_done: tokio::sync::watch::Sender::new(0),
            renderings: Mutex::new(HashMap::new()),
            me: me.clone(),
            admin_recheck: tokio::sync::Notify::new(),
            reload_rejected: Mutex::new(None),
        }))
    }

    fn fetcher(&self) -> Fetcher {
        match self.fetcher.read() {
            Ok(f) => f.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The feeds the running scheduler has publish jobs for (those with a
    /// `refresh` schedule; empty before [`run`]).
    pub async fn scheduled_feeds(&self) -> Vec<String> {
        match &*self.scheduler.lock().await {
            Some(scheduler) => scheduler.scheduled_feeds(),
            None => Vec::new(),
        }
    }

    /// The sources the running scheduler has jobs for (empty before [`run`]).
    pub async fn scheduled_sources(&self) -> Vec<String> {
        match &*self.scheduler.lock().await {
            Some(scheduler) => scheduler.scheduled_sources(),
            None => Vec::new(),
        }
    }

    /// A one-line summary for systemd's `STATUS=`: sources ok and failing,
    /// feeds published, and the item count when it is known (counting the
    /// store takes a scan, so the caller decides).
    /// Why the last reload was rejected, if the config running is older
    /// than the file (see [`reload`]).
    pub fn reload_rejected(&self) -> Option<String> {
        self.reload_rejected.lock().ok().and_then(|r| r.clone())
    }

    pub fn status_line(&self, items_stored: Option<usize>) -> String {
        let config = self.config();
        let (mut ok, mut failing, mut never) = (0, 0, 0);
        // The first failing source and its cause in a few words.
        let mut first_failing = None;
        for source in &config.sources {
            match self.store.poll_state(&source.id) {
                Ok(Some(state)) if state.consecutive_failures > 0 => {
                    failing += 1;
                    if first_failing.is_none() {
                        let cause = state.last_status.as_deref().unwrap_or("failing");
                        first_failing = Some(format!(
                            "{}: {}",
                            source.id,
                            crate::redact::text(crate::refresh::short_cause(cause))
                        ));
                    }
                }
                Ok(Some(state)) if state.last_status.is_some() => ok += 1,
                Ok(_) => never += 1,
                Err(_) => failing += 1,
            }
        }
        let mut line = match self.listening.get() {
            Some(addr) => format!("serving on {addr}; "),
            None => String::new(),
        };
        if let Some(addr) = self.admin_listening.get() {
            line.push_str(&format!("admin on {addr}; "));
        }
        line.push_str(&format!(
            "{ok} sources ok, {failing} failing, {never} not yet refreshed; {} feeds",
            config.feeds.len()
        ));
        if let Some(first) = first_failing {
            line.push_str(&format!(" (failing: {first})"));
        }
        if let Some(rejected) = self.reload_rejected() {
            line.push_str(&format!("; {rejected}"));
        }
        if let Some(items) = items_stored {
            line.push_str(&format!("; {items} items stored"));
        }
        let health = self.store.health();
        if !health.writable {
            line.push_str(&format!(
                "; STORE NOT WRITABLE since {}: {} (retried every {}s)",
                health
                    .since
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default(),
                health.cause.unwrap_or_default(),
                STORE_RETRY.as_secs()
            ));
        }
        line
    }

    /// The address the admin listener (`[daemon] admin_listen`) serves on,
    /// once [`run`] bound it; `None` when it is off.
    pub fn admin_addr(&self) -> Option<std::net::SocketAddr> {
        self.admin_listening.get().copied()
    }

    pub fn config(&self) -> Arc<Config> {
        match self.config.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// How many source refreshes are under way.
    pub fn refreshes_running(&self) -> usize {
        self.running.lock().map(|r| r.len()).unwrap_or(0)
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Refreshes one source and re-renders the feeds that include it when
    /// its items changed: the rendering is queued (coalesced with those of
    /// other refreshes, at most one per feed per [`RENDER_WINDOW`], on a
    /// blocking thread) and awaited, so that when this returns its change
    /// is served. `None` when the source is unknown or already being
    /// refreshed. Other sources polling the same URL are refreshed alongside
    /// (those that are due), so the URL gets one request per round.
    pub async fn refresh_source(&self, id: &str, force: bool) -> Option<Outcome> {
        let config = self.config();
        let source = config.source(id)?;
        let siblings: Vec<&crate::config::SourceConfig> = match &source.kind {
            crate::config::SourceKind::Remote { url } => config
                .sources
                .iter()
                .filter(|s| s.id != source.id)
                .filter(
                    |s| matches!(&s.kind, crate::config::SourceKind::Remote { url: u } if u == url),
                )
                .collect(),
            crate::config::SourceKind::Local { .. } => Vec::new(),
        };
        let mut group = vec![source];
        {
            let mut running = self.running.lock().ok()?;
            if !running.insert(id.to_string()) {
                return None;
            }
            for sibling in siblings {
                if running.insert(sibling.id.clone()) {
                    group.push(sibling);
                }
            }
        }
        let fetcher = self.fetcher();
        let public_base = config.daemon.public_base();
        let refresher = Refresher {
            store: &self.store,
            fetcher: &fetcher,
            public_base: &public_base,
        };
        // Run together: the fetcher shares one request between callers
        // asking for the same URL with the same validators.
        let outcomes = futures_util::future::join_all(
            group
                .iter()
                .enumerate()
                .map(|(i, s)| refresher.refresh(s, force && i == 0)),
        )
        .await;
        let mut pass = None;
        for (s, outcome) in group.iter().zip(&outcomes) {
            self.metrics.record_refresh(&s.id, outcome);
            if matches!(outcome, Outcome::Refreshed { .. })
                && matches!(s.kind, crate::config::SourceKind::Remote { .. })
                && let Ok(Some(state)) = self.store.poll_state(&s.id)
                && let Some(bytes) = crate::metrics::state_number(&state, &["last_body_bytes"])
            {
                self.metrics.record_fetched_bytes(&s.id, bytes as u64);
            }
            if outcome.changed_items() {
                self.metrics.mark_items_changed();
                pass = pass.max(self.queue_renders(&config, &s.id));
            }
            if matches!(s.kind, crate::config::SourceKind::Local { .. }) {
                // The source's timer: its next scheduled article, as of
                // this scan.
                let next = self
                    .store
                    .poll_state(&s.id)
                    .ok()
                    .flatten()
                    .and_then(|state| state.next_article_event(Utc::now()));
                self.articles.rearm(&s.id, next.map(|e| e.at));
            }
        }
        if let Some(pass) = pass {
            let mut done = self.render_done.subscribe();
            let _ = done.wait_for(|finished| *finished >= pass).await;
        }
        // Released only after the re-render: "not running" means its
        // changes are served.
        if let Ok(mut running) = self.running.lock() {
            for s in &group {
                running.remove(&s.id);
            }
        }
        outcomes.into_iter().next()
    }

    /// Renders every feed (with `None`: start, reload) or the feeds that
    /// include `source` and publish every change at once (a feed with its
    /// own `refresh` schedule waits for its next publish time) from the
    /// store. A feed whose bytes changed (and that was already published:
    /// not the first rendering after start) is announced to its WebSub hubs.
    pub fn render_feeds(&self, source: Option<&str>) {
        let config = self.config();
        let base = config.daemon.public_base();
        for feed in &config.feeds {
            if let Some(s) = source
                && (feed.refresh.is_some() || !feed.sources.iter().any(|f| f == s))
            {
                continue;
            }
            self.render_one(feed, &base);
        }
    }

    /// Queues the feeds that include `source` (and publish every change at
    /// once) for the next rendering pass; returns that pass's number, or
    /// `None` when no feed needs it. Without a runtime, renders them now.
    fn queue_renders(&self, config: &Config, source: &str) -> Option<u64> {
        let feeds: Vec<String> = config
            .feeds
            .iter()
            .filter(|f| f.refresh.is_none() && f.sources.iter().any(|s| s == source))
            .map(|f| f.name.clone())
            .collect();
        if feeds.is_empty() {
            return None;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.render_feeds(Some(source));
            return None;
        };
        let mut queue = self.render_queue.lock().ok()?;
        queue.feeds.extend(feeds);
        if !queue.scheduled {
            queue.scheduled = true;
            runtime.spawn(render_passes(self.me.clone()));
        }
        Some(queue.started + 1)
    }

    /// Renders the named feeds that are still configured (a pass).
    fn render_named(&self, names: &HashSet<String>) {
        let config = self.config();
        let base = config.daemon.public_base();
        for feed in config.feeds.iter().filter(|f| names.contains(&f.name)) {
            self.render_one(feed, &base);
        }
    }

    /// How many times the feed `name` was rendered (changed or not) since
    /// start.
    pub fn renderings(&self, name: &str) -> u64 {
        self.renderings
            .lock()
            .ok()
            .and_then(|r| r.get(name).copied())
            .unwrap_or(0)
    }

    /// A publish time of the feed `name` (its `refresh` schedule): renders
    /// it from the store, whatever changed since the last time, and notes
    /// the time so that `max-age` counts down to the next one.
    pub fn publish_scheduled(&self, name: &str) {
        self.publish_schedule_started(name);
        let config = self.config();
        if let Some(feed) = config.feed(name) {
            self.render_one(feed, &config.daemon.public_base());
        }
    }

    /// Notes that the publish schedule of `name` (re)starts now: an interval
    /// schedule's publish times count from here.
    pub fn publish_schedule_started(&self, name: &str) {
        if let Ok(mut ticks) = self.publish_ticks.lock() {
            ticks.insert(name.to_string(), Utc::now());
        }
    }

    fn render_one(&self, feed: &crate::config::FeedConfig, base: &str) {
        if let Ok(mut counts) = self.renderings.lock() {
            *counts.entry(feed.name.clone()).or_default() += 1;
        }
        let was_published = self.published.get(&feed.name).is_some();
        // Read before the items: a rendering stamped with an older
        // generation never replaces a newer one (see `Published::put`).
        let generation = self.store.generation();
        // A rendering nobody has fetched yet may share its second with the
        // next one (see `publish::changed_at`); none in memory: assume seen.
        let previous_served = self
            .published
            .get(&feed.name)
            .is_none_or(|previous| previous.was_served());
        let (rendered, items) =
            match publish::render_feed_after(&self.store, feed, base, previous_served) {
                Ok(rendered) => rendered,
                Err(err) => {
                    error!(feed = %feed.name, %err, "render failed: store unreadable");
                    return;
                }
            };
        if self.published.put(&feed.name, rendered, generation) {
            self.metrics.record_render(&feed.name);
            info!(feed = %feed.name, items, "rendered");
            if was_published {
                self.announce(feed, base);
            }
        }
    }

    /// Pings every WebSub hub of `feed` once, in the background.
    fn announce(&self, feed: &crate::config::FeedConfig, base: &str) {
        if feed.hubs.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            warn!(feed = %feed.name, "websub: no runtime to send pings from");
            return;
        };
        let meta = FeedMeta::from_config(feed, base);
        let topics: Vec<String> = publish::Format::ALL
            .into_iter()
            .filter(|f| feed.offers(f.extension()))
            .map(|f| meta.current_url(f))
            .collect();
        for hub in &feed.hubs {
            let fetcher = self.fetcher();
            let (name, hub, topics) = (feed.name.clone(), hub.to_string(), topics.clone());
            runtime.spawn(async move {
                publish::websub::announce(
                    &fetcher,
                    &name,
                    &hub,
                    &topics,
                    publish::websub::FIRST_RETRY_DELAY,
                )
                .await;
            });
        }
    }

    /// `max-age` for a feed: how long its bytes cannot change (see
    /// [`feed_max_age`]).
    pub fn feed_max_age(&self, name: &str) -> u64 {
        let config = self.config();
        let Some(feed) = config.feed(name) else {
            return 60;
        };
        if feed.refresh.is_some() {
            let last_publish = self
                .publish_ticks
                .lock()
                .ok()
                .and_then(|ticks| ticks.get(name).copied());
            return feed_max_age(&config, feed, Utc::now(), last_publish);
        }
        let now = std::time::Instant::now();
        let reused = self.max_ages.lock().ok().and_then(|ages| {
            let &(at, age) = ages.get(name)?;
            (now.duration_since(at) < MAX_AGE_REUSE).then_some(age)
        });
        if let Some(age) = reused {
            return age;
        }
        let age = feed_max_age(&config, feed, Utc::now(), None);
        if let Ok(mut ages) = self.max_ages.lock() {
            ages.insert(name.to_string(), (now, age));
        }
        age
    }
}

/// Runs the queued rendering passes, one per [`RENDER_WINDOW`] at most,
/// each on a blocking thread, until the queue is empty. Holds the app only
/// while a pass runs.
async fn render_passes(app: std::sync::Weak<App>) {
    loop {
        let wait = {
            let Some(app) = app.upgrade() else { return };
            let Ok(queue) = app.render_queue.lock() else {
                return;
            };
            queue
                .last
                .map(|last| {
                    (last + RENDER_WINDOW).saturating_duration_since(std::time::Instant::now())
                })
                .unwrap_or_default()
        };
        tokio::time::sleep(wait).await;
        let Some(app) = app.upgrade() else { return };
        let (feeds, pass) = {
            let Ok(mut queue) = app.render_queue.lock() else {
                return;
            };
            if queue.feeds.is_empty() {
                queue.scheduled = false;
                return;
            }
            queue.started += 1;
            queue.last = Some(std::time::Instant::now());
            (std::mem::take(&mut queue.feeds), queue.started)
        };
        let renderer = app.clone();
        if let Err(err) = tokio::task::spawn_blocking(move || renderer.render_named(&feeds)).await {
            error!(%err, "rendering pass failed");
        }
        app.render_done.send_replace(pass);
    }
}

/// `max-age` for `feed` at `now`, in seconds. A feed with a publish schedule
/// cannot change before its next publish time (an interval schedule counts
/// from `last_publish`), so that is the answer, between 1 second and a day.
/// Any other feed changes when a source does: the shortest interval at which
/// any of its sources is polled (a remote source never more often than its
/// `min_interval`; a cron schedule by the gap between its next two runs),
/// between 1 minute and 1 hour.
pub fn feed_max_age(
    config: &Config,
    feed: &crate::config::FeedConfig,
    now: DateTime<Utc>,
    last_publish: Option<DateTime<Utc>>,
) -> u64 {
    if let Some(schedule) = &feed.refresh {
        return match next_run(schedule, now, last_publish) {
            Some(next) => u64::try_from((next - now).num_seconds())
                .unwrap_or(0)
                .clamp(1, 86_400),
            None => 60,
        };
    }
    feed.sources
        .iter()
        .filter_map(|s| config.source(s))
        .map(|s| {
            let every = match &s.refresh {
                Schedule::Every(d) => d.as_secs(),
                Schedule::Cron(_) => s
                    .refresh
                    .cron()
                    .and_then(|cron| {
                        let mut runs = cron.iter_after(now);
                        let first = runs.next()?;
                        let second = runs.next()?;
                        u64::try_from((second - first).num_seconds()).ok()
                    })
                    .unwrap_or(300),
            };
            match s.kind {
                crate::config::SourceKind::Remote { .. } => every.max(s.min_interval.as_secs()),
                crate::config::SourceKind::Local { .. } => every,
            }
        })
        .min()
        .unwrap_or(300)
        .clamp(60, 3600)
}

/// The first run of `schedule` after `now`: the next time of a cron
/// expression, or for an interval the next multiple of it after `last`
/// (`None` when the interval's start is unknown).
pub fn next_run(
    schedule: &Schedule,
    now: DateTime<Utc>,
    last: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match schedule {
        Schedule::Cron(_) => schedule.cron()?.iter_after(now).next(),
        Schedule::Every(every) => {
            let every = chrono::Duration::from_std(*every).ok()?;
            let last = last?;
            if every <= chrono::Duration::zero() {
                return None;
            }
            if last > now {
                return Some(last);
            }
            let periods = (now - last).num_milliseconds() / every.num_milliseconds().max(1) + 1;
            Some(last + every * i32::try_from(periods).ok()?)
        }
    }
}

/// Gives a new fetcher the `Retry-After` holds stored in the sources' poll
/// states, so they survive restarts and reloads.
fn restore_holds(fetcher: &Fetcher, config: &Config, store: &Store) {
    for source in &config.sources {
        if let Ok(Some(state)) = store.poll_state(&source.id)
            && let (Some(url), Some(until)) = (&state.url, state.retry_after_until)
        {
            fetcher.hold(url, until);
        }
    }
}

/// The fetcher's settings from the config.
pub fn fetch_settings(config: &Config) -> FetchSettings {
    FetchSettings {
        user_agent: FetchSettings::user_agent(config.daemon.contact.as_deref()),
        connect_timeout: Duration::from_secs(10).min(config.defaults.timeout),
        total_timeout: config.defaults.timeout,
        max_body_bytes: config.defaults.max_body_bytes,
        // Decoded feeds may be larger than compressed ones, not unboundedly.
        max_decoded_bytes: config.defaults.max_body_bytes.saturating_mul(4),
        max_concurrent: crate::ingest::fetch::DEFAULT_MAX_CONCURRENT,
        max_per_host: crate::ingest::fetch::DEFAULT_MAX_PER_HOST,
    }
}

/// Runs the daemon until `shutdown` is cancelled: renders every feed from
/// the store, starts the scheduler, says `READY=1` and serves HTTP on
/// `listener`. On shutdown it says `STOPPING=1`, stops accepting, lets
/// in-flight requests finish within [`HTTP_GRACE`] and refreshes within
/// [`SHUTDOWN_GRACE`], and flushes the store.
pub async fn run(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let daemon = app.config().daemon.clone();
    let admin = bind_admin(&daemon, daemon.listen).await?;
    serve(app, listener, admin, shutdown).await
}

/// Binds the admin listener (`[daemon] admin_listen`) for a public listener
/// asked for at `public`; `None` when it is off.
pub async fn bind_admin(
    daemon: &crate::config::DaemonConfig,
    public: std::net::SocketAddr,
) -> anyhow::Result<Option<TcpListener>> {
    let Some(addr) = daemon.admin_addr(public) else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr).await.with_context(|| {
        format!(
            "cannot listen on {addr} for the operator's pages \
             (set [daemon] admin_listen to a free address, or to \"off\")"
        )
    })?;
    Ok(Some(listener))
}

/// [`run`] with the admin listener bound by the caller (`None`: no admin
/// listener).
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    admin: Option<TcpListener>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // The addresses are known before anything runs that may report them
    // (the scheduler's first refreshes, the status line).
    if let Ok(addr) = listener.local_addr() {
        let _ = app.listening.set(addr);
    }
    if let Some(addr) = admin.as_ref().and_then(|l| l.local_addr().ok()) {
        let _ = app.admin_listening.set(addr);
    }
    app.render_feeds(None);
    let tracker = TaskTracker::new();
    // Local sources: publish/expiry timers and folder watches, before the
    // first scans re-arm them.
    app.articles.sync(&app, &app.config()).await;
    let scheduler = crate::schedule::start(app.clone(), tracker.clone(), shutdown.clone())
        .await
        .context("starting the scheduler")?;
    *app.scheduler.lock().await = Some(scheduler);
    // The admin socket exists before READY=1, so the CLI works from then.
    let admin_path = crate::admin::socket_path(app.store.path());
    let admin_task = match crate::admin::bind(&admin_path) {
        Ok(listener) => Some(tokio::spawn(crate::admin::serve(
            app.clone(),
            listener,
            admin_path,
            tracker.clone(),
            shutdown.clone(),
        ))),
        Err(err) => {
            warn!(err = %format!("{err:#}"), "no admin socket: `syndic fetch`, `sources` and `render` cannot reach this daemon");
            None
        }
    };
    app.ready.store(true, Ordering::Relaxed);
    // Ready must not wait for a scan of the store: the item count follows
    // in the first status update.
    app.notifier.ready(&app.status_line(None));
    let background = CancellationToken::new();
    let status_task = tokio::spawn(report_status(app.clone(), background.clone()));
    let store_task = tokio::spawn(watch_store(app.clone(), background.clone()));
    let watchdog_task = crate::notify::watchdog_interval()
        .map(|every| tokio::spawn(watchdog(app.clone(), every, background.clone())));
    let addr = app.listening.get();
    info!(addr = ?addr, admin = ?app.admin_addr(), feeds = app.config().feeds.len(), sources = app.config().sources.len(), "serving");
    let admin_server = admin.map(|admin| {
        tokio::spawn(crate::server::run(
            admin,
            crate::serve::admin_router(app.clone()),
            crate::server::Limits::default(),
            shutdown.clone(),
        ))
    });
    let mut server = tokio::spawn(crate::server::run(
        listener,
        crate::serve::public_router(app.clone()),
        crate::server::Limits::for_this_process(),
        shutdown.clone(),
    ));
    let served = tokio::select! {
        joined = &mut server => Some(joined),
        _ = shutdown.cancelled() => None,
    };
    // The server may also have ended on its own: stop everything else the
    // same way.
    shutdown.cancel();
    info!("stopping");
    app.notifier.stopping();
    let served = match served {
        Some(joined) => joined,
        None => match tokio::time::timeout(HTTP_GRACE, &mut server).await {
            Ok(joined) => joined,
            Err(_) => {
                warn!(grace = ?HTTP_GRACE, "requests still running after the grace period were cut off");
                server.abort();
                Ok(Ok(()))
            }
        },
    };
    if let Some(scheduler) = app.scheduler.lock().await.take() {
        crate::schedule::stop(scheduler).await;
    }
    app.articles.stop().await;
    if let Some(task) = admin_task {
        let _ = task.await;
    }
    if let Some(mut task) = admin_server
        && tokio::time::timeout(HTTP_GRACE, &mut task).await.is_err()
    {
        task.abort();
    }
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        warn!("refreshes still running after the grace period were abandoned");
    }
    background.cancel();
    let _ = status_task.await;
    let _ = store_task.await;
    if let Some(task) = watchdog_task {
        let _ = task.await;
    }
    app.store.flush().await.context("flushing the store")?;
    served.context("HTTP server task")?.context("HTTP server")?;
    info!("stopped");
    Ok(())
}

/// The `/metrics` page: counters from [`Metrics`] plus what the store and
/// the rendered feeds say now. Reads the store: call it off async threads.
pub fn metrics_text(app: &App) -> String {
    use crate::metrics::{FeedSample, Snapshot, SourceSample};
    let config = app.config();
    let snapshot = Snapshot {
        sources: config
            .sources
            .iter()
            .map(|s| SourceSample {
                id: s.id.clone(),
                state: app
                    .store
                    .poll_state(&s.id)
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
                items: app.store.source_item_count(&s.id),
                counters: app.metrics.source(&s.id),
            })
            .collect(),
        feeds: config
            .feeds
            .iter()
            .map(|f| FeedSample {
                name: f.name.clone(),
                items: app
                    .published
                    .get(&f.name)
                    .map(|p| p.rss.item_count)
                    .unwrap_or(0),
                counters: app.metrics.feed(&f.name),
            })
            .collect(),
        uptime_seconds: app.metrics.uptime_seconds(),
        store_bytes: app.store.size_on_disk(),
        store_index_bytes: app.store.index_memory_bytes(),
        items_stored: Some(app.metrics.items_stored(|| app.store.item_count())),
        store_writable: Some(app.store.writable()),
    };
    crate::metrics::exposition(&snapshot)
}

/// Keeps systemd's `STATUS=` current: once right after start (with the item
/// count, which takes a scan of the store) and then every minute.
async fn report_status(app: Arc<App>, stop: CancellationToken) {
    if !app.notifier.is_enabled() {
        return;
    }
    loop {
        let counted = app.clone();
        let counting = tokio::task::spawn_blocking(move || {
            let items = counted.metrics.items_stored(|| counted.store.item_count());
            counted.status_line(Some(items))
        });
        // A count of a large store takes seconds: a stop does not wait for it.
        let line = tokio::select! {
            _ = stop.cancelled() => return,
            line = counting => line,
        };
        if let Ok(line) = line {
            app.notifier.status(&line);
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
    }
}

/// How often the daemon looks at the store's health and, while it does
/// not take writes, tries to get it writing again.
pub const STORE_RETRY: Duration = Duration::from_secs(3);

/// While the store does not take writes (a full disk, an I/O error), tries
/// every [`STORE_RETRY`] to get it writing again ([`Store::recover`]: no
/// restart needed), and tells systemd's `STATUS=` when that changes.
async fn watch_store(app: Arc<App>, stop: CancellationToken) {
    let mut was_writable = true;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(STORE_RETRY) => {}
        }
        let writable = app.store.writable() || app.store.recover().await;
        if writable != was_writable {
            was_writable = writable;
            app.notifier.status(&app.status_line(None));
        }
    }
}

/// Sends `WATCHDOG=1` every `every` while the store answers and the
/// scheduler's task is alive; when either hangs, systemd's `WatchdogSec=`
/// runs out and it restarts the service. Each tick also has the admin
/// socket's file checked (made again when deleted; not a reason to stop
/// pinging).
async fn watchdog(app: Arc<App>, every: Duration, stop: CancellationToken) {
    loop {
        let store_ok = {
            let probe = app.clone();
            matches!(
                tokio::time::timeout(
                    every,
                    tokio::task::spawn_blocking(move || probe.store.poll_state("").is_ok())
                )
                .await,
                Ok(Ok(true))
            )
        };
        let scheduler_ok = match &*app.scheduler.lock().await {
            Some(scheduler) => scheduler.is_alive().await,
            None => false,
        };
        app.admin_recheck.notify_one();
        if store_ok && scheduler_ok {
            app.notifier.watchdog();
        } else {
            error!(
                store_ok,
                scheduler_ok, "watchdog: not alive; not pinging systemd"
            );
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// How two configs differ in their sources.
#[derive(Debug, Default, PartialEq)]
pub struct SourceDiff {
    pub added: Vec<SourceConfig>,
    pub removed: Vec<String>,
    pub changed: Vec<SourceConfig>,
    pub unchanged: usize,
}

/// Compares sources by id: a source whose settings differ is `changed`.
pub fn diff_sources(old: &Config, new: &Config) -> SourceDiff {
    let mut diff = SourceDiff::default();
    for source in &new.sources {
        match old.source(&source.id) {
            None => diff.added.push(source.clone()),
            Some(previous) if previous != source => diff.changed.push(source.clone()),
            Some(_) => diff.unchanged += 1,
        }
    }
    for source in &old.sources {
        if new.source(&source.id).is_none() {
            diff.removed.push(source.id.clone());
        }
    }
    diff
}

/// What a reload did.
#[derive(Debug)]
pub struct ReloadSummary {
    pub sources: SourceDiff,
    pub feeds_added: usize,
    pub feeds_removed: usize,
    /// Settings read but only applied at the next restart (`listen`, `store`).
    pub needs_restart: Vec<&'static str>,
}

/// Why a reload did not happen; the old config keeps running.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("{path}: the new configuration is not valid; the old one keeps running:\n{errors}")]
    Invalid { path: PathBuf, errors: ConfigErrors },
    #[error("applying the new configuration: {0:#}")]
    Apply(anyhow::Error),
}

/// Re-reads the config file the daemon was started with and applies it:
/// added sources get jobs, removed ones lose theirs, changed ones are
/// rescheduled (their stored poll state is kept), and feeds are rendered
/// again. An invalid file changes nothing. Tells systemd `RELOADING=1`
/// before and `READY=1` after.
pub async fn reload(app: &Arc<App>) -> Result<ReloadSummary, ReloadError> {
    let _one_at_a_time = app.reloading.lock().await;
    app.notifier.reloading();
    app.admin_recheck.notify_one();
    let old = app.config();
    let result = reload_from(app, &old).await;
    let rejected = result.as_ref().err().map(|err| {
        let at = Utc::now().format("%Y-%m-%d %H:%M:%S UTC");
        match err {
            ReloadError::Invalid { path, errors } => {
                let first = errors
                    .into_iter()
                    .next()
                    .map(|e| format!(": {}:{}:{}: {}", e.file.display(), e.line, e.column, e.message))
                    .unwrap_or_default();
                format!(
                    "RELOAD REJECTED at {at}: {} has {} error{}{first}; the old configuration keeps running (`syndic check` lists them)",
                    path.display(),
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                )
            }
            ReloadError::Apply(err) => format!(
                "RELOAD REJECTED at {at}: applying the new configuration: {err:#}; the old one keeps running"
            ),
        }
    });
    if let Ok(mut slot) = app.reload_rejected.lock() {
        *slot = rejected;
    }
    match &result {
        Ok(summary) => info!(
            added = summary.sources.added.len(),
            removed = summary.sources.removed.len(),
            changed = summary.sources.changed.len(),
            unchanged = summary.sources.unchanged,
            feeds_added = summary.feeds_added,
            feeds_removed = summary.feeds_removed,
            "configuration reloaded"
        ),
        Err(ReloadError::Invalid { path, errors }) => {
            // One event per problem, so each is one journal line with fields.
            for e in errors {
                error!(
                    file = %e.file.display(),
                    line = e.line,
                    column = e.column,
                    help = e.help.as_deref().unwrap_or(""),
                    "config error: {}",
                    e.message
                );
            }
            error!(
                file = %path.display(),
                errors = errors.len(),
                "reload rejected: the new configuration is not valid; the old one keeps running"
            );
        }
        Err(err) => error!(%err, "reload rejected; the old configuration keeps running"),
    }
    for setting in result.iter().flat_map(|s| &s.needs_restart) {
        warn!(
            setting,
            "changed in the config; takes effect at the next restart"
        );
    }
    app.notifier.ready(&app.status_line(None));
    result
}

async fn reload_from(app: &Arc<App>, old: &Config) -> Result<ReloadSummary, ReloadError> {
    let new = Config::load(&old.path).map_err(|errors| ReloadError::Invalid {
        path: old.path.clone(),
        errors,
    })?;
    let new = Arc::new(new);
    let sources = diff_sources(old, &new);
    let old_feeds: HashSet<&str> = old.feeds.iter().map(|f| f.name.as_str()).collect();
    let new_feeds: HashSet<&str> = new.feeds.iter().map(|f| f.name.as_str()).collect();
    let mut needs_restart = Vec::new();
    if old.daemon.listen != new.daemon.listen {
        needs_restart.push("[daemon] listen");
    }
    if old.daemon.admin_listen != new.daemon.admin_listen {
        needs_restart.push("[daemon] admin_listen");
    }
    if old.daemon.public_status != new.daemon.public_status {
        needs_restart.push("[daemon] public_status");
    }
    if old.daemon.store != new.daemon.store {
        needs_restart.push("[daemon] store");
    }
    if old.daemon.log_level != new.daemon.log_level {
        needs_restart.push("[daemon] log_level");
    }
    // FetchSettings has no PartialEq (it lives in ingest::fetch); its Debug
    // form lists every field.
    if format!("{:?}", fetch_settings(old)) != format!("{:?}", fetch_settings(&new)) {
        let fetcher = Fetcher::new(&fetch_settings(&new))
            .context("building the HTTP client")
            .map_err(ReloadError::Apply)?;
        restore_holds(&fetcher, &new, &app.store);
        if let Ok(mut slot) = app.fetcher.write() {
            *slot = fetcher;
        }
    }
    let summary = ReloadSummary {
        feeds_added: new_feeds.difference(&old_feeds).count(),
        feeds_removed: old_feeds.difference(&new_feeds).count(),
        sources,
        needs_restart,
    };
    crate::redact::configure(&new.daemon.secret_params);
    match app.config.write() {
        Ok(mut slot) => *slot = new.clone(),
        Err(poisoned) => *poisoned.into_inner() = new.clone(),
    }
    if let Ok(mut ages) = app.max_ages.lock() {
        ages.clear();
    }
    if let Some(scheduler) = &*app.scheduler.lock().await {
        scheduler
            .apply(
                app,
                &summary.sources.removed,
                &summary.sources.changed,
                &summary.sources.added,
            )
            .await
            .map_err(ReloadError::Apply)?;
        scheduler
            .set_feeds(app, &new)
            .await
            .map_err(ReloadError::Apply)?;
    }
    if app.scheduler.lock().await.is_some() {
        app.articles.sync(app, &new).await;
    }
    app.published.retain(&new_feeds);
    app.render_feeds(None);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        let dir = std::env::temp_dir();
        Config::parse(text, &dir.join("feeds.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    const FEED: &str = "[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";

    #[test]
    fn source_diff_names_added_removed_changed_and_counts_unchanged() {
        let old = config(&format!(
            "[[source]]\nid = \"a\"\nurl = \"https://a.example/feed\"\n\n\
             [[source]]\nid = \"b\"\nurl = \"https://b.example/feed\"\n\n\
             [[source]]\nid = \"c\"\nurl = \"https://c.example/feed\"\n\n{FEED}"
        ));
        let new = config(&format!(
            "[[source]]\nid = \"a\"\nurl = \"https://a.example/feed\"\n\n\
             [[source]]\nid = \"b\"\nurl = \"https://b.example/other\"\n\n\
             [[source]]\nid = \"d\"\nurl = \"https://d.example/feed\"\n\n{FEED}"
        ));
        let diff = diff_sources(&old, &new);
        assert_eq!(diff.unchanged, 1);
        assert_eq!(diff.removed, vec!["c".to_string()]);
        let ids = |v: &[SourceConfig]| v.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&diff.changed), vec!["b"]);
        assert_eq!(ids(&diff.added), vec!["d"]);
        assert_eq!(diff_sources(&old, &old).unchanged, 3);
        assert!(diff_sources(&old, &old).changed.is_empty());
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .with_timezone(&Utc)
    }

    #[test]
    fn max_age_follows_the_fastest_source_schedule() {
        // A remote interval source floored at min_interval, a cron source
        // every 15 minutes and a daily local one: the fastest wins.
        let c = config(&format!(
            "[defaults]\nmin_interval = \"10m\"\n\
             [[source]]\nid = \"a\"\nurl = \"https://a.example/feed\"\nrefresh = \"5m\"\n\
             [[source]]\nid = \"b\"\nurl = \"https://b.example/feed\"\nrefresh = \"*/15 * * * *\"\n\
             [[source]]\nid = \"l\"\npath = \".\"\nrefresh = \"0 3 * * *\"\n\
             {FEED}\
             [[feed]]\nname = \"a\"\ntitle = \"A\"\ninclude = [\"a\"]\n\
             [[feed]]\nname = \"l\"\ntitle = \"L\"\ninclude = [\"l\"]\n\
             [[feed]]\nname = \"b\"\ntitle = \"B\"\ninclude = [\"b\"]\n"
        ));
        let now = at("2026-11-25T10:07:00Z");
        let age = |name: &str| feed_max_age(&c, c.feed(name).unwrap(), now, None);
        assert_eq!(age("all"), 600);
        assert_eq!(age("b"), 900, "cron source: gap between its next two runs");
        assert_eq!(age("a"), 600, "remote interval floored at min_interval");
        assert_eq!(age("l"), 3600, "a daily local source: capped at an hour");
    }

    #[test]
    fn max_age_of_a_scheduled_feed_runs_to_its_next_publish() {
        let c = config(
            "[[source]]\nid = \"a\"\nurl = \"https://a.example/feed\"\nrefresh = \"5m\"\n\
             [[feed]]\nname = \"daily\"\ntitle = \"D\"\ninclude = [\"*\"]\nrefresh = \"0 6 * * *\"\n\
             [[feed]]\nname = \"hourly\"\ntitle = \"H\"\ninclude = [\"*\"]\nrefresh = \"1h\"\n",
        );
        let daily = c.feed("daily").unwrap();
        let hourly = c.feed("hourly").unwrap();
        // Cron: 05:00 -> the 06:00 run; 07:00 -> tomorrow's, capped at a day.
        assert_eq!(
            feed_max_age(&c, daily, at("2026-11-25T05:00:00Z"), None),
            3600
        );
        assert_eq!(
            feed_max_age(&c, daily, at("2026-11-25T07:00:00Z"), None),
            23 * 3600
        );
        // Interval: counted from the last publish (or the schedule's start),
        // over as many periods as have passed.
        let last = Some(at("2026-11-25T10:00:00Z"));
        assert_eq!(
            feed_max_age(&c, hourly, at("2026-11-25T10:10:00Z"), last),
            3000
        );
        assert_eq!(
            feed_max_age(&c, hourly, at("2026-11-25T12:59:30Z"), last),
            30
        );
        // Unknown start: a short, safe answer.
        assert_eq!(
            feed_max_age(&c, hourly, at("2026-11-25T10:10:00Z"), None),
            60
        );
        assert_eq!(
            next_run(
                &hourly.refresh.clone().unwrap(),
                at("2026-11-25T11:00:00Z"),
                last
            ),
            Some(at("2026-11-25T12:00:00Z"))
        );
    }
}
