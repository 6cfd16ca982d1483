//! Include resolution: a `[[feed]]`'s `include` turned into source ids,
//! with suggestions for unknown ids and tags.

use std::collections::HashSet;
use std::ops::Range;

use super::raw::RawFeed;
use super::source::SourceEntry;
use super::suggest::{list_names, nearest};
use super::validate::Ctx;

const INCLUDE_HELP: &str = "write include = [\"*\"] for every source, \
     [\"tag:NAME\"] for the sources with a tag, or source ids";

/// Resolves a feed's `include` to source ids, in config order, reporting
/// unknown entries and an include that matches nothing.
pub(super) fn resolve_include(
    ctx: &mut Ctx<'_>,
    raw: &RawFeed,
    span: Range<usize>,
    label: &str,
    sources: &[SourceEntry],
    ok: &mut bool,
) -> (Vec<String>, Vec<String>) {
    let include_help = INCLUDE_HELP;
    let Some(include) = &raw.include else {
        ctx.error(
            span,
            format!("{label}: includes nothing: `include` is missing"),
            Some(include_help.to_string()),
        );
        *ok = false;
        return (Vec::new(), Vec::new());
    };

    // Distinct, in config order; sets beside the lists keep this linear in
    // the number of sources (a config may hold tens of thousands).
    let mut known_ids: HashSet<&str> = HashSet::new();
    let ids: Vec<&str> = sources
        .iter()
        .filter_map(|s| s.id.as_deref())
        .filter(|id| known_ids.insert(id))
        .collect();
    let mut known_tags: HashSet<&str> = HashSet::new();
    let tags: Vec<&str> = sources
        .iter()
        .flat_map(|s| &s.tags)
        .map(String::as_str)
        .filter(|tag| known_tags.insert(tag))
        .collect();

    let mut all = false;
    let mut wanted_tags: HashSet<&str> = HashSet::new();
    let mut wanted_ids: HashSet<&str> = HashSet::new();
    let mut entry_errors = false;
    for entry in include.get_ref() {
        let text = entry.get_ref().as_str();
        if text == "*" {
            all = true;
        } else if let Some(tag) = text.strip_prefix("tag:") {
            if known_tags.contains(tag) {
                wanted_tags.insert(tag);
            } else {
                let help = if tags.is_empty() {
                    "no source has tags; add tags = [\"NAME\"] to a [[source]]".to_string()
                } else {
                    match nearest(tag, tags.iter().copied()) {
                        Some(near) => format!(
                            "did you mean \"tag:{near}\"? the tags are {}",
                            list_names(tags.iter().copied())
                        ),
                        None => format!("the tags are {}", list_names(tags.iter().copied())),
                    }
                };
                ctx.error(
                    entry.span(),
                    format!("{label}: include `{text}`: no source has tag `{tag}`"),
                    Some(help),
                );
                entry_errors = true;
            }
        } else if known_ids.contains(text) {
            wanted_ids.insert(text);
        } else {
            let help = if ids.is_empty() {
                "there are no sources; add a [[source]] first".to_string()
            } else {
                match nearest(text, ids.iter().copied()) {
                    Some(near) => format!(
                        "did you mean \"{near}\"? the source ids are {}",
                        list_names(ids.iter().copied())
                    ),
                    None => format!(
                        "the source ids are {}; or {include_help}",
                        list_names(ids.iter().copied())
                    ),
                }
            };
            ctx.error(
                entry.span(),
                format!("{label}: include `{text}` is not a source id"),
                Some(help),
            );
            entry_errors = true;
        }
    }

    let mut resolved: Vec<String> = Vec::new();
    let mut taken: HashSet<&str> = HashSet::new();
    for source in sources {
        let Some(id) = source.id.as_deref() else {
            continue;
        };
        let matched = all
            || wanted_ids.contains(id)
            || source.tags.iter().any(|t| wanted_tags.contains(t.as_str()));
        if matched && taken.insert(id) {
            resolved.push(id.to_string());
        }
    }

    if entry_errors {
        *ok = false;
    } else if resolved.is_empty() {
        let problem = if include.get_ref().is_empty() {
            "`include` is empty"
        } else {
            "it matches no source"
        };
        ctx.error(
            include.span(),
            format!("{label}: includes nothing: {problem}"),
            Some(include_help.to_string()),
        );
        *ok = false;
    }

    let written = include
        .get_ref()
        .iter()
        .map(|e| e.get_ref().clone())
        .collect();
    (written, resolved)
}
