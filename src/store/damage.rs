//! sled 0.34 panics on some damaged files (a zeroed header: "tried to
//! serialize Uninitialized"; a truncated log: "index out of bounds") instead
//! of returning an error. Every call into sled from [`super::Store`] runs
//! under [`catch`], which turns such a panic into [`StoreError::Damaged`]
//! (see `StoreError`) so that no damaged store ever ends the process with a
//! panic; [`install_hook`] keeps sled's panic text out of the terminal and
//! logs it instead when it happens outside [`catch`] (a background scan).

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, PanicHookInfo};
use std::sync::{Mutex, Once};

thread_local! {
    /// Set while this thread runs [`catch`]: its panics are reported by
    /// the caller, not printed.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

/// What the last sled panic said, for the error message.
static LAST: Mutex<Option<String>> = Mutex::new(None);

/// Installs (once per process) the panic hook that records sled's panics
/// and keeps them quiet; other panics go to the hook that was there before.
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !from_sled(info) {
                previous(info);
                return;
            }
            let text = describe(info);
            if !CATCHING.with(Cell::get) {
                tracing::error!(panic = %text, "store damaged: sled failed while reading it");
            }
            if let Ok(mut last) = LAST.lock() {
                *last = Some(text);
            }
        }));
    });
}

fn from_sled(info: &PanicHookInfo<'_>) -> bool {
    info.location()
        .is_some_and(|l| l.file().contains("/sled-") || l.file().contains("sled/src"))
}

fn describe(info: &PanicHookInfo<'_>) -> String {
    let message = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string());
    match info.location() {
        Some(l) => {
            let file = l.file().rsplit("/src/").next().unwrap_or(l.file());
            format!("sled panicked: {message} (sled {file}:{})", l.line())
        }
        None => format!("sled panicked: {message}"),
    }
}

/// Runs `f`; a panic inside it becomes `Err` with what it said.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    let was = CATCHING.with(|c| c.replace(true));
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(was));
    result.map_err(|payload| {
        LAST.lock()
            .ok()
            .and_then(|mut last| last.take())
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_string())
    })
}

/// The text of the last sled panic that happened outside [`catch`], if
/// any (a process that panicked in sled on another thread).
pub fn last_panic() -> Option<String> {
    LAST.lock().ok().and_then(|last| last.clone())
}
