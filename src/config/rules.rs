//! `[[source.rule]]` and `[[feed.rule]]` tables checked and built into
//! [`rules::Rule`]s (see `crate::rules` for what they do), and a feed's
//! keyword lists as the rules they stand for.

use std::ops::Range;

use regex::Regex;
use toml::Spanned;

use super::raw::RawRule;
use super::suggest::nearest;
use super::validate::Ctx;
use crate::rules::{Action, Condition, Field, Rule, Selectors};

/// What a rule's `action` may be, for messages.
const ACTION_HELP: &str = "write action = \"keep\", action = \"drop\", \
     action = { replace = { field = \"title\", pattern = \"^\\\\[AD\\\\] \", with = \"\" } } \
     or action = { remove = \"div.ad, .newsletter-signup\" }";

/// Longest compiled regex accepted (the `regex` crate's default is 10 MiB
/// per regex; a rule runs on every item, so it is kept far smaller).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Checks and builds the rules of one `[[source]]` or `[[feed]]`
/// (`label` names it in messages); `None` when any is wrong, after
/// reporting every error.
pub(super) fn build_rules(
    ctx: &mut Ctx<'_>,
    raw: Option<Vec<Spanned<RawRule>>>,
    label: &str,
) -> Option<Vec<Rule>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (i, raw) in raw.into_iter().flatten().enumerate() {
        let span = raw.span();
        let label = format!("{label}: rule {}", i + 1);
        match build_rule(ctx, raw.into_inner(), span, &label) {
            Some(rule) => out.push(rule),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn build_rule(ctx: &mut Ctx<'_>, raw: RawRule, span: Range<usize>, label: &str) -> Option<Rule> {
    let mut ok = true;
    let mut when = Vec::new();
    for (field, pattern) in raw.matches.iter().flatten() {
        let Some(f) = field_named(ctx, field, &Field::MATCHED, label, "match") else {
            ok = false;
            continue;
        };
        match compile(ctx, pattern, &format!("{label}: match.{}", field.get_ref())) {
            Some(pattern) => when.push(Condition { field: f, pattern }),
            None => ok = false,
        }
    }
    let action = match raw.action {
        None => {
            ctx.error(
                span.clone(),
                format!("{label}: no `action`"),
                Some(ACTION_HELP.to_string()),
            );
            None
        }
        Some(action) => build_action(ctx, &action, label),
    };
    let action = action?;
    if raw.matches.as_ref().is_none_or(|m| m.is_empty())
        && matches!(action, Action::Keep | Action::Drop)
    {
        let what = if matches!(action, Action::Keep) {
            "keeps"
        } else {
            "drops"
        };
        ctx.error(
            span.clone(),
            format!("{label}: a rule without `match` {what} every item"),
            Some("add a match, such as match = { title = \"(?i)sponsored\" }".to_string()),
        );
        ok = false;
    }
    ok.then(|| Rule {
        at: ctx.place(&span),
        when,
        action,
    })
}

fn build_action(ctx: &mut Ctx<'_>, action: &Spanned<toml::Value>, label: &str) -> Option<Action> {
    let span = action.span();
    let bad = |ctx: &mut Ctx<'_>, message: String| {
        ctx.error(span.clone(), message, Some(ACTION_HELP.to_string()));
        None
    };
    match action.get_ref() {
        toml::Value::String(word) if word == "keep" => Some(Action::Keep),
        toml::Value::String(word) if word == "drop" => Some(Action::Drop),
        toml::Value::String(word) => bad(ctx, format!("{label}: unknown action `{word}`")),
        toml::Value::Table(table) => {
            let Some((name, value)) = table.iter().next().filter(|_| table.len() == 1) else {
                return bad(ctx, format!("{label}: an action table has one key"));
            };
            match (name.as_str(), value) {
                ("replace", toml::Value::Table(replace)) => {
                    build_replace(ctx, replace, span, label)
                }
                ("remove", toml::Value::String(written)) => match Selectors::parse(written) {
                    Ok(selectors) => Some(Action::Remove(selectors)),
                    Err(why) => {
                        ctx.error(
                            span.clone(),
                            format!("{label}: remove: `{written}` is not a CSS selector list: {why}"),
                            Some(
                                "write selectors separated by commas, such as \"div.ad, .newsletter-signup\""
                                    .to_string(),
                            ),
                        );
                        None
                    }
                },
                ("remove", _) => bad(
                    ctx,
                    format!("{label}: `remove` takes a string of CSS selectors"),
                ),
                ("replace", _) => bad(ctx, format!("{label}: `replace` takes a table")),
                (other, _) => bad(ctx, format!("{label}: unknown action `{other}`")),
            }
        }
        _ => bad(ctx, format!("{label}: `action` is a word or a table")),
    }
}

fn build_replace(
    ctx: &mut Ctx<'_>,
    table: &toml::Table,
    span: Range<usize>,
    label: &str,
) -> Option<Action> {
    let label = format!("{label}: replace");
    let text = |key: &str| table.get(key).and_then(toml::Value::as_str);
    if let Some(unknown) = table
        .keys()
        .find(|k| !["field", "pattern", "with"].contains(&k.as_str()))
    {
        ctx.error(
            span.clone(),
            format!("{label}: unknown key `{unknown}`"),
            Some("the keys of a replace are `field`, `pattern` and `with`".to_string()),
        );
        return None;
    }
    let (Some(field), Some(pattern), Some(with)) = (text("field"), text("pattern"), text("with"))
    else {
        ctx.error(
            span.clone(),
            format!("{label}: needs `field`, `pattern` and `with`, each a string"),
            Some(ACTION_HELP.to_string()),
        );
        return None;
    };
    let field = field_named(
        ctx,
        &Spanned::new(span.clone(), field.to_string()),
        &Field::REWRITTEN,
        &label,
        "replace",
    )?;
    let pattern = compile(
        ctx,
        &Spanned::new(span, pattern.to_string()),
        &format!("{label}: pattern"),
    )?;
    Some(Action::Replace {
        field,
        pattern,
        with: with.to_string(),
    })
}

fn field_named(
    ctx: &mut Ctx<'_>,
    name: &Spanned<String>,
    known: &[(&'static str, Field)],
    label: &str,
    what: &str,
) -> Option<Field> {
    if let Some((_, field)) = known.iter().find(|(n, _)| *n == name.get_ref()) {
        return Some(*field);
    }
    let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
    let list = names.join(", ");
    let help = match nearest(name.get_ref(), names.iter().copied()) {
        Some(near) => format!("did you mean `{near}`? a {what} names one of: {list}"),
        None => format!("a {what} names one of: {list}"),
    };
    ctx.error(
        name.span(),
        format!("{label}: unknown field `{}` in {what}", name.get_ref()),
        Some(help),
    );
    None
}

fn compile(ctx: &mut Ctx<'_>, pattern: &Spanned<String>, label: &str) -> Option<Regex> {
    let built = regex::RegexBuilder::new(pattern.get_ref())
        .size_limit(REGEX_SIZE_LIMIT)
        .build();
    match built {
        Ok(re) => Some(re),
        Err(err) => {
            // The crate's message spans lines (the pattern, a caret, the
            // cause); its last line is the cause.
            let text = err.to_string();
            let cause = text
                .lines()
                .last()
                .unwrap_or(&text)
                .trim()
                .trim_start_matches("error: ");
            ctx.error(
                pattern.span(),
                format!("{label}: not a valid regex: {cause}"),
                Some(
                    "rules use Rust regex syntax (docs.rs/regex); escape a literal `.`, `(`, `[` \
                     or `?` with `\\\\`, and write (?i) in front to ignore case"
                        .to_string(),
                ),
            );
            None
        }
    }
}

/// A feed's `include_keywords` (`keep`) or `exclude_keywords` (`drop`)
/// as the rule they are a shorthand for: its match is the words, any case,
/// anywhere in the item's text (title, summary, content). `None` for no
/// words. They run before the feed's own rules, include first.
pub(super) fn keyword_rule(words: &[String], at: String, action: Action) -> Option<Rule> {
    if words.is_empty() {
        return None;
    }
    let alternatives: Vec<String> = words.iter().map(|w| regex::escape(w)).collect();
    let pattern = Regex::new(&format!("(?i){}", alternatives.join("|"))).ok()?;
    Some(Rule {
        at,
        when: vec![Condition {
            field: Field::Text,
            pattern,
        }],
        action,
    })
}
