//! `syndic sources` and `syndic fetch` as a person reads them: the sources
//! table, the fetch progress and the per-source lines.

use crate::*;

pub(crate) async fn fetch(
    config: Config,
    store: Store,
    wanted: Vec<String>,
) -> anyhow::Result<ExitCode> {
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
pub(crate) struct FetchProgress {
    bar: Option<indicatif::ProgressBar>,
}

impl FetchProgress {
    pub(crate) fn new(total: usize) -> FetchProgress {
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

    pub(crate) fn starting(&self, id: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("fetching {id}"));
        }
    }

    pub(crate) fn done(&self, id: &str, line: &str) {
        match &self.bar {
            Some(bar) => {
                bar.println(format!("{id}: {}", Redacted(line)));
                bar.inc(1);
            }
            None => println!("{id}: {}", Redacted(line)),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub(crate) fn sources(config: &Config, store: &Store, json: bool) -> anyhow::Result<ExitCode> {
    let rows = admin::source_rows(config, store)?;
    print_sources(&rows, json);
    Ok(ExitCode::SUCCESS)
}

/// The `sources` table (columns sized to their content) or JSON array.
pub(crate) fn print_sources(rows: &[admin::SourceRow], json: bool) {
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
    // WebSub subscriptions.
    for row in rows {
        if let Some(websub) = &row.websub {
            println!("\n{}: WebSub {websub}", row.id);
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
pub(crate) fn format_bytes(n: u64) -> String {
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
