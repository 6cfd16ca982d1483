//! The local admin socket: how `syndic fetch`, `sources` and `render` work
//! next to a running daemon, which holds the store's lock.
//!
//! The daemon listens on a Unix socket inside its store folder
//! ([`socket_path`]; under systemd that is in the state directory), with
//! owner-only permissions (0600), never on the public HTTP port. The CLI
//! tries the socket first; when no daemon answers, it opens the store
//! itself.
//!
//! Protocol: the client sends one [`Request`] as a JSON line; the daemon
//! answers with [`Reply`] JSON lines and ends with [`Reply::Done`].

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream as AsyncUnixStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use crate::app::App;
use crate::config::Config;
use crate::publish::Format;
use crate::refresh::Outcome;
use crate::store::Store;

/// The socket's file name inside the store folder.
pub const SOCKET_NAME: &str = "admin.sock";

/// Longest request line the daemon reads.
const MAX_REQUEST: usize = 64 * 1024;

/// `syndic preview` in the daemon: `feed` of the config file at `path`
/// (which need not be the one loaded), from the daemon's store; the text,
/// or the message and exit code.
fn preview(app: &App, feed: &str, path: &Path) -> Result<String, (String, u8)> {
    let config = crate::config::Config::load(path).map_err(|errors| {
        let unread = errors.0.iter().all(|e| e.line == 0);
        let what = if unread {
            "the daemon cannot read it (it runs as its own user): put it where the daemon can"
        } else {
            "it is not valid (`syndic --config FILE check` lists the errors)"
        };
        (
            format!(
                "{}: {what}: {}",
                path.display(),
                errors.0.first().map(|e| e.message.as_str()).unwrap_or("")
            ),
            1,
        )
    })?;
    let feed_config = config
        .feed(feed)
        .ok_or_else(|| (format!("no feed `{feed}` in {}", path.display()), 2))?;
    crate::publish::preview::preview(&app.store, &config, feed_config)
        .map(|p| p.to_string())
        .map_err(|err| (err.to_string(), 1))
}

/// Where the admin socket of the daemon using `store` lives.
pub fn socket_path(store: &Path) -> PathBuf {
    store.join(SOCKET_NAME)
}

/// What the CLI asks the daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case")]
pub enum Request {
    /// Refresh these sources now (all when empty), like `syndic fetch`.
    Fetch { sources: Vec<String> },
    /// Each source's poll state, like `syndic sources`.
    Sources,
    /// One feed as published, like `syndic render`.
    Render { feed: String, format: String },
    /// How an item was identified and merged, like `syndic explain`.
    Explain { item_id: String },
    /// What a feed of the config file `config` would publish, like
    /// `syndic preview`.
    Preview { feed: String, config: PathBuf },
    /// Everything the store holds, like `syndic export`: sent as
    /// [`Reply::Body`] chunks of whole lines.
    Export,
    /// Read every row of the open store and report damage, like `syndic
    /// store-check`.
    Check,
}

/// One line of the daemon's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Reply {
    /// A fetch is starting on `total` sources.
    Start {
        total: usize,
    },
    /// One source was refreshed.
    Fetched {
        source: String,
        line: String,
        failed: bool,
    },
    Sources {
        rows: Vec<SourceRow>,
    },
    Body {
        text: String,
    },
    /// The request failed; `message` says why.
    Error {
        message: String,
    },
    /// The last line: the exit code the CLI should use.
    Done {
        code: u8,
    },
}

/// One row of `syndic sources` (and of `--json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRow {
    pub id: String,
    pub items: usize,
    pub last_status: Option<String>,
    pub last_success: Option<DateTime<Utc>>,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    /// Why the next poll is then (interval, host hint, Retry-After, ...).
    #[serde(default)]
    pub why: String,
    /// Bytes not transferred thanks to 304s.
    #[serde(default)]
    pub bytes_saved: u64,
    /// The URL polled (after adopted permanent redirects; a pending one is
    /// named with its streak), or the folder of a local source.
    #[serde(default)]
    pub url: String,
    /// Failing: errors, 404, or gone (410).
    #[serde(default)]
    pub failing: bool,
    /// How many warnings the last successful parse of the feed had
    /// (repaired XML, a wrong declared encoding, ...); 0 for a clean feed.
    #[serde(default)]
    pub parse_warning_count: usize,
    /// The first of those warnings (at most 5).
    #[serde(default)]
    pub parse_warnings: Vec<String>,
    /// A local source's next scheduled article: which file, when, and
    /// whether it is published or expires then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_article: Option<crate::model::ArticleEvent>,
    /// Its WebSub subscription: pending, active until, or failed and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websub: Option<String>,
}

/// The `sources` rows, read from the store.
pub fn source_rows(config: &Config, store: &Store) -> anyhow::Result<Vec<SourceRow>> {
    let mut rows = Vec::new();
    for source in &config.sources {
        let state = store.poll_state(&source.id)?.unwrap_or_default();
        let health = crate::refresh::SourceHealth::of(source, &state);
        rows.push(SourceRow {
            id: source.id.clone(),
            items: store.source_item_count(&source.id),
            last_status: (state.gone || state.last_status.is_some()).then_some(health.status),
            last_success: state.last_success,
            next_poll_at: health.next_poll,
            consecutive_failures: state.consecutive_failures,
            why: health.why,
            bytes_saved: state.bytes_saved,
            url: health.url,
            failing: health.failing,
            parse_warning_count: state.parse_warning_total(),
            parse_warnings: state
                .parse_warnings
                .iter()
                .map(|w| crate::redact::url(w))
                .collect(),
            next_article: health.next_article,
            websub: crate::websub::describe(store, &source.id),
        });
    }
    Ok(rows)
}

/// How `syndic fetch` describes one outcome; true when it failed.
pub fn describe_outcome(outcome: Option<&Outcome>) -> (String, bool) {
    match outcome {
        Some(Outcome::Refreshed {
            new,
            updated,
            removed,
            unchanged,
        }) => (
            format!("{new} new, {updated} updated, {removed} removed, {unchanged} unchanged"),
            false,
        ),
        Some(Outcome::NotModified) => ("not modified (304)".into(), false),
        Some(Outcome::NotDue { next_poll_at }) => (format!("not due until {next_poll_at}"), false),
        Some(Outcome::Failed(cause)) => (
            format!("FAILED: {}", crate::redact::Redacted(&cause.to_string())),
            true,
        ),
        Some(Outcome::RetryLater { until }) => {
            (format!("host asked to retry after {until}"), false)
        }
        Some(Outcome::Gone) => (
            "GONE (410): no longer polled (name it to poll it again); fix or remove its url".into(),
            true,
        ),
        None => ("skipped: a refresh is already running".into(), false),
    }
}

/// [`describe_outcome`] of one fetched source, followed by the article
/// files its scan could not read (bad dates, broken front matter, too
/// big): a writer running `syndic fetch` learns at once, and the fetch
/// fails, although the rest of the folder was published.
pub fn describe_fetch(store: &Store, id: &str, outcome: Option<&Outcome>) -> (String, bool) {
    let (mut line, mut failed) = describe_outcome(outcome);
    let rejected = match outcome {
        Some(Outcome::Refreshed { .. }) => store
            .poll_state(id)
            .ok()
            .flatten()
            .map(|state| state.rejected_articles)
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    if !rejected.is_empty() {
        failed = true;
        line.push_str(&format!(
            "; {} article file{} NOT published:",
            rejected.len(),
            if rejected.len() == 1 { "" } else { "s" }
        ));
        for cause in &rejected {
            line.push_str("\n  - ");
            line.push_str(cause);
        }
    }
    (line, failed)
}

/// True when `syndic fetch` without names skips source `id`: it answered
/// 410 Gone at the URL the config names now (naming it polls it again).
pub fn skipped_as_gone(config: &Config, store: &crate::store::Store, id: &str) -> bool {
    let Some(crate::config::SourceKind::Remote { url }) = config.source(id).map(|s| &s.kind) else {
        return false;
    };
    store
        .poll_state(id)
        .ok()
        .flatten()
        .is_some_and(|state| state.is_gone_at(url.as_str()))
}

/// The source ids a fetch covers, or an error naming the unknown one.
pub fn fetch_targets(config: &Config, wanted: &[String]) -> Result<Vec<String>, String> {
    for id in wanted {
        if config.source(id).is_none() {
            let known: Vec<&str> = config.sources.iter().map(|s| s.id.as_str()).collect();
            return Err(format!(
                "no source `{id}` in the config (known: {})",
                known.join(", ")
            ));
        }
    }
    Ok(if wanted.is_empty() {
        config.sources.iter().map(|s| s.id.clone()).collect()
    } else {
        wanted.to_vec()
    })
}

// ---------------------------------------------------------------------------
// The daemon side
// ---------------------------------------------------------------------------

/// Binds the admin socket at `path` with mode 0600. A socket left by a
/// daemon that died is replaced: whoever runs this holds the store lock, so
/// no other daemon can be using it.
pub fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    use anyhow::Context;
    use std::os::unix::fs::PermissionsExt;
    match std::fs::remove_file(path) {
        Ok(()) => debug!(path = %path.display(), "removed a stale admin socket"),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            return Err(err)
                .with_context(|| format!("removing the old admin socket {}", path.display()));
        }
    }
    let listener = UnixListener::bind(path)
        .with_context(|| format!("creating the admin socket {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} owner-only", path.display()))?;
    Ok(listener)
}

/// Answers admin requests until `shutdown`; each connection is a task on
/// `tracker`, so a fetch under way finishes before the store is flushed.
/// At each `recheck` (a reload, a watchdog tick) the socket file is looked
/// at: one deleted or replaced while the daemon runs is bound again, so the
/// CLI reaches the daemon again. Removes the socket file when it stops.
pub async fn serve(
    app: Arc<App>,
    mut listener: UnixListener,
    path: PathBuf,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    info!(path = %path.display(), "admin socket ready");
    let mut bound = file_identity(&path);
    // Said once per outage, not at every tick.
    let mut said = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = app.admin_recheck.notified() => {
                if bound.is_some() && file_identity(&path) == bound {
                    continue;
                }
                match bind(&path) {
                    Ok(fresh) => {
                        warn!(path = %path.display(), "the admin socket was missing or replaced; created it again");
                        listener = fresh;
                        bound = file_identity(&path);
                        said = false;
                    }
                    Err(err) if !said => {
                        said = true;
                        error!(err = %format!("{err:#}"), "the admin socket is missing and cannot be created again (tried again at each watchdog tick and SIGHUP); `syndic fetch`, `sources` and `render` cannot reach this daemon");
                    }
                    Err(_) => {}
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let app = app.clone();
                    let shutdown = shutdown.clone();
                    tracker.spawn(async move {
                        if let Err(err) = handle(app, stream, shutdown).await {
                            debug!(%err, "admin connection ended early");
                        }
                    });
                }
                Err(err) => {
                    warn!(%err, "admin socket accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
        }
    }
    // Only our own socket: not one a later daemon made.
    if bound.is_some() && file_identity(&path) == bound {
        let _ = std::fs::remove_file(&path);
    }
}

/// The device and inode of the file at `path`, if there is one.
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

async fn handle(
    app: Arc<App>,
    stream: AsyncUnixStream,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(read).take(MAX_REQUEST as u64);
    reader.read_line(&mut line).await?;
    let mut send = async |reply: Reply| -> std::io::Result<()> {
        let mut text = serde_json::to_string(&reply).map_err(std::io::Error::other)?;
        text.push('\n');
        write.write_all(text.as_bytes()).await
    };
    let request = match serde_json::from_str::<Request>(line.trim()) {
        Ok(request) => request,
        Err(err) => {
            send(Reply::Error {
                message: format!("bad admin request: {err}"),
            })
            .await?;
            return send(Reply::Done { code: 2 }).await;
        }
    };
    info!(?request, "admin request");
    match request {
        Request::Export => {
            // A consistent snapshot: no refresh writes items meanwhile
            // (their fetches go on, and serving too).
            let _ingest = app.store.ingest_lock().await;
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
            let store = app.store.clone();
            let export = tokio::task::spawn_blocking(move || {
                let mut out = Chunks {
                    tx,
                    buf: Vec::new(),
                };
                // Dropping `out` ends the stream below.
                store.export_to(&mut out)
            });
            while let Some(chunk) = rx.recv().await {
                send(Reply::Body {
                    text: String::from_utf8_lossy(&chunk).into_owned(),
                })
                .await?;
            }
            match export.await {
                Ok(Ok(summary)) => {
                    info!(items = summary.items, records = summary.records, "exported");
                    send(Reply::Done { code: 0 }).await
                }
                Ok(Err(err)) => {
                    send(Reply::Error {
                        message: format!("export failed: {err}"),
                    })
                    .await?;
                    send(Reply::Done { code: 1 }).await
                }
                Err(err) => {
                    send(Reply::Error {
                        message: format!("export failed: {err}"),
                    })
                    .await?;
                    send(Reply::Done { code: 1 }).await
                }
            }
        }
        Request::Fetch { sources } => {
            let ids = match fetch_targets(&app.config(), &sources) {
                Ok(ids) => ids,
                Err(message) => {
                    send(Reply::Error { message }).await?;
                    return send(Reply::Done { code: 2 }).await;
                }
            };
            send(Reply::Start { total: ids.len() }).await?;
            let mut failed = false;
            for id in ids {
                if shutdown.is_cancelled() {
                    send(Reply::Error {
                        message: "the daemon is stopping; the rest was not fetched".into(),
                    })
                    .await?;
                    return send(Reply::Done { code: 1 }).await;
                }
                let outcome =
                    if sources.is_empty() && skipped_as_gone(&app.config(), &app.store, &id) {
                        Some(Outcome::Gone)
                    } else {
                        app.refresh_source(&id, true).await
                    };
                let (line, bad) = describe_fetch(&app.store, &id, outcome.as_ref());
                failed |= bad;
                send(Reply::Fetched {
                    source: id,
                    line,
                    failed: bad,
                })
                .await?;
            }
            send(Reply::Done {
                code: u8::from(failed),
            })
            .await
        }
        Request::Sources => {
            let config = app.config();
            let scraped = app.clone();
            let rows =
                tokio::task::spawn_blocking(move || source_rows(&config, &scraped.store)).await;
            match rows {
                Ok(Ok(rows)) => {
                    send(Reply::Sources { rows }).await?;
                    if let Some(rejected) = app.reload_rejected() {
                        send(Reply::Error { message: rejected }).await?;
                    }
                    send(Reply::Done { code: 0 }).await
                }
                Ok(Err(err)) => {
                    send(Reply::Error {
                        message: format!("{err:#}"),
                    })
                    .await?;
                    send(Reply::Done { code: 1 }).await
                }
                Err(err) => {
                    send(Reply::Error {
                        message: err.to_string(),
                    })
                    .await?;
                    send(Reply::Done { code: 1 }).await
                }
            }
        }
        Request::Check => {
            let store = app.store.clone();
            let checked = tokio::task::spawn_blocking(move || store.check())
                .await
                .map_err(std::io::Error::other)?;
            let path = app.store.path().display().to_string();
            match checked {
                Ok(report) => {
                    send(Reply::Body {
                        text: format!("store {path}: {report}\n"),
                    })
                    .await?;
                    let damage = report.damage(app.store.path());
                    if let Some(damage) = &damage {
                        send(Reply::Error {
                            message: damage.to_string(),
                        })
                        .await?;
                    }
                    send(Reply::Done {
                        code: u8::from(damage.is_some()),
                    })
                    .await
                }
                Err(err) => {
                    send(Reply::Error {
                        message: err.to_string(),
                    })
                    .await?;
                    send(Reply::Done { code: 1 }).await
                }
            }
        }
        Request::Explain { item_id } => match app.store.explain(&item_id) {
            Ok(Some(explanation)) => {
                let feeds =
                    crate::publish::preview::feed_verdicts(&app.config(), &explanation.item);
                send(Reply::Body {
                    text: format!("{explanation}{feeds}"),
                })
                .await?;
                send(Reply::Done { code: 0 }).await
            }
            Ok(None) => {
                send(Reply::Error {
                    message: format!(
                        "no item `{item_id}` in the store: give a published id \
                         (urn:uuid:..., the guid/id in the feeds) or a 32-digit item key"
                    ),
                })
                .await?;
                send(Reply::Done { code: 1 }).await
            }
            Err(err) => {
                send(Reply::Error {
                    message: err.to_string(),
                })
                .await?;
                send(Reply::Done { code: 1 }).await
            }
        },
        Request::Preview { feed, config } => {
            let result = tokio::task::spawn_blocking({
                let app = app.clone();
                move || preview(&app, &feed, &config)
            })
            .await;
            let (text, code) = match result {
                Ok(Ok(text)) => (Ok(text), 0),
                Ok(Err((message, code))) => (Err(message), code),
                Err(err) => (Err(format!("preview failed: {err}")), 1),
            };
            match text {
                Ok(text) => send(Reply::Body { text }).await?,
                Err(message) => send(Reply::Error { message }).await?,
            }
            send(Reply::Done { code }).await
        }
        Request::Render { feed, format } => {
            let config = app.config();
            let Some(format) = Format::from_extension(&format) else {
                send(Reply::Error {
                    message: format!("unknown format `{format}` (rss, atom or json)"),
                })
                .await?;
                return send(Reply::Done { code: 2 }).await;
            };
            match app.published.get(&feed) {
                Some(rendered) if config.feed(&feed).is_some() => {
                    let text = String::from_utf8_lossy(&rendered.get(format).body).to_string();
                    send(Reply::Body { text }).await?;
                    send(Reply::Done { code: 0 }).await
                }
                _ => {
                    let known: Vec<&str> = config.feeds.iter().map(|f| f.name.as_str()).collect();
                    send(Reply::Error {
                        message: format!(
                            "no feed `{feed}` in the config (known: {})",
                            known.join(", ")
                        ),
                    })
                    .await?;
                    send(Reply::Done { code: 2 }).await
                }
            }
        }
    }
}

/// A `Write` that hands whole chunks of at least [`CHUNK`] bytes (and the
/// rest on flush) to the connection's task.
struct Chunks {
    tx: tokio::sync::mpsc::Sender<Vec<u8>>,
    buf: Vec<u8>,
}

/// Bytes per [`Reply::Body`] of an export.
const CHUNK: usize = 256 * 1024;

impl Chunks {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.buf);
        self.tx
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::other("the admin client went away"))
    }
}

impl Write for Chunks {
    /// Export lines arrive whole (one `write_all` each), so a chunk never
    /// splits a line or a character.
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK && self.buf.ends_with(b"\n") {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

// ---------------------------------------------------------------------------
// The CLI side
// ---------------------------------------------------------------------------

/// A connection to a running daemon's admin socket.
pub struct Client {
    stream: UnixStream,
}

impl Client {
    /// Connects to the daemon using `store`; `None` when no daemon listens
    /// there (no socket, or a stale one).
    pub fn connect(store: &Path) -> Option<Client> {
        let stream = UnixStream::connect(socket_path(store)).ok()?;
        Some(Client { stream })
    }

    /// Sends `request` and calls `on_reply` for every answer line up to and
    /// including [`Reply::Done`]; returns its code.
    pub fn call(self, request: &Request, mut on_reply: impl FnMut(&Reply)) -> anyhow::Result<u8> {
        use anyhow::Context;
        let mut stream = self.stream;
        let mut line = serde_json::to_string(request)?;
        line.push('\n');
        stream
            .write_all(line.as_bytes())
            .context("sending the request to the daemon's admin socket")?;
        let reader = BufReader::new(stream);
        for line in reader.lines() {
            let line = line.context("reading the daemon's answer")?;
            let reply: Reply = serde_json::from_str(&line)
                .with_context(|| format!("the daemon sent an unreadable answer: {line}"))?;
            on_reply(&reply);
            if let Reply::Done { code } = reply {
                return Ok(code);
            }
        }
        anyhow::bail!("the daemon closed the admin connection before answering (is it stopping?)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_round_trip_as_json_lines() {
        let req = Request::Fetch {
            sources: vec!["a".into()],
        };
        let text = serde_json::to_string(&req).unwrap();
        assert_eq!(text, r#"{"cmd":"fetch","sources":["a"]}"#);
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), req);
        let reply = Reply::Done { code: 1 };
        assert_eq!(
            serde_json::to_string(&reply).unwrap(),
            r#"{"kind":"done","code":1}"#
        );
    }

    #[test]
    fn outcomes_are_described_as_the_cli_prints_them() {
        let (line, failed) = describe_outcome(Some(&Outcome::Refreshed {
            new: 1,
            updated: 0,
            removed: 0,
            unchanged: 2,
        }));
        assert_eq!(line, "1 new, 0 updated, 0 removed, 2 unchanged");
        assert!(!failed);
        assert!(describe_outcome(Some(&Outcome::Failed("boom".into()))).1);
    }

    #[tokio::test]
    async fn bind_replaces_a_stale_socket_and_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = socket_path(dir.path());
        std::fs::write(&path, "stale").unwrap();
        let _listener = bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(Client::connect(dir.path()).is_some());
        assert!(Client::connect(&dir.path().join("none")).is_none());
    }
}
