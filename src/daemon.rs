//! The daemon: wires config, store, fetcher, publisher, scheduler and
//! server together, and owns their lifecycle. [`run`] takes the listener
//! and a shutdown token, so tests drive the real daemon on port 0 and stop
//! it themselves.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::config::{Config, Schedule};
use crate::ingest::fetch::{FetchSettings, Fetcher};
use crate::publish::{self, FeedMeta, Published};
use crate::refresh::{Outcome, Refresher};
use crate::store::Store;

/// How long in-flight refreshes may take to finish after a stop signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Everything the tasks and the server share.
pub struct App {
    config: RwLock<Arc<Config>>,
    pub store: Store,
    pub published: Published,
    fetcher: Fetcher,
    /// Sources with a refresh under way: a second one is skipped, not queued.
    running: Mutex<HashSet<String>>,
    ready: AtomicBool,
    pub started_at: DateTime<Utc>,
}

impl App {
    pub fn new(config: Config, store: Store) -> anyhow::Result<Arc<App>> {
        let fetcher = Fetcher::new(&fetch_settings(&config)).context("building the HTTP client")?;
        Ok(Arc::new(App {
            config: RwLock::new(Arc::new(config)),
            store,
            published: Published::default(),
            fetcher,
            running: Mutex::new(HashSet::new()),
            ready: AtomicBool::new(false),
            started_at: Utc::now(),
        }))
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
    /// its items changed. `None` when the source is unknown or already being
    /// refreshed.
    pub async fn refresh_source(&self, id: &str, force: bool) -> Option<Outcome> {
        let config = self.config();
        let source = config.source(id)?;
        {
            let mut running = self.running.lock().ok()?;
            if !running.insert(id.to_string()) {
                return None;
            }
        }
        let refresher = Refresher {
            store: &self.store,
            fetcher: &self.fetcher,
            public_base: &config.daemon.public_base(),
        };
        let outcome = refresher.refresh(source, force).await;
        if outcome.changed_items() {
            self.render_feeds(Some(id));
        }
        // Released only after the re-render: "not running" means its
        // changes are served.
        if let Ok(mut running) = self.running.lock() {
            running.remove(id);
        }
        Some(outcome)
    }

    /// Renders every feed (or those including `source`) from the store.
    /// A feed whose bytes changed (and that was already published: not the
    /// first rendering after start) is announced to its WebSub hubs.
    pub fn render_feeds(&self, source: Option<&str>) {
        let config = self.config();
        let base = config.daemon.public_base();
        // The source just refreshed (or, with none, every source) may have
        // a new item count.
        self.published.counts.invalidate(source);
        for feed in &config.feeds {
            if source.is_some_and(|s| !feed.sources.iter().any(|f| f == s)) {
                continue;
            }
            let was_published = self.published.get(&feed.name).is_some();
            let (rendered, items) =
                match publish::render_feed(&self.store, feed, &base, &self.published.counts) {
                    Ok(rendered) => rendered,
                    Err(err) => {
                        error!(feed = %feed.name, %err, "render failed: store unreadable");
                        continue;
                    }
                };
            if self.published.put(&feed.name, rendered) {
                info!(feed = %feed.name, items, "rendered");
                if was_published {
                    self.announce(feed, &base);
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
            let fetcher = self.fetcher.clone();
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

    /// `max-age` for a feed: how often it can actually change, that is the
    /// shortest interval at which any of its sources is polled (a remote
    /// source never more often than its `min_interval`; a cron schedule by
    /// the gap between its next two runs), between 1 minute and 1 hour.
    pub fn feed_max_age(&self, name: &str) -> u64 {
        let config = self.config();
        let Some(feed) = config.feed(name) else {
            return 60;
        };
        let now = Utc::now();
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
}

/// The fetcher's settings from the config.
pub fn fetch_settings(config: &Config) -> FetchSettings {
    FetchSettings {
        user_agent: FetchSettings::user_agent(config.daemon.contact.as_deref()),
        connect_timeout: Duration::from_secs(10).min(config.defaults.timeout),
        total_timeout: config.defaults.timeout,
        max_body_bytes: config.defaults.max_body_bytes,
    }
}

/// Runs the daemon until `shutdown` is cancelled: renders every feed from
/// the store, starts the scheduler and serves HTTP on `listener`. On
/// shutdown it stops accepting, lets in-flight refreshes finish within
/// [`SHUTDOWN_GRACE`], and flushes the store.
pub async fn run(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    app.render_feeds(None);
    app.ready.store(true, Ordering::Relaxed);
    let tracker = TaskTracker::new();
    let scheduler = crate::schedule::start(app.clone(), tracker.clone(), shutdown.clone())
        .await
        .context("starting the scheduler")?;
    let addr = listener.local_addr().ok();
    info!(addr = ?addr, feeds = app.config().feeds.len(), sources = app.config().sources.len(), "serving");
    let served = crate::server::run(
        listener,
        crate::serve::router(app.clone()),
        crate::server::Limits::default(),
        shutdown.clone(),
    )
    .await;
    info!("stopping");
    crate::schedule::stop(scheduler).await;
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        warn!("refreshes still running after the grace period were abandoned");
    }
    app.store.flush().await.context("flushing the store")?;
    served.context("HTTP server")?;
    info!("stopped");
    Ok(())
}
