//! Rules that filter and rewrite items: a [`Rule`] is an optional match
//! (a regex per field, all of which must match) and an [`Action`] (keep,
//! drop, replace). `[[source.rule]]` tables shape a source's entries before
//! they are stored; `[[feed.rule]]` tables choose and rewrite a feed's
//! items when it is rendered, so a reload changes the served feed at once.
//! A feed's `include_keywords` / `exclude_keywords` are shorthands: the
//! config turns them into a `keep` / `drop` rule on the `text` field.
//!
//! Rules run in order over one entry and stop at the first that drops it.
//! - `keep`: the entry goes on only when the match matches.
//! - `drop`: the entry is dropped when the match matches.
//! - `replace`: in a matching entry, every match of `pattern` in `field`
//!   is replaced by `with` (`$1` names a group); a rewritten summary or
//!   content is sanitized again, as fetched HTML is.
//! - `remove`: in a matching entry, the elements the CSS selectors name
//!   are cut out of the summary and the content (with what they hold),
//!   which are then sanitized again. The selectors are `scraper`'s; this
//!   module is the only user of that crate.
//!
//! What a field matches against: `title`, `link` as written; `author` and
//! `category` match when any of them does; `summary` and `content` their
//! text without markup (an entry with one body, such as an RSS
//! `description` alone, has it as its content); `text` the title, summary
//! and content together.
//! This module knows nothing of the config's syntax: `config` builds the
//! rules (checking every regex, with the place of each error) and names
//! each by its place in the file.

use regex::Regex;

use crate::model::Entry;

/// One rule, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Where the rule is written (`feeds.toml:12:1`), for messages.
    pub at: String,
    /// Every condition must match; none matches every entry.
    pub when: Vec<Condition>,
    pub action: Action,
}

/// One field's regex in a rule's match.
#[derive(Clone, Debug)]
pub struct Condition {
    pub field: Field,
    pub pattern: Regex,
}

/// Rules compare as written (a reload tells a changed rule by it).
impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.field == other.field && self.pattern.as_str() == other.pattern.as_str()
    }
}

impl Eq for Condition {}

/// The fields a rule matches and rewrites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Title,
    Summary,
    Content,
    Author,
    Link,
    Category,
    Text,
}

impl Field {
    /// The fields a match may name, as written in the config.
    pub const MATCHED: [(&'static str, Field); 7] = [
        ("title", Field::Title),
        ("summary", Field::Summary),
        ("content", Field::Content),
        ("author", Field::Author),
        ("link", Field::Link),
        ("category", Field::Category),
        ("text", Field::Text),
    ];

    /// The fields a `replace` may rewrite (one value each).
    pub const REWRITTEN: [(&'static str, Field); 4] = [
        ("title", Field::Title),
        ("summary", Field::Summary),
        ("content", Field::Content),
        ("link", Field::Link),
    ];
}

/// What a rule does to an entry its match matches.
#[derive(Clone, Debug)]
pub enum Action {
    /// Only matching entries go on.
    Keep,
    /// Matching entries are dropped.
    Drop,
    /// Every match of `pattern` in `field` becomes `with`.
    Replace {
        field: Field,
        pattern: Regex,
        with: String,
    },
    /// The elements these selectors name leave the summary and content.
    Remove(Selectors),
}

/// A list of CSS selectors (`div.ad, .newsletter-signup`), as written and
/// parsed.
#[derive(Clone, Debug)]
pub struct Selectors {
    written: String,
    parsed: scraper::Selector,
}

impl Selectors {
    /// Parses a selector list; `Err` says what is wrong with it.
    pub fn parse(written: &str) -> Result<Selectors, String> {
        let parsed = scraper::Selector::parse(written).map_err(|err| err.to_string())?;
        Ok(Selectors {
            written: written.to_string(),
            parsed,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.written
    }

    /// The elements of the page `html` the selectors name, in document
    /// order (one nested in another picked once, with it); `None` when none.
    pub fn pick(&self, html: &str) -> Option<String> {
        let doc = scraper::Html::parse_document(html);
        let found: Vec<_> = doc.select(&self.parsed).collect();
        let mut out = String::new();
        for element in &found {
            let inside_another = element
                .ancestors()
                .any(|a| found.iter().any(|f| f.id() == a.id()));
            if !inside_another {
                out.push_str(&element.html());
            }
        }
        (!found.is_empty()).then_some(out)
    }

    /// `html` without the elements the selectors name; `None` when none.
    fn cut(&self, html: &str) -> Option<String> {
        let mut doc = scraper::Html::parse_fragment(html);
        let found: Vec<_> = doc.select(&self.parsed).map(|e| e.id()).collect();
        if found.is_empty() {
            return None;
        }
        for id in found {
            if let Some(mut node) = doc.tree.get_mut(id) {
                node.detach();
            }
        }
        Some(doc.root_element().inner_html())
    }
}

impl PartialEq for Selectors {
    fn eq(&self, other: &Self) -> bool {
        self.written == other.written
    }
}

impl Eq for Selectors {}

impl PartialEq for Action {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Action::Keep, Action::Keep) | (Action::Drop, Action::Drop) => true,
            (
                Action::Replace {
                    field,
                    pattern,
                    with,
                },
                Action::Replace {
                    field: f,
                    pattern: p,
                    with: w,
                },
            ) => field == f && pattern.as_str() == p.as_str() && with == w,
            (Action::Remove(a), Action::Remove(b)) => a.written == b.written,
            _ => false,
        }
    }
}

impl Eq for Action {}

/// What the rules made of one entry.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict<'r> {
    /// It goes on (maybe rewritten); the rules that rewrote it, in order.
    Kept(Vec<&'r str>),
    /// The rule (its place) that dropped it.
    Dropped(&'r str),
}

/// Runs `rules` over `entry`, rewriting it in place. `clean` sanitizes a
/// rewritten summary or content (the same sanitizer as fetched HTML).
pub fn apply<'r>(
    rules: &'r [Rule],
    entry: &mut Entry,
    clean: &dyn Fn(&str) -> String,
) -> Verdict<'r> {
    let mut rewrote = Vec::new();
    for rule in rules {
        let matches = rule.when.iter().all(|c| matches(c, entry));
        match &rule.action {
            Action::Keep if !matches => return Verdict::Dropped(&rule.at),
            Action::Drop if matches => return Verdict::Dropped(&rule.at),
            Action::Replace {
                field,
                pattern,
                with,
            } if matches && replace(entry, *field, pattern, with, clean) => {
                rewrote.push(rule.at.as_str());
            }
            Action::Remove(selectors) if matches && remove(entry, selectors, clean) => {
                rewrote.push(rule.at.as_str());
            }
            _ => {}
        }
    }
    Verdict::Kept(rewrote)
}

fn matches(condition: &Condition, entry: &Entry) -> bool {
    let re = &condition.pattern;
    let html_text =
        |html: &Option<String>| html.as_deref().is_some_and(|h| re.is_match(&strip_tags(h)));
    match condition.field {
        Field::Title => entry.title.as_deref().is_some_and(|t| re.is_match(t)),
        Field::Link => entry.link.as_deref().is_some_and(|l| re.is_match(l)),
        Field::Summary => html_text(&entry.summary_html),
        Field::Content => html_text(&entry.content_html),
        Field::Author => entry.authors.iter().any(|a| re.is_match(a)),
        Field::Category => entry.categories.iter().any(|c| re.is_match(c)),
        Field::Text => re.is_match(&text_of(entry)),
    }
}

/// The title, summary and content of an entry as one text, without markup.
pub fn text_of(entry: &Entry) -> String {
    let mut text = entry.title.clone().unwrap_or_default();
    for html in [&entry.summary_html, &entry.content_html]
        .into_iter()
        .flatten()
    {
        text.push('\n');
        text.push_str(&strip_tags(html));
    }
    text
}

/// Rewrites one field; whether it changed.
fn replace(
    entry: &mut Entry,
    field: Field,
    pattern: &Regex,
    with: &str,
    clean: &dyn Fn(&str) -> String,
) -> bool {
    let (value, html) = match field {
        Field::Title => (&mut entry.title, false),
        Field::Link => (&mut entry.link, false),
        Field::Summary => (&mut entry.summary_html, true),
        Field::Content => (&mut entry.content_html, true),
        // Not accepted by the config for a replace.
        Field::Author | Field::Category | Field::Text => return false,
    };
    let Some(old) = value.as_deref() else {
        return false;
    };
    let new = pattern.replace_all(old, with);
    if new == old {
        return false;
    }
    let new = match html {
        true => clean(&new),
        false => new.trim().to_string(),
    };
    *value = (!new.trim().is_empty()).then_some(new);
    true
}

/// Cuts what `selectors` name out of the summary and the content; whether
/// either changed.
fn remove(entry: &mut Entry, selectors: &Selectors, clean: &dyn Fn(&str) -> String) -> bool {
    let mut changed = false;
    for value in [&mut entry.summary_html, &mut entry.content_html] {
        if let Some(cut) = value.as_deref().and_then(|html| selectors.cut(html)) {
            let cut = clean(&cut);
            *value = (!cut.trim().is_empty()).then_some(cut);
            changed = true;
        }
    }
    changed
}

/// The text of some HTML without its tags (entities left as they are).
pub fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(at: &str, when: &[(Field, &str)], action: Action) -> Rule {
        Rule {
            at: at.to_string(),
            when: when
                .iter()
                .map(|(field, re)| Condition {
                    field: *field,
                    pattern: Regex::new(re).unwrap(),
                })
                .collect(),
            action,
        }
    }

    fn entry() -> Entry {
        Entry {
            title: Some("[AD] Rust 2.0 released".into()),
            link: Some("https://example.org/rust?utm_source=feed".into()),
            summary_html: Some("<p>A <b>short</b> note</p>".into()),
            content_html: Some("<p>The whole <em>story</em>. Sponsored.</p>".into()),
            authors: vec!["Ann".into(), "Bob".into()],
            categories: vec!["news".into(), "rust".into()],
            ..Entry::default()
        }
    }

    fn no_clean(html: &str) -> String {
        html.to_string()
    }

    /// Whether `entry` passes `rules` (without keeping what they rewrite).
    fn keeps(rules: &[Rule], entry: &Entry) -> bool {
        let mut copy = entry.clone();
        matches!(apply(rules, &mut copy, &no_clean), Verdict::Kept(_))
    }

    #[test]
    fn each_field_matches_what_it_says() {
        let cases: &[(Field, &str, bool)] = &[
            (Field::Title, "^\\[AD\\]", true),
            (Field::Title, "^Rust", false),
            (Field::Link, "utm_source", true),
            (Field::Summary, "short note", false), // markup leaves a space
            (Field::Summary, "short\\s+note", true),
            (Field::Summary, "<b>", false),
            (Field::Content, "(?i)sponsored", true),
            (Field::Content, "Rust", false),
            (Field::Author, "^Bob$", true),
            (Field::Author, "^Carl$", false),
            (Field::Category, "^rust$", true),
            (Field::Category, "^ru$", false),
            (Field::Text, "released[\\s\\S]*story", true),
            (Field::Text, "nothing", false),
        ];
        for (field, re, expect) in cases {
            let r = [rule("r", &[(*field, re)], Action::Drop)];
            let dropped = !keeps(&r, &entry());
            assert_eq!(dropped, *expect, "{field:?} ~ {re}");
        }
    }

    #[test]
    fn every_field_of_a_match_must_match() {
        let both = [rule(
            "r",
            &[(Field::Title, "Rust"), (Field::Category, "^news$")],
            Action::Drop,
        )];
        assert!(!keeps(&both, &entry()));
        let one_fails = [rule(
            "r",
            &[(Field::Title, "Rust"), (Field::Category, "^sport$")],
            Action::Drop,
        )];
        assert!(keeps(&one_fails, &entry()));
        let mut untitled = entry();
        untitled.title = None;
        let absent = [rule("r", &[(Field::Title, ".*")], Action::Drop)];
        assert!(keeps(&absent, &untitled), "an absent field matches nothing");
    }

    #[test]
    fn keep_drops_what_does_not_match_and_names_the_rule() {
        let rules = [
            rule(
                "feeds.toml:3:1",
                &[(Field::Category, "^rust$")],
                Action::Keep,
            ),
            rule(
                "feeds.toml:7:1",
                &[(Field::Title, "(?i)webinar")],
                Action::Drop,
            ),
        ];
        let mut e = entry();
        assert_eq!(apply(&rules, &mut e, &no_clean), Verdict::Kept(vec![]));
        e.categories = vec!["go".into()];
        assert_eq!(
            apply(&rules, &mut e, &no_clean),
            Verdict::Dropped("feeds.toml:3:1")
        );
        let mut webinar = entry();
        webinar.title = Some("Free Webinar".into());
        assert_eq!(
            apply(&rules, &mut webinar, &no_clean),
            Verdict::Dropped("feeds.toml:7:1")
        );
    }

    #[test]
    fn rules_run_in_order_on_what_earlier_rules_rewrote() {
        let strip_ad = rule(
            "strip",
            &[],
            Action::Replace {
                field: Field::Title,
                pattern: Regex::new("^\\[AD\\] ").unwrap(),
                with: String::new(),
            },
        );
        let drop_ads = rule("drop", &[(Field::Title, "^\\[AD\\]")], Action::Drop);
        // Dropped before the rewrite could save it.
        let rules = [drop_ads.clone(), strip_ad.clone()];
        assert_eq!(
            apply(&rules, &mut entry(), &no_clean),
            Verdict::Dropped("drop")
        );
        // Rewritten first: the drop no longer matches.
        let rules = [strip_ad, drop_ads];
        let mut e = entry();
        assert_eq!(
            apply(&rules, &mut e, &no_clean),
            Verdict::Kept(vec!["strip"])
        );
        assert_eq!(e.title.as_deref(), Some("Rust 2.0 released"));
    }

    #[test]
    fn replace_rewrites_one_field_with_groups_and_cleans_html() {
        let link = [rule(
            "r",
            &[(Field::Link, "^https://example\\.org/")],
            Action::Replace {
                field: Field::Link,
                pattern: Regex::new("\\?utm_[^#]*").unwrap(),
                with: String::new(),
            },
        )];
        let mut e = entry();
        assert_eq!(apply(&link, &mut e, &no_clean), Verdict::Kept(vec!["r"]));
        assert_eq!(e.link.as_deref(), Some("https://example.org/rust"));
        assert_eq!(e.title, entry().title, "other fields untouched");

        let content = [rule(
            "c",
            &[],
            Action::Replace {
                field: Field::Content,
                pattern: Regex::new("<em>(\\w+)</em>").unwrap(),
                with: "<script>x</script><strong>$1</strong>".into(),
            },
        )];
        let clean = |html: &str| html.replace("<script>x</script>", "");
        let mut e = entry();
        apply(&content, &mut e, &clean);
        assert_eq!(
            e.content_html.as_deref(),
            Some("<p>The whole <strong>story</strong>. Sponsored.</p>")
        );

        // No match of the pattern: nothing rewritten, no rule named.
        let none = [rule(
            "n",
            &[],
            Action::Replace {
                field: Field::Title,
                pattern: Regex::new("absent").unwrap(),
                with: "x".into(),
            },
        )];
        assert_eq!(apply(&none, &mut entry(), &no_clean), Verdict::Kept(vec![]));

        // A title rewritten to nothing is no title.
        let empty = [rule(
            "e",
            &[],
            Action::Replace {
                field: Field::Title,
                pattern: Regex::new(".*").unwrap(),
                with: " ".into(),
            },
        )];
        let mut e = entry();
        apply(&empty, &mut e, &no_clean);
        assert_eq!(e.title, None);
    }

    #[test]
    fn a_replace_whose_match_fails_changes_nothing() {
        let r = [rule(
            "r",
            &[(Field::Category, "^sport$")],
            Action::Replace {
                field: Field::Title,
                pattern: Regex::new("Rust").unwrap(),
                with: "Go".into(),
            },
        )];
        let mut e = entry();
        assert_eq!(apply(&r, &mut e, &no_clean), Verdict::Kept(vec![]));
        assert_eq!(e.title, entry().title);
    }

    #[test]
    fn remove_cuts_the_selected_elements_out_of_summary_and_content() {
        let r = [rule(
            "cut",
            &[],
            Action::Remove(Selectors::parse("div.ad, .newsletter-signup, aside").unwrap()),
        )];
        let mut e = entry();
        e.summary_html = Some("<p>Intro</p><aside>Related</aside>".into());
        e.content_html = Some(
            "<p>Story</p><div class=\"ad\"><p>Buy</p></div><p class=\"newsletter-signup\">Join</p><div>Kept</div>"
                .into(),
        );
        assert_eq!(apply(&r, &mut e, &no_clean), Verdict::Kept(vec!["cut"]));
        assert_eq!(e.summary_html.as_deref(), Some("<p>Intro</p>"));
        assert_eq!(
            e.content_html.as_deref(),
            Some("<p>Story</p><div>Kept</div>")
        );

        // Nothing selected: nothing rewritten, no rule named.
        let mut plain = entry();
        assert_eq!(apply(&r, &mut plain, &no_clean), Verdict::Kept(vec![]));
        assert_eq!(plain.content_html, entry().content_html);

        // A body made only of what is cut is no body.
        let mut all_ad = entry();
        all_ad.summary_html = None;
        all_ad.content_html = Some("<div class=\"ad\">Buy</div>".into());
        apply(&r, &mut all_ad, &no_clean);
        assert_eq!(all_ad.content_html, None);
    }

    #[test]
    fn a_bad_selector_says_why() {
        let err = Selectors::parse("div..ad").unwrap_err();
        assert!(!err.is_empty());
        assert!(Selectors::parse("").is_err());
        assert_eq!(Selectors::parse("div.ad").unwrap().as_str(), "div.ad");
    }

    #[test]
    fn tags_are_stripped_for_matching() {
        assert_eq!(strip_tags("<p>a<b>b</b></p>c"), " a b  c");
        assert_eq!(strip_tags("1 > 0"), "1 > 0");
    }
}
