//! The daemon's shared state: [`App`] holds the config, the store, the
//! fetcher, the rendered feeds, the metrics counters and the systemd
//! notifier, and makes the calls every task and handler share: refresh a
//! source ([`App::refresh_source`], with coalesced re-renders), render and
//! publish feeds, the status line, readiness, `max-age`.
//!
//! The modules around it (the scheduler, the article keepers, the HTTP
//! handlers, the admin socket) depend on this one; the lifecycle that
//! starts and stops them (`run`, `serve`, `reload`) is in the daemon
//! module, which depends on all of them.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::{Config, Schedule};
use crate::ingest::fetch::{FetchSettings, Fetcher};
use crate::ingest::watch::FolderWatch;
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::publish::{self, FeedMeta, Published};
use crate::refresh::{Outcome, Refresher};
use crate::schedule::Scheduler;
use crate::store::Store;

/// Renders after refreshes are coalesced: a feed is rendered at most once
/// per window, on a blocking thread, however many of its sources changed
/// meanwhile; a refresh's change is served at most this long (plus one
/// rendering) after it is stored. See [`App::refresh_source`].
pub const RENDER_WINDOW: Duration = Duration::from_millis(500);

/// How often the daemon looks at the store's health and, while it does
/// not take writes, tries to get it writing again.
pub const STORE_RETRY: Duration = Duration::from_secs(3);

/// How long a feed's worked-out `max-age` is reused (see
/// [`App::feed_max_age`]); no longer than the shortest `max-age` it gives.
const MAX_AGE_REUSE: Duration = Duration::from_secs(60);

/// Everything the tasks and the server share.
///
/// The fields marked `pub(crate)` are also set by the daemon's lifecycle
/// (`serve`, `reload`, the watchdog).
pub struct App {
    pub(crate) config: RwLock<Arc<Config>>,
    pub store: Store,
    pub published: Published,
    pub(crate) fetcher: RwLock<Fetcher>,
    /// Sources with a refresh under way: a second one is skipped, not queued.
    running: Mutex<HashSet<String>>,
    pub(crate) ready: AtomicBool,
    pub started_at: DateTime<Utc>,
    pub metrics: Metrics,
    pub notifier: Notifier,
    /// The running scheduler, once the daemon's `run` has started it
    /// (reload needs it).
    pub(crate) scheduler: tokio::sync::Mutex<Option<Scheduler>>,
    /// Serializes reloads (a second SIGHUP waits for the first).
    pub(crate) reloading: tokio::sync::Mutex<()>,
    /// The address the daemon's `run` serves on (for the status line).
    pub(crate) listening: std::sync::OnceLock<std::net::SocketAddr>,
    /// The address of the admin listener, when there is one.
    pub(crate) admin_listening: std::sync::OnceLock<std::net::SocketAddr>,
    /// When each feed with a publish schedule last published (or its
    /// schedule started): where its interval counts from.
    publish_ticks: Mutex<HashMap<String, DateTime<Utc>>>,
    /// `max-age` of each feed without a publish schedule, with when it was
    /// worked out: it visits every source of the feed (tens of thousands
    /// for an `include = ["*"]` feed), so a request reuses it for up to
    /// [`MAX_AGE_REUSE`]. Cleared at reload.
    pub(crate) max_ages: Mutex<HashMap<String, (std::time::Instant, u64)>>,
    /// Article pages, rendered once per change.
    pub pages: PageCache,
    /// Timers and folder watches of the local sources (started by the
    /// daemon's `run`).
    pub articles: Articles,
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
    /// Wakes the webhook task: a publication queued a delivery.
    pub webhook_wake: tokio::sync::Notify,
    /// Wakes the WebSub task: a source's hub or topic may need a
    /// subscription, or a reload changed the sources.
    pub websub_wake: tokio::sync::Notify,
    /// Pushes taken per source per minute (the WebSub callback).
    pub websub_limiter: crate::websub::Limiter,
    /// Why the last reload was rejected, while the old config runs; cleared
    /// by a reload that succeeds. Shown on `/`, in `syndic sources` and in
    /// `STATUS=`, not only in the log.
    pub(crate) reload_rejected: Mutex<Option<String>>,
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
            pages: PageCache::default(),
            articles: Articles::default(),
            render_queue: Mutex::new(RenderQueue::default()),
            render_done: tokio::sync::watch::Sender::new(0),
            renderings: Mutex::new(HashMap::new()),
            me: me.clone(),
            admin_recheck: tokio::sync::Notify::new(),
            webhook_wake: tokio::sync::Notify::new(),
            websub_wake: tokio::sync::Notify::new(),
            websub_limiter: crate::websub::Limiter::default(),
            reload_rejected: Mutex::new(None),
        }))
    }

    pub(crate) fn fetcher(&self) -> Fetcher {
        match self.fetcher.read() {
            Ok(f) => f.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The feeds the running scheduler has publish jobs for (those with a
    /// `refresh` schedule; empty before the daemon's `run`).
    pub async fn scheduled_feeds(&self) -> Vec<String> {
        match &*self.scheduler.lock().await {
            Some(scheduler) => scheduler.scheduled_feeds(),
            None => Vec::new(),
        }
    }

    /// The sources the running scheduler has jobs for (empty before the
    /// daemon's `run`).
    pub async fn scheduled_sources(&self) -> Vec<String> {
        match &*self.scheduler.lock().await {
            Some(scheduler) => scheduler.scheduled_sources(),
            None => Vec::new(),
        }
    }

    /// When the running scheduler runs source `id` next (`None` before the
    /// daemon's `run`, or for a source it does not know).
    pub async fn scheduled_run(&self, id: &str) -> Option<DateTime<Utc>> {
        self.scheduler.lock().await.as_ref()?.next_run(id)
    }

    /// A one-line summary for systemd's `STATUS=`: sources ok and failing,
    /// feeds published, and the item count when it is known (counting the
    /// store takes a scan, so the caller decides).
    /// Why the last reload was rejected, if the config running is older
    /// than the file (see the daemon's `reload`).
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
    /// once the daemon's `run` bound it; `None` when it is off.
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
        let siblings = config.sources_sharing_url(source);
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
            {
                self.metrics
                    .record_fetched_bytes(&s.id, state.last_body_bytes);
            }
            if outcome.changed_items() {
                self.metrics.mark_items_changed();
                pass = pass.max(self.queue_renders(&config, &s.id));
            }
            if matches!(outcome, Outcome::Refreshed { .. })
                && crate::websub::needs_attention(&self.store, s, Utc::now())
            {
                self.websub_wake.notify_one();
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

    /// Takes a document a WebSub hub pushed for source `id` (see
    /// `Refresher::ingest_push`) and re-renders the feeds that include it
    /// when its items changed; `None` when the source is not configured.
    pub async fn ingest_push(
        &self,
        id: &str,
        body: &[u8],
        content_type: Option<&str>,
    ) -> Option<Outcome> {
        let config = self.config();
        let source = config.source(id)?;
        let fetcher = self.fetcher();
        let public_base = config.daemon.public_base();
        let refresher = Refresher {
            store: &self.store,
            fetcher: &fetcher,
            public_base: &public_base,
        };
        let outcome = refresher
            .ingest_push(source, body, content_type, Utc::now())
            .await;
        self.metrics.record_refresh(id, &outcome);
        match &outcome {
            Outcome::Failed(cause) => warn!(source = id, %cause, "websub: push not taken"),
            other => info!(source = id, outcome = ?other, "websub: push taken"),
        }
        if outcome.changed_items() {
            self.metrics.mark_items_changed();
            if let Some(pass) = self.queue_renders(&config, id) {
                let mut done = self.render_done.subscribe();
                let _ = done.wait_for(|finished| *finished >= pass).await;
            }
        }
        Some(outcome)
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
        let json = (!feed.webhooks.is_empty()).then(|| rendered.json.body.clone());
        if self.published.put(&feed.name, rendered, generation) {
            self.metrics.record_render(&feed.name);
            info!(feed = %feed.name, items, "rendered");
            if was_published {
                self.announce(feed, base);
            }
            if let Some(json) = json {
                match publish::webhook::record(&self.store, feed, &json, Utc::now()) {
                    Ok(0) => {}
                    Ok(_) => self.webhook_wake.notify_one(),
                    Err(err) => {
                        error!(feed = %feed.name, %err, "webhook: publication not recorded")
                    }
                }
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
    pub fn feed_max_age(&self, config: &Config, name: &str) -> u64 {
        let Some(feed) = config.feed(name) else {
            return 60;
        };
        if feed.refresh.is_some() {
            let last_publish = self
                .publish_ticks
                .lock()
                .ok()
                .and_then(|ticks| ticks.get(name).copied());
            return feed_max_age(config, feed, Utc::now(), last_publish);
        }
        let now = std::time::Instant::now();
        let reused = self.max_ages.lock().ok().and_then(|ages| {
            let &(at, age) = ages.get(name)?;
            (now.duration_since(at) < MAX_AGE_REUSE).then_some(age)
        });
        if let Some(age) = reused {
            return age;
        }
        let age = feed_max_age(config, feed, Utc::now(), None);
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
pub(crate) fn restore_holds(fetcher: &Fetcher, config: &Config, store: &Store) {
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
        webhook_deliveries_owed: app.store.deliveries_owed(),
        websub_subscriptions: app.store.all_subscriptions().map_or_else(
            |_| Default::default(),
            |subs| {
                let mut counts = std::collections::BTreeMap::new();
                for (_, sub) in subs {
                    *counts.entry(sub.state.name()).or_default() += 1;
                }
                counts
            },
        ),
    };
    crate::metrics::exposition(&snapshot)
}

// The state of the modules around the app that the app carries: the
// types, and what they do without the app (what the app and the daemon
// call on them), are here, so that the app needs none of those modules.
// What needs the app is in the modules that depend on it: the article
// keepers' tasks in `articles`, the page cache's answers in `serve`. (The
// scheduler needs no app: it is `schedule::Scheduler`, given what to run.)

/// The keepers of the local sources (see the `articles` module).
#[derive(Default)]
pub struct Articles {
    pub(crate) keepers: Mutex<HashMap<String, Keeper>>,
}

impl Articles {
    /// Sets the timer of source `id` to `at` (`None`: nothing scheduled).
    pub fn rearm(&self, id: &str, at: Option<DateTime<Utc>>) {
        if let Ok(keepers) = self.keepers.lock()
            && let Some(keeper) = keepers.get(id)
        {
            keeper.timer.send_if_modified(|slot| {
                let changed = *slot != at;
                *slot = at;
                changed
            });
        }
    }

    /// When the timer of source `id` runs out next (for tests and pages).
    pub fn armed(&self, id: &str) -> Option<DateTime<Utc>> {
        self.keepers
            .lock()
            .ok()
            .and_then(|k| k.get(id).and_then(|k| *k.timer.borrow()))
    }

    /// True when the folder of source `id` is watched.
    pub fn watching(&self, id: &str) -> bool {
        self.keepers
            .lock()
            .is_ok_and(|k| k.get(id).is_some_and(|k| k.watch.is_some()))
    }

    /// Stops every keeper: watches end, timers are dropped, and a refresh
    /// a keeper started is awaited.
    pub async fn stop(&self) {
        let all: Vec<Keeper> = match self.keepers.lock() {
            Ok(mut keepers) => keepers.drain().map(|(_, k)| k).collect(),
            Err(_) => Vec::new(),
        };
        for keeper in all {
            keeper.shut().await;
        }
    }
}

/// The keeper of one local source: its timer, its folder watch and the
/// task that refreshes the source when either fires.
pub(crate) struct Keeper {
    pub(crate) path: PathBuf,
    pub(crate) timer: watch::Sender<Option<DateTime<Utc>>>,
    pub(crate) stop: CancellationToken,
    pub(crate) task: JoinHandle<()>,
    /// `None` when the folder is not watched (the scan is the fallback).
    pub(crate) watch: Option<FolderWatch>,
}

impl Keeper {
    pub(crate) async fn shut(self) {
        drop(self.watch);
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Article pages rendered once per change of their item and served as
/// stored bytes: the ETag comes from the item's content digest and date,
/// so a 304 needs no rendering and an unchanged page is never rendered
/// again. At most [`PageCache::MAX_BYTES`] of pages are kept (the cache is
/// emptied when a new page would pass it).
#[derive(Default)]
pub struct PageCache {
    pub(crate) pages: std::sync::Mutex<std::collections::HashMap<String, (String, bytes::Bytes)>>,
    pub(crate) bytes: std::sync::atomic::AtomicUsize,
    pub(crate) renders: std::sync::atomic::AtomicU64,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A config parsed from `text` (for the daemon's tests too).
    pub(crate) fn config(text: &str) -> Config {
        let dir = std::env::temp_dir();
        Config::parse(text, &dir.join("feeds.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    pub(crate) const FEED: &str = "[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";

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
