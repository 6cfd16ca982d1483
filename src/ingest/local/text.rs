//! A plain-text article: the title from its first line, paragraphs, lists
//! and headlines found by layout.

use super::*;

/// Whitespace for the blank-line test: Unicode `White_Space` (which includes
/// U+00A0) plus the invisible zero-width space and BOM.
pub(super) fn is_blank_char(c: char) -> bool {
    c.is_whitespace() || c == '\u{200B}' || c == '\u{FEFF}'
}

pub(super) fn is_blank(line: &str) -> bool {
    line.chars().all(is_blank_char)
}

/// The item text of a bullet line (`•`, `-` or `*` followed by whitespace,
/// after optional leading whitespace), or None.
pub(super) fn bullet_item(line: &str) -> Option<&str> {
    let t = line.trim_start_matches(is_blank_char);
    let rest = t
        .strip_prefix('•')
        .or_else(|| t.strip_prefix('-'))
        .or_else(|| t.strip_prefix('*'))?;
    if rest.starts_with(is_blank_char) {
        Some(rest.trim_matches(is_blank_char))
    } else {
        None
    }
}

/// One short line that reads like a headline: at most 100 characters, not
/// ending in `.`, `,`, `:` or `;` (looking through closing quotes and
/// brackets, so `“Done.”` is a sentence but `Why?` is a headline).
pub(super) fn is_headline(line: &str) -> bool {
    if line.chars().count() > 100 {
        return false;
    }
    let core = line.trim_end_matches(['"', '\'', '”', '’', '»', '›', ')', ']', '}']);
    match core.chars().next_back() {
        None => false,
        Some(last) => !matches!(last, '.' | ',' | ':' | ';'),
    }
}

pub(super) fn parse_text(rel_path: &str, text: &str) -> Article {
    let mut lines = text.split('\n');
    let title = lines
        .by_ref()
        .find(|line| !is_blank(line))
        .map(|line| line.trim_matches(is_blank_char).to_string());

    let mut html = String::new();
    let mut block: Vec<&str> = Vec::new();
    for line in lines.chain(std::iter::once("")) {
        if !is_blank(line) {
            block.push(line.trim_matches(is_blank_char));
            continue;
        }
        if block.is_empty() {
            continue;
        }
        render_text_block(&mut html, &block);
        block.clear();
    }

    let entry = Entry {
        upstream_id: Some(rel_path.to_string()),
        title: title.or_else(|| Some(file_stem(rel_path).to_string())),
        content_html: Some(html),
        slug: Some(default_slug(rel_path)),
        ..Entry::default()
    };
    Article {
        entry,
        draft: false,
        draft_reason: None,
        publish_at: None,
        expires: None,
        warnings: Vec::new(),
        references: Vec::new(),
        enclosure: None,
    }
}

/// Renders one block of non-blank, trimmed lines.
pub(super) fn render_text_block(html: &mut String, block: &[&str]) {
    let items: Option<Vec<&str>> = block.iter().map(|line| bullet_item(line)).collect();
    if let Some(items) = items {
        html.push_str("<ul>\n");
        for item in items {
            let _ = writeln!(html, "<li>{}</li>", escape_html(item));
        }
        html.push_str("</ul>\n");
    } else if let [line] = block
        && is_headline(line)
    {
        let _ = writeln!(html, "<h2>{}</h2>", escape_html(line));
    } else {
        let escaped: Vec<String> = block.iter().map(|line| escape_html(line)).collect();
        let _ = writeln!(html, "<p>{}</p>", escaped.join("<br>\n"));
    }
}
