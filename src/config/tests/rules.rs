//! `[[source.rule]]` and `[[feed.rule]]`: what they build, and every way
//! one can be written wrong, reported at its place.

use super::*;
use crate::rules::{Action, Field};

const RULES: &str = r#"[[source]]
id = "news"
url = "https://example.org/feed.xml"

[[source.rule]]
match = { title = "(?i)sponsored|webinar" }
action = "drop"

[[source.rule]]
match = { link = "^https://example\\.org/" }
action = { replace = { field = "title", pattern = "^\\[AD\\] ", with = "" } }

[[feed]]
name = "rust"
title = "Rust"
include = ["*"]
include_keywords = ["rust"]

[[feed.rule]]
match = { category = "^rust$", author = "Ann" }
action = "keep"
"#;

#[test]
fn source_and_feed_rules_are_built_in_order_with_their_places() {
    let config = parse(RULES).unwrap();
    let source = &config.sources[0];
    assert_eq!(source.rules.len(), 2);
    let drop = &source.rules[0];
    assert_eq!(drop.at, "feeds.toml:5:1");
    assert_eq!(drop.action, Action::Drop);
    assert_eq!(drop.when.len(), 1);
    assert_eq!(drop.when[0].field, Field::Title);
    assert_eq!(drop.when[0].pattern.as_str(), "(?i)sponsored|webinar");
    let replace = &source.rules[1];
    assert_eq!(replace.at, "feeds.toml:9:1");
    match &replace.action {
        Action::Replace {
            field,
            pattern,
            with,
        } => {
            assert_eq!(*field, Field::Title);
            assert_eq!(pattern.as_str(), "^\\[AD\\] ");
            assert_eq!(with, "");
        }
        other => panic!("{other:?}"),
    }

    // The keyword list comes first, as the rule it stands for.
    let feed = &config.feeds[0];
    assert_eq!(feed.rules.len(), 2);
    assert_eq!(feed.rules[0].at, "feeds.toml:17:21");
    assert_eq!(feed.rules[0].action, Action::Keep);
    assert_eq!(feed.rules[0].when[0].field, Field::Text);
    assert_eq!(feed.rules[0].when[0].pattern.as_str(), "(?i)rust");
    let keep = &feed.rules[1];
    assert_eq!(keep.at, "feeds.toml:19:1");
    let mut fields: Vec<Field> = keep.when.iter().map(|c| c.field).collect();
    fields.sort_by_key(|f| format!("{f:?}"));
    assert_eq!(fields, vec![Field::Author, Field::Category]);
}

#[test]
fn keywords_are_escaped_not_read_as_regexes() {
    let config = parse(&format!(
        "{TWO_SOURCES}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n\
         exclude_keywords = [\"c++\", \"a.b\"]\n"
    ))
    .unwrap();
    let rules = &config.feeds[0].rules;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].action, Action::Drop);
    assert_eq!(rules[0].when[0].pattern.as_str(), "(?i)c\\+\\+|a\\.b");
}

/// One feed with `rule` appended to it, after two sources.
fn feed_rule(rule: &str) -> String {
    format!(
        "{TWO_SOURCES}[[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n\n[[feed.rule]]\n{rule}"
    )
}

#[test]
fn a_bad_regex_is_reported_at_its_place_with_its_cause() {
    let err = one_error(&feed_rule(
        "match = { title = \"(unclosed\" }\naction = \"drop\"\n",
    ));
    assert_eq!((err.line, err.column), (14, 19));
    assert!(
        err.message
            .starts_with("feed `f`: rule 1: match.title: not a valid regex: "),
        "{}",
        err.message
    );
    assert!(err.message.contains("unclosed group"), "{}", err.message);
    assert!(help(&err).contains("(?i)"), "{}", help(&err));

    let err = one_error(&feed_rule(
        "action = { replace = { field = \"title\", pattern = \"[z-a]\", with = \"\" } }\n",
    ));
    assert_eq!(err.line, 14);
    assert!(
        err.message
            .starts_with("feed `f`: rule 1: replace: pattern: not a valid regex"),
        "{}",
        err.message
    );
}

#[test]
fn remove_takes_css_selectors_and_a_bad_one_is_reported() {
    let config = parse(&feed_rule(
        "action = { remove = \"div.ad, .newsletter-signup\" }\n",
    ))
    .unwrap();
    match &config.feeds[0].rules[0].action {
        Action::Remove(selectors) => assert_eq!(selectors.as_str(), "div.ad, .newsletter-signup"),
        other => panic!("{other:?}"),
    }
    let err = one_error(&feed_rule("action = { remove = \"div..ad\" }\n"));
    assert_eq!(err.line, 14);
    assert!(
        err.message
            .starts_with("feed `f`: rule 1: remove: `div..ad` is not a CSS selector list: "),
        "{}",
        err.message
    );
    assert!(
        help(&err).contains("div.ad, .newsletter-signup"),
        "{}",
        help(&err)
    );
}

#[test]
fn an_unknown_field_gets_the_nearest_name() {
    let err = one_error(&feed_rule(
        "match = { tittle = \"x\" }\naction = \"drop\"\n",
    ));
    assert_eq!((err.line, err.column), (14, 11));
    assert_eq!(
        err.message,
        "feed `f`: rule 1: unknown field `tittle` in match"
    );
    assert!(
        help(&err).starts_with("did you mean `title`?"),
        "{}",
        help(&err)
    );

    let err = one_error(&feed_rule(
        "action = { replace = { field = \"category\", pattern = \"x\", with = \"\" } }\n",
    ));
    assert_eq!(
        err.message,
        "feed `f`: rule 1: replace: unknown field `category` in replace"
    );
    assert!(
        help(&err).contains("title, summary, content, link"),
        "{}",
        help(&err)
    );
}

#[test]
fn bad_actions_are_reported_with_what_to_write() {
    let cases: &[(&str, &str)] = &[
        (
            "match = { title = \"x\" }\n",
            "feed `f`: rule 1: no `action`",
        ),
        (
            "match = { title = \"x\" }\naction = \"delete\"\n",
            "feed `f`: rule 1: unknown action `delete`",
        ),
        (
            "match = { title = \"x\" }\naction = 3\n",
            "feed `f`: rule 1: `action` is a word or a table",
        ),
        (
            "action = { replace = \"x\" }\n",
            "feed `f`: rule 1: `replace` takes a table",
        ),
        (
            "action = { replace = { field = \"title\" } }\n",
            "feed `f`: rule 1: replace: needs `field`, `pattern` and `with`, each a string",
        ),
        (
            "action = { replace = { field = \"title\", pattern = \"x\", with = \"\", by = 1 } }\n",
            "feed `f`: rule 1: replace: unknown key `by`",
        ),
        (
            "action = { remove = 3 }\n",
            "feed `f`: rule 1: `remove` takes a string of CSS selectors",
        ),
        (
            "action = \"drop\"\n",
            "feed `f`: rule 1: a rule without `match` drops every item",
        ),
        (
            "match = {}\naction = \"keep\"\n",
            "feed `f`: rule 1: a rule without `match` keeps every item",
        ),
    ];
    for (rule, message) in cases {
        let err = one_error(&feed_rule(rule));
        assert_eq!(err.message, *message, "{rule}");
        // At the action when the rule has one, else at `[[feed.rule]]`.
        let line = match rule.lines().position(|l| l.starts_with("action")) {
            Some(i) if !message.contains("without `match`") => 14 + i,
            _ => 13,
        };
        assert_eq!(err.line, line, "{rule}");
        assert!(err.help.is_some(), "{rule}");
    }
}

#[test]
fn every_bad_rule_is_reported_and_a_source_rule_names_its_source() {
    let text = format!(
        "{TWO_SOURCES}[[source.rule]]\nmatch = {{ summary = \"(\" }}\naction = \"drop\"\n\
         [[source.rule]]\nmatch = {{ title = \"ok\" }}\naction = \"nope\"\n\
         [[feed]]\nname = \"f\"\ntitle = \"F\"\ninclude = [\"*\"]\n"
    );
    let errs = errors(&text);
    let messages: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages[0].starts_with("source `b`: rule 1: match.summary: not a valid regex"));
    assert_eq!(messages[1], "source `b`: rule 2: unknown action `nope`");
    assert_eq!((errs[0].line, errs[0].column), (9, 21));
    assert_eq!(errs[1].line, 13);
}

#[test]
fn an_unknown_key_in_a_rule_is_reported() {
    let errs = errors(&feed_rule(
        "match = { title = \"x\" }\naction = \"drop\"\nwhen = 1\n",
    ));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].message.contains("unknown field `when`"),
        "{}",
        errs[0].message
    );
}
