//! Local article sources between their scheduled scans: on time and
//! instant.
//!
//! Each local source gets a keeper: one task that refreshes the source
//! ([`App::refresh_source`]) when
//! - its **timer** runs out: the earliest future publish or expiry time
//!   among its files, as of its last scan
//!   ([`crate::model::PollState::next_article_event`]); every refresh of
//!   the source re-arms it ([`Articles::rearm`]), so an article dated in
//!   the future is published, and an expired one removed, within a moment
//!   of its time, not at the next scheduled scan;
//! - its **folder watch** ([`crate::ingest::watch`]) reports a settled
//!   change: a saved article is published within a second.
//!
//! The scheduled scan stays the fallback: a folder that cannot be watched
//! (the kernel's watch limit, a filesystem without events) is logged and
//! picked up there. Keepers follow the config on reload ([`Articles::sync`])
//! and stop with the daemon ([`Articles::stop`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::app::{App, Articles, Keeper};
use crate::config::{Config, SourceKind};
use crate::ingest::watch::DEBOUNCE;

/// A timer fires this long after the article's time, so that the scan it
/// triggers sees the time as passed.
const MARGIN: Duration = Duration::from_millis(20);

/// The longest one sleep of a timer: the wall clock is looked at again
/// after it (a clock set or a suspended machine does not delay an article
/// by more than this).
const NAP: Duration = Duration::from_secs(60);

/// How often a trigger retries while another refresh of the source runs.
const BUSY_RETRY: Duration = Duration::from_millis(50);

// `Articles`, `Keeper` and what they do without the app are in
// `crate::app` (the app carries them); what needs the app is here.
impl Articles {
    /// Gives every local source of `config` a keeper (a new one when its
    /// folder changed) and stops those of sources no longer there. Timers
    /// start from the stored state of each source's last scan.
    pub async fn sync(&self, app: &Arc<App>, config: &Config) {
        let wanted: HashMap<&str, &PathBuf> = config
            .sources
            .iter()
            .filter_map(|s| match &s.kind {
                SourceKind::Local { path } => Some((s.id.as_str(), path)),
                SourceKind::Remote { .. } => None,
            })
            .collect();
        let stale: Vec<Keeper> = match self.keepers.lock() {
            Ok(mut keepers) => {
                let ids: Vec<String> = keepers
                    .iter()
                    .filter(|(id, k)| wanted.get(id.as_str()) != Some(&&k.path))
                    .map(|(id, _)| id.clone())
                    .collect();
                ids.iter().filter_map(|id| keepers.remove(id)).collect()
            }
            Err(_) => Vec::new(),
        };
        for keeper in stale {
            keeper.shut().await;
        }
        for (id, path) in wanted {
            let present = self.keepers.lock().is_ok_and(|k| k.contains_key(id));
            if present {
                continue;
            }
            let keeper = start_keeper(app, id, path).await;
            if let Ok(mut keepers) = self.keepers.lock() {
                keepers.insert(id.to_string(), keeper);
            }
        }
    }
}

async fn start_keeper(app: &Arc<App>, id: &str, path: &std::path::Path) -> Keeper {
    let armed = app
        .store
        .poll_state(id)
        .ok()
        .flatten()
        .and_then(|s| s.next_article_event(Utc::now()))
        .map(|e| e.at);
    let (timer, timer_rx) = watch::channel(armed);
    let kick = Arc::new(Notify::new());
    let stop = CancellationToken::new();
    let task = tokio::spawn(keep(
        Arc::downgrade(app),
        id.to_string(),
        timer_rx,
        kick.clone(),
        stop.clone(),
    ));
    let folder = path.to_path_buf();
    let on_change: Arc<dyn Fn() + Send + Sync> = Arc::new(move || kick.notify_one());
    let watched = tokio::task::spawn_blocking(move || {
        crate::ingest::watch::watch(&folder, DEBOUNCE, on_change)
    })
    .await;
    let watch = match watched {
        Ok(Ok(watch)) => {
            info!(source = %id, folder = %path.display(), "watching the article folder");
            Some(watch)
        }
        Ok(Err(err)) => {
            warn!(
                source = %id,
                %err,
                limit = err.limit,
                "article folder not watched: changes are published at the next scheduled scan"
            );
            None
        }
        Err(err) => {
            warn!(source = %id, %err, "article folder not watched: the watch did not start");
            None
        }
    };
    Keeper {
        path: path.to_path_buf(),
        timer,
        stop,
        task,
        watch,
    }
}

/// The keeper's task: waits for the timer, a folder change, a re-arm or
/// the stop, and refreshes the source on the first two.
async fn keep(
    app: Weak<App>,
    id: String,
    mut timer: watch::Receiver<Option<DateTime<Utc>>>,
    kick: Arc<Notify>,
    stop: CancellationToken,
) {
    // The time a timer last fired for: not again for it once passed,
    // unless re-armed (a failed scan leaves the same time behind).
    let mut spent: Option<DateTime<Utc>> = None;
    loop {
        let at = timer
            .borrow_and_update()
            .filter(|at| spent != Some(*at) || *at > Utc::now());
        let nap = at.map(|at| {
            (at - Utc::now())
                .to_std()
                .map_or(Duration::ZERO, |left| left + MARGIN)
                .min(NAP)
        });
        let why = tokio::select! {
            _ = stop.cancelled() => return,
            changed = timer.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
            _ = kick.notified() => "folder changed",
            _ = tokio::time::sleep(nap.unwrap_or(NAP)), if nap.is_some() => {
                if at.is_some_and(|at| Utc::now() < at) {
                    continue;
                }
                spent = at;
                "scheduled article"
            }
        };
        loop {
            let Some(app) = app.upgrade() else { return };
            if stop.is_cancelled() {
                return;
            }
            match app.refresh_source(&id, false).await {
                Some(outcome) => {
                    debug!(source = %id, why, ?outcome, "article refresh");
                    break;
                }
                None => {
                    // Another refresh runs: it may have listed the folder
                    // before this change, so run again after it.
                    drop(app);
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(BUSY_RETRY) => {}
                    }
                }
            }
        }
    }
}
