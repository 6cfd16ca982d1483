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
use syndic::app::App;
use syndic::config::Config;
use syndic::daemon;
use syndic::ingest::parse::{self, ParseOptions};
use syndic::publish::Format;
use syndic::redact::Redacted;
use syndic::store::Store;

mod cli;

use cli::backup::{Output, export, import};
use cli::logging::init_logging;
use cli::opml::import_opml;
use cli::report::{FetchProgress, fetch, print_sources, sources};
use cli::service::{Activated, activated_listener, serve};

const AFTER_HELP: &str = "\
Examples:
  syndic check                          validate ./feeds.toml
  syndic serve                          run the daemon (Ctrl-C or SIGTERM stops it, SIGHUP reloads)
  syndic fetch                          refresh every source now
  syndic sources --json                 poll state of every source, as JSON
  syndic render all --format atom       print the `all` feed
  syndic --config /etc/syndic/feeds.toml --store /var/lib/syndic/store sources
                                        next to the systemd service (asks it over its admin socket)

fetch, sources, render, preview, explain, export and store-check ask a running
daemon over its admin socket (STORE/admin.sock); with no daemon running they
open the store themselves.

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
    /// Show the items a feed would publish next and what its rules did.
    #[command(after_help = "\
Lists the items the feed would publish now, as its rules rewrite them (with
the rule, file:line:column, that rewrote each), then the items left out on
the way (the newest items of its sources that it looked at) with the rule
that dropped each. Nothing is rendered or stored. Next to a running daemon
the daemon reads the config file named by --config (so a config not yet
loaded can be tried before `systemctl reload syndic`); it must be able to
read that file.

Examples:
  syndic preview rust
  syndic --config feeds.new.toml preview rust")]
    Preview {
        /// The feed's name (`[[feed]] name`).
        feed: String,
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
    // Credentials from the environment: needed by what fetches, not by the
    // commands that read the store.
    let unset = config.unset_variables();
    if matches!(
        cli.command,
        Command::Serve { .. } | Command::Check | Command::Fetch { .. }
    ) && !unset.is_empty()
    {
        for problem in &unset {
            eprintln!("{problem}");
        }
        eprintln!(
            "syndic: {} needs {} environment variable{} that {} not set; nothing was started",
            cli.config.display(),
            unset.len(),
            if unset.len() == 1 { "" } else { "s" },
            if unset.len() == 1 { "is" } else { "are" }
        );
        return Ok(ExitCode::FAILURE);
    }
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
            Command::Explain { item_id } => explain(&config, &store, &item_id),
            Command::Preview { feed } => preview(&config, &store, &feed),
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
            | Command::Preview { .. }
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
        Command::Preview { feed } => {
            if let Some(code) = unknown_feed(config, feed) {
                return Ok(Some(code));
            }
            admin::Request::Preview {
                feed: feed.clone(),
                config: std::fs::canonicalize(&config.path).unwrap_or_else(|_| config.path.clone()),
            }
        }
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

fn render(config: Config, store: Store, feed: &str, format: FormatArg) -> anyhow::Result<ExitCode> {
    if let Some(code) = unknown_feed(&config, feed) {
        return Ok(code);
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

/// Exit code 2 and the known feeds when `config` has no feed `feed`.
fn unknown_feed(config: &Config, feed: &str) -> Option<ExitCode> {
    if config.feed(feed).is_some() {
        return None;
    }
    let known: Vec<&str> = config.feeds.iter().map(|f| f.name.as_str()).collect();
    eprintln!(
        "syndic: no feed `{feed}` in the config (known: {})",
        known.join(", ")
    );
    Some(ExitCode::from(2))
}

fn preview(config: &Config, store: &Store, feed: &str) -> anyhow::Result<ExitCode> {
    let Some(feed) = config.feed(feed) else {
        return Ok(unknown_feed(config, feed).unwrap_or(ExitCode::from(2)));
    };
    print!(
        "{}",
        syndic::publish::preview::preview(store, config, feed)?
    );
    Ok(ExitCode::SUCCESS)
}

fn explain(config: &Config, store: &Store, id: &str) -> anyhow::Result<ExitCode> {
    match store.explain(id)? {
        Some(explanation) => {
            let feeds = syndic::publish::preview::feed_verdicts(config, &explanation.item);
            print!("{explanation}{feeds}");
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
