//! The tests of reading and validating `feeds.toml`, one file per concern
//! (the podcast keys are tested in `podcast`), and the helpers they share.

use super::raw::{RawDaemon, RawDefaults, RawFeed, RawSource, struct_fields};
use super::suggest::suggest_name;
use super::validate::{SCHEDULE_HELP, SIZE_HELP, check_name};
use super::*;

mod credentials;
mod daemon;
mod feed;
mod keys;
mod rules;
mod source;
mod units;

const FILE: &str = "feeds.toml";

fn parse(text: &str) -> Result<Config, ConfigErrors> {
    Config::parse(text, Path::new(FILE))
}

fn errors(text: &str) -> Vec<ConfigError> {
    match parse(text) {
        Ok(config) => panic!("expected errors, got {config:#?}"),
        Err(errors) => errors.0,
    }
}

/// The only error of `text`.
fn one_error(text: &str) -> ConfigError {
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    errs.into_iter().next().unwrap()
}

/// The error at `line`:`column`.
fn error_at(errs: &[ConfigError], line: usize, column: usize) -> &ConfigError {
    errs.iter()
        .find(|e| e.line == line && e.column == column)
        .unwrap_or_else(|| panic!("no error at {line}:{column} in {errs:#?}"))
}

fn help(err: &ConfigError) -> &str {
    err.help
        .as_deref()
        .unwrap_or_else(|| panic!("no help in {err:#?}"))
}

const MINIMAL: &str = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a.xml\"\n\n[[feed]]\nname = \"all\"\ntitle = \"All\"\ninclude = [\"*\"]\n";

fn with_minimal(prefix: &str) -> String {
    format!("{prefix}\n{MINIMAL}")
}

/// Two sources, `a` (tagged `t`) and `b`, for the feed tests.
const TWO_SOURCES: &str = "[[source]]\nid = \"a\"\nurl = \"https://example.org/a\"\ntags = [\"t\"]\n[[source]]\nid = \"b\"\nurl = \"https://example.org/b\"\n";
