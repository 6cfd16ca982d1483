//! `syndic import-opml`: an OPML file merged into the config file.

use crate::*;

/// Merges an OPML file into the config file, reporting what was added and
/// what was skipped (and why). The merged text is validated before it
/// replaces the file, which is written to a temporary file and renamed.
pub(crate) fn import_opml(
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
