//! When each source is refreshed: one tokio-cron-scheduler job per source
//! (its interval or cron expression), plus a first refresh shortly after
//! start at a jittered point of a short window, so sources do not all fire
//! at once. Jobs only call
//! [`App::refresh_source`]; whether a remote source is due is decided by its
//! stored poll state, so a restart never polls sooner than allowed.

use std::sync::Arc;

use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use crate::config::{Schedule, SourceConfig};
use crate::daemon::App;

/// A running scheduler; stop it with [`stop`].
pub struct Scheduler(JobScheduler);

/// Creates and starts the jobs for every configured source.
pub async fn start(
    app: Arc<App>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) -> anyhow::Result<Scheduler> {
    let scheduler = JobScheduler::new().await?;
    let config = app.config();
    // First refreshes land at jittered points of one slot per source in a
    // window of 750 ms per source (at most 5 minutes): never at once.
    let count = config.sources.len();
    for (index, source) in config.sources.iter().enumerate() {
        let first = crate::ingest::poll::start_delay(&source.id, app.started_at, index, count);
        let kick = refresh_job(&app, &tracker, &shutdown, &source.id);
        scheduler.add(Job::new_one_shot_async(first, kick)?).await?;
        scheduler
            .add(recurring_job(&app, &tracker, &shutdown, source)?)
            .await?;
    }
    scheduler.start().await?;
    Ok(Scheduler(scheduler))
}

/// Stops the scheduler: no job starts after this returns.
pub async fn stop(scheduler: Scheduler) {
    let mut inner = scheduler.0;
    if let Err(err) = inner.shutdown().await {
        warn!(%err, "scheduler did not stop cleanly");
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

type JobFn = Box<
    dyn FnMut(
            uuid::Uuid,
            JobScheduler,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// A job body that refreshes `id` as a tracked task, unless the daemon is
/// stopping.
fn refresh_job(
    app: &Arc<App>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
    id: &str,
) -> JobFn {
    // A weak handle: the scheduler's jobs must not keep the App (and so the
    // store's lock) alive once the daemon has stopped.
    let app = Arc::downgrade(app);
    let tracker = tracker.clone();
    let shutdown = shutdown.clone();
    let id = id.to_string();
    Box::new(move |_, _| {
        let app = app.clone();
        let shutdown = shutdown.clone();
        let id = id.clone();
        let task = tracker.track_future(async move {
            let Some(app) = app.upgrade() else {
                return;
            };
            if shutdown.is_cancelled() {
                return;
            }
            match app.refresh_source(&id, false).await {
                Some(outcome) => debug!(source = %id, ?outcome, "scheduled refresh"),
                None => debug!(source = %id, "refresh skipped: one is already running"),
            }
        });
        Box::pin(task)
    })
}
