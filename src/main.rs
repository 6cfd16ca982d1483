//! The `syndic` command line: parses arguments, sets up logging and calls
//! into the library. No feed logic lives here.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

use syndic::config::Config;
use syndic::daemon::{self, App};
use syndic::ingest::parse::{self, ParseOptions};
use syndic::publish::Format;
use syndic::refresh::Outcome;
use syndic::store::Store;

#[derive(Parser)]
#[command(
    name = "syndic",
    version,
    about = "A feed publisher and aggregator daemon"
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
    Serve {
        /// Listen on this address instead of `[daemon] listen`.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Validate the configuration and exit (non-zero on errors).
    Check,
    /// Refresh sources now (all, or the ones named), then exit.
    Fetch { sources: Vec<String> },
    /// Print a feed, rendered from the store, to stdout.
    Render {
        feed: String,
        #[arg(long, value_enum, default_value_t = FormatArg::Rss)]
        format: FormatArg,
    },
    /// Show what the parser makes of a feed file (`-` for stdin).
    Parse {
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
    Sources,
    /// Add the feeds of an OPML file to the config as [[source]] tables
    /// (merging: feeds already there are skipped; comments are kept).
    ImportOpml {
        file: PathBuf,
        /// Print what would change without writing the config.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the remote sources as an OPML 2.0 subscription list.
    ExportOpml,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("syndic: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
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
            eprintln!("{errors}");
            eprintln!(
                "syndic: {} is not valid; nothing was started",
                cli.config.display()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    if let Command::ImportOpml { file, dry_run } = &cli.command {
        return import_opml(&cli.config, &config, file, *dry_run);
    }
    if let Command::ExportOpml = cli.command {
        print!("{}", syndic::publish::opml::export(&config));
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Check = cli.command {
        println!(
            "{}: ok ({} sources, {} feeds)",
            cli.config.display(),
            config.sources.len(),
            config.feeds.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    init_logging(cli.log_format, config.daemon.log_level.as_deref());
    let store_path = store_path(cli.store.as_deref(), &config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let store = Store::open(&store_path)?;
        match cli.command {
            Command::Serve { listen } => serve(config, store, listen).await,
            Command::Fetch { sources } => fetch(config, store, sources).await,
            Command::Render { feed, format } => render(config, store, &feed, format),
            Command::Sources => sources(&config, &store),
            Command::Check
            | Command::Parse { .. }
            | Command::ImportOpml { .. }
            | Command::ExportOpml => unreachable!("handled above"),
        }
    })
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
        println!("added   {id}: {url}");
    }
    for (what, why) in &report.skipped {
        println!("skipped {what}: {why}");
    }
    if report.added.is_empty() {
        println!("nothing to add; {} left as it was", config_path.display());
        return Ok(ExitCode::SUCCESS);
    }
    if let Err(errors) = Config::parse(&report.text, config_path) {
        bail!(
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Under systemd the journal adds its own timestamps.
    let under_journal = std::env::var_os("JOURNAL_STREAM").is_some();
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text if under_journal => builder.without_time().with_ansi(false).init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

async fn serve(
    config: Config,
    store: Store,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<ExitCode> {
    let addr = listen.unwrap_or(config.daemon.listen);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (set [daemon] listen or pass --listen)")
    })?;
    let app = App::new(config, store)?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    daemon::run(app, listener, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

async fn stop_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    shutdown.cancel();
}

async fn fetch(config: Config, store: Store, wanted: Vec<String>) -> anyhow::Result<ExitCode> {
    for id in &wanted {
        if config.source(id).is_none() {
            let known: Vec<&str> = config.sources.iter().map(|s| s.id.as_str()).collect();
            bail!(
                "no source `{id}` in the config (known: {})",
                known.join(", ")
            );
        }
    }
    let ids: Vec<String> = if wanted.is_empty() {
        config.sources.iter().map(|s| s.id.clone()).collect()
    } else {
        wanted
    };
    let app = App::new(config, store)?;
    let mut failed = 0;
    for id in &ids {
        let outcome = app.refresh_source(id, true).await;
        let line = match outcome {
            Some(Outcome::Refreshed {
                new,
                updated,
                removed,
                unchanged,
            }) => format!("{new} new, {updated} updated, {removed} removed, {unchanged} unchanged"),
            Some(Outcome::NotModified) => "not modified (304)".into(),
            Some(Outcome::NotDue { next_poll_at }) => format!("not due until {next_poll_at}"),
            Some(Outcome::Failed(cause)) => {
                failed += 1;
                format!("FAILED: {cause}")
            }
            None => "skipped".into(),
        };
        println!("{id}: {line}");
    }
    app.store.flush().await?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn render(config: Config, store: Store, feed: &str, format: FormatArg) -> anyhow::Result<ExitCode> {
    if config.feed(feed).is_none() {
        let known: Vec<&str> = config.feeds.iter().map(|f| f.name.as_str()).collect();
        bail!(
            "no feed `{feed}` in the config (known: {})",
            known.join(", ")
        );
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

fn sources(config: &Config, store: &Store) -> anyhow::Result<ExitCode> {
    println!(
        "{:<20} {:>6}  {:<28} {:<20} {:<20} failures",
        "source", "items", "last status", "last success", "next refresh"
    );
    let fmt = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "-".into())
    };
    for source in &config.sources {
        let state = store.poll_state(&source.id)?.unwrap_or_default();
        let mut status = state
            .last_status
            .unwrap_or_else(|| "never refreshed".into());
        if status.chars().count() > 28 {
            status = status.chars().take(27).collect::<String>() + "…";
        }
        println!(
            "{:<20} {:>6}  {:<28} {:<20} {:<20} {}",
            source.id,
            store.source_item_count(&source.id),
            status,
            fmt(state.last_success),
            fmt(state.next_poll_at),
            state.consecutive_failures
        );
    }
    Ok(ExitCode::SUCCESS)
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
    if json {
        let view = parse::to_json_view(&feed);
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        println!(
            "{} ({}, {}): {} items, {} warnings",
            feed.title.as_deref().unwrap_or("(untitled)"),
            feed.format,
            feed.encoding,
            feed.entries.len(),
            feed.warnings.len()
        );
        for entry in &feed.entries {
            println!(
                "- {}  {}",
                entry.title.as_deref().unwrap_or("(untitled)"),
                entry.link.as_deref().unwrap_or("")
            );
        }
        for warning in &feed.warnings {
            println!("warning: {warning}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
