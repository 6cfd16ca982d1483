//! The daemon: wires config, store, fetcher, publisher, scheduler and
//! server together around the shared [`App`], and owns their lifecycle
//! (tasks, signals, reload, shutdown). [`run`] takes the listener
//! and a shutdown token, so tests drive the real daemon on port 0 and stop
//! it themselves.
//!
//! Lifecycle: render every feed from the store, start the scheduler, say
//! `READY=1` ([`crate::notify`]), serve. [`reload`] (SIGHUP) swaps in a new
//! config without a restart. On shutdown: `STOPPING=1`, stop accepting,
//! finish in-flight requests (within [`HTTP_GRACE`]) and refreshes (within
//! [`SHUTDOWN_GRACE`]), flush the store. Both graces together stay well
//! inside the unit's `TimeoutStopSec=`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use crate::app::{App, STORE_RETRY, fetch_settings, restore_holds};
use crate::config::{Config, ConfigErrors, Schedule, SourceConfig};
use crate::ingest::fetch::Fetcher;
use crate::refresh::Outcome;
use crate::schedule::Target;

/// How long in-flight refreshes may take to finish after a stop signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// How long in-flight HTTP requests may take to finish after a stop signal
/// (feeds are bytes in memory: a healthy request takes milliseconds).
pub const HTTP_GRACE: Duration = Duration::from_secs(5);

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
    let runner = scheduled_runs(&app, &tracker, &shutdown);
    let (scheduler, feeds) =
        crate::schedule::start(&app.config(), app.started_at, runner, shutdown.clone());
    for feed in feeds {
        app.publish_schedule_started(&feed);
    }
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
    let webhook_task = tokio::spawn(deliver_webhooks(app.clone(), background.clone()));
    let websub_task = tokio::spawn(subscribe_websub(app.clone(), background.clone()));
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
    let mut server = tokio::spawn(crate::server::run_per_thread(
        listener,
        crate::serve::public_router(app.clone()),
        crate::server::Limits::for_this_process(),
        shutdown.clone(),
        crate::server::serving_threads(),
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
    let _ = webhook_task.await;
    let _ = websub_task.await;
    if let Some(task) = watchdog_task {
        let _ = task.await;
    }
    app.store.flush().await.context("flushing the store")?;
    served.context("HTTP server task")?.context("HTTP server")?;
    info!("stopped");
    Ok(())
}

/// Keeps the WebSub subscriptions as the sources ask (see `websub`): at
/// start, when a refresh finds a hub to subscribe to, after a reload, and
/// every minute (renewals, retries).
async fn subscribe_websub(app: Arc<App>, stop: CancellationToken) {
    loop {
        let config = app.config();
        let fetcher = app.fetcher();
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = crate::websub::reconcile(&app.store, &fetcher, &config, Utc::now()) => {}
        }
        // Not sooner than 200 ms: a renewal that keeps failing to be
        // written must not spin.
        let next = crate::websub::next_due(&app.store);
        let floor = Duration::from_millis(200);
        if !wait_until(next, floor, &app.websub_wake, &stop).await {
            return;
        }
    }
}

/// Waits until `next` (at least `floor`, at most a minute) or a wake;
/// false when the daemon stops.
async fn wait_until(
    next: Option<chrono::DateTime<Utc>>,
    floor: Duration,
    wake: &tokio::sync::Notify,
    stop: &CancellationToken,
) -> bool {
    let wait = next
        .map(|at| (at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
        .unwrap_or(Duration::from_secs(60))
        .clamp(floor, Duration::from_secs(60));
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = wake.notified() => true,
        _ = tokio::time::sleep(wait) => true,
    }
}

/// Sends the webhook deliveries owed (see `publish::webhook`): when a
/// publication queues one, when a retry falls due, and every minute.
async fn deliver_webhooks(app: Arc<App>, stop: CancellationToken) {
    loop {
        let config = app.config();
        let fetcher = app.fetcher();
        let next = tokio::select! {
            _ = stop.cancelled() => return,
            next = crate::publish::webhook::deliver_due(&app.store, &fetcher, &config, Utc::now()) => next,
        };
        if !wait_until(next, Duration::ZERO, &app.webhook_wake, &stop).await {
            return;
        }
    }
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

/// How long after a source's due time a scheduled run that found it not
/// yet due tries again.
const DUE_SLACK: Duration = Duration::from_millis(20);

/// What the scheduler's runs do: refresh a source or publish a feed, each
/// as a task on `tracker`, unless the daemon is stopping or gone.
fn scheduled_runs(
    app: &Arc<App>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) -> crate::schedule::Runner {
    // A weak handle: the scheduler must not keep the App (and so the
    // store's lock) alive once the daemon has stopped.
    let app = Arc::downgrade(app);
    let tracker = tracker.clone();
    let shutdown = shutdown.clone();
    Arc::new(move |target, schedule| {
        let Some(app) = app.upgrade() else {
            return;
        };
        if shutdown.is_cancelled() {
            return;
        }
        match target {
            Target::Source(id) => {
                tracker.spawn(scheduled_refresh(
                    app,
                    id,
                    schedule.clone(),
                    shutdown.clone(),
                ));
            }
            Target::Feed(name) => {
                tracker.spawn(async move {
                    // Rendering reads the store: off the async workers.
                    let feed = name.clone();
                    if let Err(err) =
                        tokio::task::spawn_blocking(move || app.publish_scheduled(&feed)).await
                    {
                        warn!(feed = %name, %err, "scheduled publish failed");
                    }
                });
            }
        }
    })
}

/// Refreshes source `id` at a run of its schedule. A source found not due
/// yet, but due before its next run (its last poll ran a little after a
/// tick, or a backoff or a host's hint moved it), is refreshed when it
/// falls due rather than a whole period later: a source is polled when
/// `syndic sources` says, and never before.
async fn scheduled_refresh(app: Arc<App>, id: String, schedule: Schedule, stop: CancellationToken) {
    let mut outcome = app.refresh_source(&id, false).await;
    // A few tries: the refresh reads the clock before this does, and sleeps
    // are on the monotonic clock while the due time is on the wall clock; a
    // try a hair early must not cost the source a whole period.
    for _ in 0..3 {
        let Some(Outcome::NotDue { next_poll_at }) = &outcome else {
            break;
        };
        let Some(wait) = crate::schedule::wait_for_due(&schedule, Utc::now(), *next_poll_at) else {
            break;
        };
        debug!(source = %id, ?wait, "not due yet; due before the next tick");
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait + DUE_SLACK) => {}
        }
        outcome = app.refresh_source(&id, false).await;
    }
    match outcome {
        Some(outcome) => debug!(source = %id, ?outcome, "scheduled refresh"),
        None => debug!(source = %id, "refresh skipped: one is already running"),
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
            Some(scheduler) => scheduler.is_alive(),
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
    if let Some(first) = new.unset_variables().first() {
        return Err(ReloadError::Apply(anyhow::anyhow!(
            "{first} (the daemon's environment is read at start: set the variable and restart)"
        )));
    }
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
        scheduler.apply(
            &summary.sources.removed,
            &summary.sources.changed,
            &summary.sources.added,
        );
        for feed in scheduler.set_feeds(&new) {
            app.publish_schedule_started(&feed);
        }
    }
    if app.scheduler.lock().await.is_some() {
        app.articles.sync(app, &new).await;
    }
    // Sources whose rules or full text changed: their stored items under
    // the new rules, then read again in full at once (see
    // `refresh::reshape`); a new full text setting fetches every page the
    // source lists again (at most `MAX_PAGES` per refresh).
    let reshaped = summary.sources.changed.iter().filter_map(|s| {
        let o = old.source(&s.id)?;
        (o.rules != s.rules || o.full_text != s.full_text)
            .then_some((s, o.full_text != s.full_text))
    });
    for (source, pages) in reshaped {
        if pages && let Err(err) = app.store.clear_page_records(&source.id) {
            warn!(source = %source.id, %err, "full text changed, page records not cleared");
        }
        match crate::refresh::reshape(&app.store, source, Utc::now()).await {
            Ok(left) => info!(
                source = %source.id,
                left,
                "rules or full text changed: stored items checked against the rules; reading the source again"
            ),
            Err(err) => {
                warn!(source = %source.id, %err, "rules or full text changed, stored items not checked")
            }
        }
        let (app, id) = (app.clone(), source.id.clone());
        tokio::spawn(async move { app.refresh_source(&id, true).await });
    }
    app.published.retain(&new_feeds);
    app.render_feeds(None);
    app.websub_wake.notify_one();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::tests::{FEED, config};

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
}
