//! When each source is refreshed, and when each feed with a publish
//! schedule publishes: one timer task over a queue of next runs, ordered by
//! time. A source runs first shortly after start, at a jittered point of a
//! short window (so sources do not all fire at once), then at each tick of
//! its interval (counted from that first run, which keeps the sources
//! spread out) or cron expression. What a run does is the caller's
//! [`Runner`] (the daemon's refreshes the source, and whether a remote
//! source is due is decided by its stored poll state, so a restart never
//! polls sooner than allowed); this module knows only when.
//!
//! On reload, [`Scheduler::apply`] drops the runs of removed or changed
//! sources and queues added or changed ones; unchanged sources keep their
//! place (and their stored poll state is never touched).
//! [`Scheduler::set_feeds`] replaces the feeds' publish runs (they hold no
//! state).
//!
//! Written here rather than on tokio-cron-scheduler, which syndic used
//! first: its actors talk over broadcast channels of 200 messages, and
//! past that a lagging receiver drops messages. With 1,000 sources on a
//! one-minute refresh its runner logged `Lagged(299)` and skipped those
//! runs; with 20,000 sources the task that registers each job's code
//! stopped at its first lag, and no job added after it ever ran. A queue
//! holds any number of runs, and a run that comes due is never dropped.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::config::{Config, Schedule, SourceConfig};

/// The longest the timer task sleeps without looking at the clock again:
/// the wall clock may jump (a suspend, a time sync), and cron times follow
/// it.
const MAX_SLEEP: Duration = Duration::from_secs(10);

/// What a run that came due does: refresh a source (on its schedule) or
/// publish a feed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Refreshes the source with this id.
    Source(String),
    /// Publishes the feed with this name.
    Feed(String),
}

/// Starts the work of a run that came due (on a task of its own: it must
/// not wait), given the target and its schedule.
pub type Runner = Arc<dyn Fn(Target, &Schedule) + Send + Sync>;

/// A running scheduler; stop it with [`stop`].
pub struct Scheduler {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

/// What the timer task and the scheduler's callers share.
struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the timer task when the queue changed.
    changed: tokio::sync::Notify,
    /// When the timer task last looked at the queue, in milliseconds after
    /// `born` (the monotonic clock: a wall clock stepping does not make
    /// the task look stuck to the watchdog).
    turned: AtomicU64,
    born: std::time::Instant,
    runner: Runner,
    shutdown: CancellationToken,
}

/// The next run of every source and scheduled feed.
#[derive(Default)]
struct Queue {
    /// Runs by time; the sequence number tells apart runs at one instant.
    due: BTreeMap<(DateTime<Utc>, u64), (Target, Schedule)>,
    /// Where each target's run is in `due`.
    at: HashMap<Target, (DateTime<Utc>, u64)>,
    seq: u64,
}

impl Queue {
    /// Queues `target` to run at `when` (replacing a run it had), then on
    /// `schedule`.
    fn put(&mut self, target: Target, schedule: Schedule, when: DateTime<Utc>) {
        self.remove(&target);
        self.seq += 1;
        let key = (when, self.seq);
        self.at.insert(target.clone(), key);
        self.due.insert(key, (target, schedule));
    }

    fn remove(&mut self, target: &Target) {
        if let Some(key) = self.at.remove(target) {
            self.due.remove(&key);
        }
    }

    /// Takes the runs due at `now`, queueing each one's next run.
    fn take_due(&mut self, now: DateTime<Utc>) -> Vec<(Target, Schedule)> {
        let mut fired = Vec::new();
        while let Some(entry) = self.due.first_entry() {
            let (when, _) = *entry.key();
            if when > now {
                break;
            }
            let (target, schedule) = entry.remove();
            self.at.remove(&target);
            match next_after(&schedule, when, now) {
                Some(next) => self.put(target.clone(), schedule.clone(), next),
                None => warn!(?target, %schedule, "schedule has no next run; not run again"),
            }
            fired.push((target, schedule));
        }
        fired
    }

    /// The wall clock was set back by `step` and reads `now`: each
    /// interval run moves back by the step (it keeps its distance from the
    /// run before it, so a clock set back a day does not hold a source for
    /// a day); a cron run goes to its next time after `now`, cron times
    /// being wall-clock times.
    fn clock_stepped_back(&mut self, step: chrono::Duration, now: DateTime<Utc>) {
        let runs = std::mem::take(&mut self.due);
        self.at.clear();
        for ((when, _), (target, schedule)) in runs {
            let when = match &schedule {
                Schedule::Every(_) => Some(when - step),
                Schedule::Cron(_) => next_after(&schedule, now, now),
            };
            match when {
                Some(when) => self.put(target, schedule, when),
                None => warn!(?target, %schedule, "schedule has no next run; not run again"),
            }
        }
    }

    fn names(&self, feeds: bool) -> Vec<String> {
        let mut names: Vec<String> = self
            .at
            .keys()
            .filter_map(|target| match target {
                Target::Source(id) if !feeds => Some(id.clone()),
                Target::Feed(name) if feeds => Some(name.clone()),
                _ => None,
            })
            .collect();
        names.sort();
        names
    }
}

/// The run after one at `last`, seen at `now`: an interval counts from
/// `last` (keeping the spread of the first runs); when whole intervals were
/// missed (the process was stopped or the clock jumped), one interval from
/// `now`. A cron expression gives its next time after `now`.
fn next_after(
    schedule: &Schedule,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match schedule {
        Schedule::Every(every) => {
            let every = chrono::Duration::from_std(*every).ok()?;
            if every <= chrono::Duration::zero() {
                return None;
            }
            let next = last + every;
            Some(if next > now { next } else { now + every })
        }
        Schedule::Cron(_) => schedule.cron()?.iter_after(now).next(),
    }
}

/// Queues every source of `config` (its first run at a jittered point of
/// the start window after `started`) and every scheduled feed, and starts
/// the timer task, which hands each run that comes due to `runner` until
/// `shutdown`. Returns the scheduler and the feeds whose publish schedule
/// started.
pub fn start(
    config: &Config,
    started: DateTime<Utc>,
    runner: Runner,
    shutdown: CancellationToken,
) -> (Scheduler, Vec<String>) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue::default()),
        changed: tokio::sync::Notify::new(),
        turned: AtomicU64::new(0),
        born: std::time::Instant::now(),
        runner,
        shutdown,
    });
    // First refreshes land at jittered points of one slot per source in a
    // window of 750 ms per source (at most 5 minutes): never at once.
    let count = config.sources.len();
    let firsts = config.sources.iter().enumerate().map(|(index, source)| {
        let first = crate::ingest::poll::start_delay(&source.id, started, index, count);
        (source, first)
    });
    shared.add_sources(firsts);
    let task = tokio::spawn(timer(shared.clone()));
    let scheduler = Scheduler { shared, task };
    let feeds = scheduler.set_feeds(config);
    (scheduler, feeds)
}

/// Stops the scheduler: no run starts after this returns (runs
/// already started go on).
pub async fn stop(scheduler: Scheduler) {
    scheduler.task.abort();
    if let Err(err) = scheduler.task.await
        && !err.is_cancelled()
    {
        warn!(%err, "scheduler did not stop cleanly");
    }
}

/// The timer task: starts the runs that are due, then sleeps until the next
/// one (or a change, or [`MAX_SLEEP`]).
async fn timer(shared: Arc<Shared>) {
    let mut last_look = Utc::now();
    loop {
        let now = Utc::now();
        shared.turned.store(shared.alive_for(), Ordering::Relaxed);
        let step = crate::ingest::poll::clock_step_back(last_look, now);
        last_look = now;
        let (fired, next) = match shared.queue.lock() {
            Ok(mut queue) => {
                if let Some(step) = step {
                    warn!(
                        step_secs = step.num_seconds(),
                        "the clock was set back: interval runs move back with it"
                    );
                    queue.clock_stepped_back(step, now);
                }
                let fired = queue.take_due(now);
                (
                    fired,
                    queue.due.first_key_value().map(|((when, _), _)| *when),
                )
            }
            Err(_) => {
                warn!("scheduler queue poisoned; no more runs");
                return;
            }
        };
        if !shared.shutdown.is_cancelled() {
            for (target, schedule) in fired {
                (shared.runner)(target, &schedule);
            }
        }
        let wait = next
            .map(|when| (when - Utc::now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(MAX_SLEEP)
            .min(MAX_SLEEP);
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = shared.changed.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

impl Shared {
    /// Milliseconds since the scheduler started (monotonic).
    fn alive_for(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Queues each source's first run after its delay.
    fn add_sources<'a>(&self, firsts: impl Iterator<Item = (&'a SourceConfig, Duration)>) {
        let now = Utc::now();
        if let Ok(mut queue) = self.queue.lock() {
            for (source, first) in firsts {
                let when = now + chrono::Duration::from_std(first).unwrap_or_default();
                queue.put(
                    Target::Source(source.id.clone()),
                    source.refresh.clone(),
                    when,
                );
            }
        }
        self.changed.notify_one();
    }
}

impl Scheduler {
    fn edit(&self, change: impl FnOnce(&mut Queue)) {
        if let Ok(mut queue) = self.shared.queue.lock() {
            change(&mut queue);
        }
        self.shared.changed.notify_one();
    }

    /// Applies a config change: runs of `removed` and `changed` sources
    /// go, `added` and `changed` sources are queued (their first refresh
    /// soon, spread out). Unchanged sources are not touched.
    pub fn apply(&self, removed: &[String], changed: &[SourceConfig], added: &[SourceConfig]) {
        self.edit(|queue| {
            for id in removed {
                queue.remove(&Target::Source(id.clone()));
            }
        });
        let count = changed.len() + added.len() + 1;
        let now = Utc::now();
        let firsts = changed
            .iter()
            .chain(added)
            .enumerate()
            .map(|(index, source)| {
                let first = crate::ingest::poll::start_delay(&source.id, now, index + 1, count);
                (source, first)
            });
        self.shared.add_sources(firsts);
    }

    /// Gives each feed of `config` with a publish schedule a run (and no
    /// other feed one), replacing the runs it had. An interval counts from
    /// now, a cron expression from its next time. Returns the feeds whose
    /// schedule (re)started now.
    pub fn set_feeds(&self, config: &Config) -> Vec<String> {
        let now = Utc::now();
        let mut started = Vec::new();
        self.edit(|queue| {
            for name in queue.names(true) {
                queue.remove(&Target::Feed(name));
            }
            for feed in config.feeds.iter() {
                let Some(schedule) = &feed.refresh else {
                    continue;
                };
                match next_after(schedule, now, now) {
                    Some(first) => {
                        queue.put(Target::Feed(feed.name.clone()), schedule.clone(), first);
                        started.push(feed.name.clone());
                    }
                    None => warn!(feed = %feed.name, %schedule, "publish schedule has no next run"),
                }
            }
        });
        started
    }

    /// The feeds that have publish runs, sorted (for tests).
    pub fn scheduled_feeds(&self) -> Vec<String> {
        self.shared
            .queue
            .lock()
            .map(|queue| queue.names(true))
            .unwrap_or_default()
    }

    /// The sources that have runs (for tests and the watchdog).
    pub fn scheduled_sources(&self) -> Vec<String> {
        self.shared
            .queue
            .lock()
            .map(|queue| queue.names(false))
            .unwrap_or_default()
    }

    /// When source `id` runs next (`None`: it has no run queued).
    pub fn next_run(&self, id: &str) -> Option<DateTime<Utc>> {
        let queue = self.shared.queue.lock().ok()?;
        queue
            .at
            .get(&Target::Source(id.to_string()))
            .map(|(when, _)| *when)
    }

    /// True when the timer task runs and has looked at its queue lately
    /// (the watchdog's check).
    pub fn is_alive(&self) -> bool {
        self.alive_at(self.shared.alive_for())
    }

    /// [`Scheduler::is_alive`] seen `now` milliseconds after the start.
    fn alive_at(&self, now: u64) -> bool {
        let idle = now.saturating_sub(self.shared.turned.load(Ordering::Relaxed));
        !self.task.is_finished() && idle <= 6 * MAX_SLEEP.as_millis() as u64
    }
}

/// How long a run at `now` waits for a source due at `due`: until then when
/// that comes before the next run, else `None` (the next run will find it
/// due). Already due (the refresh that said "not due" read the clock a few
/// microseconds before `due`, and this reads it after): no wait, try again
/// now, or the source would skip a whole period (1% of runs did, measured
/// at 1,000 sources polled every minute).
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
    Some((due - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap() + chrono::Duration::seconds(secs)
    }

    fn sources(queue: &Queue) -> usize {
        queue.names(false).len()
    }

    #[test]
    fn twenty_thousand_runs_due_at_one_instant_all_fire_once() {
        // tokio-cron-scheduler dropped runs past 200 at once; the queue
        // keeps every run, one per source, at one instant or not.
        let mut queue = Queue::default();
        let minute = Schedule::Every(Duration::from_secs(60));
        for i in 0..20_000 {
            queue.put(Target::Source(format!("s{i}")), minute.clone(), at(0));
        }
        assert_eq!(sources(&queue), 20_000);
        assert!(
            queue
                .take_due(at(0) - chrono::Duration::seconds(1))
                .is_empty()
        );
        let fired = queue.take_due(at(0));
        assert_eq!(fired.len(), 20_000);
        let distinct: std::collections::HashSet<_> = fired.iter().map(|(t, _)| t).collect();
        assert_eq!(distinct.len(), 20_000, "each source once");
        // Each is queued again one interval on, and only then.
        assert_eq!(sources(&queue), 20_000);
        assert!(queue.take_due(at(59)).is_empty());
        assert_eq!(queue.take_due(at(60)).len(), 20_000);
    }

    #[test]
    fn intervals_keep_their_phase_and_missed_ticks_run_once() {
        let mut queue = Queue::default();
        let minute = Schedule::Every(Duration::from_secs(60));
        // First runs spread over the start window: 7 s and 31 s.
        queue.put(Target::Source("a".into()), minute.clone(), at(7));
        queue.put(Target::Source("b".into()), minute.clone(), at(31));
        let fired = queue.take_due(at(31));
        assert_eq!(fired.len(), 2);
        // Next runs keep the spread: 67 s and 91 s, not both at 60 s.
        let next: Vec<_> = queue.due.keys().map(|(when, _)| *when).collect();
        assert_eq!(next, vec![at(67), at(91)]);
        // Ten minutes without a look (a suspend): each runs once, then
        // one interval after that look.
        let fired = queue.take_due(at(700));
        assert_eq!(fired.len(), 2);
        let next: Vec<_> = queue.due.keys().map(|(when, _)| *when).collect();
        assert_eq!(next, vec![at(760), at(760)]);
    }

    #[test]
    fn a_clock_set_back_moves_interval_runs_back_and_cron_runs_to_their_next_time() {
        let mut queue = Queue::default();
        let minute = Schedule::Every(Duration::from_secs(60));
        let hourly = Schedule::Cron("0 0 * * * *".into());
        queue.put(Target::Source("a".into()), minute.clone(), at(67));
        queue.put(Target::Feed("digest".into()), hourly, at(3600));
        // Last look at 10 s; the clock now reads a day and 30 minutes
        // earlier (at 09:30 the day before).
        let step = chrono::Duration::minutes(24 * 60 + 30) + chrono::Duration::seconds(10);
        let now = at(10) - step;
        queue.clock_stepped_back(step, now);
        let source = queue.at[&Target::Source("a".into())].0;
        assert_eq!(
            source,
            now + chrono::Duration::seconds(57),
            "57 s on, as before the step"
        );
        let feed = queue.at[&Target::Feed("digest".into())].0;
        assert_eq!(
            feed,
            at(-24 * 3600),
            "the next full hour of the clock as it reads now"
        );
        assert_eq!(queue.due.len(), 2);
        // Without the move the source would wait a day: it fires 57 s on.
        assert!(
            queue
                .take_due(now + chrono::Duration::seconds(56))
                .is_empty()
        );
        assert_eq!(
            queue.take_due(now + chrono::Duration::seconds(57)),
            vec![(Target::Source("a".into()), minute)]
        );
    }

    #[test]
    fn cron_runs_come_at_the_expression_times() {
        let mut queue = Queue::default();
        let hourly = Schedule::Cron("0 0 * * * *".into());
        queue.put(Target::Feed("digest".into()), hourly, at(5));
        assert_eq!(queue.take_due(at(5)).len(), 1);
        let next: Vec<_> = queue.due.keys().map(|(when, _)| *when).collect();
        assert_eq!(next, vec![at(3600)]);
        assert_eq!(queue.names(true), vec!["digest"]);
        assert!(queue.names(false).is_empty());
        // A run exactly one interval late is not due again at once: the
        // next comes one interval after the look.
        let minute = Schedule::Every(Duration::from_secs(60));
        assert_eq!(next_after(&minute, at(0), at(60)), Some(at(120)));
        assert_eq!(next_after(&minute, at(0), at(59)), Some(at(60)));
        // Sources and feeds are listed apart.
        let every = Schedule::Every(Duration::from_secs(60));
        queue.put(Target::Source("news".into()), every, at(10));
        assert_eq!(queue.names(true), vec!["digest"]);
        assert_eq!(queue.names(false), vec!["news"]);
    }

    #[test]
    fn a_replaced_or_removed_run_does_not_fire() {
        let mut queue = Queue::default();
        let minute = Schedule::Every(Duration::from_secs(60));
        queue.put(Target::Source("a".into()), minute.clone(), at(10));
        // Re-queued (a changed source): only the new run is there.
        queue.put(Target::Source("a".into()), minute.clone(), at(40));
        assert_eq!(queue.due.len(), 1);
        assert!(queue.take_due(at(39)).is_empty());
        queue.remove(&Target::Source("a".into()));
        assert!(queue.take_due(at(1000)).is_empty());
        assert_eq!(sources(&queue), 0);
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
        // Already due (a race with the refresh's own clock): no wait, try
        // again now rather than a period later.
        assert_eq!(wait_for_due(&minute, at(10), at(5)), Some(Duration::ZERO));
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

    fn config(text: &str) -> Config {
        Config::parse(text, std::path::Path::new("/etc/syndic/feeds.toml"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    const SOURCES: &str = "[[source]]\nid = \"a\"\nurl = \"https://a.example/f\"\nrefresh = \"1h\"\n\
        [[source]]\nid = \"b\"\nurl = \"https://b.example/f\"\nrefresh = \"1h\"\n";
    const FEEDS: &str = "[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n\
        [[feed]]\nname = \"digest\"\ntitle = \"D\"\ninclude = [\"*\"]\nrefresh = \"1d\"\n";

    /// The scheduler around the queue: what it queues at start and on a
    /// change, that first runs fire within the start window, and what the
    /// watchdog is told.
    #[tokio::test]
    async fn the_scheduler_queues_fires_applies_changes_and_reports_its_health() {
        let fired: Arc<Mutex<Vec<Target>>> = Arc::default();
        let runner: Runner = {
            let fired = fired.clone();
            Arc::new(move |target, _: &Schedule| fired.lock().unwrap().push(target))
        };
        let shutdown = CancellationToken::new();
        let started = Utc::now();
        let (scheduler, feeds) = start(
            &config(&format!("{SOURCES}{FEEDS}")),
            started,
            runner,
            shutdown.clone(),
        );
        assert_eq!(feeds, ["digest"]);
        assert_eq!(scheduler.scheduled_feeds(), ["digest"]);
        assert_eq!(scheduler.scheduled_sources(), ["a", "b"]);
        let window = crate::ingest::poll::start_window(2);
        for id in ["a", "b"] {
            let next = scheduler.next_run(id).unwrap();
            assert!(
                next >= started && next <= Utc::now() + window,
                "{id} at {next}"
            );
        }
        assert_eq!(scheduler.next_run("nope"), None);
        assert!(scheduler.is_alive());

        // A change: a removed, c added (its first run soon).
        let added = config(&format!(
            "[[source]]\nid = \"c\"\nurl = \"https://c.example/f\"\n{FEEDS}"
        ))
        .sources;
        scheduler.apply(&["a".to_string()], &[], &added);
        assert_eq!(scheduler.scheduled_sources(), ["b", "c"]);
        let next_c = scheduler.next_run("c").unwrap();
        assert!(
            next_c >= started && next_c <= Utc::now() + window,
            "{next_c}"
        );
        // Publish runs follow the config: none left without a schedule.
        let plain = config(&format!(
            "{SOURCES}[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n"
        ));
        assert!(scheduler.set_feeds(&plain).is_empty());
        assert!(scheduler.scheduled_feeds().is_empty());

        // b and c fire within the window; a, removed, never.
        let deadline = std::time::Instant::now() + window + Duration::from_secs(5);
        loop {
            let seen = fired.lock().unwrap().clone();
            if seen.contains(&Target::Source("b".into()))
                && seen.contains(&Target::Source("c".into()))
            {
                assert!(!seen.contains(&Target::Source("a".into())), "{seen:?}");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "fired only {seen:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // After a run the next one is an interval (1 h) on.
        let next_b = scheduler.next_run("b").unwrap();
        assert!(
            next_b > Utc::now() + chrono::Duration::minutes(59),
            "{next_b}"
        );

        // The watchdog's view: a timer that has not looked at its queue
        // for over six of its longest sleeps is not alive.
        // Measured on the monotonic clock, from the timer's last look.
        let looked = scheduler.shared.turned.load(Ordering::Relaxed);
        let silent = 6 * MAX_SLEEP.as_millis() as u64;
        assert!(scheduler.alive_at(looked + silent - 2), "within the limit");
        assert!(!scheduler.alive_at(looked + silent + 2), "silent too long");
        assert!(scheduler.is_alive(), "alive now");
        // A stopped timer is not alive either.
        shutdown.cancel();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while scheduler.is_alive() {
            assert!(
                std::time::Instant::now() < deadline,
                "the timer did not stop"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop(scheduler).await;
    }
}
