//! `syndic export` and `syndic import`: the output written through a
//! temporary file, and the all-or-nothing import.

use crate::*;

/// Where `export` (and the other commands' bodies) go: stdout, or a file
/// written through a temporary one that is renamed only when complete.
pub(crate) enum Output {
    Stdout(std::io::Stdout),
    File {
        tmp: PathBuf,
        path: PathBuf,
        file: std::io::BufWriter<std::fs::File>,
    },
}

impl Output {
    pub(crate) fn create(path: Option<&Path>) -> anyhow::Result<Output> {
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

    pub(crate) fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Stdout(out) => out.write_all(data),
            Output::File { file, .. } => file.write_all(data),
        }
    }

    /// Flushes (and syncs a file) and renames it into place.
    pub(crate) fn commit(mut self) -> anyhow::Result<()> {
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
pub(crate) fn export(store: &Store, output: Option<&Path>) -> anyhow::Result<ExitCode> {
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

pub(crate) struct OutputWriter<'a>(&'a mut Output);

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
pub(crate) async fn import(store: &Store, file: &Path, merge: bool) -> anyhow::Result<ExitCode> {
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
