//! Logging: text or JSON, plain for the journal when run under systemd.

use crate::*;

pub(crate) fn init_logging(format: LogFormat, level: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level.unwrap_or("info")))
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
pub(crate) fn stderr_is_journal() -> bool {
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
pub(crate) struct JournalFormat<F>(F);

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
