//! A Markdown article: front matter, then the body rendered to HTML, the
//! title taken from the first heading when the front matter has none.

use super::*;

pub(super) fn parse_markdown(rel_path: &str, text: &str) -> Result<Article, ArticleError> {
    let (front, body) = split_front_matter(rel_path, text)?;

    let mut entry = Entry {
        upstream_id: Some(rel_path.to_string()),
        ..Entry::default()
    };
    let mut slug = None;
    let mut article = Article {
        entry: Entry::default(),
        draft: false,
        draft_reason: None,
        publish_at: None,
        expires: None,
        warnings: Vec::new(),
        references: Vec::new(),
        enclosure: None,
    };
    if let Some(mut fm) = front {
        entry.title = fm.text(rel_path, Key::Title)?;
        let date = fm.date(rel_path, Key::Date)?;
        let publish_date = fm.date(rel_path, Key::PublishDate)?;
        entry.published = date.or(publish_date);
        article.publish_at = publish_date.or(date);
        entry.updated = fm.date(rel_path, Key::Updated)?;
        entry.authors = fm.list(rel_path, Key::Author)?;
        entry.categories = fm.list(rel_path, Key::Tags)?;
        entry.summary_html = fm
            .text(rel_path, Key::Summary)?
            .map(|s| format!("<p>{}</p>", escape_html(&s)));
        slug = fm.text(rel_path, Key::Slug)?;
        article.expires = fm.date(rel_path, Key::Expires)?;
        article.enclosure = fm.text(rel_path, Key::Enclosure)?;
        // Draft-like keys and `published` (Jekyll), then what is left.
        // In file order (a TOML table comes back sorted by key).
        let mut rest = std::mem::take(&mut fm.values);
        rest.sort_by_cached_key(|(_, name, _)| fm.line_of(name));
        for (key, name, value) in rest {
            let line = fm.line_of(&name);
            match key {
                Key::Draft | Key::Published => {
                    let written = value_text(&value);
                    let truthy = match &value {
                        FmValue::Bool(b) => Some(*b),
                        FmValue::Text(t) | FmValue::Number(t) => {
                            match t.trim().to_ascii_lowercase().as_str() {
                                "true" | "yes" | "y" | "on" | "1" => Some(true),
                                "false" | "no" | "n" | "off" | "0" => Some(false),
                                _ => None,
                            }
                        }
                        // `published: 2024-01-01` is a date: the article's.
                        FmValue::Datetime(_) if key == Key::Published => {
                            let at = fm.date_value(rel_path, &name, value)?;
                            entry.published = entry.published.or(Some(at));
                            article.publish_at = article.publish_at.or(Some(at));
                            continue;
                        }
                        _ => None,
                    };
                    let unpublished = match (key, truthy) {
                        (Key::Published, Some(b)) => !b,
                        (_, Some(b)) => b,
                        // Neither true nor false: kept unpublished, to be safe.
                        (_, None) => true,
                    };
                    if unpublished && !article.draft {
                        article.draft = true;
                        article.draft_reason = Some(format!(
                            "{rel_path}: line {line}: not published: `{name}` is {written}"
                        ));
                    } else if !unpublished && key == Key::Draft && name != "draft" {
                        article.warnings.push(format!(
                            "{rel_path}: line {line}: `{name}` read as `draft` ({written})"
                        ));
                    }
                }
                Key::Unknown => {
                    let hint = nearest_key(&name)
                        .map(|near| format!("; did you mean `{near}`?"))
                        .unwrap_or_default();
                    article.warnings.push(format!(
                        "{rel_path}: line {line}: unknown front matter key `{name}` ignored{hint}"
                    ));
                }
                _ => {}
            }
        }
    }

    let options =
        Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH;
    let mut events: Vec<Event<'_>> = Parser::new_ext(body, options).collect();
    if entry.title.is_none()
        && let Some((title, range)) = first_h1(&events)
    {
        entry.title = Some(title);
        events.drain(range);
    }
    article.references = relative_references(&events);
    let mut html = String::with_capacity(body.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());

    entry.title = entry
        .title
        .or_else(|| Some(file_stem(rel_path).to_string()));
    entry.content_html = Some(html);
    entry.slug = Some(match slug {
        Some(s) => slugify(&s),
        None => default_slug(rel_path),
    });
    article.entry = entry;
    Ok(article)
}

/// The relative image sources and link targets of the body, in order,
/// each once.
fn relative_references(events: &[Event<'_>]) -> Vec<Reference> {
    let mut out: Vec<Reference> = Vec::new();
    for event in events {
        let (url, image) = match event {
            Event::Start(Tag::Image { dest_url, .. }) => (dest_url, true),
            Event::Start(Tag::Link { dest_url, .. }) => (dest_url, false),
            _ => continue,
        };
        if is_relative_path(url) && !out.iter().any(|r| r.url == url.as_ref()) {
            out.push(Reference {
                url: url.to_string(),
                image,
            });
        }
    }
    out
}

/// A reference that names a path relative to the article: no scheme, not
/// `/...`, `//host`, `#fragment` or `?query`.
pub(super) fn is_relative_path(url: &str) -> bool {
    let has_scheme = url
        .split_once(':')
        .is_some_and(|(scheme, _)| !scheme.is_empty() && !scheme.contains('/'));
    !url.is_empty() && !has_scheme && !url.starts_with(['/', '#', '?', '\\'])
}

/// A front matter value as written, for messages.
pub(super) fn value_text(value: &FmValue) -> String {
    match value {
        FmValue::Text(s) => format!("{s:?}"),
        FmValue::Bool(b) => b.to_string(),
        FmValue::Number(s) | FmValue::Datetime(s) => s.clone(),
        other => other.kind().to_string(),
    }
}

/// The plain text of the first level-1 heading with any text, and the range
/// of its events (start to end, inclusive).
pub(super) fn first_h1(events: &[Event<'_>]) -> Option<(String, std::ops::RangeInclusive<usize>)> {
    let mut i = 0;
    while let Some(event) = events.get(i) {
        if let Event::Start(Tag::Heading {
            level: HeadingLevel::H1,
            ..
        }) = event
        {
            let start = i;
            let mut title = String::new();
            while let Some(inner) = events.get(i) {
                match inner {
                    Event::End(TagEnd::Heading(_)) => break,
                    Event::Text(t) | Event::Code(t) => title.push_str(t),
                    Event::SoftBreak | Event::HardBreak => title.push(' '),
                    _ => {}
                }
                i += 1;
            }
            let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
            if !title.is_empty() && i < events.len() {
                return Some((title, start..=i));
            }
        }
        i += 1;
    }
    None
}

pub(super) fn default_slug(rel_path: &str) -> String {
    slugify(&strip_extension(rel_path).replace('/', "-"))
}
