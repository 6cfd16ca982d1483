//! Validation shared by every table: the [`Ctx`] that collects errors with
//! their line and column, the top-level [`build`] that dispatches the
//! tables, taking a table into its raw struct (unknown keys reported), and
//! the checks of values several tables take (names, schedules, durations,
//! URLs, intervals, byte sizes, limits).

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use url::Url;

use super::daemon::build_daemon;
use super::defaults::build_defaults;
use super::feed::build_feeds;
use super::raw::{Scalar, TOP_LEVEL, struct_fields};
use super::source::build_sources;
use super::suggest::{nearest, suggest_name};
use super::{
    Config, ConfigError, ConfigErrors, DEFAULT_FEED_LIMIT, MAX_DURATION, MAX_FEED_LIMIT,
    MAX_MAX_INTERVAL, MAX_NAME_LEN, MIN_MIN_INTERVAL, Schedule, SourceConfig, cron_parser,
    format_duration, parse_byte_size, parse_duration,
};

pub(super) const SCHEDULE_HELP: &str =
    "write an interval such as \"30m\" or a cron expression such as \"0 */30 * * * *\"";

const DURATION_HELP: &str = "write a number and a unit (s, m, h, d or w) \
     such as \"90s\", \"30m\", \"2h\", \"1d\" or \"1h30m\"";

const MIN_INTERVAL_HELP: &str =
    "polling a source more often than once a minute is not allowed; write \"1m\" or more";

pub(super) const SIZE_HELP: &str =
    "write a size such as \"10MiB\" or \"512KiB\", or a plain integer of bytes such as 1048576";

pub(super) const NAME_HELP: &str =
    "use lowercase letters, digits, '-' and '_', starting with a letter or digit";

/// Collects errors and turns byte offsets into lines and columns.
pub(super) struct Ctx<'t> {
    text: &'t str,
    file: PathBuf,
    /// Folder relative paths are resolved against.
    pub(super) base: PathBuf,
    line_starts: Vec<usize>,
    pub(super) errors: Vec<ConfigError>,
}

impl<'t> Ctx<'t> {
    pub(super) fn new(text: &'t str, file: &Path) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Ctx {
            text,
            file: file.to_path_buf(),
            base: base_dir(file),
            line_starts,
            errors: Vec::new(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        (line, column)
    }

    /// `file:line:column` of a span's start, naming a place in messages.
    pub(super) fn place(&self, span: &Range<usize>) -> String {
        let (line, column) = self.position(span.start);
        format!("{}:{line}:{column}", self.file.display())
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        self.position(span.start).0
    }

    pub(super) fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let (line, column) = self.position(span.start);
        self.errors.push(ConfigError {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
            help,
        });
    }

    pub(super) fn end_of_file(&self) -> Range<usize> {
        self.text.len()..self.text.len()
    }

    pub(super) fn finish(mut self) -> ConfigErrors {
        // Stable: errors at one position keep the order they were found in.
        self.errors.sort_by_key(|e| (e.line, e.column));
        ConfigErrors(self.errors)
    }
}

/// The folder of the config file, made absolute when the working directory
/// is known.
fn base_dir(file: &Path) -> PathBuf {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    match absolute.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `raw` resolved against `base` when relative, without `.` components.
pub(super) fn resolve_path(base: &Path, raw: &str) -> PathBuf {
    let raw = Path::new(raw);
    let joined = if raw.is_absolute() {
        raw.to_path_buf()
    } else {
        base.join(raw)
    };
    joined.components().collect()
}

/// How a table is named in messages: `daemon`, ``source `x` `` or `feed #2`.
pub(super) fn table_label(kind: &str, index: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{kind} `{name}`"),
        None => format!("{kind} #{}", index + 1),
    }
}

/// The string value of `key` in `table`, if it is a string.
pub(super) fn peek_str(table: &DeTable<'_>, key: &str) -> Option<String> {
    table
        .get(key)
        .and_then(|v| v.get_ref().as_str())
        .map(str::to_string)
}

/// The string elements of the array `key` in `table`.
pub(super) fn peek_str_array(table: &DeTable<'_>, key: &str) -> Vec<String> {
    table
        .get(key)
        .and_then(|v| v.get_ref().as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.get_ref().as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Deserializes one table into `T`, reporting (and dropping) unknown keys
/// first so that every unknown key and the known keys' values are all
/// checked. `written` is how the table is written in the file, such as
/// `[[source]]`; `label` names it in messages.
pub(super) fn take_table<T: DeserializeOwned>(
    ctx: &mut Ctx<'_>,
    mut table: DeTable<'_>,
    span: Range<usize>,
    written: &str,
    label: &str,
) -> Option<T> {
    let fields = struct_fields::<T>();
    let unknown: Vec<(String, Range<usize>)> = table
        .keys()
        .filter(|key| !fields.contains(&&**key.get_ref()))
        .map(|key| (key.get_ref().to_string(), key.span()))
        .collect();
    for (key, key_span) in unknown {
        table.remove(key.as_str());
        let valid = fields
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let help = match nearest(&key, fields.iter().copied()) {
            Some(near) => format!("did you mean `{near}`? the keys of {written} are {valid}"),
            None => format!("the keys of {written} are {valid}"),
        };
        ctx.error(
            key_span,
            format!("{label}: unknown key `{key}`"),
            Some(help),
        );
    }
    let value_spans: Vec<(String, Range<usize>)> = table
        .iter()
        .map(|(k, v)| (k.get_ref().to_string(), v.span()))
        .collect();
    let deserializer = ValueDeserializer::from(Spanned::new(span.clone(), DeValue::Table(table)));
    match T::deserialize(deserializer) {
        Ok(value) => Some(value),
        Err(err) => {
            let err_span = err.span().unwrap_or(span);
            let key = value_spans
                .iter()
                .find(|(_, s)| s.start <= err_span.start && err_span.end <= s.end)
                .map(|(k, _)| k.as_str());
            let message = match key {
                Some(key) => format!("{label}: {key}: {}", err.message()),
                None => format!("{label}: {}", err.message()),
            };
            ctx.error(err_span, message, None);
            None
        }
    }
}

/// Checks a source id, feed name or tag; `Err` holds the help text, with a
/// corrected suggestion when one can be made.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if first_ok && rest_ok && name.len() <= MAX_NAME_LEN {
        return Ok(());
    }
    let suggestion = suggest_name(name);
    if suggestion.is_empty() || suggestion == name {
        Err(format!("{NAME_HELP}, at most {MAX_NAME_LEN} characters"))
    } else {
        Err(format!("write `{suggestion}` ({NAME_HELP})"))
    }
}

/// Parses a `refresh` value; `Err` holds the problem (after the key name).
pub(super) fn parse_schedule(value: &Scalar) -> Result<Schedule, String> {
    let text = match value {
        Scalar::Int(n) => return Err(format!("`{n}` has no unit")),
        Scalar::Str(s) => s.trim(),
    };
    if let Some(duration) = parse_duration(text) {
        if duration.is_zero() {
            return Err(format!("must be greater than zero, got `{text}`"));
        }
        if duration > MAX_DURATION {
            return Err(too_long(text));
        }
        return Ok(Schedule::Every(duration));
    }
    if !text.contains(char::is_whitespace) {
        return Err(format!(
            "`{text}` is neither an interval nor a cron expression"
        ));
    }
    if let Some(short) = spelled_out_duration(text) {
        return Err(format!(
            "`{text}` is neither an interval nor a cron expression: write `{short}`"
        ));
    }
    let mut fields: Vec<&str> = text.split_whitespace().collect();
    match fields.len() {
        5 => fields.insert(0, "0"),
        6 => {}
        n => {
            return Err(format!(
                "cron expression `{text}` has {n} fields, \
                 expected 5 (minute first) or 6 (second first)"
            ));
        }
    }
    let normalized = fields.join(" ");
    if let Some(problem) = cron_field_out_of_range(&fields) {
        return Err(format!("invalid cron expression `{text}`: {problem}"));
    }
    match cron_parser().parse(&normalized) {
        Ok(_) => Ok(Schedule::Cron(normalized)),
        Err(err) => Err(format!("invalid cron expression `{text}`: {err}")),
    }
}

/// `"30 minutes"`, `"2 hours"`: an interval written out in words, as
/// [`parse_duration`] writes it (`"30m"`, `"2h"`).
fn spelled_out_duration(text: &str) -> Option<String> {
    let (number, unit) = text.split_once(char::is_whitespace)?;
    let number: u64 = number.parse().ok()?;
    let unit = match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 's',
        "m" | "min" | "mins" | "minute" | "minutes" => 'm',
        "h" | "hr" | "hrs" | "hour" | "hours" => 'h',
        "d" | "day" | "days" => 'd',
        "w" | "week" | "weeks" => 'w',
        _ => return None,
    };
    Some(format!("{number}{unit}"))
}

/// The first number of a six-field cron expression (second first) that
/// is out of its field's range, named by field: `"the hour is 61 (0-23)"`.
fn cron_field_out_of_range(fields: &[&str]) -> Option<String> {
    const FIELDS: [(&str, u32, u32); 6] = [
        ("second", 0, 59),
        ("minute", 0, 59),
        ("hour", 0, 23),
        ("day of the month", 1, 31),
        ("month", 1, 12),
        ("day of the week", 0, 7),
    ];
    for (field, (name, low, high)) in fields.iter().zip(FIELDS) {
        let numbers = field
            .split([',', '-', '/'])
            .filter_map(|part| part.parse::<u32>().ok());
        // The step after `/` is a count, not a value of the field.
        let steps: Vec<u32> = field
            .split(',')
            .filter_map(|part| part.split_once('/'))
            .filter_map(|(_, step)| step.parse().ok())
            .collect();
        for n in numbers {
            if (n < low || n > high) && !steps.contains(&n) {
                return Some(format!("the {name} field is {n}, out of {low}-{high}"));
            }
        }
    }
    None
}

/// Checks a duration value; `Err` holds the problem and the help.
pub(super) fn parse_duration_value(value: &Scalar) -> Result<Duration, (String, String)> {
    match value {
        Scalar::Int(n) => Err((
            format!("`{n}` has no unit"),
            format!("add a unit: \"{n}s\", \"{n}m\" or \"{n}h\""),
        )),
        Scalar::Str(s) => match parse_duration(s) {
            Some(d) if d > MAX_DURATION => Err((too_long(s), DURATION_HELP.to_string())),
            Some(d) => Ok(d),
            None => Err((
                format!("`{s}` is not a duration"),
                DURATION_HELP.to_string(),
            )),
        },
    }
}

/// The problem of a duration over [`MAX_DURATION`].
fn too_long(text: &str) -> String {
    format!(
        "`{}` is longer than 36500d (about 100 years), the longest accepted",
        text.trim()
    )
}

/// Checks an http(s) URL with a host; `Err` holds the problem (after the key
/// name) and the help.
pub(super) fn check_http_url(raw: &str) -> Result<Url, (String, String)> {
    let example = "write a full address such as \"https://example.org/feed.xml\"";
    let url = match Url::parse(raw.trim()) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err((
                format!("`{raw}` is not an absolute URL"),
                format!("did you mean \"https://{}\"? {example}", raw.trim()),
            ));
        }
        Err(err) => {
            return Err((
                format!("`{raw}` is not a valid URL: {err}"),
                example.to_string(),
            ));
        }
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err((
            format!("must be http or https, got `{raw}`"),
            example.to_string(),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err((format!("has no host: `{raw}`"), example.to_string()));
    }
    Ok(url)
}

pub(super) fn build(ctx: &mut Ctx<'_>) -> Option<Config> {
    // Only the first syntax error is reported: the ones after it are
    // mostly the parser's recovery tripping over the same mistake.
    let root = match DeTable::parse(ctx.text) {
        Ok(root) => root,
        Err(err) => {
            let span = err.span().unwrap_or(0..0);
            let help = unquoted_value_help(ctx.text, span.start);
            ctx.error(span, format!("invalid TOML: {}", err.message()), help);
            return None;
        }
    };

    let mut daemon_value = None;
    let mut defaults_value = None;
    let mut source_value = None;
    let mut feed_value = None;
    for (key, value) in root.into_inner() {
        match key.get_ref().as_ref() {
            "daemon" => daemon_value = Some(value),
            "defaults" => defaults_value = Some(value),
            "source" => source_value = Some(value),
            "feed" => feed_value = Some(value),
            other => {
                let tables = TOP_LEVEL.iter().map(|(_, w)| *w).collect::<Vec<_>>();
                let valid = tables.join(", ");
                let help = match nearest(other, TOP_LEVEL.iter().map(|(k, _)| *k)) {
                    Some(near) => {
                        let written = TOP_LEVEL
                            .iter()
                            .find(|(k, _)| *k == near)
                            .map_or(near, |(_, w)| *w);
                        format!("did you mean {written}? the tables are {valid}")
                    }
                    None => format!("the tables are {valid}"),
                };
                ctx.error(key.span(), format!("unknown table `{other}`"), Some(help));
            }
        }
    }

    let defaults = build_defaults(ctx, defaults_value);
    let daemon = build_daemon(ctx, daemon_value);
    let sources = build_sources(ctx, source_value, &defaults);
    let feeds = build_feeds(ctx, feed_value, &defaults, &sources);

    let built: Vec<SourceConfig> = sources.into_iter().filter_map(|s| s.built).collect();
    Some(Config::new(
        ctx.file.clone(),
        daemon?,
        defaults,
        built,
        feeds,
    ))
}

/// A single table (`[daemon]`, `[defaults]`) deserialized, or `None` after
/// reporting why not (an absent table is `Some(default)`).
pub(super) fn take_single<T: DeserializeOwned + Default>(
    ctx: &mut Ctx<'_>,
    value: Option<Spanned<DeValue<'_>>>,
    name: &str,
) -> Option<T> {
    let Some(value) = value else {
        return Some(T::default());
    };
    let span = value.span();
    match value.into_inner() {
        DeValue::Table(table) => take_table(ctx, table, span, &format!("[{name}]"), name),
        other => {
            ctx.error(
                span,
                format!("`{name}` must be a table, got {}", other.type_str()),
                Some(format!("write it as a [{name}] table")),
            );
            None
        }
    }
}

pub(super) fn check_min_interval(
    ctx: &mut Ctx<'_>,
    value: &Spanned<Scalar>,
    label: &str,
) -> Option<Duration> {
    match parse_duration_value(value.get_ref()) {
        Ok(d) if d < MIN_MIN_INTERVAL => {
            ctx.error(
                value.span(),
                format!(
                    "{label}: min_interval must be at least 1m, got `{}`",
                    value.get_ref()
                ),
                Some(MIN_INTERVAL_HELP.to_string()),
            );
            None
        }
        Ok(d) => Some(d),
        Err((problem, help)) => {
            ctx.error(
                value.span(),
                format!("{label}: min_interval {problem}"),
                Some(help),
            );
            None
        }
    }
}

/// A byte size greater than zero: `"10MiB"`, `"512KiB"` or an integer.
pub(super) fn check_byte_size(
    ctx: &mut Ctx<'_>,
    size: &Spanned<Scalar>,
    label: &str,
) -> Option<u64> {
    let parsed = match size.get_ref() {
        Scalar::Int(n) => u64::try_from(*n).ok(),
        Scalar::Str(s) => parse_byte_size(s),
    };
    match parsed {
        Some(0) => ctx.error(
            size.span(),
            format!("{label} must be greater than zero"),
            Some(SIZE_HELP.to_string()),
        ),
        Some(n) => return Some(n),
        None => ctx.error(
            size.span(),
            format!("{label} `{}` is not a byte size", size.get_ref()),
            Some(SIZE_HELP.to_string()),
        ),
    }
    None
}

pub(super) fn check_max_interval(
    ctx: &mut Ctx<'_>,
    value: &Spanned<Scalar>,
    min_interval: Duration,
    label: &str,
) -> Option<Duration> {
    match parse_duration_value(value.get_ref()) {
        Ok(d) if d < min_interval || d > MAX_MAX_INTERVAL => {
            ctx.error(
                value.span(),
                format!(
                    "{label}: max_interval must be between min_interval ({}) and 30d, got `{}`",
                    format_duration(min_interval),
                    value.get_ref()
                ),
                Some("write a duration such as \"24h\" or \"7d\"".to_string()),
            );
            None
        }
        Ok(d) => Some(d),
        Err((problem, help)) => {
            ctx.error(
                value.span(),
                format!("{label}: max_interval {problem}"),
                Some(help),
            );
            None
        }
    }
}

pub(super) fn check_limit(ctx: &mut Ctx<'_>, value: &Spanned<i64>, what: &str) -> Option<usize> {
    let n = *value.get_ref();
    match usize::try_from(n) {
        Ok(n) if (1..=MAX_FEED_LIMIT).contains(&n) => Some(n),
        _ => {
            ctx.error(
                value.span(),
                format!("{what} must be between 1 and {MAX_FEED_LIMIT}, got {n}"),
                Some(format!(
                    "write a number of items from 1 to {MAX_FEED_LIMIT}, \
                     such as {DEFAULT_FEED_LIMIT}"
                )),
            );
            None
        }
    }
}

/// The elements of a `[[source]]` / `[[feed]]` array, with their spans, or
/// nothing after reporting that the value is not an array of tables.
pub(super) fn array_of_tables<'i>(
    ctx: &mut Ctx<'_>,
    value: Option<Spanned<DeValue<'i>>>,
    name: &str,
) -> Vec<(Range<usize>, Option<DeTable<'i>>)> {
    let Some(value) = value else {
        return Vec::new();
    };
    let span = value.span();
    match value.into_inner() {
        DeValue::Array(items) => items
            .into_iter()
            .map(|item| {
                let item_span = item.span();
                match item.into_inner() {
                    DeValue::Table(table) => (item_span, Some(table)),
                    other => {
                        ctx.error(
                            item_span.clone(),
                            format!("each `{name}` must be a table, got {}", other.type_str()),
                            Some(format!("write each one as a [[{name}]] table")),
                        );
                        (item_span, None)
                    }
                }
            })
            .collect(),
        DeValue::Table(_) => {
            ctx.error(
                span,
                format!("`{name}` must be an array of tables"),
                Some(format!(
                    "write [[{name}]] (double brackets) instead of [{name}]"
                )),
            );
            Vec::new()
        }
        other => {
            ctx.error(
                span,
                format!(
                    "`{name}` must be an array of tables, got {}",
                    other.type_str()
                ),
                Some(format!("write each one as a [[{name}]] table")),
            );
            Vec::new()
        }
    }
}

/// Checks a source id or feed name: characters and uniqueness. Returns
/// whether it is fine.
pub(super) fn check_unique_name(
    ctx: &mut Ctx<'_>,
    name: &Spanned<String>,
    label: &str,
    what: &str,
    first_line: &mut HashMap<String, usize>,
) -> bool {
    let mut ok = true;
    if let Err(help) = check_name(name.get_ref()) {
        ctx.error(
            name.span(),
            format!("{label}: invalid {what} `{}`", name.get_ref()),
            Some(help),
        );
        ok = false;
    }
    let line = ctx.line_of(&name.span());
    if let Some(first) = first_line.get(name.get_ref()) {
        ctx.error(
            name.span(),
            format!(
                "{label}: duplicate {what} `{}`, first used at line {first}",
                name.get_ref()
            ),
            Some(format!("each {what} must be unique; rename one of them")),
        );
        ok = false;
    } else {
        first_line.insert(name.get_ref().clone(), line);
    }
    ok
}

/// The help for a TOML syntax error at byte `at` on a line such as
/// `listen = 127.0.0.1:8080`: a text value written without quotes.
fn unquoted_value_help(text: &str, at: usize) -> Option<String> {
    let start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(start..)?.lines().next()?;
    let (key, value) = line.split_once('=')?;
    let (key, value) = (key.trim(), value.trim());
    let plain_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let quoted_or_structured = value.starts_with(['"', '\'', '[', '{']);
    let literal = value.parse::<f64>().is_ok() || value == "true" || value == "false";
    (plain_key && !value.is_empty() && !quoted_or_structured && !literal)
        .then(|| format!("a text value goes in quotes: {key} = \"{value}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_lines_and_characters_even_inside_a_character() {
        let ctx = Ctx::new(
            "ab\n\u{e9}t\u{e9} = 1\n",
            Path::new("/etc/syndic/feeds.toml"),
        );
        assert_eq!(ctx.position(0), (1, 1));
        assert_eq!(ctx.position(2), (1, 3));
        assert_eq!(ctx.position(3), (2, 1));
        // `é` is two bytes: an offset inside it is the character's own
        // column, not the next one.
        assert_eq!(ctx.position(4), (2, 1));
        assert_eq!(ctx.position(5), (2, 2));
        assert_eq!(ctx.position(7), (2, 3));
        // Past the end: the end.
        assert_eq!(ctx.position(100), (3, 1));
    }

    #[test]
    fn durations_and_max_interval_at_their_limits() {
        let duration = |s: &str| parse_duration_value(&Scalar::Str(s.into()));
        assert_eq!(duration("36500d"), Ok(MAX_DURATION));
        let (problem, help) = duration("36501d").unwrap_err();
        assert_eq!(
            problem,
            "`36501d` is longer than 36500d (about 100 years), the longest accepted"
        );
        assert_eq!(help, DURATION_HELP);
        let parse = |min: &str, max: &str| {
            let text = format!(
                "[[source]]\nid = \"a\"\nurl = \"https://feeds.example/a\"\n\
                 min_interval = \"{min}\"\nmax_interval = \"{max}\"\n\n\
                 [[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n"
            );
            Config::parse(&text, Path::new("/etc/syndic/feeds.toml"))
        };
        // From min_interval up to 30 days, both ends included.
        assert!(parse("1h", "1h").is_ok());
        assert!(parse("1h", "30d").is_ok());
        assert!(parse("2h", "1h").is_err());
        let errors = parse("1h", "31d").unwrap_err();
        assert!(
            errors.0[0].message.contains("max_interval must be between"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_bare_text_value_gets_the_quotes_help_and_nothing_else_does() {
        let help = |line: &str| unquoted_value_help(line, line.len() - 1);
        assert_eq!(
            help("listen = 127.0.0.1:8080"),
            Some("a text value goes in quotes: listen = \"127.0.0.1:8080\"".into())
        );
        assert_eq!(
            help("max_body-bytes = ten"),
            Some("a text value goes in quotes: max_body-bytes = \"ten\"".into())
        );
        // The line of the error, not the first one.
        let text = "a = 1\nurl = https://x.example/\n";
        assert_eq!(
            unquoted_value_help(text, 10),
            Some("a text value goes in quotes: url = \"https://x.example/\"".into())
        );
        for line in [
            "a.b = x",
            " = x",
            "k = ",
            "on = true",
            "off = false",
            "n = 1.5",
            "n = 7",
            "t = \"quoted",
            "l = [1",
            "m = {a",
            "no equals sign",
        ] {
            assert_eq!(help(line), None, "{line}");
        }
    }

    #[test]
    fn a_name_gets_a_suggestion_only_when_there_is_a_better_one() {
        assert_eq!(check_name("news-2"), Ok(()));
        assert_eq!(
            check_name("My News").unwrap_err(),
            format!("write `my-news` ({NAME_HELP})")
        );
        // Too long: cut to the limit.
        assert_eq!(
            check_name(&"a".repeat(MAX_NAME_LEN + 1)).unwrap_err(),
            format!("write `{}` ({NAME_HELP})", "a".repeat(MAX_NAME_LEN))
        );
        // Nothing to suggest: no usable character.
        assert_eq!(
            check_name("!!!").unwrap_err(),
            format!("{NAME_HELP}, at most {MAX_NAME_LEN} characters")
        );
    }

    #[test]
    fn refresh_values_at_their_limits() {
        let schedule = |s: &str| parse_schedule(&Scalar::Str(s.into()));
        assert_eq!(
            schedule("36500d"),
            Ok(Schedule::Every(MAX_DURATION)),
            "the longest interval"
        );
        assert!(schedule("36501d").is_err());
        for (words, short) in [
            ("30 seconds", "30s"),
            ("5 minutes", "5m"),
            ("2 hours", "2h"),
            ("3 days", "3d"),
            ("1 week", "1w"),
        ] {
            let err = schedule(words).unwrap_err();
            assert!(err.ends_with(&format!("write `{short}`")), "{words}: {err}");
        }
        // Each field's highest value is in range, one more is not.
        assert_eq!(
            schedule("59 59 23 31 12 7"),
            Ok(Schedule::Cron("59 59 23 31 12 7".into()))
        );
        let err = schedule("0 0 24 * * *").unwrap_err();
        assert!(err.contains("the hour field is 24, out of 0-23"), "{err}");
        assert!(schedule("0 0 1 32 * *").is_err());
        assert_eq!(
            schedule("*/15 * * * *"),
            Ok(Schedule::Cron("0 */15 * * * *".into())),
            "five fields get a second; a step is no value"
        );
    }
}
