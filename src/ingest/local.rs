//! Local article files: this module is the only reader of them.
//!
//! It lists the article files under a folder ([`scan_folder`]) and turns one
//! file's bytes into an [`Entry`] ([`parse_article`]): Markdown (`.md`,
//! `.markdown`) with optional TOML (`+++`) or YAML (`---`) front matter, or
//! plain text (`.txt`) with a few layout heuristics. Parsing is pure; the
//! only I/O here is the folder scan's directory listing and metadata. The
//! HTML produced is not sanitized: raw HTML in Markdown passes through and the
//! caller sanitizes it.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::model::Entry;

/// One article file found by [`scan_folder`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArticleFile {
    /// Path relative to the scanned root, with `/` separators.
    pub rel_path: String,
    pub abs_path: PathBuf,
    /// Modification time, nanoseconds since the Unix epoch (negative before it).
    pub mtime_ns: i64,
    /// Size in bytes.
    pub size: u64,
}

/// One parsed article.
#[derive(Clone, Debug, PartialEq)]
pub struct Article {
    pub entry: Entry,
    /// Not to be published: a `draft`-like key (any case, plural or typo)
    /// that is true or not clearly false, or Jekyll's `published: false`.
    pub draft: bool,
    /// Why it is a draft: the key and value, as written.
    pub draft_reason: Option<String>,
    /// When it may be published (`publishDate`, else `date`).
    pub publish_at: Option<DateTime<Utc>>,
    /// When it leaves the feeds (`expiryDate`, `expires`, ...).
    pub expires: Option<DateTime<Utc>>,
    /// What the front matter got wrong or left unread, one message each,
    /// naming the file and line: unknown keys (with "did you mean").
    pub warnings: Vec<String>,
}

/// Why a folder could not be scanned or an article could not be parsed.
/// Every message names the file (or folder); front matter errors also give
/// the line (1-based, counted in the whole file) and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ArticleError {
    /// The folder or file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    /// The file's real path lies outside the folder (a symlink leading out).
    #[error("{path}: {message}")]
    Outside { path: String, message: String },
    /// The file is larger than the source's `max_article_bytes`.
    #[error("{path}: {size} bytes, more than max_article_bytes ({max}): not read")]
    TooLarge { path: String, size: u64, max: u64 },
    /// The file's extension is not one of `.md`, `.markdown`, `.txt`.
    #[error("{path}: not an article file (expected .md, .markdown or .txt)")]
    UnsupportedExtension { path: String },
    /// The file is not valid UTF-8.
    #[error("{path}: line {line}: not valid UTF-8 (byte offset {offset})")]
    InvalidUtf8 {
        path: String,
        line: usize,
        offset: usize,
    },
    /// The front matter block is malformed, unterminated, or a key has the
    /// wrong type.
    #[error("{path}: line {line}: front matter: {message}")]
    FrontMatter {
        path: String,
        line: usize,
        message: String,
    },
    /// A front matter date (`date` or `updated`) could not be understood.
    #[error(
        "{path}: line {line}: front matter `{key}`: invalid date {value:?} \
         (expected RFC 3339, YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])"
    )]
    BadDate {
        path: String,
        line: usize,
        key: String,
        value: String,
    },
}

// ---------------------------------------------------------------------------
// Folder scan
// ---------------------------------------------------------------------------

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

fn outside_message(real: &Path) -> String {
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
enum Format {
    Markdown,
    Text,
}

fn format_of(path: &str) -> Option<Format> {
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
fn strip_extension(rel_path: &str) -> &str {
    let name_start = rel_path.rfind('/').map_or(0, |i| i + 1);
    match rel_path[name_start..].rfind('.') {
        Some(dot) if dot > 0 => &rel_path[..name_start + dot],
        _ => rel_path,
    }
}

/// The file name without directory and extension.
fn file_stem(rel_path: &str) -> &str {
    let stripped = strip_extension(rel_path);
    stripped.rsplit('/').next().unwrap_or(stripped)
}

// ---------------------------------------------------------------------------
// Parsing: shared
// ---------------------------------------------------------------------------

/// Parses one file's bytes. rel_path decides the format (.md/.markdown =
/// Markdown, .txt = plain text) and the default slug.
pub fn parse_article(rel_path: &str, bytes: &[u8]) -> Result<Article, ArticleError> {
    let format = format_of(rel_path).ok_or_else(|| ArticleError::UnsupportedExtension {
        path: rel_path.to_string(),
    })?;
    let text = decode(rel_path, bytes)?;
    match format {
        Format::Markdown => parse_markdown(rel_path, &text),
        Format::Text => Ok(parse_text(rel_path, &text)),
    }
}

/// Strict UTF-8, BOM stripped, CRLF and lone CR turned into LF.
fn decode(path: &str, bytes: &[u8]) -> Result<String, ArticleError> {
    let text = std::str::from_utf8(bytes).map_err(|err| {
        let offset = err.valid_up_to();
        let before = bytes.get(..offset).unwrap_or(bytes);
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        ArticleError::InvalidUtf8 {
            path: path.to_string(),
            line,
            offset,
        }
    })?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    Ok(text.replace("\r\n", "\n").replace('\r', "\n"))
}

/// Escapes `&`, `<`, `>`, `"` and `'`; everything else is kept as is.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Turns text into a URL slug: lowercase ASCII alphanumerics are kept, every
/// other run of characters becomes one `-`, and the result is trimmed of `-`.
/// Accented Latin letters are transliterated (`é` -> `e`, `ß` -> `ss`); other
/// non-ASCII letters (and combining marks) are dropped. Empty -> `"article"`.
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_dash = false;
    let push = |piece: &str, out: &mut String, pending_dash: &mut bool| {
        if *pending_dash && !out.is_empty() {
            out.push('-');
        }
        *pending_dash = false;
        out.push_str(piece);
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            let lower = c.to_ascii_lowercase();
            push(lower.encode_utf8(&mut [0; 4]), &mut out, &mut pending_dash);
        } else if c.is_ascii() {
            pending_dash = true;
        } else if let Some(ascii) = c.to_lowercase().next().and_then(transliterate) {
            push(ascii, &mut out, &mut pending_dash);
        } else if c.is_alphanumeric() || is_combining_mark(c) {
            // A non-ASCII letter with no trivial transliteration: dropped.
        } else {
            pending_dash = true;
        }
    }
    if out.is_empty() {
        "article".to_string()
    } else {
        out
    }
}

fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// The trivial ASCII spelling of a lowercase Latin letter with diacritics.
fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'ǎ' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'ǐ' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'ǒ' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'ǔ' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// Parses a front matter date: RFC 3339, `YYYY-MM-DD` (midnight UTC),
/// `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DDTHH:MM[:SS]` (UTC).
fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc());
    }
    const FORMATS: [&str; 4] = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ];
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|dt| dt.and_utc())
}

// ---------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------

/// A front matter value, whichever syntax it came from.
enum FmValue {
    Text(String),
    Bool(bool),
    /// A number, kept as written.
    Number(String),
    /// A TOML native datetime, in its TOML spelling.
    Datetime(String),
    List(Vec<FmValue>),
    /// Anything else (table, null, tagged value): its kind, for messages.
    Other(&'static str),
}

impl FmValue {
    fn kind(&self) -> &'static str {
        match self {
            FmValue::Text(_) => "a string",
            FmValue::Bool(_) => "a boolean",
            FmValue::Number(_) => "a number",
            FmValue::Datetime(_) => "a datetime",
            FmValue::List(_) => "a list",
            FmValue::Other(kind) => kind,
        }
    }

    fn from_toml(value: toml::Value) -> FmValue {
        match value {
            toml::Value::String(s) => FmValue::Text(s),
            toml::Value::Integer(i) => FmValue::Number(i.to_string()),
            toml::Value::Float(f) => FmValue::Number(f.to_string()),
            toml::Value::Boolean(b) => FmValue::Bool(b),
            toml::Value::Datetime(dt) => FmValue::Datetime(dt.to_string()),
            toml::Value::Array(items) => {
                FmValue::List(items.into_iter().map(FmValue::from_toml).collect())
            }
            toml::Value::Table(_) => FmValue::Other("a table"),
        }
    }

    fn from_yaml(value: serde_yaml::Value) -> FmValue {
        match value {
            serde_yaml::Value::String(s) => FmValue::Text(s),
            serde_yaml::Value::Number(n) => FmValue::Number(n.to_string()),
            serde_yaml::Value::Bool(b) => FmValue::Bool(b),
            serde_yaml::Value::Sequence(items) => {
                FmValue::List(items.into_iter().map(FmValue::from_yaml).collect())
            }
            serde_yaml::Value::Mapping(_) => FmValue::Other("a mapping"),
            serde_yaml::Value::Null => FmValue::Other("null"),
            serde_yaml::Value::Tagged(_) => FmValue::Other("a tagged value"),
        }
    }
}

/// The front matter block of a Markdown file.
struct FrontMatter<'a> {
    /// The block's text, between the delimiter lines.
    block: &'a str,
    /// 1-based file line of the block's first line.
    first_line: usize,
    /// Every key, in file order: (meaning, key as written, value).
    values: Vec<(Key, String, FmValue)>,
}

/// What a front matter key means to syndic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Title,
    Date,
    PublishDate,
    Updated,
    Author,
    Tags,
    Summary,
    Slug,
    Expires,
    /// Looks like `draft` (any case, plural, one typo).
    Draft,
    /// Jekyll's `published`: `false` keeps the article unpublished.
    Published,
    /// A key of Hugo, Jekyll or zola with no meaning for a feed.
    Ignored,
    Unknown,
}

/// Keys by their normalized spelling (lowercase, without `_` and `-`):
/// syndic's own and the Hugo, Jekyll and zola names of the same thing.
const MAPPED: &[(&str, Key)] = &[
    ("title", Key::Title),
    ("date", Key::Date),
    ("publishdate", Key::PublishDate),
    ("pubdate", Key::PublishDate),
    ("updated", Key::Updated),
    ("lastmod", Key::Updated),
    ("lastmodified", Key::Updated),
    ("lastmodifiedat", Key::Updated),
    ("modified", Key::Updated),
    ("author", Key::Author),
    ("authors", Key::Author),
    ("tags", Key::Tags),
    ("tag", Key::Tags),
    ("categories", Key::Tags),
    ("category", Key::Tags),
    ("summary", Key::Summary),
    ("description", Key::Summary),
    ("excerpt", Key::Summary),
    ("slug", Key::Slug),
    ("expirydate", Key::Expires),
    ("expires", Key::Expires),
    ("expiry", Key::Expires),
    ("expiresat", Key::Expires),
    ("unpublishdate", Key::Expires),
    ("published", Key::Published),
];

/// Hugo, Jekyll and zola keys that say nothing a feed can use (layout,
/// URLs of the static site, menus, search, rendering switches): read and
/// knowingly ignored, without a warning.
const IGNORED: &[&str] = &[
    "aliases",
    "layout",
    "permalink",
    "weight",
    "type",
    "url",
    "images",
    "image",
    "keywords",
    "toc",
    "comments",
    "sitemap",
    "menu",
    "menus",
    "cascade",
    "outputs",
    "headless",
    "linktitle",
    "markup",
    "resources",
    "series",
    "translationkey",
    "lang",
    "language",
    "iscjklanguage",
    "build",
    "excerptseparator",
    "redirectfrom",
    "redirectto",
    "template",
    "pagetemplate",
    "path",
    "insearchindex",
    "render",
    "extra",
    "taxonomies",
    "insertanchorlinks",
    "sortby",
    "paginateby",
    "transparent",
    "math",
    "katex",
    "mathjax",
    "share",
    "featured",
    "cover",
    "thumbnail",
    "sidebar",
    "authorprofile",
    "header",
    "classes",
    "related",
    "showdate",
    "readtime",
    "audio",
    "video",
    "canonicalurl",
    "nocomments",
];

fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

fn classify_key(key: &str) -> Key {
    let norm = normalize_key(key);
    if let Some((_, k)) = MAPPED.iter().find(|(name, _)| *name == norm) {
        return *k;
    }
    if IGNORED.contains(&norm.as_str()) {
        return Key::Ignored;
    }
    let stem = norm.strip_suffix('s').unwrap_or(&norm);
    if norm.starts_with("draft")
        || norm == "isdraft"
        || strsim::damerau_levenshtein(stem, "draft") <= 1
    {
        return Key::Draft;
    }
    Key::Unknown
}

/// The known key nearest to an unknown one, for "did you mean".
fn nearest_key(key: &str) -> Option<&'static str> {
    const SPELLINGS: &[&str] = &[
        "title",
        "date",
        "publishDate",
        "updated",
        "lastmod",
        "author",
        "authors",
        "tags",
        "categories",
        "summary",
        "description",
        "slug",
        "draft",
        "expiryDate",
        "expires",
        "aliases",
        "layout",
        "permalink",
        "weight",
    ];
    let lower = key.to_lowercase();
    let limit = (lower.chars().count() / 3).max(1);
    SPELLINGS
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Splits `text` (BOM already stripped, LF line endings) into its front
/// matter and body. No front matter: `(None, text)`.
fn split_front_matter<'a>(
    path: &str,
    text: &'a str,
) -> Result<(Option<FrontMatter<'a>>, &'a str), ArticleError> {
    let first_end = text.find('\n').unwrap_or(text.len());
    let opener = text[..first_end].trim_end();
    let is_toml = match opener {
        "+++" => true,
        "---" => false,
        _ => return Ok((None, text)),
    };
    let after_opener = (first_end + 1).min(text.len());
    let rest = &text[after_opener..];

    // Find the closing delimiter line.
    let mut offset = 0;
    let mut close = None;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == opener {
            close = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((block_end, body_start)) = close else {
        return Err(ArticleError::FrontMatter {
            path: path.to_string(),
            line: 1,
            message: format!("the `{opener}` block opened here is never closed"),
        });
    };
    let block = &rest[..block_end];
    let body = &rest[body_start..];
    let first_line = 2;

    let values = if is_toml {
        let table: toml::Table = toml::from_str(block).map_err(|err| {
            let line = err
                .span()
                .map_or(0, |span| line_of_offset(block, span.start) - 1);
            ArticleError::FrontMatter {
                path: path.to_string(),
                line: first_line + line,
                message: format!("invalid TOML: {}", err.message().trim()),
            }
        })?;
        table
            .into_iter()
            .map(|(k, v)| (classify_key(&k), k, FmValue::from_toml(v)))
            .collect()
    } else {
        let value: serde_yaml::Value = if block.trim().is_empty() {
            serde_yaml::Value::Null
        } else {
            serde_yaml::from_str(block).map_err(|err| {
                let line = err.location().map_or(1, |loc| loc.line().max(1));
                // serde_yaml's locations count lines inside the block;
                // ours (above) count them in the file.
                let message = strip_yaml_locations(&err.to_string());
                ArticleError::FrontMatter {
                    path: path.to_string(),
                    line: first_line + line - 1,
                    message: format!("invalid YAML: {message}"),
                }
            })?
        };
        match value {
            serde_yaml::Value::Null => Vec::new(),
            serde_yaml::Value::Mapping(map) => map
                .into_iter()
                .filter_map(|(k, v)| match k {
                    serde_yaml::Value::String(k) => {
                        Some((classify_key(&k), k, FmValue::from_yaml(v)))
                    }
                    _ => None,
                })
                .collect(),
            other => {
                return Err(ArticleError::FrontMatter {
                    path: path.to_string(),
                    line: first_line,
                    message: format!(
                        "expected a mapping of keys, found {}",
                        FmValue::from_yaml(other).kind()
                    ),
                });
            }
        }
    };

    Ok((
        Some(FrontMatter {
            block,
            first_line,
            values,
        }),
        body,
    ))
}

/// Removes every " at line N column M" from a serde_yaml message.
fn strip_yaml_locations(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(" at line ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " at line ".len()..];
        let after = after.trim_start_matches(|c: char| c.is_ascii_digit());
        let after = after.strip_prefix(" column ").map_or(after, |a| {
            a.trim_start_matches(|c: char| c.is_ascii_digit())
        });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// 1-based line of byte `offset` in `text`.
fn line_of_offset(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    1 + text
        .as_bytes()
        .get(..offset)
        .unwrap_or_default()
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

impl FrontMatter<'_> {
    /// The first value of a key meaning `key`, and the key as written.
    fn take_named(&mut self, key: Key) -> Option<(String, FmValue)> {
        let at = self.values.iter().position(|(k, _, _)| *k == key)?;
        let (_, name, value) = self.values.remove(at);
        Some((name, value))
    }

    /// The file line on which `key` is written (best effort: the first line
    /// of the block that starts with it), else the block's first line.
    fn line_of(&self, key: &str) -> usize {
        for (i, line) in self.block.lines().enumerate() {
            let t = line.trim_start();
            let t = t.strip_prefix(['"', '\'']).unwrap_or(t);
            if let Some(after) = t.strip_prefix(key) {
                let after = after.strip_prefix(['"', '\'']).unwrap_or(after);
                if after.starts_with(|c: char| c == '=' || c == ':' || c.is_whitespace()) {
                    return self.first_line + i;
                }
            }
        }
        self.first_line
    }

    fn type_error(&self, path: &str, key: &str, expected: &str, found: &FmValue) -> ArticleError {
        ArticleError::FrontMatter {
            path: path.to_string(),
            line: self.line_of(key),
            message: format!("`{key}` must be {expected}, found {}", found.kind()),
        }
    }

    /// A string (numbers are taken as written); blank -> None. Later keys
    /// of the same meaning (`summary` and `description`) are dropped.
    fn text(&mut self, path: &str, key: Key) -> Result<Option<String>, ArticleError> {
        let out = match self.take_named(key) {
            None => None,
            Some((_, FmValue::Text(s) | FmValue::Number(s))) => {
                let s = s.trim();
                (!s.is_empty()).then(|| s.to_string())
            }
            Some((name, other)) => return Err(self.type_error(path, &name, "a string", &other)),
        };
        while self.take_named(key).is_some() {}
        Ok(out)
    }

    /// Strings or lists of strings, of every key of this meaning (`tags`
    /// and `categories`); blank items and repeats dropped.
    fn list(&mut self, path: &str, key: Key) -> Result<Vec<String>, ArticleError> {
        let mut out: Vec<String> = Vec::new();
        while let Some((name, value)) = self.take_named(key) {
            let items = match value {
                FmValue::List(items) => items,
                single => vec![single],
            };
            for item in items {
                match item {
                    FmValue::Text(s) | FmValue::Number(s) => {
                        let s = s.trim();
                        if !s.is_empty() && !out.iter().any(|o| o == s) {
                            out.push(s.to_string());
                        }
                    }
                    other => {
                        return Err(self.type_error(
                            path,
                            &name,
                            "a string or a list of strings",
                            &other,
                        ));
                    }
                }
            }
        }
        Ok(out)
    }

    fn date(&mut self, path: &str, key: Key) -> Result<Option<DateTime<Utc>>, ArticleError> {
        let out = match self.take_named(key) {
            None => None,
            Some((name, value)) => Some(self.date_value(path, &name, value)?),
        };
        while self.take_named(key).is_some() {}
        Ok(out)
    }

    fn date_value(
        &self,
        path: &str,
        name: &str,
        value: FmValue,
    ) -> Result<DateTime<Utc>, ArticleError> {
        let value = match value {
            FmValue::Text(s) | FmValue::Datetime(s) | FmValue::Number(s) => s,
            other => return Err(self.type_error(path, name, "a date", &other)),
        };
        parse_date(&value).ok_or_else(|| ArticleError::BadDate {
            path: path.to_string(),
            line: self.line_of(name),
            key: name.to_string(),
            value,
        })
    }
}

fn parse_markdown(rel_path: &str, text: &str) -> Result<Article, ArticleError> {
    let (front, body) = split_front_matter(rel_path, text)?;

    let mut entry = Entry {
        upstream_id: Some(rel_path.to_string()),
        ..Entry::default()
    };
    let mut slug = None;
    let mut article = Article {
        entry: Entry::default(),
        draft: false,
        draft_reason: None,
        publish_at: None,
        expires: None,
        warnings: Vec::new(),
    };
    if let Some(mut fm) = front {
        entry.title = fm.text(rel_path, Key::Title)?;
        let date = fm.date(rel_path, Key::Date)?;
        let publish_date = fm.date(rel_path, Key::PublishDate)?;
        entry.published = date.or(publish_date);
        article.publish_at = publish_date.or(date);
        entry.updated = fm.date(rel_path, Key::Updated)?;
        entry.authors = fm.list(rel_path, Key::Author)?;
        entry.categories = fm.list(rel_path, Key::Tags)?;
        entry.summary_html = fm
            .text(rel_path, Key::Summary)?
            .map(|s| format!("<p>{}</p>", escape_html(&s)));
        slug = fm.text(rel_path, Key::Slug)?;
        article.expires = fm.date(rel_path, Key::Expires)?;
        // Draft-like keys and `published` (Jekyll), then what is left.
        // In file order (a TOML table comes back sorted by key).
        let mut rest = std::mem::take(&mut fm.values);
        rest.sort_by_cached_key(|(_, name, _)| fm.line_of(name));
        for (key, name, value) in rest {
            let line = fm.line_of(&name);
            match key {
                Key::Draft | Key::Published => {
                    let written = value_text(&value);
                    let truthy = match &value {
                        FmValue::Bool(b) => Some(*b),
                        FmValue::Text(t) | FmValue::Number(t) => {
                            match t.trim().to_ascii_lowercase().as_str() {
                                "true" | "yes" | "y" | "on" | "1" => Some(true),
                                "false" | "no" | "n" | "off" | "0" => Some(false),
                                _ => None,
                            }
                        }
                        // `published: 2024-01-01` is a date: the article's.
                        FmValue::Datetime(_) if key == Key::Published => {
                            let at = fm.date_value(rel_path, &name, value)?;
                            entry.published = entry.published.or(Some(at));
                            article.publish_at = article.publish_at.or(Some(at));
                            continue;
                        }
                        _ => None,
                    };
                    let unpublished = match (key, truthy) {
                        (Key::Published, Some(b)) => !b,
                        (_, Some(b)) => b,
                        // Neither true nor false: kept unpublished, to be safe.
                        (_, None) => true,
                    };
                    if unpublished && !article.draft {
                        article.draft = true;
                        article.draft_reason = Some(format!(
                            "{rel_path}: line {line}: not published: `{name}` is {written}"
                        ));
                    } else if !unpublished && key == Key::Draft && name != "draft" {
                        article.warnings.push(format!(
                            "{rel_path}: line {line}: `{name}` read as `draft` ({written})"
                        ));
                    }
                }
                Key::Unknown => {
                    let hint = nearest_key(&name)
                        .map(|near| format!("; did you mean `{near}`?"))
                        .unwrap_or_default();
                    article.warnings.push(format!(
                        "{rel_path}: line {line}: unknown front matter key `{name}` ignored{hint}"
                    ));
                }
                _ => {}
            }
        }
    }

    let options =
        Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH;
    let mut events: Vec<Event<'_>> = Parser::new_ext(body, options).collect();
    if entry.title.is_none()
        && let Some((title, range)) = first_h1(&events)
    {
        entry.title = Some(title);
        events.drain(range);
    }
    let mut html = String::with_capacity(body.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());

    entry.title = entry
        .title
        .or_else(|| Some(file_stem(rel_path).to_string()));
    entry.content_html = Some(html);
    entry.slug = Some(match slug {
        Some(s) => slugify(&s),
        None => default_slug(rel_path),
    });
    article.entry = entry;
    Ok(article)
}

/// A front matter value as written, for messages.
fn value_text(value: &FmValue) -> String {
    match value {
        FmValue::Text(s) => format!("{s:?}"),
        FmValue::Bool(b) => b.to_string(),
        FmValue::Number(s) | FmValue::Datetime(s) => s.clone(),
        other => other.kind().to_string(),
    }
}

/// The plain text of the first level-1 heading with any text, and the range
/// of its events (start to end, inclusive).
fn first_h1(events: &[Event<'_>]) -> Option<(String, std::ops::RangeInclusive<usize>)> {
    let mut i = 0;
    while let Some(event) = events.get(i) {
        if let Event::Start(Tag::Heading {
            level: HeadingLevel::H1,
            ..
        }) = event
        {
            let start = i;
            let mut title = String::new();
            while let Some(inner) = events.get(i) {
                match inner {
                    Event::End(TagEnd::Heading(_)) => break,
                    Event::Text(t) | Event::Code(t) => title.push_str(t),
                    Event::SoftBreak | Event::HardBreak => title.push(' '),
                    _ => {}
                }
                i += 1;
            }
            let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
            if !title.is_empty() && i < events.len() {
                return Some((title, start..=i));
            }
        }
        i += 1;
    }
    None
}

fn default_slug(rel_path: &str) -> String {
    slugify(&strip_extension(rel_path).replace('/', "-"))
}

// ---------------------------------------------------------------------------
// Plain text
// ---------------------------------------------------------------------------

/// Whitespace for the blank-line test: Unicode `White_Space` (which includes
/// U+00A0) plus the invisible zero-width space and BOM.
fn is_blank_char(c: char) -> bool {
    c.is_whitespace() || c == '\u{200B}' || c == '\u{FEFF}'
}

fn is_blank(line: &str) -> bool {
    line.chars().all(is_blank_char)
}

/// The item text of a bullet line (`•`, `-` or `*` followed by whitespace,
/// after optional leading whitespace), or None.
fn bullet_item(line: &str) -> Option<&str> {
    let t = line.trim_start_matches(is_blank_char);
    let rest = t
        .strip_prefix('•')
        .or_else(|| t.strip_prefix('-'))
        .or_else(|| t.strip_prefix('*'))?;
    if rest.starts_with(is_blank_char) {
        Some(rest.trim_matches(is_blank_char))
    } else {
        None
    }
}

/// One short line that reads like a headline: at most 100 characters, not
/// ending in `.`, `,`, `:` or `;` (looking through closing quotes and
/// brackets, so `“Done.”` is a sentence but `Why?` is a headline).
fn is_headline(line: &str) -> bool {
    if line.chars().count() > 100 {
        return false;
    }
    let core = line.trim_end_matches(['"', '\'', '”', '’', '»', '›', ')', ']', '}']);
    match core.chars().next_back() {
        None => false,
        Some(last) => !matches!(last, '.' | ',' | ':' | ';'),
    }
}

fn parse_text(rel_path: &str, text: &str) -> Article {
    let mut lines = text.split('\n');
    let title = lines
        .by_ref()
        .find(|line| !is_blank(line))
        .map(|line| line.trim_matches(is_blank_char).to_string());

    let mut html = String::new();
    let mut block: Vec<&str> = Vec::new();
    for line in lines.chain(std::iter::once("")) {
        if !is_blank(line) {
            block.push(line.trim_matches(is_blank_char));
            continue;
        }
        if block.is_empty() {
            continue;
        }
        render_text_block(&mut html, &block);
        block.clear();
    }

    let entry = Entry {
        upstream_id: Some(rel_path.to_string()),
        title: title.or_else(|| Some(file_stem(rel_path).to_string())),
        content_html: Some(html),
        slug: Some(default_slug(rel_path)),
        ..Entry::default()
    };
    Article {
        entry,
        draft: false,
        draft_reason: None,
        publish_at: None,
        expires: None,
        warnings: Vec::new(),
    }
}

/// Renders one block of non-blank, trimmed lines.
fn render_text_block(html: &mut String, block: &[&str]) {
    let items: Option<Vec<&str>> = block.iter().map(|line| bullet_item(line)).collect();
    if let Some(items) = items {
        html.push_str("<ul>\n");
        for item in items {
            let _ = writeln!(html, "<li>{}</li>", escape_html(item));
        }
        html.push_str("</ul>\n");
    } else if let [line] = block
        && is_headline(line)
    {
        let _ = writeln!(html, "<h2>{}</h2>", escape_html(line));
    } else {
        let escaped: Vec<String> = block.iter().map(|line| escape_html(line)).collect();
        let _ = writeln!(html, "<p>{}</p>", escaped.join("<br>\n"));
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn md(path: &str, text: &str) -> Article {
        parse_article(path, text.as_bytes()).expect("parses")
    }

    fn md_err(path: &str, text: &str) -> String {
        parse_article(path, text.as_bytes())
            .expect_err("should fail")
            .to_string()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    // ----- Markdown -----

    #[test]
    fn toml_front_matter_every_key() {
        let a = md(
            "posts/hello.md",
            "+++\n\
             title = \"Hello & <World>\"\n\
             date = 2024-03-01T10:20:30+02:00\n\
             updated = \"2024-03-02\"\n\
             author = [\"Ann\", \"Bob\"]\n\
             tags = [\"rust\", \"feeds\"]\n\
             summary = \"A <short> intro & more\"\n\
             slug = \"Hello World!\"\n\
             draft = true\n\
             +++\n\
             # Body heading\n\nSome *text*.\n",
        );
        let e = &a.entry;
        assert_eq!(e.upstream_id.as_deref(), Some("posts/hello.md"));
        assert_eq!(e.title.as_deref(), Some("Hello & <World>"));
        assert_eq!(e.published, Some(utc(2024, 3, 1, 8, 20, 30)));
        assert_eq!(e.updated, Some(utc(2024, 3, 2, 0, 0, 0)));
        assert_eq!(e.authors, vec!["Ann", "Bob"]);
        assert_eq!(e.categories, vec!["rust", "feeds"]);
        assert_eq!(
            e.summary_html.as_deref(),
            Some("<p>A &lt;short&gt; intro &amp; more</p>")
        );
        assert_eq!(e.slug.as_deref(), Some("hello-world"));
        assert!(a.draft);
        assert_eq!(e.link, None);
        assert!(e.enclosures.is_empty());
        let html = e.content_html.as_deref().unwrap();
        // The front matter title wins, so the body heading stays.
        assert!(html.contains("<h1>Body heading</h1>"), "{html}");
        assert!(html.contains("<p>Some <em>text</em>.</p>"), "{html}");
        assert!(!html.contains("+++"));
    }

    #[test]
    fn yaml_front_matter_every_key() {
        let a = md(
            "yaml.markdown",
            "---\n\
             title: 'Über: YAML'\n\
             date: 2023-12-31 23:59\n\
             updated: 2024-01-01T12:00:00Z\n\
             author: Jane Doe\n\
             tags:\n  - one\n  - two\n\
             summary: Short & sweet\n\
             slug: Custom Slug\n\
             draft: false\n\
             ---\n\
             Body text.\n",
        );
        let e = &a.entry;
        assert_eq!(e.title.as_deref(), Some("Über: YAML"));
        assert_eq!(e.published, Some(utc(2023, 12, 31, 23, 59, 0)));
        assert_eq!(e.updated, Some(utc(2024, 1, 1, 12, 0, 0)));
        assert_eq!(e.authors, vec!["Jane Doe"]);
        assert_eq!(e.categories, vec!["one", "two"]);
        assert_eq!(e.summary_html.as_deref(), Some("<p>Short &amp; sweet</p>"));
        assert_eq!(e.slug.as_deref(), Some("custom-slug"));
        assert!(!a.draft);
        assert_eq!(e.content_html.as_deref(), Some("<p>Body text.</p>\n"));
    }

    #[test]
    fn no_front_matter_uses_stem_and_path() {
        let a = md("notes/My Note.md", "Just a paragraph.\n");
        let e = &a.entry;
        assert_eq!(e.title.as_deref(), Some("My Note"));
        assert_eq!(e.slug.as_deref(), Some("notes-my-note"));
        assert_eq!(e.published, None);
        assert_eq!(e.updated, None);
        assert!(e.authors.is_empty());
        assert!(e.categories.is_empty());
        assert_eq!(e.summary_html, None);
        assert!(!a.draft);
        assert_eq!(
            e.content_html.as_deref(),
            Some("<p>Just a paragraph.</p>\n")
        );
    }

    #[test]
    fn title_from_first_h1_is_removed_from_body() {
        let a = md(
            "t.md",
            "Intro line.\n\n# The `Real` *Title*\n\n## Sub\n\nText.\n\n# Second\n",
        );
        assert_eq!(a.entry.title.as_deref(), Some("The Real Title"));
        let html = a.entry.content_html.unwrap();
        assert!(!html.contains("Real"), "{html}");
        assert!(html.contains("<p>Intro line.</p>"));
        assert!(html.contains("<h2>Sub</h2>"));
        assert!(html.contains("<h1>Second</h1>"));
        // Setext H1 counts too.
        let b = md("s.md", "Setext Title\n============\n\nBody.\n");
        assert_eq!(b.entry.title.as_deref(), Some("Setext Title"));
        assert_eq!(b.entry.content_html.as_deref(), Some("<p>Body.</p>\n"));
    }

    #[test]
    fn draft_flag() {
        assert!(md("d.md", "+++\ndraft = true\n+++\nx\n").draft);
        assert!(md("d.md", "---\ndraft: true\n---\nx\n").draft);
        assert!(!md("d.md", "+++\ndraft = false\n+++\nx\n").draft);
        // YAML 1.2 reads `yes` as a string: still a draft, and it says why.
        let a = md("d.md", "---\ntitle: x\ndraft: yes\n---\nx\n");
        assert!(a.draft);
        assert_eq!(
            a.draft_reason.as_deref(),
            Some("d.md: line 3: not published: `draft` is \"yes\"")
        );
    }

    #[test]
    fn draft_like_keys_keep_the_article_unpublished() {
        for (text, key) in [
            ("+++\ndrafts = true\n+++\nx\n", "drafts"),
            ("---\nDraft: true\n---\nx\n", "Draft"),
            ("---\nDRAFT: true\n---\nx\n", "DRAFT"),
            ("+++\ndarft = true\n+++\nx\n", "darft"),
            ("+++\ndraf = true\n+++\nx\n", "draf"),
            ("---\nis_draft: true\n---\nx\n", "is_draft"),
            ("---\ndraft: maybe\n---\nx\n", "draft"),
            ("---\npublished: false\n---\nx\n", "published"),
        ] {
            let a = md("d.md", text);
            assert!(a.draft, "{text}");
            let reason = a.draft_reason.unwrap();
            assert!(
                reason.starts_with("d.md: line 2: not published: `"),
                "{reason}"
            );
            assert!(reason.contains(&format!("`{key}`")), "{reason}");
        }
        // A clear false publishes; a look-alike says how it was read.
        let a = md("d.md", "+++\ndrafts = false\n+++\nx\n");
        assert!(!a.draft);
        assert_eq!(
            a.warnings,
            ["d.md: line 2: `drafts` read as `draft` (false)"]
        );
        assert!(!md("d.md", "---\npublished: true\n---\nx\n").draft);
        // Keys that merely start alike are not drafts.
        assert!(!md("d.md", "---\ndate: 2024-01-01\n---\nx\n").draft);
    }

    #[test]
    fn hugo_jekyll_and_zola_keys_are_mapped_or_knowingly_ignored() {
        let a = md(
            "h.md",
            "---\ntitle: Hugo post\ndescription: The summary\ncategories: [a, b]\ntags: [b, c]\n\
             lastmod: 2024-02-02\npublishDate: 2024-01-01\nexpiryDate: 2030-01-01\n\
             aliases: [/old]\nlayout: post\npermalink: /x/\nweight: 3\ntype: post\n\
             authors: [Ann]\n---\nx\n",
        );
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
        let e = &a.entry;
        assert_eq!(e.summary_html.as_deref(), Some("<p>The summary</p>"));
        assert_eq!(e.categories, ["a", "b", "c"]);
        assert_eq!(e.updated, Some(utc(2024, 2, 2, 0, 0, 0)));
        assert_eq!(e.published, Some(utc(2024, 1, 1, 0, 0, 0)));
        assert_eq!(a.publish_at, Some(utc(2024, 1, 1, 0, 0, 0)));
        assert_eq!(a.expires, Some(utc(2030, 1, 1, 0, 0, 0)));
        assert_eq!(e.authors, ["Ann"]);
        // zola: TOML with tables.
        let z = md(
            "z.md",
            "+++\ntitle = \"Z\"\ndate = 2024-05-05\ntemplate = \"page.html\"\n\
             [taxonomies]\ntags = [\"x\"]\n[extra]\nfoo = 1\n+++\nx\n",
        );
        assert!(z.warnings.is_empty(), "{:?}", z.warnings);
        // expires beats publish date ordering: both kept.
        let b = md(
            "e.md",
            "+++\ndate = 2024-01-01\nexpires = 2024-06-01\n+++\nx\n",
        );
        assert_eq!(b.expires, Some(utc(2024, 6, 1, 0, 0, 0)));
    }

    #[test]
    fn unknown_keys_are_reported_with_did_you_mean() {
        let a = md(
            "u.md",
            "+++\ntitle = \"T\"\ntilte = \"x\"\nsumary = \"s\"\nzzqx = 1\n+++\nx\n",
        );
        assert_eq!(
            a.warnings,
            [
                "u.md: line 3: unknown front matter key `tilte` ignored; did you mean `title`?",
                "u.md: line 4: unknown front matter key `sumary` ignored; did you mean `summary`?",
                "u.md: line 5: unknown front matter key `zzqx` ignored",
            ]
        );
    }
    #[test]
    fn bad_date_names_value_and_line() {
        let err = md_err(
            "p/bad.md",
            "+++\ntitle = \"x\"\ndate = \"next tuesday\"\n+++\n",
        );
        assert!(err.contains("p/bad.md"), "{err}");
        assert!(err.contains("next tuesday"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("`date`"), "{err}");

        let err = md_err("y.md", "---\nupdated: 2024-13-45\n---\n");
        assert!(err.contains("2024-13-45"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("`updated`"), "{err}");

        // A TOML local time has no date.
        let err = md_err("t.md", "+++\ndate = 07:32:00\n+++\n");
        assert!(err.contains("07:32:00"), "{err}");
    }

    #[test]
    fn date_formats() {
        let cases = [
            ("2024-05-06", utc(2024, 5, 6, 0, 0, 0)),
            ("2024-05-06 07:08", utc(2024, 5, 6, 7, 8, 0)),
            ("2024-05-06 07:08:09", utc(2024, 5, 6, 7, 8, 9)),
            ("2024-05-06T07:08:09Z", utc(2024, 5, 6, 7, 8, 9)),
            ("2024-05-06T07:08:09-01:30", utc(2024, 5, 6, 8, 38, 9)),
        ];
        for (text, want) in cases {
            let a = md("d.md", &format!("---\ndate: \"{text}\"\n---\n"));
            assert_eq!(a.entry.published, Some(want), "{text}");
        }
        // TOML native datetimes: offset, local datetime, local date.
        let toml_cases = [
            ("1979-05-27T07:32:00Z", utc(1979, 5, 27, 7, 32, 0)),
            ("1979-05-27T00:32:00-07:00", utc(1979, 5, 27, 7, 32, 0)),
            ("1979-05-27 07:32:00", utc(1979, 5, 27, 7, 32, 0)),
            ("1979-05-27", utc(1979, 5, 27, 0, 0, 0)),
        ];
        for (text, want) in toml_cases {
            let a = md("d.md", &format!("+++\ndate = {text}\n+++\n"));
            assert_eq!(a.entry.published, Some(want), "{text}");
        }
    }

    #[test]
    fn unterminated_front_matter_is_an_error() {
        let err = md_err("u.md", "+++\ntitle = \"x\"\n\nBody never closes it.\n");
        assert!(err.contains("u.md"), "{err}");
        assert!(err.contains("line 1"), "{err}");
        assert!(err.contains("never closed"), "{err}");
        let err = md_err("u.md", "---\ntitle: x\n");
        assert!(err.contains("never closed"), "{err}");
    }

    #[test]
    fn malformed_front_matter_gives_line() {
        let err = md_err("m.md", "+++\ntitle = \"ok\"\ntags = [\"a\",\n+++\nbody\n");
        assert!(err.contains("m.md"), "{err}");
        assert!(err.contains("invalid TOML"), "{err}");
        assert!(err.contains("line 3") || err.contains("line 4"), "{err}");

        let err = md_err("m.md", "+++\ntitle = \"ok\"\nthis is not toml\n+++\n");
        assert!(err.contains("line 3"), "{err}");

        let err = md_err("y.md", "---\ntitle: ok\nbad: [unclosed\n---\n");
        assert!(err.contains("invalid YAML"), "{err}");
        assert!(err.starts_with("y.md: line 4: "), "{err}");
        assert_eq!(err.matches("line").count(), 1, "{err}");

        let err = md_err("y.md", "---\ntitle: ok\ntitle: dup\n---\n");
        assert!(err.contains("duplicate"), "{err}");
        assert!(err.contains("title"), "{err}");

        let err = md_err("y.md", "---\n- just\n- a list\n---\n");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("mapping"), "{err}");

        let err = md_err("w.md", "+++\ntitle = \"a\"\ntags = { a = 1 }\n+++\n");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("`tags`"), "{err}");
    }

    #[test]
    fn unknown_keys_ignored_and_empty_front_matter() {
        let a = md(
            "k.md",
            "+++\nweight = 10\n[extra]\nfoo = \"bar\"\n+++\n# Heading\n",
        );
        assert_eq!(a.entry.title.as_deref(), Some("Heading"));
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
        let b = md("k.md", "---\ncustom: {a: 1}\nlayout: post\n---\ntext\n");
        assert_eq!(b.entry.title.as_deref(), Some("k"));
        assert_eq!(
            b.warnings,
            ["k.md: line 2: unknown front matter key `custom` ignored"]
        );
        let c = md("k.md", "---\n---\ntext\n");
        assert_eq!(c.entry.content_html.as_deref(), Some("<p>text</p>\n"));
        let d = md("k.md", "+++\n+++\ntext\n");
        assert_eq!(d.entry.content_html.as_deref(), Some("<p>text</p>\n"));
    }

    #[test]
    fn bom_and_crlf_before_front_matter() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(b"+++\r\ntitle = \"With BOM\"\r\n+++\r\nBody\r\n");
        let a = parse_article("b.md", &bytes).unwrap();
        assert_eq!(a.entry.title.as_deref(), Some("With BOM"));
        assert_eq!(a.entry.content_html.as_deref(), Some("<p>Body</p>\n"));

        let mut bytes = "\u{FEFF}".as_bytes().to_vec();
        bytes.extend_from_slice(b"---\ntitle: Yaml BOM\n---\n");
        let a = parse_article("b.md", &bytes).unwrap();
        assert_eq!(a.entry.title.as_deref(), Some("Yaml BOM"));
    }

    #[test]
    fn markdown_extensions_and_raw_html() {
        let a = md(
            "x.md",
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~ ok[^1]\n\n[^1]: note\n\n<div class=\"raw\">kept</div>\n",
        );
        let html = a.entry.content_html.unwrap();
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("<del>gone</del>"), "{html}");
        assert!(html.contains("footnote"), "{html}");
        assert!(html.contains("<div class=\"raw\">kept</div>"), "{html}");
    }

    #[test]
    fn slug_rules() {
        assert_eq!(
            md("a/b/Some Post.md", "x").entry.slug.as_deref(),
            Some("a-b-some-post")
        );
        assert_eq!(
            md("2024/01/x.y.MD", "x").entry.slug.as_deref(),
            Some("2024-01-x-y")
        );
        assert_eq!(
            md("p.md", "+++\nslug = \"  Café Déjà Vu  \"\n+++\n")
                .entry
                .slug
                .as_deref(),
            Some("cafe-deja-vu")
        );
        assert_eq!(
            md("p.md", "---\nslug: \"!!!\"\n---\n")
                .entry
                .slug
                .as_deref(),
            Some("article")
        );
        assert_eq!(md("日本.md", "x").entry.slug.as_deref(), Some("article"));
    }

    #[test]
    fn slugify_rules() {
        assert_eq!(slugify("Hello, World!"), "hello-world");
        assert_eq!(slugify("  --Already--Slugged--  "), "already-slugged");
        assert_eq!(slugify("Crème Brûlée"), "creme-brulee");
        assert_eq!(slugify("Straße"), "strasse");
        assert_eq!(slugify("ÉCOLE"), "ecole");
        assert_eq!(slugify("e\u{301}t\u{e9}"), "ete");
        assert_eq!(slugify("Tokyo 東京 trip"), "tokyo-trip");
        assert_eq!(slugify("a—b"), "a-b");
        assert_eq!(slugify("Israel’s Border"), "israel-s-border");
        assert_eq!(slugify("Rust 2024"), "rust-2024");
        assert_eq!(slugify(""), "article");
        assert_eq!(slugify("???"), "article");
        assert_eq!(slugify("日本語"), "article");
    }

    #[test]
    fn invalid_utf8_and_bad_extension() {
        let err = parse_article("bad.md", b"ok\nline two \xff\xfe\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.md"), "{err}");
        assert!(err.contains("UTF-8"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(parse_article("bad.txt", b"\xc3(").is_err());
        let err = parse_article("pic.png", b"x").unwrap_err().to_string();
        assert!(err.contains("pic.png"), "{err}");
    }

    // ----- Plain text -----

    fn txt(text: &str) -> Article {
        parse_article("dir/Some File.txt", text.as_bytes()).unwrap()
    }

    fn body(text: &str) -> String {
        txt(text).entry.content_html.unwrap()
    }

    #[test]
    fn text_title_and_entry_fields() {
        let a = txt("\n  \n   The Title  \n\nFirst paragraph.\n");
        let e = &a.entry;
        assert_eq!(e.title.as_deref(), Some("The Title"));
        assert_eq!(e.upstream_id.as_deref(), Some("dir/Some File.txt"));
        assert_eq!(e.slug.as_deref(), Some("dir-some-file"));
        assert_eq!(e.published, None);
        assert_eq!(e.updated, None);
        assert_eq!(e.summary_html, None);
        assert!(!a.draft);
        assert_eq!(e.content_html.as_deref(), Some("<p>First paragraph.</p>\n"));
        // Empty file: the stem is the title.
        let empty = txt("");
        assert_eq!(empty.entry.title.as_deref(), Some("Some File"));
        assert_eq!(empty.entry.content_html.as_deref(), Some(""));
        // A front-matter-looking start is just text in a .txt file.
        assert_eq!(txt("+++\ntitle\n").entry.title.as_deref(), Some("+++"));
    }

    #[test]
    fn text_headings_vs_paragraphs() {
        let html = body(
            "Title\n\nA Heading\n\nEnds with period.\n\nEnds with colon:\n\nEnds with comma,\n\n\
             Ends with semicolon;\n\nIs this a question?\n\nWow!\n\nAnd so…\n\n\
             “A quoted sentence.”\n\nPUTIN: “Quoted headline”\n",
        );
        assert!(html.contains("<h2>A Heading</h2>"), "{html}");
        assert!(html.contains("<p>Ends with period.</p>"), "{html}");
        assert!(html.contains("<p>Ends with colon:</p>"), "{html}");
        assert!(html.contains("<p>Ends with comma,</p>"), "{html}");
        assert!(html.contains("<p>Ends with semicolon;</p>"), "{html}");
        assert!(html.contains("<h2>Is this a question?</h2>"), "{html}");
        assert!(html.contains("<h2>Wow!</h2>"), "{html}");
        assert!(html.contains("<h2>And so…</h2>"), "{html}");
        assert!(html.contains("<p>“A quoted sentence.”</p>"), "{html}");
        assert!(html.contains("<h2>PUTIN: “Quoted headline”</h2>"), "{html}");

        let long = "word ".repeat(25); // 125 chars, no final period
        let html = body(&format!("T\n\n{long}\n\n{}\n", "x".repeat(100)));
        assert!(html.contains(&format!("<p>{}</p>", long.trim())), "{html}");
        assert!(
            html.contains(&format!("<h2>{}</h2>", "x".repeat(100))),
            "{html}"
        );

        // Two short lines are a paragraph with a line break, not a heading.
        let html = body("T\n\nLine one\nLine two\n");
        assert_eq!(html, "<p>Line one<br>\nLine two</p>\n");
    }

    #[test]
    fn text_bullets() {
        let html = body(
            "T\n\n  • First item\n  •  Second item\n\n- dash\n* star\n\nIntro:\n\n-not a bullet\n",
        );
        assert!(
            html.contains("<ul>\n<li>First item</li>\n<li>Second item</li>\n</ul>"),
            "{html}"
        );
        assert!(
            html.contains("<ul>\n<li>dash</li>\n<li>star</li>\n</ul>"),
            "{html}"
        );
        assert!(html.contains("<h2>-not a bullet</h2>"), "{html}");
        assert_eq!(html.matches("<ul>").count(), 2);
        // A block mixing bullets and text is a paragraph.
        let html = body("T\n\n• item\nnot an item.\n");
        assert_eq!(html, "<p>• item<br>\nnot an item.</p>\n");
    }

    #[test]
    fn text_nbsp_only_lines_are_blank() {
        let html = body(
            "T\n\nFirst para.\n\u{a0}\nSecond para.\n\n\u{a0} \n\n\u{2003}\t\n\nThird para.\n",
        );
        assert_eq!(
            html,
            "<p>First para.</p>\n<p>Second para.</p>\n<p>Third para.</p>\n"
        );
        assert!(!html.contains('\u{a0}'));
    }

    #[test]
    fn text_escaping_and_exact_characters() {
        let html = body(
            "Title <b> & co\n\nIf a < b && c > d then \"x\" isn't y.\n\n\
             “Curly” ‘quotes’ stay… and\u{a0}NBSP inside stays.\n",
        );
        assert!(
            html.contains("<p>If a &lt; b &amp;&amp; c &gt; d then &quot;x&quot; isn&#39;t y.</p>"),
            "{html}"
        );
        assert!(
            html.contains("“Curly” ‘quotes’ stay… and\u{a0}NBSP inside stays."),
            "{html}"
        );
        // The title is plain text, not HTML.
        assert_eq!(
            txt("Title <b> & co\n").entry.title.as_deref(),
            Some("Title <b> & co")
        );
    }

    #[test]
    fn text_bom_and_line_endings() {
        let a = parse_article("x.txt", "\u{FEFF}Title\r\n\r\nOne\rTwo.\r\n".as_bytes()).unwrap();
        assert_eq!(a.entry.title.as_deref(), Some("Title"));
        assert_eq!(
            a.entry.content_html.as_deref(),
            Some("<p>One<br>\nTwo.</p>\n")
        );
    }

    #[test]
    fn shared_sample_article_file() {
        let Some(dir) = std::env::var_os("SYNDIC_SAMPLES") else {
            eprintln!("SYNDIC_SAMPLES not set: skipping shared_sample_article_file");
            return;
        };
        let path = Path::new(&dir).join("articles/000_fdf7ef05633fa2b1.txt");
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let a = parse_article("000_fdf7ef05633fa2b1.txt", &bytes).unwrap();
        assert_eq!(
            a.entry.title.as_deref(),
            Some("SYRIAN CEASEFIRE: Russia Now in Charge of Israel’s Border")
        );
        let html = a.entry.content_html.as_deref().unwrap();
        assert_eq!(html.matches("<ul>").count(), 1, "{html}");
        assert_eq!(html.matches("<li>").count(), 3, "{html}");

        let text = std::str::from_utf8(&bytes).unwrap().replace("\r\n", "\n");
        let mut checked = 0;
        for para in text.split("\n\n").skip(1) {
            for line in para.lines() {
                if is_blank(line) {
                    continue;
                }
                let line = bullet_item(line).unwrap_or(line);
                let want = escape_html(line.trim_matches(is_blank_char));
                assert!(html.contains(&want), "missing {want:?}");
                checked += 1;
            }
        }
        assert!(checked > 50, "only {checked} lines checked");
        assert!(html.contains("<h2>Is the Ceasefire Really Good for Israel?</h2>"));
        assert!(html.contains("<p>Israel Defense Analyst Tal Inbar wrote in May:</p>"));
        assert!(html.contains("<p>It is either now or never.</p>"));
        assert!(!html.contains("<p>\u{a0}</p>"));
    }

    // ----- scan_folder -----

    fn touch(root: &Path, rel: &str, content: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    #[test]
    fn scan_nested_sorted_and_filtered() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        touch(root, "b.md", "bb");
        touch(root, "a.txt", "a");
        touch(root, "sub/deeper/c.MARKDOWN", "ccc");
        touch(root, "sub/A.Md", "dddd");
        touch(root, "sub/image.png", "x");
        touch(root, "noext", "x");
        touch(root, ".hidden.md", "x");
        touch(root, ".git/config.md", "x");
        touch(root, "sub/.drafts/x.md", "x");
        touch(root, "backup.md~", "x");
        touch(root, "sub/notes.md.swp", "x");

        let (files, skipped) = scan_folder(root).unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        let rels: Vec<&str> = files.iter().map(|f| f.rel_path.as_str()).collect();
        assert_eq!(rels, ["a.txt", "b.md", "sub/A.Md", "sub/deeper/c.MARKDOWN"]);

        let c = &files[3];
        assert_eq!(c.size, 3);
        assert_eq!(
            c.abs_path,
            root.join("sub").join("deeper").join("c.MARKDOWN")
        );
        assert!(c.abs_path.is_absolute());
        let want_mtime = fs::metadata(&c.abs_path)
            .unwrap()
            .modified()
            .unwrap()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64;
        assert_eq!(c.mtime_ns, want_mtime);
        assert!(c.mtime_ns > 1_600_000_000_000_000_000);
        assert_eq!(files[0].size, 1);
        assert_eq!(files[1].size, 2);
    }

    #[test]
    fn scan_unreadable_root_names_path() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("no-such-dir");
        let err = scan_folder(&missing).unwrap_err().to_string();
        assert!(err.contains("no-such-dir"), "{err}");
        // A file is not a folder either.
        touch(tmp.path(), "file.md", "x");
        let err = scan_folder(&tmp.path().join("file.md"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("file.md"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn scan_symlinks_and_unreadable_entries() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        touch(&outside, "x.md", "x");
        let root = tmp.path().join("root");
        touch(&root, "real.md", "r");
        symlink(&outside, root.join("linked-dir")).unwrap();
        symlink(outside.join("x.md"), root.join("linked-file.md")).unwrap();
        symlink(root.join("gone.md"), root.join("dangling.md")).unwrap();
        touch(&root, "locked/inner.md", "x");
        let locked = root.join("locked");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        let enforced = fs::read_dir(&locked).is_err(); // root ignores modes

        let (files, skipped) = scan_folder(&root).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();

        let rels: Vec<&str> = files.iter().map(|f| f.rel_path.as_str()).collect();
        if enforced {
            assert_eq!(rels, ["real.md"]);
            assert!(skipped.iter().any(|(p, _)| p == "locked"), "{skipped:?}");
        } else {
            assert_eq!(rels, ["locked/inner.md", "real.md"]);
        }
        assert!(
            skipped.iter().any(|(p, _)| p == "dangling.md"),
            "{skipped:?}"
        );
        // The link out is skipped, and the warning names it and its target.
        let out = skipped
            .iter()
            .find(|(p, _)| p == "linked-file.md")
            .unwrap_or_else(|| panic!("{skipped:?}"));
        assert!(out.1.contains("outside the folder"), "{out:?}");
        assert!(out.1.contains("x.md"), "{out:?}");
        assert!(!rels.iter().any(|r| r.starts_with("linked-dir")));
    }

    #[cfg(unix)]
    #[test]
    fn confinement_is_by_real_path() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let real_root = tmp.path().join("real-root");
        touch(&real_root, "a.md", "a");
        touch(&real_root, "sub/b.md", "b");
        // A link inside pointing to another file inside is followed, and
        // listed under its real path.
        symlink(real_root.join("sub/b.md"), real_root.join("c.md")).unwrap();
        // A link out through `..` is not.
        touch(tmp.path(), "out.md", "secret");
        symlink("../out.md", real_root.join("sub/up.md")).unwrap();
        // The folder itself reached through a link is fine.
        let via = tmp.path().join("via");
        symlink(&real_root, &via).unwrap();
        let (files, skipped) = scan_folder(&via).unwrap();
        let rels: Vec<&str> = files.iter().map(|f| f.rel_path.as_str()).collect();
        assert_eq!(rels, ["a.md", "c.md", "sub/b.md"]);
        let real = fs::canonicalize(real_root.join("sub/b.md")).unwrap();
        assert_eq!(files[1].abs_path, real);
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert_eq!(skipped[0].0, "sub/up.md");
        for file in &files {
            assert!(read_article_file(&via, file, 1024).is_ok());
        }
        // A file swapped for a link out after the scan is refused on read.
        let a = real_root.join("a.md");
        fs::remove_file(&a).unwrap();
        symlink(tmp.path().join("out.md"), &a).unwrap();
        let err = read_article_file(&via, &files[0], 1024).unwrap_err();
        assert!(matches!(err, ArticleError::Outside { .. }), "{err}");
        assert!(
            err.to_string().starts_with("a.md: symlink leads outside"),
            "{err}"
        );
    }

    #[test]
    fn read_is_bounded_by_max_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        touch(tmp.path(), "a.md", &"x".repeat(100));
        let (files, _) = scan_folder(tmp.path()).unwrap();
        assert_eq!(
            read_article_file(tmp.path(), &files[0], 100).unwrap().len(),
            100
        );
        let err = read_article_file(tmp.path(), &files[0], 99).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a.md: 100 bytes, more than max_article_bytes (99): not read"
        );
    }
}
