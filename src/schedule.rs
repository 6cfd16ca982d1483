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

use chrono::{DateTime, Utc};

use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use crate::app::{App, Scheduler};
use crate::config::{Config, FeedConfig, Schedule, SourceConfig};
use crate::refresh::Outcome;

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

// `Scheduler` and what it does without the app are in `crate::app` (the
// app carries it); what needs the app is here.
impl Scheduler {
    /// Adds the jobs of one source: a first refresh after `first`, then its
    /// interval or cron schedule.
    async fn add_source(
        &self,
        app: &Arc<App>,
        source: &SourceConfig,
        first: Duration,
    ) -> anyhow::Result<()> {
        let kick = refresh_job(app, &self.tracker, &self.shutdown, source);
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
}

fn recurring_job(
    app: &Arc<App>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
    source: &SourceConfig,
) -> anyhow::Result<Job> {
    let run = refresh_job(app, tracker, shutdown, source);
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

/// A job body that refreshes `source`. A source found not due yet, but due
/// before the job's next run (its last poll ran a little after a tick, or
/// its first poll came at a jittered time off the job's grid), is
/// refreshed when it falls due rather than a whole period later: a source
/// is polled when `syndic sources` says, and never before.
fn refresh_job(
    app: &Arc<App>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
    source: &SourceConfig,
) -> JobFn {
    let id = source.id.clone();
    let schedule = source.refresh.clone();
    let stop = shutdown.clone();
    app_job(app, tracker, shutdown, move |app| {
        let (id, schedule, stop) = (id.clone(), schedule.clone(), stop.clone());
        async move {
            let mut outcome = app.refresh_source(&id, false).await;
            if let Some(Outcome::NotDue { next_poll_at }) = &outcome
                && let Some(wait) = wait_for_due(&schedule, Utc::now(), *next_poll_at)
            {
                debug!(source = %id, ?wait, "not due yet; due before the next tick");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
                outcome = app.refresh_source(&id, false).await;
            }
            match outcome {
                Some(outcome) => debug!(source = %id, ?outcome, "scheduled refresh"),
                None => debug!(source = %id, "refresh skipped: one is already running"),
            }
        }
    })
}

/// How long a job that ran at `now` waits for a source due at `due`: until
/// then when that comes before the job's next run, else `None` (the next
/// run will find it due).
pub fn wait_for_due(
    schedule: &Schedule,
    now: DateTime<Utc>,
    due: DateTime<Utc>,
) -> Option<Duration> {
    let next_run = match schedule {
        Schedule::Every(every) => now + chrono::Duration::from_std(*every).ok()?,
        Schedule::Cron(_) => schedule.cron()?.iter_after(now).next()?,
    };
    if due >= next_run {
        return None;
    }
    (due - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap() + chrono::Duration::seconds(secs)
    }

    #[test]
    fn a_source_due_before_the_next_tick_is_waited_for() {
        let minute = Schedule::Every(Duration::from_secs(60));
        // Due 17 s after this tick, the next tick 60 s away: wait 17 s.
        assert_eq!(
            wait_for_due(&minute, at(0), at(17)),
            Some(Duration::from_secs(17))
        );
        // A poll that ran 40 ms after its tick: due 40 ms after the next.
        assert_eq!(
            wait_for_due(&minute, at(60), at(60) + chrono::Duration::milliseconds(40)),
            Some(Duration::from_millis(40))
        );
        // Due at or after the next tick: that tick polls it.
        assert_eq!(wait_for_due(&minute, at(0), at(60)), None);
        assert_eq!(wait_for_due(&minute, at(0), at(3600)), None);
        // Already due (a race): no wait.
        assert_eq!(wait_for_due(&minute, at(10), at(5)), None);
    }

    #[test]
    fn cron_schedules_wait_until_their_next_run() {
        let hourly = Schedule::Cron("0 0 * * * *".into());
        // Next run at 11:00; due at 10:30: wait 30 minutes.
        assert_eq!(
            wait_for_due(&hourly, at(0), at(1800)),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(wait_for_due(&hourly, at(0), at(3601)), None);
    }
}
