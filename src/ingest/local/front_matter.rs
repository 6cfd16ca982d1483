//! Front matter (TOML `+++` or YAML `---`): split from the body, its keys
//! mapped to their meaning, ignored knowingly, or reported with a near miss.

use super::*;

/// A front matter value, whichever syntax it came from.
pub(super) enum FmValue {
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
    pub(super) fn kind(&self) -> &'static str {
        match self {
            FmValue::Text(_) => "a string",
            FmValue::Bool(_) => "a boolean",
            FmValue::Number(_) => "a number",
            FmValue::Datetime(_) => "a datetime",
            FmValue::List(_) => "a list",
            FmValue::Other(kind) => kind,
        }
    }

    pub(super) fn from_toml(value: toml::Value) -> FmValue {
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

    pub(super) fn from_yaml(value: serde_yaml::Value) -> FmValue {
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
pub(super) struct FrontMatter<'a> {
    /// The block's text, between the delimiter lines.
    block: &'a str,
    /// 1-based file line of the block's first line.
    first_line: usize,
    /// Every key, in file order: (meaning, key as written, value).
    pub(super) values: Vec<(Key, String, FmValue)>,
}

/// What a front matter key means to syndic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Key {
    Title,
    Date,
    PublishDate,
    Updated,
    Author,
    Tags,
    Summary,
    Slug,
    Expires,
    /// A file beside the article, or a URL: the item's enclosure.
    Enclosure,
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
pub(super) const MAPPED: &[(&str, Key)] = &[
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
    ("enclosure", Key::Enclosure),
    ("attachment", Key::Enclosure),
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
pub(super) const IGNORED: &[&str] = &[
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

pub(super) fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

pub(super) fn classify_key(key: &str) -> Key {
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
pub(super) fn nearest_key(key: &str) -> Option<&'static str> {
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
pub(super) fn split_front_matter<'a>(
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
pub(super) fn strip_yaml_locations(message: &str) -> String {
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
pub(super) fn line_of_offset(text: &str, offset: usize) -> usize {
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
    pub(super) fn take_named(&mut self, key: Key) -> Option<(String, FmValue)> {
        let at = self.values.iter().position(|(k, _, _)| *k == key)?;
        let (_, name, value) = self.values.remove(at);
        Some((name, value))
    }

    /// The file line on which `key` is written (best effort: the first line
    /// of the block that starts with it), else the block's first line.
    pub(super) fn line_of(&self, key: &str) -> usize {
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

    pub(super) fn type_error(
        &self,
        path: &str,
        key: &str,
        expected: &str,
        found: &FmValue,
    ) -> ArticleError {
        ArticleError::FrontMatter {
            path: path.to_string(),
            line: self.line_of(key),
            message: format!("`{key}` must be {expected}, found {}", found.kind()),
        }
    }

    /// A string (numbers are taken as written); blank -> None. Later keys
    /// of the same meaning (`summary` and `description`) are dropped.
    pub(super) fn text(&mut self, path: &str, key: Key) -> Result<Option<String>, ArticleError> {
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
    pub(super) fn list(&mut self, path: &str, key: Key) -> Result<Vec<String>, ArticleError> {
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

    pub(super) fn date(
        &mut self,
        path: &str,
        key: Key,
    ) -> Result<Option<DateTime<Utc>>, ArticleError> {
        let out = match self.take_named(key) {
            None => None,
            Some((name, value)) => Some(self.date_value(path, &name, value)?),
        };
        while self.take_named(key).is_some() {}
        Ok(out)
    }

    pub(super) fn date_value(
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
