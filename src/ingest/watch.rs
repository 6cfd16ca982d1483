//! Watching an article folder for changes: the only user of the `notify`
//! crate (its types stay in this module).
//!
//! [`watch`] puts a recursive watch on a folder and calls back once per
//! burst of changes to article files, when the burst is over: no event for
//! [`DEBOUNCE`] and every changed file's size and modification time the
//! same as at its last event (a file still being written keeps postponing
//! the call; a burst never postpones it beyond [`MAX_DELAY`]). Editors'
//! temporary, swap and backup files (`.#x`, `x~`, `.x.swp`, `4913`,
//! `x.tmp`, hidden files) are not article files and call nothing; the
//! folder scan that the callback triggers skips them too. Reading is not
//! done here: the caller rescans the folder.
//!
//! A watch can miss changes (network filesystems, the kernel's watch limit
//! reached for a folder created later): the periodic rescan stays the
//! fallback, and a watch that cannot be set up at all is a [`WatchError`]
//! the caller logs.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use ::notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind};
use ::notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::local::{has_article_extension, is_ignored_name};

/// How long a folder must be quiet (and its changed files unchanged)
/// before the callback runs.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// The longest a burst of changes postpones the callback (a file written
/// to without pause is picked up at least this often).
pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// Events buffered between the watcher's thread and the debouncing task;
/// past this, the burst is treated as "something changed".
const QUEUE: usize = 1024;

/// Changed paths whose stability is checked one by one; past this, only the
/// quiet period counts.
const TRACKED: usize = 4096;

/// A running watch; dropping it stops the watch and its task.
pub struct FolderWatch {
    _watcher: RecommendedWatcher,
    stop: CancellationToken,
}

impl Drop for FolderWatch {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Why a folder could not be watched.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {path}: {cause}")]
pub struct WatchError {
    pub path: String,
    pub cause: String,
    /// The kernel's limit on watches (or watchers) was reached
    /// (`fs.inotify.max_user_watches` / `max_user_instances` on Linux).
    pub limit: bool,
}

/// What the watcher's thread passes to the debouncing task.
enum Message {
    /// Paths changed, with whether the event names a folder (created or
    /// removed) or a rename (which may be a folder's).
    Changed { paths: Vec<PathBuf>, folder: bool },
    /// Events were lost (queue overflow, the watcher's own rescan flag, an
    /// error): assume anything changed.
    Rescan,
}

/// Watches `root` and everything below it; `on_change` runs (on the tokio
/// runtime this is called from) after each settled burst of changes to
/// article files. Blocking: a recursive watch walks the folder (call it
/// off the async workers for large trees).
pub fn watch(
    root: &Path,
    debounce: Duration,
    on_change: Arc<dyn Fn() + Send + Sync>,
) -> Result<FolderWatch, WatchError> {
    let shown = root.display().to_string();
    let real = std::fs::canonicalize(root).map_err(|e| WatchError {
        path: shown.clone(),
        cause: e.to_string(),
        limit: false,
    })?;
    let runtime = tokio::runtime::Handle::try_current().map_err(|e| WatchError {
        path: shown.clone(),
        cause: format!("no async runtime: {e}"),
        limit: false,
    })?;
    let (tx, rx) = mpsc::channel(QUEUE);
    let overflow = Arc::new(AtomicBool::new(false));
    let lost = overflow.clone();
    let reported = Arc::new(AtomicBool::new(false));
    let where_ = shown.clone();
    let handler = move |event: ::notify::Result<Event>| {
        let message = match event {
            // Reads (the scan's own among them) change nothing.
            Ok(event) if is_read(&event.kind) => return,
            Ok(event) if event.need_rescan() => Message::Rescan,
            Ok(event) => Message::Changed {
                folder: is_folder_event(&event.kind),
                paths: event.paths,
            },
            Err(err) => {
                // Once per watch: a limit reached for a folder created
                // later repeats for every one after it.
                if !reported.swap(true, Ordering::Relaxed) {
                    warn!(
                        folder = %where_,
                        err = %describe(&err),
                        "watching articles: part of the folder is not watched; \
                         its changes are picked up at the next scheduled scan"
                    );
                }
                Message::Rescan
            }
        };
        if tx.try_send(message).is_err() {
            lost.store(true, Ordering::Relaxed);
        }
    };
    let mut watcher = ::notify::recommended_watcher(handler).map_err(|e| WatchError {
        path: shown.clone(),
        limit: is_limit(&e),
        cause: describe(&e),
    })?;
    watcher
        .watch(&real, RecursiveMode::Recursive)
        .map_err(|e| WatchError {
            path: shown.clone(),
            limit: is_limit(&e),
            cause: describe(&e),
        })?;
    let stop = CancellationToken::new();
    runtime.spawn(debounce_events(
        real,
        rx,
        overflow,
        debounce,
        on_change,
        stop.clone(),
    ));
    debug!(folder = %shown, "watching articles");
    Ok(FolderWatch {
        _watcher: watcher,
        stop,
    })
}

/// An open, a read or a close after reading: no change.
fn is_read(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => false,
        EventKind::Access(_) => true,
        _ => false,
    }
}

fn is_folder_event(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(CreateKind::Folder)
            | EventKind::Remove(RemoveKind::Folder)
            | EventKind::Modify(ModifyKind::Name(_))
    )
}

fn is_limit(err: &::notify::Error) -> bool {
    match &err.kind {
        ::notify::ErrorKind::MaxFilesWatch => true,
        // inotify_init: too many instances (EMFILE).
        ::notify::ErrorKind::Io(io) => io.raw_os_error() == Some(24),
        _ => false,
    }
}

fn describe(err: &::notify::Error) -> String {
    if is_limit(err) {
        format!(
            "{err} (the kernel's limit on file watches: raise \
             fs.inotify.max_user_watches / max_user_instances)"
        )
    } else {
        err.to_string()
    }
}

/// True when a change at `path` (under `root`) may change what the folder
/// publishes: an article file, or a folder appearing, going or renamed;
/// nothing inside a hidden folder, no editor temp or swap file.
fn matters(root: &Path, path: &Path, folder: bool) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        // Not under the real root (should not happen): rescan to be safe.
        return true;
    };
    let names: Vec<&str> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_str().unwrap_or(".")),
            _ => None,
        })
        .collect();
    let Some(last) = names.last() else {
        // The root itself.
        return true;
    };
    if names.iter().any(|name| is_ignored_name(name)) {
        return false;
    }
    has_article_extension(last) || (folder && !last.contains('.'))
}

/// A file's size and modification time (`None`: gone).
type Stamp = Option<(u64, Option<SystemTime>)>;

fn stamp(path: &Path) -> Stamp {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.len(), m.modified().ok()))
}

async fn debounce_events(
    root: PathBuf,
    mut rx: mpsc::Receiver<Message>,
    overflow: Arc<AtomicBool>,
    debounce: Duration,
    on_change: Arc<dyn Fn() + Send + Sync>,
    stop: CancellationToken,
) {
    // Changed paths and their stamp at their last event.
    let mut pending: HashMap<PathBuf, Stamp> = HashMap::new();
    let mut anything = false;
    let mut first: Option<Instant> = None;
    loop {
        let quiet = first.is_some();
        let message = tokio::select! {
            _ = stop.cancelled() => return,
            message = rx.recv() => match message {
                Some(message) => Some(message),
                None => return,
            },
            _ = tokio::time::sleep(debounce), if quiet => None,
        };
        if overflow.swap(false, Ordering::Relaxed) {
            anything = true;
        }
        match message {
            Some(Message::Rescan) => anything = true,
            Some(Message::Changed { paths, folder }) => {
                for path in paths {
                    if !matters(&root, &path, folder) {
                        continue;
                    }
                    anything = true;
                    if pending.len() < TRACKED || pending.contains_key(&path) {
                        let now = stamp(&path);
                        pending.insert(path, now);
                    }
                }
            }
            None => {
                // Quiet for `debounce`: settled when no file changed since
                // its last event (a writer pausing mid-file is caught by
                // the next event, and the next scan).
                let paths: Vec<PathBuf> = pending.keys().cloned().collect();
                let stamps = tokio::task::spawn_blocking(move || {
                    paths
                        .into_iter()
                        .map(|p| {
                            let s = stamp(&p);
                            (p, s)
                        })
                        .collect::<Vec<_>>()
                })
                .await
                .unwrap_or_default();
                let mut settled = true;
                for (path, now) in stamps {
                    if pending.get(&path) != Some(&now) {
                        settled = false;
                        pending.insert(path, now);
                    }
                }
                let waited_long = first.is_some_and(|f| f.elapsed() >= MAX_DELAY);
                if settled || waited_long {
                    pending.clear();
                    anything = false;
                    first = None;
                    on_change();
                }
                continue;
            }
        }
        if anything && first.is_none() {
            first = Some(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_files_do_not_matter_and_articles_do() {
        let root = Path::new("/w/articles");
        let at = |p: &str| root.join(p);
        for ignored in [
            ".#post.md",
            "post.md~",
            ".post.md.swp",
            "4913",
            "post.md.tmp",
            ".hidden.md",
            "#post.md#",
            ".git/index",
            "drafts/.post.md.swx",
            ".obsidian/post.md",
        ] {
            assert!(!matters(root, &at(ignored), false), "{ignored}");
        }
        for article in ["post.md", "notes/post.markdown", "a/b/c.TXT"] {
            assert!(matters(root, &at(article), false), "{article}");
        }
        // A folder created, removed or renamed may hold articles.
        assert!(matters(root, &at("posts"), true));
        assert!(!matters(root, &at("4913"), false));
        assert!(!matters(root, &at(".cache"), true));
        assert!(matters(root, root, false));
    }

    #[tokio::test]
    async fn a_folder_that_cannot_be_watched_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let err = match watch(&gone, DEBOUNCE, Arc::new(|| {})) {
            Err(err) => err,
            Ok(_) => panic!("watched a missing folder"),
        };
        assert!(!err.limit);
        assert!(
            err.to_string()
                .starts_with(&format!("cannot watch {}: ", gone.display()))
        );
        // The kernel's limit is named as such, with the settings to raise.
        let limit = ::notify::Error::new(::notify::ErrorKind::MaxFilesWatch);
        assert!(is_limit(&limit));
        assert!(describe(&limit).contains("fs.inotify.max_user_watches"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_settled_write_calls_back_once_and_temp_files_never() {
        let dir = tempfile::tempdir().unwrap();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let _watch = watch(
            dir.path(),
            Duration::from_millis(150),
            Arc::new(move || {
                counted.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
        std::fs::write(dir.path().join(".post.md.swp"), "x").unwrap();
        std::fs::write(dir.path().join("4913"), "").unwrap();
        std::fs::remove_file(dir.path().join("4913")).unwrap();
        std::fs::write(dir.path().join("post.md~"), "x").unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 0, "temp files called back");
        // A file written in three pieces, each within the quiet period.
        let path = dir.path().join("post.md");
        for piece in ["# One\n", "two\n", "three\n"] {
            use std::io::Write as _;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(piece.as_bytes()).unwrap();
            drop(f);
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while calls.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Reading the file (as the scan does) is no change.
        assert!(!std::fs::read(&path).unwrap().is_empty());
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a read called back");
    }
}
