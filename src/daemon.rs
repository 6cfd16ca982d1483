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
    pub fn render_feeds(&self, source: Option<&str>) {
        let config = self.config();
        let base = config.daemon.public_base();
        for feed in &config.feeds {
            if source.is_some_and(|s| !feed.sources.iter().any(|f| f == s)) {
                continue;
            }
            let items = match publish::select_items(&self.store, feed) {
                Ok(items) => items,
                Err(err) => {
                    error!(feed = %feed.name, %err, "render failed: store unreadable");
                    continue;
                }
            };
            let meta = FeedMeta {
                name: &feed.name,
                title: &feed.title,
                description: &feed.description,
                base: &base,
            };
            let rendered = publish::render(&meta, &items);
            if self.published.put(&feed.name, rendered) {
                info!(feed = %feed.name, items = items.len(), "rendered");
            }
        }
    }

    /// `max-age` for a feed: the shortest interval at which any of its
    /// sources is refreshed (a cron schedule counts as 5 minutes), between
    /// 1 minute and 1 hour.
    pub fn feed_max_age(&self, name: &str) -> u64 {
        let config = self.config();
        let Some(feed) = config.feed(name) else {
            return 60;
        };
        feed.sources
            .iter()
            .filter_map(|s| config.source(s))
            .map(|s| match &s.refresh {
                Schedule::Every(d) => d.as_secs(),
                Schedule::Cron(_) => 300,
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
