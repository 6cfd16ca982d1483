//! When each source is refreshed: one tokio-cron-scheduler job per source
//! (its interval or cron expression), plus a first refresh shortly after
//! start at a jittered point of a short window, so sources do not all fire
//! at once. Jobs only call
//! [`App::refresh_source`]; whether a remote source is due is decided by its
//! stored poll state, so a restart never polls sooner than allowed.
//!
//! On reload, [`Scheduler::apply`] removes the jobs of removed or changed
//! sources and adds jobs for added or changed ones; unchanged sources keep
//! their jobs (and their stored poll state is never touched).
//!
//! An output feed with its own `refresh` (publish) schedule gets one job
//! too, which only calls [`App::publish_scheduled`]; [`Scheduler::set_feeds`]
//! replaces those jobs on reload (they hold no state).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use crate::config::{Config, FeedConfig, Schedule, SourceConfig};
use crate::daemon::App;

/// A running scheduler; stop it with [`stop`].
pub struct Scheduler {
    inner: JobScheduler,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    /// The jobs of each source (its first refresh and its recurring one).
    jobs: Mutex<HashMap<String, Vec<uuid::Uuid>>>,
    /// The publish job of each feed that has a `refresh` schedule.
    feed_jobs: Mutex<HashMap<String, uuid::Uuid>>,
}

/// Creates and starts the jobs for every configured source.
pub async fn start(
    app: Arc<App>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) -> anyhow::Result<Scheduler> {
    let scheduler = Scheduler {
        inner: JobScheduler::new().await?,
        tracker,
        shutdown,
        jobs: Mutex::new(HashMap::new()),
        feed_jobs: Mutex::new(HashMap::new()),
    };
    let config = app.config();
    // First refreshes land at jittered points of one slot per source in a
    // window of 750 ms per source (at most 5 minutes): never at once.
    let count = config.sources.len();
    for (index, source) in config.sources.iter().enumerate() {
        let first = crate::ingest::poll::start_delay(&source.id, app.started_at, index, count);
        scheduler.add_source(&app, source, first).await?;
    }
    scheduler.set_feeds(&app, &config).await?;
    scheduler.inner.start().await?;
    Ok(scheduler)
}

/// Stops the scheduler: no job starts after this returns.
pub async fn stop(scheduler: Scheduler) {
    let mut inner = scheduler.inner;
    if let Err(err) = inner.shutdown().await {
        warn!(%err, "scheduler did not stop cleanly");
    }
}

impl Scheduler {
    /// Adds the jobs of one source: a first refresh after `first`, then its
    /// interval or cron schedule.
    async fn add_source(
        &self,
        app: &Arc<App>,
        source: &SourceConfig,
        first: Duration,
    ) -> anyhow::Result<()> {
        let kick = refresh_job(app, &self.tracker, &self.shutdown, &source.id);
        let kick = self
            .inner
            .add(Job::new_one_shot_async(first, kick)?)
            .await?;
        let recurring = self
            .inner
            .add(recurring_job(app, &self.tracker, &self.shutdown, source)?)
            .await?;
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(source.id.clone(), vec![kick, recurring]);
        }
        Ok(())
    }

    /// Removes the jobs of one source (a refresh already running finishes).
    async fn remove_source(&self, id: &str) {
        let ids = match self.jobs.lock() {
            Ok(mut jobs) => jobs.remove(id).unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        for job in ids {
            // A one-shot job that already ran is gone: nothing to remove.
            if let Err(err) = self.inner.remove(&job).await {
                debug!(source = %id, %err, "job already gone");
            }
        }
    }

    /// Applies a config change: jobs of `removed` and `changed` sources go,
    /// `added` and `changed` sources get new jobs (their first refresh soon,
    /// spread out). Unchanged sources are not touched.
    pub async fn apply(
        &self,
        app: &Arc<App>,
        removed: &[String],
        changed: &[SourceConfig],
        added: &[SourceConfig],
    ) -> anyhow::Result<()> {
        for id in removed {
            self.remove_source(id).await;
        }
        for source in changed {
            self.remove_source(&source.id).await;
        }
        for (index, source) in changed.iter().chain(added).enumerate() {
            let first = crate::ingest::poll::start_delay(
                &source.id,
                chrono::Utc::now(),
                index + 1,
                changed.len() + added.len() + 1,
            );
            self.add_source(app, source, first).await?;
        }
        Ok(())
    }

    /// Gives each feed of `config` with a publish schedule a job (and no
    /// other feed one), replacing the jobs it had.
    pub async fn set_feeds(&self, app: &Arc<App>, config: &Config) -> anyhow::Result<()> {
        let old: Vec<uuid::Uuid> = match self.feed_jobs.lock() {
            Ok(mut jobs) => jobs.drain().map(|(_, job)| job).collect(),
            Err(_) => Vec::new(),
        };
        for job in old {
            if let Err(err) = self.inner.remove(&job).await {
                debug!(%err, "feed job already gone");
            }
        }
        for feed in config.feeds.iter().filter(|f| f.refresh.is_some()) {
            let job = self
                .inner
                .add(publish_job(app, &self.tracker, &self.shutdown, feed)?)
                .await?;
            app.publish_schedule_started(&feed.name);
            if let Ok(mut jobs) = self.feed_jobs.lock() {
                jobs.insert(feed.name.clone(), job);
            }
        }
        Ok(())
    }

    /// The feeds that have publish jobs, sorted (for tests).
    pub fn scheduled_feeds(&self) -> Vec<String> {
        let mut names: Vec<String> = match self.feed_jobs.lock() {
            Ok(jobs) => jobs.keys().cloned().collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }

    /// The sources that have jobs (for tests and the watchdog).
    pub fn scheduled_sources(&self) -> Vec<String> {
        let mut ids: Vec<String> = match self.jobs.lock() {
            Ok(jobs) => jobs.keys().cloned().collect(),
            Err(_) => Vec::new(),
        };
        ids.sort();
        ids
    }

    /// True when the scheduler's own task answers (the watchdog's check).
    pub async fn is_alive(&self) -> bool {
        let mut inner = self.inner.clone();
        matches!(
            tokio::time::timeout(Duration::from_secs(5), inner.time_till_next_job()).await,
            Ok(Ok(_))
        )
    }
}

fn recurring_job(
    app: &Arc<App>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
    source: &SourceConfig,
) -> anyhow::Result<Job> {
    let run = refresh_job(app, tracker, shutdown, &source.id);
    Ok(match &source.refresh {
        Schedule::Every(every) => Job::new_repeated_async(*every, run)?,
        Schedule::Cron(expr) => Job::new_async(expr.as_str(), run)?,
    })
}

/// The job that publishes `feed` at the times of its `refresh` schedule.
fn publish_job(
    app: &Arc<App>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
    feed: &FeedConfig,
) -> anyhow::Result<Job> {
    let name = feed.name.clone();
    let run = app_job(app, tracker, shutdown, move |app| {
        let name = name.clone();
        async move {
            // Rendering reads the store: off the async workers.
            let feed = name.clone();
            if let Err(err) =
                tokio::task::spawn_blocking(move || app.publish_scheduled(&feed)).await
            {
                warn!(feed = %name, %err, "scheduled publish failed");
            }
        }
    });
    Ok(match feed.refresh.as_ref() {
        Some(Schedule::Cron(expr)) => Job::new_async(expr.as_str(), run)?,
        Some(Schedule::Every(every)) => Job::new_repeated_async(*every, run)?,
        None => anyhow::bail!("feed {} has no publish schedule", feed.name),
    })
}

type JobFn = Box<
    dyn FnMut(
            uuid::Uuid,
            JobScheduler,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// A job body that runs `work` on the app as a tracked task, unless the
/// daemon is stopping or gone.
fn app_job<F, Fut>(
    app: &Arc<App>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
    work: F,
) -> JobFn
where
    F: Fn(Arc<App>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    // A weak handle: the scheduler's jobs must not keep the App (and so the
    // store's lock) alive once the daemon has stopped.
    let app = Arc::downgrade(app);
    let tracker = tracker.clone();
    let shutdown = shutdown.clone();
    let work = Arc::new(work);
    Box::new(move |_, _| {
        let app = app.clone();
        let shutdown = shutdown.clone();
        let work = work.clone();
        let task = tracker.track_future(async move {
            let Some(app) = app.upgrade() else {
                return;
            };
            if shutdown.is_cancelled() {
                return;
            }
            work(app).await;
        });
        Box::pin(task)
    })
}

/// A job body that refreshes `id`.
fn refresh_job(
    app: &Arc<App>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
    id: &str,
) -> JobFn {
    let id = id.to_string();
    app_job(app, tracker, shutdown, move |app| {
        let id = id.clone();
        async move {
            match app.refresh_source(&id, false).await {
                Some(outcome) => debug!(source = %id, ?outcome, "scheduled refresh"),
                None => debug!(source = %id, "refresh skipped: one is already running"),
            }
        }
    })
}
