//! The `syndic` command line: parses arguments, sets up logging and calls
//! into the library. No feed logic lives here.
// No panic on outside input, as in the library (lib.rs).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

use syndic::admin;
use syndic::config::Config;
use syndic::daemon::{self, App};
use syndic::ingest::parse::{self, ParseOptions};
use syndic::publish::Format;
use syndic::redact::Redacted;
use syndic::store::Store;

const AFTER_HELP: &str = "\
Examples:
  syndic check                          validate ./feeds.toml
  syndic serve                          run the daemon (Ctrl-C or SIGTERM stops it, SIGHUP reloads)
  syndic fetch                          refresh every source now
  syndic sources --json                 poll state of every source, as JSON
  syndic render all --format atom       print the `all` feed
  syndic --config /etc/syndic/feeds.toml --store /var/lib/syndic/store sources
                                        next to the systemd service (asks it over its admin socket)

fetch, sources and render ask a running daemon over its admin socket
(STORE/admin.sock); with no daemon running they open the store themselves.

Exit codes:
  0  success
  1  failure: invalid config, a source failed to refresh, store or I/O error
  2  bad usage: unknown option, command, source or feed

Environment: SYNDIC_CONFIG, SYNDIC_STORE (like --config, --store), RUST_LOG (log
filter, overrides [daemon] log_level), STATE_DIRECTORY (store under systemd),
NOTIFY_SOCKET, WATCHDOG_USEC, LISTEN_FDS (set by systemd).";

#[derive(Parser)]
#[command(
    name = "syndic",
    version,
    about = "A feed publisher and aggregator daemon",
    after_help = AFTER_HELP
)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        default_value = "feeds.toml",
        env = "SYNDIC_CONFIG"
    )]
    config: PathBuf,
    /// The store folder; overrides `[daemon] store` (and $STATE_DIRECTORY).
    #[arg(long, global = true, env = "SYNDIC_STORE")]
    store: Option<PathBuf>,
    /// Log format: `text` (default; plain when run under systemd) or `json`.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Rss,
    Atom,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: refresh sources on schedule and serve the feeds.
    #[command(after_help = "\
Signals: SIGTERM/SIGINT stop gracefully (finish requests and refreshes, flush,
exit 0); SIGHUP re-reads the config (an invalid one is logged and ignored).
Under systemd (Type=notify) it reports READY=1, STATUS=, WATCHDOG=1 and takes
a socket from syndic.socket (LISTEN_FDS) instead of binding `listen`; a second
socket, if passed, is used instead of binding `admin_listen`.

The public listener serves the feeds, archive pages, article pages and an index
of the feeds. Source health, /metrics and the OPML of the sources are served on
`[daemon] admin_listen` (default: 127.0.0.1, the public port plus one).

Examples:
  syndic serve
  syndic serve --listen 0.0.0.0:8080
  syndic --log-format json serve")]
    Serve {
        /// Listen on this address instead of `[daemon] listen`.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Validate the configuration and exit (non-zero on errors).
    #[command(
        after_help = "Examples:\n  syndic check\n  syndic --config /etc/syndic/feeds.toml check"
    )]
    Check,
    /// Read every row of the store and report damage, changing nothing.
    #[command(after_help = "\
Next to a running daemon, the daemon reads its open store (serving and
fetching go on). Alone, the store is copied into $TMPDIR (it needs room for a
copy) under the store's lock and the copy is read, because opening a store
writes to it. Exit code 0 when no damage is found, 1 otherwise.

Examples:
  syndic store-check
  syndic --store /var/lib/syndic/store store-check")]
    StoreCheck,
    /// Refresh sources now (all, or the ones named), then exit.
    #[command(after_help = "\
Remote sources are polled even if not due. Shows a progress bar on a terminal,
one line per source otherwise. Exit code 1 when any source failed.

Examples:
  syndic fetch
  syndic fetch rust-blog articles")]
    Fetch {
        /// Source ids (as in feeds.toml); all sources when none are given.
        sources: Vec<String>,
    },
    /// Print a feed, rendered from the store, to stdout.
    #[command(
        after_help = "Examples:\n  syndic render all\n  syndic render all --format json > all.json"
    )]
    Render {
        /// The feed's name (`[[feed]] name`).
        feed: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = FormatArg::Rss)]
        format: FormatArg,
    },
    /// Show what the parser makes of a feed file (`-` for stdin).
    #[command(after_help = "\
Needs no config or store.

Examples:
  syndic parse feed.xml
  curl -s https://blog.rust-lang.org/feed.xml | syndic parse - --json --url https://blog.rust-lang.org/feed.xml")]
    Parse {
        /// The feed file, or `-` to read stdin.
        file: PathBuf,
        /// Print JSON (JSON Feed 1.1 field names plus format, encoding, warnings).
        #[arg(long)]
        json: bool,
        /// The URL the file was fetched from (base for relative links).
        #[arg(long)]
        url: Option<String>,
        /// The HTTP Content-Type it came with (for its charset).
        #[arg(long)]
        content_type: Option<String>,
    },
    /// Show each source's poll state: last status, last success, next refresh, items.
    #[command(
        after_help = "Examples:\n  syndic sources\n  syndic sources --json | jq '.[] | select(.consecutive_failures > 0)'"
    )]
    Sources {
        /// Print a JSON array (id, items, last_status, last_success,
        /// next_poll_at, consecutive_failures) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show how dedup sees one item: its keys, aliases, sources, and the
    /// rule that merged each duplicate into it.
    #[command(
        after_help = "Examples:\n  syndic explain urn:uuid:0b8e...\n  syndic explain 0b8e4c...(32 hex digits)"
    )]
    Explain {
        /// The item's published id (`urn:uuid:...`) or its item key (32 hex digits).
        item_id: String,
    },
    /// Print a manual page (roff) built from this help: syndic(1), or
    /// syndic-COMMAND(1) for one command.
    #[command(after_help = "\
Examples:
  syndic man | man -l -
  syndic man fetch | man -l -
  syndic man | sudo install -Dm 0644 /dev/stdin /usr/local/share/man/man1/syndic.1
  for c in $(syndic man --list); do syndic man $c > syndic-$c.1; done")]
    Man {
        /// The command whose page to print (none: the main page).
        command: Option<String>,
        /// List the commands that have a page, one per line.
        #[arg(long, conflicts_with = "command")]
        list: bool,
    },
    /// Print shell completions for bash, zsh, fish, elvish or PowerShell.
    #[command(after_help = "\
Examples:
  syndic completions bash | sudo install -Dm 0644 /dev/stdin /usr/share/bash-completion/completions/syndic
  syndic completions zsh  | sudo install -Dm 0644 /dev/stdin /usr/local/share/zsh/site-functions/_syndic
  syndic completions fish > ~/.config/fish/completions/syndic.fish")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Add the feeds of an OPML file to the config as [[source]] tables
    /// (merging: feeds already there are skipped; comments are kept).
    #[command(after_help = "\
The config file is rewritten in place (through a temporary file); a running
daemon reads it on reload (systemctl reload syndic, or SIGHUP).

Examples:
  syndic import-opml subscriptions.opml --dry-run
  syndic import-opml subscriptions.opml && systemctl reload syndic")]
    ImportOpml {
        file: PathBuf,
        /// Print what would change without writing the config.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the remote sources as an OPML 2.0 subscription list.
    #[command(after_help = "\
Secrets in the URLs (user:password@, token=, key=, ...) are printed as ***
unless --include-secrets is given, for moving the subscriptions to another
reader.

Examples:
  syndic export-opml > subscriptions.opml
  syndic export-opml --include-secrets > private.opml")]
    ExportOpml {
        /// Print the real URLs, secrets included.
        #[arg(long)]
        include_secrets: bool,
    },
    /// Write everything the store holds (items, poll states with
    /// validators, aliases, slugs, tombstones, signatures) as JSON Lines:
    /// a backup that any later syndic can import.
    #[command(after_help = "\
Works next to a running daemon (through its admin socket; refreshes wait for
the snapshot, serving goes on) and alone. The format is versioned and ends
with a record count and a SHA-256, so a truncated or changed file is refused
on import (README, Backups).

Examples:
  syndic export --output /var/backups/syndic.jsonl
  syndic export | gzip > syndic-$(date +%F).jsonl.gz")]
    Export {
        /// Write here (through a temporary file, renamed when complete)
        /// instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Restore a `syndic export` file into an empty store (all or nothing).
    #[command(after_help = "\
The whole file is checked first; any bad line is reported as FILE:LINE and
nothing is imported. A store that already holds items or poll states is
refused unless --merge. Stop the daemon first (it holds the store).

Examples:
  syndic --store /var/lib/syndic/store import /var/backups/syndic.jsonl")]
    Import {
        /// The export file (`-` for stdin).
        file: PathBuf,
        /// Add the export to a store that is not empty (its items replace
        /// stored items with the same key).
        #[arg(long)]
        merge: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            // Errors may quote a source URL: its secrets are not printed.
            eprintln!("syndic: {}", Redacted(&format!("{err:#}")));
            ExitCode::FAILURE
        }
    }
}

/// `syndic man [COMMAND]`: the main page, a command's page
/// (`syndic-COMMAND(1)`, as the main page refers to it), or the list.
fn man_page(command: Option<&str>, list: bool) -> anyhow::Result<ExitCode> {
    let cli = Cli::command();
    let names = || {
        cli.get_subcommands()
            .map(|c| c.get_name().to_string())
            .filter(|n| n != "help")
    };
    if list {
        for name in names() {
            println!("{name}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let page = match command {
        None => cli.clone(),
        Some(name) => match cli.find_subcommand(name) {
            Some(sub) => sub.clone().name(format!("syndic-{name}")),
            None => {
                eprintln!(
                    "syndic: no command `{name}`; commands: {}",
                    names().collect::<Vec<_>>().join(", ")
                );
                return Ok(ExitCode::from(2));
            }
        },
    };
    clap_mangen::Man::new(page).render(&mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Neither needs a config.
    match &cli.command {
        Command::Man { command, list } => return man_page(command.as_deref(), *list),
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "syndic",
                &mut std::io::stdout(),
            );
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    if let Command::Parse {
        file,
        json,
        url,
        content_type,
    } = &cli.command
    {
        return parse_file(file, *json, url.as_deref(), content_type.as_deref());
    }
    let config = match Config::load(&cli.config) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{}", Redacted(&errors.to_string()));
            // A file that could not be read is reported at line 0.
            let unread = errors.0.iter().all(|e| e.line == 0);
            eprintln!(
                "syndic: {} {}; nothing was started",
                cli.config.display(),
                if unread {
                    "cannot be read"
                } else {
                    "is not valid"
                }
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    syndic::redact::configure(&config.daemon.secret_params);
    if let Command::ImportOpml { file, dry_run } = &cli.command {
        return import_opml(&cli.config, &config, file, *dry_run);
    }
    if let Command::ExportOpml { include_secrets } = cli.command {
        if include_secrets {
            print!("{}", syndic::publish::opml::export_with_secrets(&config));
        } else {
            print!("{}", syndic::publish::opml::export(&config));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Check = cli.command {
        println!(
            "{}: ok ({} sources, {} feeds)",
            cli.config.display(),
            config.sources.len(),
            config.feeds.len()
        );
        return Ok(check_folders(&config));
    }
    init_logging(cli.log_format, config.daemon.log_level.as_deref());
    let store_path = store_path(cli.store.as_deref(), &config);
    // Next to a running daemon (which holds the store), ask it instead.
    if let Some(code) = ask_daemon(&cli.command, &config, &store_path)? {
        return Ok(code);
    }
    if let Command::StoreCheck = cli.command {
        return Ok(store_check(&store_path));
    }
    // Socket activation: read (and clear) LISTEN_FDS before any thread starts.
    let activated = match &cli.command {
        Command::Serve { .. } => activated_listener()?,
        _ => Activated::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(async move {
        let store =
            Store::open(&store_path).map_err(|err| socket_gone(err, &cli.command, &store_path))?;
        match cli.command {
            Command::Serve { listen } => serve(config, store, listen, activated).await,
            Command::Fetch { sources } => fetch(config, store, sources).await,
            Command::Render { feed, format } => render(config, store, &feed, format),
            Command::Sources { json } => sources(&config, &store, json),
            Command::Explain { item_id } => explain(&store, &item_id),
            Command::Export { output } => export(&store, output.as_deref()),
            Command::Import { file, merge } => import(&store, &file, merge).await,
            Command::Check
            | Command::StoreCheck
            | Command::Parse { .. }
            | Command::Man { .. }
            | Command::Completions { .. }
            | Command::ImportOpml { .. }
            | Command::ExportOpml { .. } => unreachable!("handled above"),
        }
    });
    // Everything that matters was flushed: do not wait for a background
    // scan (the item count for STATUS=) still running on a blocking thread.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    result
}

/// `syndic store-check` with no daemon running: reads a copy of the store.
fn store_check(store: &Path) -> ExitCode {
    use syndic::store::StoreError;
    let path = store.display().to_string();
    match syndic::store::check_copy(store, &std::env::temp_dir()) {
        Ok(report) => {
            println!("store {path}: {report}");
            match report.damage(store) {
                None => ExitCode::SUCCESS,
                Some(damage) => {
                    eprintln!("syndic: {damage}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(err @ StoreError::Locked { .. }) => {
            eprintln!(
                "syndic: {:#}",
                socket_gone(err, &Command::StoreCheck, store)
            );
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("syndic: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Whether the process holding `store` is a daemon (`syndic ... serve`),
/// not another one-shot command.
fn held_by_daemon(store: &Path) -> bool {
    syndic::store::holder_pid(store)
        .and_then(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).ok())
        .is_some_and(|cmdline| cmdline.split(|b| *b == 0).any(|arg| arg == b"serve"))
}

/// A store held by a daemon whose admin socket is gone (deleted while it
/// ran), for a command that would have asked that daemon: says so, and how
/// to make the socket again, instead of "stop the daemon first".
fn socket_gone(err: syndic::store::StoreError, command: &Command, store: &Path) -> anyhow::Error {
    let asks_daemon = matches!(
        command,
        Command::Fetch { .. }
            | Command::Sources { .. }
            | Command::Explain { .. }
            | Command::Export { .. }
            | Command::Render { .. }
            | Command::StoreCheck
    );
    let socket = admin::socket_path(store);
    match &err {
        // The CLI tried the socket before opening the store: no answer.
        syndic::store::StoreError::Locked { holder, .. }
            if asks_daemon && held_by_daemon(store) =>
        {
            let state = if socket.exists() {
                "did not answer (it was missing, or is being made again)"
            } else {
                "is missing (deleted while it ran?)"
            };
            anyhow::anyhow!(
                "a syndic daemon{holder} holds the store {} but its admin socket {} {state}: \
                 `systemctl reload syndic` (or SIGHUP to the daemon) makes it again, then run \
                 this command again",
                store.display(),
                socket.display()
            )
        }
        _ => err.into(),
    }
}

/// Merges an OPML file into the config file, reporting what was added and
/// what was skipped (and why). The merged text is validated before it
/// replaces the file, which is written to a temporary file and renamed.
fn import_opml(
    config_path: &Path,
    config: &Config,
    file: &Path,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let opml = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the OPML file `{}`", file.display()))?;
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("cannot read `{}`", config_path.display()))?;
    let report = syndic::publish::opml::import(&text, config, &opml)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    for (id, url) in &report.added {
        println!("added   {id}: {}", Redacted(url));
    }
    for (what, why) in &report.skipped {
        println!("skipped {}: {}", Redacted(what), Redacted(why));
    }
    if report.added.is_empty() {
        println!("nothing to add; {} left as it was", config_path.display());
        return Ok(ExitCode::SUCCESS);
    }
    if let Err(errors) = Config::parse(&report.text, config_path) {
        anyhow::bail!(
            "the merged config would not be valid, so {} was left as it was:\n{errors}",
            config_path.display()
        );
    }
    if dry_run {
        println!("dry run: {} not written", config_path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let tmp = config_path.with_extension("toml.import-tmp");
    std::fs::write(&tmp, &report.text)
        .with_context(|| format!("cannot write `{}`", tmp.display()))?;
    std::fs::rename(&tmp, config_path)
        .with_context(|| format!("cannot replace `{}`", config_path.display()))?;
    println!(
        "{}: {} sources added, {} skipped",
        config_path.display(),
        report.added.len(),
        report.skipped.len()
    );
    // A running daemon reads its config at start and on SIGHUP only.
    println!(
        "a running daemon polls them after a reload: systemctl reload syndic \
         (or kill -HUP its pid); `syndic fetch` polls them now"
    );
    Ok(ExitCode::SUCCESS)
}

/// The store folder: `--store`, else `$STATE_DIRECTORY/store` under systemd,
/// else `[daemon] store`.
fn store_path(flag: Option<&Path>, config: &Config) -> PathBuf {
    if let Some(path) = flag {
        return path.to_path_buf();
    }
    if let Some(dir) = std::env::var_os("STATE_DIRECTORY") {
        // systemd may pass several colon-separated folders; the first is ours.
        let first = dir
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or("")
            .to_string();
        if !first.is_empty() {
            return Path::new(&first).join("store");
        }
    }
    config.daemon.store.clone()
}

fn init_logging(format: LogFormat, level: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level.unwrap_or("info,tokio_cron_scheduler=warn")))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Every line, text or JSON, goes out with the secrets of any URL in it
    // redacted.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| syndic::redact::Writer(std::io::stderr()));
    match format {
        LogFormat::Json => builder.json().init(),
        // Under systemd the journal adds its own timestamps; a `<N>` prefix
        // (sd-daemon(3)) gives each line its priority, so `journalctl -p
        // warning` works.
        LogFormat::Text if stderr_is_journal() => builder
            .event_format(JournalFormat(
                tracing_subscriber::fmt::format()
                    .without_time()
                    .with_ansi(false),
            ))
            .init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

/// True when stderr is the journal stream systemd connected
/// (`$JOURNAL_STREAM` is `device:inode` of it; a redirected stderr no
/// longer matches, see systemd.exec(5)).
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(stderr) = std::fs::metadata("/proc/self/fd/2") else {
        // No /proc: trust the variable.
        return true;
    };
    stream.to_string_lossy() == format!("{}:{}", stderr.dev(), stderr.ino())
}

/// Prefixes each log line with its syslog priority, `<3>` to `<7>`.
struct JournalFormat<F>(F);

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for JournalFormat<F>
where
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            tracing::Level::ERROR => 3,
            tracing::Level::WARN => 4,
            tracing::Level::INFO => 6,
            _ => 7,
        };
        write!(writer, "<{priority}>")?;
        self.0.format_event(ctx, writer, event)
    }
}

/// The listening sockets systemd passed (`syndic.socket`): the public one
/// and, when a second is passed, the admin one.
#[derive(Default)]
struct Activated {
    public: Option<std::net::TcpListener>,
    admin: Option<std::net::TcpListener>,
}

fn activated_listener() -> anyhow::Result<Activated> {
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Ok(Activated::default());
    }
    let public = fds.take_tcp_listener(0).context(
        "LISTEN_FDS is set but fd 3 is not a TCP listening socket (check syndic.socket)",
    )?;
    let admin = if fds.len() > 1 {
        fds.take_tcp_listener(1).context(
            "LISTEN_FDS passes a second socket, but fd 4 is not a TCP listening socket \
             (check syndic.socket)",
        )?
    } else {
        None
    };
    Ok(Activated { public, admin })
}

/// A socket systemd passed, made ready for tokio.
fn adopt(listener: std::net::TcpListener) -> anyhow::Result<tokio::net::TcpListener> {
    listener
        .set_nonblocking(true)
        .context("preparing the socket systemd passed")?;
    tracing::info!(addr = ?listener.local_addr().ok(), "using the socket systemd passed");
    tokio::net::TcpListener::from_std(listener).context("using the socket systemd passed")
}

async fn serve(
    config: Config,
    store: Store,
    listen: Option<std::net::SocketAddr>,
    activated: Activated,
) -> anyhow::Result<ExitCode> {
    let (listener, asked) = match activated.public {
        Some(listener) => {
            let listener = adopt(listener)?;
            let asked = listener.local_addr().unwrap_or(config.daemon.listen);
            (listener, asked)
        }
        None => {
            let addr = listen.unwrap_or(config.daemon.listen);
            let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
                format!("cannot listen on {addr} (set [daemon] listen or pass --listen)")
            })?;
            (listener, addr)
        }
    };
    let admin = match activated.admin {
        Some(admin) => Some(adopt(admin)?),
        None => daemon::bind_admin(&config.daemon, asked).await?,
    };
    let app = App::with_notifier(config, store, syndic::notify::Notifier::from_env())?;
    let shutdown = CancellationToken::new();
    tokio::spawn(handle_signals(app.clone(), shutdown.clone()));
    daemon::serve(app, listener, admin, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM and SIGINT stop the daemon gracefully; SIGHUP reloads the config.
async fn handle_signals(app: std::sync::Arc<App>, shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => {
                tracing::info!(signal = "SIGTERM", "stopping");
                break;
            }
            _ = int.recv() => {
                tracing::info!(signal = "SIGINT", "stopping");
                break;
            }
            _ = hup.recv() => {
                tracing::info!(signal = "SIGHUP", "reloading the configuration");
                // Errors are logged by reload; the old config keeps running.
                let _ = daemon::reload(&app).await;
            }
        }
    }
    shutdown.cancel();
}

async fn fetch(config: Config, store: Store, wanted: Vec<String>) -> anyhow::Result<ExitCode> {
    let ids = match admin::fetch_targets(&config, &wanted) {
        Ok(ids) => ids,
        Err(message) => {
            eprintln!("syndic: {message}");
            return Ok(ExitCode::from(2));
        }
    };
    let app = App::new(config, store)?;
    let progress = FetchProgress::new(ids.len());
    let mut failed = false;
    for id in &ids {
        progress.starting(id);
        let outcome = if wanted.is_empty() && admin::skipped_as_gone(&app.config(), &app.store, id)
        {
            Some(syndic::refresh::Outcome::Gone)
        } else {
            app.refresh_source(id, true).await
        };
        let (line, bad) = admin::describe_fetch(&app.store, id, outcome.as_ref());
        failed |= bad;
        progress.done(id, &line);
    }
    progress.finish();
    app.store.flush().await?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `syndic fetch` output: a progress bar with a line per source on a
/// terminal, plain `id: outcome` lines otherwise (scripts, logs).
struct FetchProgress {
    bar: Option<indicatif::ProgressBar>,
}

impl FetchProgress {
    fn new(total: usize) -> FetchProgress {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{bar:30}] {pos}/{len} {wide_msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        FetchProgress { bar }
    }

    fn starting(&self, id: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("fetching {id}"));
        }
    }

    fn done(&self, id: &str, line: &str) {
        match &self.bar {
            Some(bar) => {
                bar.println(format!("{id}: {}", Redacted(line)));
                bar.inc(1);
            }
            None => println!("{id}: {}", Redacted(line)),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Runs `fetch`, `sources` or `render` through a running daemon's admin
/// socket. `None` when no daemon answers (the caller opens the store).
fn ask_daemon(
    command: &Command,
    config: &Config,
    store: &Path,
) -> anyhow::Result<Option<ExitCode>> {
    let request = match command {
        Command::Fetch { sources } => {
            if let Err(message) = admin::fetch_targets(config, sources) {
                eprintln!("syndic: {message}");
                return Ok(Some(ExitCode::from(2)));
            }
            admin::Request::Fetch {
                sources: sources.clone(),
            }
        }
        Command::Sources { .. } => admin::Request::Sources,
        Command::Explain { item_id } => admin::Request::Explain {
            item_id: item_id.clone(),
        },
        Command::Export { .. } => admin::Request::Export,
        Command::StoreCheck => admin::Request::Check,
        Command::Render { feed, format } => admin::Request::Render {
            feed: feed.clone(),
            format: match format {
                FormatArg::Rss => Format::Rss,
                FormatArg::Atom => Format::Atom,
                FormatArg::Json => Format::Json,
            }
            .extension()
            .to_string(),
        },
        _ => return Ok(None),
    };
    let Some(client) = admin::Client::connect(store) else {
        return Ok(None);
    };
    let json = matches!(command, Command::Sources { json: true });
    let mut progress: Option<FetchProgress> = None;
    let output = match command {
        Command::Export {
            output: Some(path), ..
        } => Some(path.as_path()),
        _ => None,
    };
    let mut out = Output::create(output)?;
    let mut written = Ok(());
    let code = client.call(&request, |reply| match reply {
        admin::Reply::Start { total } => progress = Some(FetchProgress::new(*total)),
        admin::Reply::Fetched { source, line, .. } => match &progress {
            Some(p) => p.done(source, line),
            None => println!("{source}: {}", Redacted(line)),
        },
        admin::Reply::Sources { rows } => print_sources(rows, json),
        admin::Reply::Body { text } => {
            if written.is_ok() {
                written = out.write_all(text.as_bytes());
            }
        }
        admin::Reply::Error { message } => eprintln!("syndic: {}", Redacted(message)),
        admin::Reply::Done { .. } => {
            if let Some(p) = &progress {
                p.finish();
            }
        }
    })?;
    if let Err(err) = written {
        anyhow::bail!("writing the output: {err}");
    }
    if code == 0 {
        out.commit()?;
    }
    Ok(Some(ExitCode::from(code)))
}

/// Where `export` (and the other commands' bodies) go: stdout, or a file
/// written through a temporary one that is renamed only when complete.
enum Output {
    Stdout(std::io::Stdout),
    File {
        tmp: PathBuf,
        path: PathBuf,
        file: std::io::BufWriter<std::fs::File>,
    },
}

impl Output {
    fn create(path: Option<&Path>) -> anyhow::Result<Output> {
        let Some(path) = path else {
            return Ok(Output::Stdout(std::io::stdout()));
        };
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        let tmp = path.with_file_name(name);
        let file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create `{}`", tmp.display()))?;
        Ok(Output::File {
            tmp,
            path: path.to_path_buf(),
            file: std::io::BufWriter::new(file),
        })
    }

    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Stdout(out) => out.write_all(data),
            Output::File { file, .. } => file.write_all(data),
        }
    }

    /// Flushes (and syncs a file) and renames it into place.
    fn commit(mut self) -> anyhow::Result<()> {
        match &mut self {
            Output::Stdout(out) => Ok(out.flush()?),
            Output::File { tmp, path, file } => {
                file.flush()
                    .with_context(|| format!("writing `{}`", tmp.display()))?;
                file.get_ref()
                    .sync_all()
                    .with_context(|| format!("writing `{}`", tmp.display()))?;
                // Drop then finds no temporary file left to remove.
                std::fs::rename(&tmp, &path).with_context(|| {
                    format!("cannot rename `{}` to `{}`", tmp.display(), path.display())
                })
            }
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // Not committed (an error on the way): no partial file is left.
        if let Output::File { tmp, .. } = self {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// `syndic export` with no daemon running: reads the store itself.
fn export(store: &Store, output: Option<&Path>) -> anyhow::Result<ExitCode> {
    let mut out = Output::create(output)?;
    let summary = store.export_to(&mut OutputWriter(&mut out))?;
    out.commit()?;
    eprintln!(
        "exported {} items ({} records) from {}{}",
        summary.items,
        summary.records,
        store.path().display(),
        output
            .map(|p| format!(" to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

struct OutputWriter<'a>(&'a mut Output);

impl Write for OutputWriter<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(data)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `syndic import FILE`: checks the whole file, then writes it (all or
/// nothing).
async fn import(store: &Store, file: &Path, merge: bool) -> anyhow::Result<ExitCode> {
    use syndic::store::backup;
    let checked = if file == Path::new("-") {
        backup::read_export(Path::new("<stdin>"), std::io::stdin().lock())
    } else {
        let reader = std::fs::File::open(file)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
        backup::read_export(file, std::io::BufReader::new(reader))
    };
    let export = match checked {
        Ok(export) => export,
        Err(errors) => {
            for error in errors.iter().take(50) {
                eprintln!("{error}");
            }
            if errors.len() > 50 {
                eprintln!("(and {} more)", errors.len() - 50);
            }
            eprintln!(
                "syndic: {}: {} problem{}; nothing was imported",
                file.display(),
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let written = store.import(export, merge).await?;
    println!("imported {written} items into {}", store.path().display());
    Ok(ExitCode::SUCCESS)
}

fn render(config: Config, store: Store, feed: &str, format: FormatArg) -> anyhow::Result<ExitCode> {
    if config.feed(feed).is_none() {
        let known: Vec<&str> = config.feeds.iter().map(|f| f.name.as_str()).collect();
        eprintln!(
            "syndic: no feed `{feed}` in the config (known: {})",
            known.join(", ")
        );
        return Ok(ExitCode::from(2));
    }
    let app = App::new(config, store)?;
    app.render_feeds(None);
    let rendered = app
        .published
        .get(feed)
        .with_context(|| format!("feed `{feed}` was not rendered"))?;
    let format = match format {
        FormatArg::Rss => Format::Rss,
        FormatArg::Atom => Format::Atom,
        FormatArg::Json => Format::Json,
    };
    std::io::stdout().write_all(&rendered.get(format).body)?;
    Ok(ExitCode::SUCCESS)
}

fn sources(config: &Config, store: &Store, json: bool) -> anyhow::Result<ExitCode> {
    let rows = admin::source_rows(config, store)?;
    print_sources(&rows, json);
    Ok(ExitCode::SUCCESS)
}

/// The `sources` table (columns sized to their content) or JSON array.
fn print_sources(rows: &[admin::SourceRow], json: bool) {
    if json {
        match serde_json::to_string_pretty(rows) {
            Ok(text) => println!("{text}"),
            Err(err) => eprintln!("syndic: {err}"),
        }
        return;
    }
    let fmt = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "-".into())
    };
    const COLUMNS: usize = 10;
    let table: Vec<[String; COLUMNS]> = rows
        .iter()
        .map(|row| {
            // The cause's few words, whole (`--json` has the full text).
            let mut status = row.last_status.as_deref().map_or_else(
                || "never refreshed".to_string(),
                |s| syndic::refresh::short_cause(s).to_string(),
            );
            if status.chars().count() > 72 {
                status = status.chars().take(71).collect::<String>() + "…";
            }
            [
                row.id.clone(),
                row.items.to_string(),
                status,
                fmt(row.last_success),
                row.consecutive_failures.to_string(),
                row.next_poll_at
                    .map_or_else(|| "never".into(), |d| fmt(Some(d))),
                row.why.clone(),
                format_bytes(row.bytes_saved),
                row.parse_warning_count.to_string(),
                row.url.clone(),
            ]
        })
        .collect();
    let header: [&str; COLUMNS] = [
        "source",
        "items",
        "last status",
        "last success",
        "failures",
        "next poll",
        "why",
        "304 saved",
        "warnings",
        "url in use",
    ];
    let mut widths = header.map(|h| h.chars().count());
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; COLUMNS]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == COLUMNS {
                out.push_str(cell);
            } else if i == 1 || i == 4 || i == 7 || i == 8 {
                out.push_str(&format!("{cell:>w$}  "));
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out
    };
    println!("{}", line(header));
    for row in &table {
        println!("{}", line(row.each_ref().map(String::as_str)));
    }
    // Local sources: the next scheduled article (its timer refreshes then).
    for row in rows {
        if let Some(event) = &row.next_article {
            println!("\n{}: next scheduled article: {event}", row.id);
        }
    }
    // Failing sources: the whole cause and how to retry now.
    for row in rows.iter().filter(|r| r.failing) {
        if let Some(status) = &row.last_status {
            println!(
                "\n{}: {status}\n  {}",
                row.id,
                syndic::refresh::retry_hint(&row.id)
            );
        }
    }
    // The warnings of the last parse, under the table.
    for row in rows.iter().filter(|r| r.parse_warning_count > 0) {
        println!(
            "\n{}: {} parse warning{} (feed repaired or read leniently):",
            row.id,
            row.parse_warning_count,
            if row.parse_warning_count == 1 {
                ""
            } else {
                "s"
            }
        );
        for warning in row.parse_warnings.iter().take(3) {
            println!("  - {warning}");
        }
        if row.parse_warning_count > 3 {
            println!(
                "  (and {} more; `syndic parse FILE` lists them all)",
                row.parse_warning_count - 3
            );
        }
    }
}

/// `1234567` -> `1.2 MiB`.
fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS.get(unit).unwrap_or(&"GiB"))
    }
}

fn explain(store: &Store, id: &str) -> anyhow::Result<ExitCode> {
    match store.explain(id)? {
        Some(explanation) => {
            print!("{explanation}");
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!(
                "syndic: no item `{id}` in the store {}: give a published id \
                 (urn:uuid:..., the guid/id in the feeds) or a 32-digit item key",
                store.path().display()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

fn parse_file(
    file: &Path,
    json: bool,
    url: Option<&str>,
    content_type: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let bytes = if file == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading stdin")?;
        buf
    } else {
        std::fs::read(file).with_context(|| format!("reading {}", file.display()))?
    };
    let opts = ParseOptions {
        content_type,
        base_url: url,
    };
    let feed = match parse::parse_feed(&bytes, &opts) {
        Ok(feed) => feed,
        Err(err) => {
            eprintln!("syndic: {}: not parsed: {err}", file.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut out = String::new();
    if json {
        let view = parse::to_json_view(&feed);
        out.push_str(&serde_json::to_string_pretty(&view)?);
        out.push('\n');
    } else {
        out.push_str(&format!(
            "{} ({}, {}): {} items, {} warnings\n",
            feed.title.as_deref().unwrap_or("(untitled)"),
            feed.format,
            feed.encoding,
            feed.entries.len(),
            feed.warnings.len()
        ));
        for entry in &feed.entries {
            out.push_str(&format!(
                "- {}  {}\n",
                entry.title.as_deref().unwrap_or("(untitled)"),
                entry.link.as_deref().unwrap_or("")
            ));
        }
        for warning in &feed.warnings {
            out.push_str(&format!("warning: {warning}\n"));
        }
    }
    // A closed pipe (`syndic parse f.xml --json | head`) is not an error.
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(e).context("writing to stdout");
        }
        _ => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `syndic check` on every article folder: each file is read and parsed as
/// a refresh would; errors (files that will not publish) fail the check,
/// warnings (unknown front matter keys, drafts) are printed.
fn check_folders(config: &Config) -> ExitCode {
    let mut failed = false;
    for source in &config.sources {
        let syndic::config::SourceKind::Local { path } = &source.kind else {
            continue;
        };
        match syndic::ingest::local::check_folder(path, source.max_article_bytes) {
            Ok(found) => {
                let ok = if found.errors.is_empty() {
                    "ok"
                } else {
                    "errors"
                };
                println!(
                    "source {}: {}: {ok} ({} articles, {} errors, {} warnings)",
                    source.id,
                    path.display(),
                    found.articles,
                    found.errors.len(),
                    found.warnings.len()
                );
                for error in &found.errors {
                    println!("  error: {error}");
                }
                for warning in &found.warnings {
                    println!("  warning: {warning}");
                }
                failed |= !found.errors.is_empty();
            }
            Err(err) => {
                println!("source {}: error: {err}", source.id);
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
