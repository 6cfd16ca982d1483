//! The folder scan: which files of an articles folder are articles, confined to
//! the folder by their real path, and reading one whole.

use super::*;

/// Recursively lists article files (.md, .markdown, .txt; case-insensitive
/// extension) under root, sorted by rel_path.
/// Skips hidden files/dirs (name starting with '.') and editor temp files
/// (ending in '~', '.swp'); does not follow symlinked directories.
///
/// Confinement: a symlinked file is listed only when its real path lies
/// inside the folder's real path; one leading outside (or dangling) is
/// skipped and reported, naming the link and where it leads. The listed
/// `abs_path` is the file's real path, and [`read_article_file`] checks it
/// again when it reads.
/// An unreadable root is an error naming the path; an unreadable entry inside
/// is skipped and reported in the second vec as `(rel_path, message)`.
#[expect(
    clippy::type_complexity,
    reason = "the signature is the module's agreed API"
)]
pub fn scan_folder(root: &Path) -> Result<(Vec<ArticleFile>, Vec<(String, String)>), ArticleError> {
    let root_real = fs::canonicalize(root).map_err(|source| ArticleError::Io {
        path: root.display().to_string(),
        source,
    })?;
    let top = fs::read_dir(&root_real).map_err(|source| ArticleError::Io {
        path: root.display().to_string(),
        source,
    })?;

    let mut files = Vec::new();
    let mut skipped = Vec::new();
    // (directory listing, its rel path prefix: "" or "a/b/")
    let mut pending: Vec<(fs::ReadDir, String)> = vec![(top, String::new())];

    while let Some((listing, prefix)) = pending.pop() {
        for item in listing {
            let item = match item {
                Ok(item) => item,
                Err(err) => {
                    let dir = prefix.trim_end_matches('/');
                    let dir = if dir.is_empty() { "." } else { dir };
                    skipped.push((dir.to_string(), err.to_string()));
                    continue;
                }
            };
            let os_name = item.file_name();
            let Some(name) = os_name.to_str() else {
                let shown = format!("{prefix}{}", os_name.to_string_lossy());
                if !is_ignored_name(&os_name.to_string_lossy()) {
                    skipped.push((shown, "file name is not valid UTF-8".to_string()));
                }
                continue;
            };
            if is_ignored_name(name) {
                continue;
            }
            let rel_path = format!("{prefix}{name}");
            let file_type = match item.file_type() {
                Ok(t) => t,
                Err(err) => {
                    skipped.push((rel_path, err.to_string()));
                    continue;
                }
            };
            if file_type.is_dir() {
                match fs::read_dir(item.path()) {
                    Ok(listing) => pending.push((listing, format!("{rel_path}/"))),
                    Err(err) => skipped.push((rel_path, err.to_string())),
                }
                continue;
            }
            if !has_article_extension(name) {
                continue;
            }
            // A symlinked file is followed only into the folder; a symlink
            // to a directory is not descended into.
            let abs_path = if file_type.is_symlink() {
                match fs::canonicalize(item.path()) {
                    Ok(real) if real.starts_with(&root_real) => real,
                    Ok(real) => {
                        skipped.push((rel_path, outside_message(&real)));
                        continue;
                    }
                    Err(err) => {
                        skipped.push((rel_path, format!("symlink not followed: {err}")));
                        continue;
                    }
                }
            } else {
                item.path()
            };
            let meta = match fs::metadata(&abs_path) {
                Ok(meta) => meta,
                Err(err) => {
                    skipped.push((rel_path, err.to_string()));
                    continue;
                }
            };
            if !meta.is_file() {
                continue;
            }
            let mtime_ns = match meta.modified() {
                Ok(time) => match time.duration_since(UNIX_EPOCH) {
                    // Saturating: a clock set centuries off must not wrap
                    // (or overflow the negation).
                    Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
                    Err(before) => {
                        i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n)
                    }
                },
                Err(err) => {
                    skipped.push((rel_path, err.to_string()));
                    continue;
                }
            };
            files.push(ArticleFile {
                rel_path,
                abs_path,
                mtime_ns,
                size: meta.len(),
            });
        }
    }

    files.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    skipped.sort();
    Ok((files, skipped))
}

pub(super) fn outside_message(real: &Path) -> String {
    format!(
        "symlink leads outside the folder (to {}): not read",
        real.display()
    )
}

/// Reads one listed article file whole, confined and bounded: its real path
/// must still lie inside `root`'s real path (a link swapped after the scan
/// is caught here) and it must be at most `max_bytes` long (checked before
/// reading and while reading, so a file growing meanwhile is cut off, not
/// read into memory).
pub fn read_article_file(
    root: &Path,
    file: &ArticleFile,
    max_bytes: u64,
) -> Result<Vec<u8>, ArticleError> {
    use std::io::Read as _;
    let io = |source: io::Error| ArticleError::Io {
        path: file.rel_path.clone(),
        source,
    };
    let root_real = fs::canonicalize(root).map_err(io)?;
    let real = fs::canonicalize(&file.abs_path).map_err(io)?;
    if !real.starts_with(&root_real) {
        return Err(ArticleError::Outside {
            path: file.rel_path.clone(),
            message: outside_message(&real),
        });
    }
    let opened = fs::File::open(&real).map_err(io)?;
    let len = opened.metadata().map_err(io)?.len();
    if len > max_bytes {
        return Err(ArticleError::TooLarge {
            path: file.rel_path.clone(),
            size: len,
            max: max_bytes,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    opened
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > max_bytes {
        return Err(ArticleError::TooLarge {
            path: file.rel_path.clone(),
            size: bytes.len() as u64,
            max: max_bytes,
        });
    }
    Ok(bytes)
}

/// What `syndic check` finds in one article folder.
#[derive(Debug, Default)]
pub struct FolderCheck {
    /// Article files read and parsed.
    pub articles: usize,
    /// Files that will not be published: skipped, unreadable, too large,
    /// or whose front matter is malformed. One message each, naming it.
    pub errors: Vec<String>,
    /// Unknown front matter keys, drafts and their reasons.
    pub warnings: Vec<String>,
}

/// Reads and parses every article of a folder as a refresh would, without
/// storing anything. An unreadable folder is an error.
pub fn check_folder(root: &Path, max_bytes: u64) -> Result<FolderCheck, ArticleError> {
    let (files, skipped) = scan_folder(root)?;
    let mut out = FolderCheck::default();
    for (path, cause) in skipped {
        out.errors.push(format!("{path}: skipped: {cause}"));
    }
    for file in &files {
        let parsed = read_article_file(root, file, max_bytes)
            .and_then(|bytes| parse_article(&file.rel_path, &bytes));
        match parsed {
            Ok(article) => {
                out.articles += 1;
                out.warnings.extend(article.warnings);
                if let Some(reason) = article.draft_reason.filter(|_| article.draft) {
                    out.warnings.push(reason);
                }
            }
            Err(err) => out.errors.push(err.to_string()),
        }
    }
    Ok(out)
}

/// Hidden files and directories, editor temp files (also used by
/// [`super::watch`] to ignore their changes).
pub fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || name.to_ascii_lowercase().ends_with(".swp")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    Markdown,
    Text,
}

pub(super) fn format_of(path: &str) -> Option<Format> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let (_, ext) = name.rsplit_once('.')?;
    match ext.to_ascii_lowercase().as_str() {
        "md" | "markdown" => Some(Format::Markdown),
        "txt" => Some(Format::Text),
        _ => None,
    }
}

/// True for the extensions [`scan_folder`] lists: .md, .markdown, .txt.
pub fn has_article_extension(name: &str) -> bool {
    format_of(name).is_some()
}

/// `rel_path` without its extension (the last `.ext` of the last component).
pub(super) fn strip_extension(rel_path: &str) -> &str {
    let name_start = rel_path.rfind('/').map_or(0, |i| i + 1);
    match rel_path[name_start..].rfind('.') {
        Some(dot) if dot > 0 => &rel_path[..name_start + dot],
        _ => rel_path,
    }
}

/// The file name without directory and extension.
pub(super) fn file_stem(rel_path: &str) -> &str {
    let stripped = strip_extension(rel_path);
    stripped.rsplit('/').next().unwrap_or(stripped)
}
