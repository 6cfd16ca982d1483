//! An article's media: the files beside it that its body or its
//! `enclosure` refers to by a relative path (images, audio, documents).
//! They are served under the article's page, `/articles/{slug}/{path}`,
//! and only when they lie inside the folder (real path, as articles).

use super::*;

/// A file beside an article that the article refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// Its path relative to the article's folder, `/`-separated, decoded
    /// (`img/my photo.png`): how the entry lists it and the server finds it.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Its media type, from its extension.
    pub mime_type: String,
}

/// The media type of a file name, from its extension
/// (`application/octet-stream` when unknown).
pub fn media_type(name: &str) -> String {
    mime_guess::from_path(name)
        .first_or_octet_stream()
        .essence_str()
        .to_string()
}

/// The attachment a relative reference of the article at `article_rel`
/// (relative to `root`) names: a regular file in the article's folder or
/// below it, whose real path lies inside `root`, and that is not an article
/// itself. `None` for anything else (a link to a page, `../x`, a missing
/// file, a symlink leading out).
pub fn find_attachment(root: &Path, article_rel: &str, reference: &str) -> Option<Attachment> {
    let path = reference.split(['?', '#']).next()?;
    let path = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?
        .into_owned();
    let parts: Vec<&str> = path.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\\'))
        || format_of(&path).is_some()
    {
        return None;
    }
    let real = attachment_file(root, article_rel, &path)?;
    let meta = fs::metadata(&real).ok()?;
    Some(Attachment {
        size: meta.len(),
        mime_type: media_type(&path),
        path,
    })
}

/// The real path of the attachment `path` (as an entry lists it) of the
/// article at `article_rel`: `None` unless it is a regular file whose real
/// path lies inside `root`. Checked again at every request, as the folder
/// may have changed since the article was read.
pub fn attachment_file(root: &Path, article_rel: &str, path: &str) -> Option<PathBuf> {
    let root_real = fs::canonicalize(root).ok()?;
    let dir = match article_rel.rsplit_once('/') {
        Some((dir, _)) => root.join(dir),
        None => root.to_path_buf(),
    };
    let real = fs::canonicalize(dir.join(path)).ok()?;
    (real.starts_with(&root_real) && real.is_file()).then_some(real)
}
