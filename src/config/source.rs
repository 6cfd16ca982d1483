//! The `[[source]]` tables: id, `url` or `path`, schedule, tags and the
//! per-source overrides of `[defaults]`.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::DeValue;

use super::credentials::build_credentials;
use super::defaults::build_source_dedup;
use super::raw::RawSource;
use super::rules::build_rules;
use super::validate::{
    Ctx, NAME_HELP, SCHEDULE_HELP, array_of_tables, check_byte_size, check_http_url,
    check_max_interval, check_min_interval, check_name, check_unique_name, parse_schedule,
    peek_str, peek_str_array, resolve_path, table_label, take_table,
};
use super::{Defaults, FullText, SourceConfig, SourceKind};
use crate::rules::Selectors;

const BOTH_HELP: &str =
    "keep `url` for a feed fetched over HTTP, or `path` for a local folder, not both";

const NEITHER_HELP: &str = "add url = \"https://...\" for a feed fetched over HTTP, \
     or path = \"...\" for a local folder";

/// A `[[source]]` as far as feeds are concerned: its id and tags as written
/// (even when the table has errors, to avoid follow-on errors in feeds),
/// and the built source when it has none.
pub(super) struct SourceEntry {
    pub(super) id: Option<String>,
    pub(super) tags: Vec<String>,
    pub(super) built: Option<SourceConfig>,
}

pub(super) fn build_sources(
    ctx: &mut Ctx<'_>,
    value: Option<Spanned<DeValue<'_>>>,
    defaults: &Defaults,
) -> Vec<SourceEntry> {
    let items = array_of_tables(ctx, value, "source");
    if items.is_empty() {
        let span = ctx.end_of_file();
        ctx.error(
            span,
            "no sources: there is no [[source]] table",
            Some("add a [[source]] with an id and a url (or a path)".to_string()),
        );
    }
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut entries = Vec::new();
    for (index, (span, table)) in items.into_iter().enumerate() {
        let Some(table) = table else { continue };
        let peeked_id = peek_str(&table, "id");
        let peeked_tags = peek_str_array(&table, "tags");
        let label = table_label("source", index, peeked_id.as_deref());
        let built = take_table::<RawSource>(ctx, table, span.clone(), "[[source]]", &label)
            .and_then(|raw| build_source(ctx, raw, span, &label, defaults, &mut first_line));
        entries.push(SourceEntry {
            id: peeked_id,
            tags: peeked_tags,
            built,
        });
    }
    entries
}

fn build_source(
    ctx: &mut Ctx<'_>,
    mut raw: RawSource,
    span: Range<usize>,
    label: &str,
    defaults: &Defaults,
    first_line: &mut HashMap<String, usize>,
) -> Option<SourceConfig> {
    let mut ok = true;

    let id = match &raw.id {
        Some(id) => {
            ok &= check_unique_name(ctx, id, label, "source id", first_line);
            id.get_ref().clone()
        }
        None => {
            ctx.error(
                span.clone(),
                format!("{label}: missing `id`"),
                Some(format!("add id = \"...\" ({NAME_HELP})")),
            );
            ok = false;
            String::new()
        }
    };

    let kind = match (&raw.url, &raw.path) {
        (Some(_), Some(path)) => {
            ctx.error(
                path.span(),
                format!("{label}: both `url` and `path` are set"),
                Some(BOTH_HELP.to_string()),
            );
            None
        }
        (None, None) => {
            ctx.error(
                span,
                format!("{label}: neither `url` nor `path` is set"),
                Some(NEITHER_HELP.to_string()),
            );
            None
        }
        (Some(url), None) => match check_http_url(url.get_ref()) {
            Ok(parsed) => Some(SourceKind::Remote { url: parsed }),
            Err((problem, help)) => {
                ctx.error(url.span(), format!("{label}: url {problem}"), Some(help));
                None
            }
        },
        (None, Some(path)) => check_source_path(ctx, path, label),
    };
    ok &= kind.is_some();

    let title = match &raw.title {
        Some(title) if title.get_ref().trim().is_empty() => {
            ctx.error(
                title.span(),
                format!("{label}: title is empty"),
                Some("write a title, or remove the key to use the source's own".to_string()),
            );
            ok = false;
            None
        }
        Some(title) => Some(title.get_ref().trim().to_string()),
        None => None,
    };

    let refresh = match &raw.refresh {
        Some(refresh) => match parse_schedule(refresh.get_ref()) {
            Ok(schedule) => schedule,
            Err(problem) => {
                ctx.error(
                    refresh.span(),
                    format!("{label}: refresh {problem}"),
                    Some(SCHEDULE_HELP.to_string()),
                );
                ok = false;
                defaults.refresh.clone()
            }
        },
        None => defaults.refresh.clone(),
    };

    let min_interval = match &raw.min_interval {
        Some(value) => check_min_interval(ctx, value, label).unwrap_or_else(|| {
            ok = false;
            defaults.min_interval
        }),
        None => defaults.min_interval,
    };

    let max_interval = match &raw.max_interval {
        Some(value) => check_max_interval(ctx, value, min_interval, label).unwrap_or_else(|| {
            ok = false;
            defaults.max_interval
        }),
        None => defaults.max_interval.max(min_interval),
    };

    let mut tags: Vec<String> = Vec::new();
    for tag in raw.tags.iter().flatten() {
        if let Err(help) = check_name(tag.get_ref()) {
            ctx.error(
                tag.span(),
                format!("{label}: invalid tag `{}`", tag.get_ref()),
                Some(help),
            );
            ok = false;
        } else if !tags.contains(tag.get_ref()) {
            tags.push(tag.get_ref().clone());
        }
    }

    let dedup = build_source_dedup(
        ctx,
        label,
        &defaults.dedup,
        raw.max_items,
        raw.max_age,
        raw.near_duplicates,
        raw.near_duplicate_threshold,
    );
    ok &= dedup.is_some();

    let allow_internal = match (&raw.allow_internal, &kind) {
        (Some(allow), Some(SourceKind::Local { .. })) => {
            ctx.error(
                allow.span(),
                format!("{label}: allow_internal applies to `url` sources, not to a `path`"),
                Some("remove the key: a local folder is not fetched over the network".to_string()),
            );
            ok = false;
            false
        }
        (Some(allow), _) => *allow.get_ref(),
        (None, _) => defaults.allow_internal,
    };

    let max_article_bytes = match (&raw.max_article_bytes, &kind) {
        (Some(size), Some(SourceKind::Remote { .. })) => {
            ctx.error(
                size.span(),
                format!("{label}: max_article_bytes applies to `path` sources, not to a `url`"),
                Some("use max_body_bytes in [defaults] for fetched feeds".to_string()),
            );
            ok = false;
            defaults.max_article_bytes
        }
        (Some(size), _) => check_byte_size(ctx, size, &format!("{label}: max_article_bytes"))
            .unwrap_or_else(|| {
                ok = false;
                defaults.max_article_bytes
            }),
        (None, _) => defaults.max_article_bytes,
    };

    let rules = build_rules(ctx, raw.rule.take(), label);
    if let (Some(SourceKind::Local { .. }), Some(span)) = (
        &kind,
        [
            raw.headers.as_ref().map(|h| h.span()),
            raw.basic_auth.as_ref().map(|a| a.span()),
            raw.user_agent.as_ref().map(|u| u.span()),
        ]
        .into_iter()
        .flatten()
        .next(),
    ) {
        ctx.error(
            span,
            format!("{label}: headers, basic_auth and user_agent apply to `url` sources, not to a `path`"),
            Some("remove them from this source".to_string()),
        );
        ok = false;
    }
    let credentials = build_credentials(
        ctx,
        raw.headers.take(),
        raw.basic_auth.take(),
        raw.user_agent.take(),
        label,
    );
    let full_text = build_full_text(
        ctx,
        raw.full_text.take(),
        raw.full_text_selector.take(),
        kind.as_ref(),
        label,
    );
    let websub = match (&raw.websub, &kind) {
        (Some(on), Some(SourceKind::Local { .. })) => {
            ctx.error(
                on.span(),
                format!("{label}: websub applies to `url` sources, not to a `path`"),
                Some("remove the key: a local folder is read when it changes".to_string()),
            );
            ok = false;
            false
        }
        (Some(on), _) => *on.get_ref(),
        (None, _) => true,
    };
    let (kind, rules, credentials, full_text) = (kind?, rules?, credentials?, full_text?);
    ok.then_some(SourceConfig {
        id,
        kind,
        title,
        refresh,
        min_interval,
        max_interval,
        tags,
        dedup: dedup.unwrap_or_default(),
        allow_internal,
        max_article_bytes,
        rules,
        credentials,
        full_text,
        websub,
    })
}

/// `full_text` and `full_text_selector`: `Some(None)` when off, `None`
/// when written wrong (reported).
fn build_full_text(
    ctx: &mut Ctx<'_>,
    on: Option<Spanned<bool>>,
    selector: Option<Spanned<String>>,
    kind: Option<&SourceKind>,
    label: &str,
) -> Option<Option<FullText>> {
    let Some(span) = [
        on.as_ref().map(|f| f.span()),
        selector.as_ref().map(|s| s.span()),
    ]
    .into_iter()
    .flatten()
    .next() else {
        return Some(None);
    };
    if let Some(SourceKind::Local { .. }) = kind {
        ctx.error(
            span,
            format!("{label}: full_text applies to `url` sources, not to a `path`"),
            Some(
                "remove full_text and full_text_selector: an article file is already whole"
                    .to_string(),
            ),
        );
        return None;
    }
    match (on.map(|on| *on.get_ref()), &selector) {
        (Some(false), Some(selector)) => {
            ctx.error(
                selector.span(),
                format!("{label}: full_text_selector is set but full_text = false"),
                Some("remove full_text_selector, or set full_text = true".to_string()),
            );
            None
        }
        (_, Some(selector)) => match Selectors::parse(selector.get_ref()) {
            Ok(parsed) => Some(Some(FullText::Selector(parsed))),
            Err(why) => {
                ctx.error(
                    selector.span(),
                    format!(
                        "{label}: full_text_selector: `{}` is not a CSS selector list: {why}",
                        selector.get_ref()
                    ),
                    Some(
                        "write the selectors of the article's body, such as \"article .body\""
                            .to_string(),
                    ),
                );
                None
            }
        },
        (Some(true), None) => Some(Some(FullText::Readability)),
        (_, None) => Some(None),
    }
}

fn check_source_path(ctx: &mut Ctx<'_>, path: &Spanned<String>, label: &str) -> Option<SourceKind> {
    if path.get_ref().trim().is_empty() {
        ctx.error(
            path.span(),
            format!("{label}: path is empty"),
            Some("write the folder to read, such as \"notes\"".to_string()),
        );
        return None;
    }
    let resolved = resolve_path(&ctx.base, path.get_ref());
    let help = Some(format!(
        "relative paths are resolved against the config file's folder `{}`; \
         create the folder or fix the path",
        ctx.base.display()
    ));
    match std::fs::metadata(&resolved) {
        Ok(meta) if meta.is_dir() => Some(SourceKind::Local { path: resolved }),
        Ok(_) => {
            ctx.error(
                path.span(),
                format!("{label}: path `{}` is not a directory", resolved.display()),
                help,
            );
            None
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            ctx.error(
                path.span(),
                format!("{label}: path `{}` does not exist", resolved.display()),
                help,
            );
            None
        }
        Err(err) => {
            ctx.error(
                path.span(),
                format!("{label}: cannot read path `{}`: {err}", resolved.display()),
                help,
            );
            None
        }
    }
}
