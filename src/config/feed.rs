//! The `[[feed]]` tables: name, title, limit, publish schedule and the
//! presentation and filtering options (the podcast keys are in `podcast`,
//! `include` in `include`).

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use toml::Spanned;
use toml::de::DeValue;
use url::Url;

use super::include::resolve_include;
use super::podcast;
use super::raw::RawFeed;
use super::rules::{build_rules, keyword_rule};
use super::source::SourceEntry;
use super::validate::{
    Ctx, NAME_HELP, SCHEDULE_HELP, array_of_tables, check_http_url, check_limit, check_unique_name,
    parse_schedule, peek_str, table_label, take_table,
};
use super::{Defaults, FEED_FORMATS, FeedConfig};
use crate::rules::{Action, Rule};

pub(super) fn build_feeds(
    ctx: &mut Ctx<'_>,
    value: Option<Spanned<DeValue<'_>>>,
    defaults: &Defaults,
    sources: &[SourceEntry],
) -> Vec<FeedConfig> {
    let items = array_of_tables(ctx, value, "feed");
    if items.is_empty() {
        let span = ctx.end_of_file();
        ctx.error(
            span,
            "nothing to publish: there is no [[feed]] table",
            Some("add a [[feed]] with a name, a title and include = [\"*\"]".to_string()),
        );
    }
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut feeds = Vec::new();
    for (index, (span, table)) in items.into_iter().enumerate() {
        let Some(table) = table else { continue };
        let label = table_label("feed", index, peek_str(&table, "name").as_deref());
        if let Some(feed) = take_table::<RawFeed>(ctx, table, span.clone(), "[[feed]]", &label)
            .and_then(|raw| build_feed(ctx, raw, span, &label, defaults, sources, &mut first_line))
        {
            feeds.push(feed);
        }
    }
    feeds
}

fn build_feed(
    ctx: &mut Ctx<'_>,
    mut raw: RawFeed,
    span: Range<usize>,
    label: &str,
    defaults: &Defaults,
    sources: &[SourceEntry],
    first_line: &mut HashMap<String, usize>,
) -> Option<FeedConfig> {
    let mut ok = true;

    let name = match &raw.name {
        Some(name) => {
            ok &= check_unique_name(ctx, name, label, "feed name", first_line);
            name.get_ref().clone()
        }
        None => {
            ctx.error(
                span.clone(),
                format!("{label}: missing `name`"),
                Some(format!(
                    "add name = \"...\"; the feed is served at /feeds/{{name}}.rss ({NAME_HELP})"
                )),
            );
            ok = false;
            String::new()
        }
    };

    let title = match &raw.title {
        Some(title) if title.get_ref().trim().is_empty() => {
            ctx.error(
                title.span(),
                format!("{label}: title is empty"),
                Some("write the feed's title".to_string()),
            );
            ok = false;
            String::new()
        }
        Some(title) => title.get_ref().trim().to_string(),
        None => {
            ctx.error(
                span.clone(),
                format!("{label}: missing `title`"),
                Some("add title = \"...\"".to_string()),
            );
            ok = false;
            String::new()
        }
    };

    let description = match &raw.description {
        Some(d) if d.get_ref().trim().is_empty() => {
            ctx.error(
                d.span(),
                format!("{label}: description is empty"),
                Some("write a description, or remove the key to use the title".to_string()),
            );
            ok = false;
            String::new()
        }
        Some(d) => d.get_ref().trim().to_string(),
        None => title.clone(),
    };

    let limit = match &raw.limit {
        Some(limit) => check_limit(ctx, limit, &format!("{label}: limit")).unwrap_or_else(|| {
            ok = false;
            defaults.feed_limit
        }),
        None => defaults.feed_limit,
    };

    let refresh = match &raw.refresh {
        Some(refresh) => match parse_schedule(refresh.get_ref()) {
            Ok(schedule) => Some(schedule),
            Err(problem) => {
                ctx.error(
                    refresh.span(),
                    format!("{label}: refresh {problem}"),
                    Some(format!(
                        "{SCHEDULE_HELP}, or remove the key to publish every change at once"
                    )),
                );
                ok = false;
                None
            }
        },
        None => None,
    };

    let podcast = podcast::build(ctx, &raw, span.clone(), label, &mut ok);
    let (include, resolved) = resolve_include(ctx, &raw, span.clone(), label, sources, &mut ok);
    let options = build_feed_options(ctx, &raw, span, label, sources, &resolved, &mut ok);
    let mut rules: Vec<Rule> = [
        (
            &raw.include_keywords,
            &options.include_keywords,
            Action::Keep,
        ),
        (
            &raw.exclude_keywords,
            &options.exclude_keywords,
            Action::Drop,
        ),
    ]
    .into_iter()
    .filter_map(|(written, words, action)| {
        let at = ctx.place(&written.as_ref()?.first()?.span());
        keyword_rule(words, at, action)
    })
    .collect();
    match build_rules(ctx, raw.rule.take(), label) {
        Some(own) => rules.extend(own),
        None => ok = false,
    }

    ok.then_some(FeedConfig {
        name,
        title,
        description,
        include,
        sources: resolved
            .into_iter()
            .filter(|id| !options.excluded.contains(id))
            .collect(),
        limit,
        link: options.link,
        language: options.language,
        author: options.author,
        image: options.image,
        icon: options.icon,
        exclude: options.exclude,
        include_keywords: options.include_keywords,
        exclude_keywords: options.exclude_keywords,
        rules,
        formats: options.formats,
        hubs: options.hubs,
        webhooks: options.webhooks,
        webhook_secret: options.webhook_secret,
        unset: options.unset,
        archive: raw.archive.unwrap_or(true),
        refresh,
        podcast,
    })
}

/// The optional presentation and filtering keys of a `[[feed]]`, checked.
#[derive(Default)]
struct FeedOptions {
    link: Option<Url>,
    language: Option<String>,
    author: Option<String>,
    image: Option<Url>,
    icon: Option<Url>,
    exclude: Vec<String>,
    excluded: HashSet<String>,
    include_keywords: Vec<String>,
    exclude_keywords: Vec<String>,
    formats: Vec<String>,
    hubs: Vec<Url>,
    webhooks: Vec<Url>,
    webhook_secret: Option<super::Secret>,
    unset: Vec<String>,
}

/// Checks a language tag: 2-3 letters, then `-` separated subtags of 1-8
/// letters or digits.
fn check_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn build_feed_options(
    ctx: &mut Ctx<'_>,
    raw: &RawFeed,
    span: Range<usize>,
    label: &str,
    sources: &[SourceEntry],
    included: &[String],
    ok: &mut bool,
) -> FeedOptions {
    let mut out = FeedOptions::default();
    let mut url_option = |ctx: &mut Ctx<'_>, value: &Option<Spanned<String>>, key: &str| {
        let value = value.as_ref()?;
        match check_http_url(value.get_ref()) {
            Ok(url) => Some(url),
            Err((problem, help)) => {
                ctx.error(
                    value.span(),
                    format!("{label}: {key} {problem}"),
                    Some(help),
                );
                *ok = false;
                None
            }
        }
    };
    out.link = url_option(ctx, &raw.link, "link");
    out.image = url_option(ctx, &raw.image, "image");
    out.icon = url_option(ctx, &raw.icon, "icon");

    if let Some(language) = &raw.language {
        let tag = language.get_ref().trim();
        if check_language(tag) {
            out.language = Some(tag.to_string());
        } else {
            ctx.error(
                language.span(),
                format!("{label}: language `{tag}` is not a language tag"),
                Some("write a language tag such as \"en\", \"fr\" or \"pt-BR\"".to_string()),
            );
            *ok = false;
        }
    }

    if let Some(author) = &raw.author {
        if author.get_ref().trim().is_empty() {
            ctx.error(
                author.span(),
                format!("{label}: author is empty"),
                Some("write the author's name, or remove the key".to_string()),
            );
            *ok = false;
        } else {
            out.author = Some(author.get_ref().trim().to_string());
        }
    }

    if let Some(exclude) = &raw.exclude {
        for entry in exclude.get_ref() {
            let text = entry.get_ref().as_str();
            let matched: Vec<&str> = sources
                .iter()
                .filter(|s| match text.strip_prefix("tag:") {
                    Some(tag) => s.tags.iter().any(|t| t == tag),
                    None => s.id.as_deref() == Some(text),
                })
                .filter_map(|s| s.id.as_deref())
                .collect();
            if matched.is_empty() {
                ctx.error(
                    entry.span(),
                    format!("{label}: exclude `{text}` matches no source"),
                    Some("write source ids or \"tag:NAME\" of sources that exist".to_string()),
                );
                *ok = false;
            }
            out.excluded.extend(matched.into_iter().map(str::to_string));
            out.exclude.push(text.to_string());
        }
        if *ok && !included.is_empty() && included.iter().all(|id| out.excluded.contains(id)) {
            ctx.error(
                exclude.span(),
                format!("{label}: includes nothing: `exclude` removes every included source"),
                Some("exclude fewer sources, or include more".to_string()),
            );
            *ok = false;
        }
    }

    let mut keywords = |ctx: &mut Ctx<'_>, list: &Option<Vec<Spanned<String>>>, key: &str| {
        let mut words = Vec::new();
        for word in list.iter().flatten() {
            let w = word.get_ref().trim();
            if w.is_empty() {
                ctx.error(
                    word.span(),
                    format!("{label}: {key} has an empty keyword"),
                    Some(
                        "remove the empty string; keywords match title or content, ignoring case"
                            .to_string(),
                    ),
                );
                *ok = false;
            } else if !words.iter().any(|x: &String| x == w) {
                words.push(w.to_string());
            }
        }
        words
    };
    out.include_keywords = keywords(ctx, &raw.include_keywords, "include_keywords");
    out.exclude_keywords = keywords(ctx, &raw.exclude_keywords, "exclude_keywords");

    out.formats = match &raw.formats {
        None => FEED_FORMATS.iter().map(|f| f.to_string()).collect(),
        Some(formats) => {
            let mut bad = false;
            for f in formats.get_ref() {
                if !FEED_FORMATS.contains(&f.get_ref().as_str()) {
                    ctx.error(
                        f.span(),
                        format!("{label}: unknown format `{}`", f.get_ref()),
                        Some("the formats are \"rss\", \"atom\" and \"json\"".to_string()),
                    );
                    bad = true;
                }
            }
            let list: Vec<String> = FEED_FORMATS
                .iter()
                .filter(|known| formats.get_ref().iter().any(|f| f.get_ref() == *known))
                .map(|f| f.to_string())
                .collect();
            if list.is_empty() && !bad {
                ctx.error(
                    formats.span(),
                    format!("{label}: formats is empty"),
                    Some("offer at least one of \"rss\", \"atom\", \"json\", or remove the key for all three".to_string()),
                );
                bad = true;
            }
            *ok &= !bad;
            list
        }
    };

    if let Some(hub) = &raw.hub {
        for url in &hub.get_ref().0 {
            let at = hub.span();
            match check_http_url(url) {
                Ok(parsed) => {
                    if !out.hubs.contains(&parsed) {
                        out.hubs.push(parsed);
                    }
                }
                Err((problem, help)) => {
                    ctx.error(at, format!("{label}: hub {problem}"), Some(help));
                    *ok = false;
                }
            }
        }
    }
    if let Some(hooks) = &raw.webhook {
        for url in &hooks.get_ref().0 {
            match check_http_url(url) {
                Ok(parsed) => {
                    if !out.webhooks.contains(&parsed) {
                        out.webhooks.push(parsed);
                    }
                }
                Err((problem, help)) => {
                    ctx.error(
                        hooks.span(),
                        format!("{label}: webhook {problem}"),
                        Some(help),
                    );
                    *ok = false;
                }
            }
        }
    }
    if let Some(secret) = &raw.webhook_secret {
        if raw.webhook.is_none() {
            ctx.error(
                secret.span(),
                format!("{label}: webhook_secret without a webhook"),
                Some("add webhook = \"https://...\", or remove webhook_secret".to_string()),
            );
            *ok = false;
        }
        let key = format!("{label}: webhook_secret");
        match super::credentials::build_secret(ctx, secret, &key, &mut out.unset) {
            Some(s) if s.expose().is_empty() && out.unset.is_empty() => {
                ctx.error(
                    secret.span(),
                    format!("{label}: webhook_secret is empty"),
                    Some("write a long random value, or read one with \"${VAR}\"".to_string()),
                );
                *ok = false;
            }
            Some(s) => out.webhook_secret = Some(s),
            None => *ok = false,
        }
    }
    let _ = span;
    out
}
