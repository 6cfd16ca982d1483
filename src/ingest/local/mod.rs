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

use crate::ingest::parse::escape_html;
use crate::model::Entry;

mod folder;
mod front_matter;
mod markdown;
mod media;
mod text;
pub use folder::*;
use front_matter::*;
use markdown::*;
pub use media::*;
use text::*;

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
    /// The relative references of the body (image sources and link
    /// targets, as written): the files among them beside the article are
    /// its attachments ([`find_attachment`]).
    pub references: Vec<Reference>,
    /// The `enclosure` front matter key as written: a file beside the
    /// article or an http(s) URL.
    pub enclosure: Option<String>,
}

/// A relative reference in an article's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub url: String,
    /// An image source (a missing file is worth a warning), not a link.
    pub image: bool,
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
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests;
