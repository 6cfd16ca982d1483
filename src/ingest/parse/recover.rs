//! Recovery of broken XML, before any reader sees the text: one pass that
//! fixes what real feeds get wrong and says what it fixed (each fix is a
//! warning starting with [`NOT_WELL_FORMED`], feedparser's "bozo"):
//!
//! * junk before the root element (text, a stray BOM, HTTP headers) is cut;
//! * undeclared HTML named entities (`&eacute;`) become the characters;
//! * a bare `&` (not starting an entity) becomes `&amp;`;
//! * characters XML forbids (C0 controls, U+FFFE/U+FFFF) and character
//!   references to them are removed;
//! * a truncated document is cut after its last complete item/entry and the
//!   open elements are closed, so the items before the break are kept.
//!
//! CDATA sections and comments are copied as they are (apart from forbidden
//! characters). A document without problems comes back borrowed, unchanged.

use super::{Warning, WarningKind};
use std::borrow::Cow;

/// The start of every recovery warning.
pub(crate) const NOT_WELL_FORMED: &str = "not well-formed XML";

/// The start of the truncation warning.
pub(crate) const TRUNCATED: &str = "not well-formed XML: document truncated";

/// What the repair did.
pub(crate) struct Repaired<'a> {
    pub text: Cow<'a, str>,
    pub warnings: Vec<Warning>,
    /// The document broke off before its first complete item: nothing
    /// worth keeping (an empty feed would look like a valid, empty one).
    pub truncated_before_items: bool,
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')
}

/// Counts of each kind of fix, for the warnings.
#[derive(Default)]
struct Fixes {
    junk: bool,
    entities: usize,
    first_entity: Option<String>,
    bare_amp: usize,
    bad_chars: usize,
    bad_refs: usize,
    mismatched: usize,
    misplaced_declarations: usize,
    truncated: Option<usize>,
}

/// Repairs `text` (see the module doc).
pub(crate) fn repair(text: &str) -> Repaired<'_> {
    let mut fixes = Fixes::default();
    let bytes = text.as_bytes();

    // Junk before the root: everything before the first `<` that starts
    // markup (`<?`, `<!`, or a name).
    let start = bytes
        .windows(2)
        .position(|w| matches!(w, [b'<', n] if matches!(n, b'?' | b'!') || n.is_ascii_alphabetic()))
        .unwrap_or(0);
    if text[..start]
        .chars()
        .any(|c| !c.is_whitespace() && c != '\u{feff}')
    {
        fixes.junk = true;
    }
    let body = &text[start..];

    let mut out = String::with_capacity(body.len() + 16);
    // Open elements, and snapshots after each complete item/entry:
    // (output length, open elements then).
    let mut stack: Vec<&str> = Vec::new();
    let mut last_item_end: Option<(usize, Vec<&str>, usize)> = None;
    let mut items_closed = 0usize;
    let mut root_closed = false;
    let mut i = 0;
    let b = body.as_bytes();
    while let Some(&c) = b.get(i) {
        if c == b'<' {
            // Markup: comments, CDATA, PIs, doctype copied; tags tracked.
            let rest = &body[i..];
            let (end_marker, keep_whole) = if rest.starts_with("<!--") {
                ("-->", true)
            } else if rest.starts_with("<![CDATA[") {
                ("]]>", true)
            } else if rest.starts_with("<?") {
                ("?>", true)
            } else if rest.starts_with("<!") {
                (">", true)
            } else {
                (">", false)
            };
            let Some(rel_end) = find_tag_end(rest, end_marker, keep_whole) else {
                // Unterminated markup at the end: a truncated document.
                break;
            };
            let markup = &rest[..rel_end];
            if i > 0 && is_xml_declaration(markup) {
                // An XML declaration anywhere but at the very start (two
                // feeds pasted together, a template bug) is not well-formed
                // and made the XML reader panic when it named an encoding
                // (found by fuzzing): drop it.
                fixes.misplaced_declarations += 1;
            } else if keep_whole {
                push_clean(&mut out, markup, &mut fixes);
            } else {
                if let Some(close) = markup.strip_prefix("</") {
                    close_tag(&mut out, tag_name(close), &mut stack, &mut fixes);
                    if stack.is_empty() {
                        root_closed = true;
                    }
                } else {
                    open_tag(markup, &mut stack);
                    push_tag(&mut out, markup, &mut fixes);
                }
                if let Some(close) = markup.strip_prefix("</") {
                    let name = tag_name(close);
                    let local = name.rsplit(':').next().unwrap_or(name);
                    if matches!(local, "item" | "entry") {
                        items_closed += 1;
                        last_item_end = Some((out.len(), stack.clone(), items_closed));
                    }
                }
            }
            i += rel_end;
            if root_closed {
                // Anything after the root element but comments/whitespace is
                // ignored by readers anyway; copy the rest as is.
                push_clean(&mut out, &body[i..], &mut fixes);
                i = b.len();
            }
            continue;
        }
        if c == b'&' {
            i += push_reference(&mut out, &body[i..], &mut fixes);
            continue;
        }
        // Plain text up to the next markup or reference.
        let next = body[i..].find(['<', '&']).map_or(body.len(), |n| i + n);
        push_clean(&mut out, &body[i..next], &mut fixes);
        i = next;
    }

    let mut truncated_before_items = false;
    if !stack.is_empty() && !root_closed {
        // Truncated: keep what ends with the last complete item, close the rest.
        let (cut, open) = match last_item_end {
            Some((len, open, n)) => {
                fixes.truncated = Some(n);
                (len, open)
            }
            None => {
                fixes.truncated = Some(0);
                // Only the root left open (`</rss` without its `>`): the
                // document is complete but for that; otherwise it broke off
                // inside the feed before any item was complete.
                truncated_before_items = stack.len() > 1;
                (out.len(), stack.clone())
            }
        };
        out.truncate(cut);
        for name in open.iter().rev() {
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }

    let warnings = warnings(&fixes);
    if warnings.is_empty() && start == 0 && out == text {
        return Repaired {
            text: Cow::Borrowed(text),
            warnings,
            truncated_before_items,
        };
    }
    Repaired {
        text: Cow::Owned(out),
        warnings,
        truncated_before_items,
    }
}

/// `<?xml ...?>` (the declaration), not another processing instruction
/// such as `<?xml-stylesheet ...?>`.
fn is_xml_declaration(markup: &str) -> bool {
    markup
        .strip_prefix("<?xml")
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| c.is_whitespace() || c == '?')
}

fn warnings(f: &Fixes) -> Vec<Warning> {
    let mut w = Vec::new();
    let mut push = |kind, text: String| w.push(Warning::new(kind, text));
    if f.junk {
        push(
            WarningKind::NotWellFormed,
            format!("{NOT_WELL_FORMED}: text before the root element removed"),
        );
    }
    if f.entities > 0 {
        push(
            WarningKind::NotWellFormed,
            entities_warning(f.entities, f.first_entity.as_deref().unwrap_or("")),
        );
    }
    if f.bare_amp > 0 {
        push(
            WarningKind::NotWellFormed,
            format!("{NOT_WELL_FORMED}: {} bare `&` escaped", f.bare_amp),
        );
    }
    if f.bad_chars > 0 {
        push(
            WarningKind::NotWellFormed,
            format!(
                "{NOT_WELL_FORMED}: {} character{} XML forbids removed",
                f.bad_chars,
                if f.bad_chars == 1 { "" } else { "s" }
            ),
        );
    }
    if f.bad_refs > 0 {
        push(
            WarningKind::NotWellFormed,
            format!(
                "{NOT_WELL_FORMED}: {} character reference{} with `&#X` repaired",
                f.bad_refs,
                if f.bad_refs == 1 { "" } else { "s" }
            ),
        );
    }
    if f.mismatched > 0 {
        push(
            WarningKind::NotWellFormed,
            format!(
                "{NOT_WELL_FORMED}: {} mismatched end tag{} repaired",
                f.mismatched,
                if f.mismatched == 1 { "" } else { "s" }
            ),
        );
    }
    if f.misplaced_declarations > 0 {
        push(
            WarningKind::NotWellFormed,
            format!(
                "{NOT_WELL_FORMED}: {} XML declaration{} inside the document removed",
                f.misplaced_declarations,
                if f.misplaced_declarations == 1 {
                    ""
                } else {
                    "s"
                }
            ),
        );
    }
    if let Some(n) = f.truncated {
        push(
            WarningKind::Truncated,
            format!(
                "{TRUNCATED} or unclosed; kept {n} complete item{} and closed the open elements",
                if n == 1 { "" } else { "s" }
            ),
        );
    }
    w
}

/// The warning for `count` decoded HTML entities, the first `&first;`.
pub(crate) fn entities_warning(count: usize, first: &str) -> String {
    format!(
        "{NOT_WELL_FORMED}: {count} undeclared HTML entit{} decoded (first `&{first};`)",
        if count == 1 { "y" } else { "ies" },
    )
}

/// The length of the markup starting at `rest[0] == '<'`, through its
/// terminator; quotes are honoured inside tags.
fn find_tag_end(rest: &str, marker: &str, whole: bool) -> Option<usize> {
    if whole {
        if marker == ">" {
            // <!DOCTYPE ... [ ... ]>
            let mut depth = 0i32;
            for (j, ch) in rest.char_indices() {
                match ch {
                    '[' => depth += 1,
                    ']' => depth -= 1,
                    '>' if depth <= 0 => return Some(j + 1),
                    _ => {}
                }
            }
            return None;
        }
        return rest[1..].find(marker).map(|j| 1 + j + marker.len());
    }
    let mut quote: Option<u8> = None;
    for (j, &ch) in rest.as_bytes().iter().enumerate().skip(1) {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(ch),
            (None, b'>') => return Some(j + 1),
            (None, b'<') => return None,
            _ => {}
        }
    }
    None
}

fn tag_name(s: &str) -> &str {
    let end = s.bytes().position(|b| !is_name_char(b)).unwrap_or(s.len());
    &s[..end]
}

fn open_tag<'a>(tag: &'a str, stack: &mut Vec<&'a str>) {
    if !tag.ends_with("/>") {
        let name = tag_name(&tag[1..]);
        if !name.is_empty() {
            stack.push(name);
        }
    }
}

/// Writes the end tag `</name>`, repairing the nesting: elements left open
/// inside it are closed first; an end tag that matches no open element
/// closes the innermost one instead (`<title>..</subtitle>`).
fn close_tag(out: &mut String, name: &str, stack: &mut Vec<&str>, fixes: &mut Fixes) {
    let write = |out: &mut String, n: &str| {
        out.push_str("</");
        out.push_str(n);
        out.push('>');
    };
    if stack.last().is_some_and(|top| *top == name) {
        stack.pop();
        write(out, name);
    } else if let Some(pos) = stack.iter().rposition(|n| *n == name) {
        fixes.mismatched += 1;
        for open in stack.drain(pos..).rev() {
            write(out, open);
        }
    } else if let Some(top) = stack.pop() {
        fixes.mismatched += 1;
        write(out, top);
    } else {
        fixes.mismatched += 1;
    }
}

/// Copies a start or end tag, fixing references and characters in its
/// attribute values.
fn push_tag(out: &mut String, tag: &str, fixes: &mut Fixes) {
    let mut i = 0;
    while i < tag.len() {
        match tag[i..].find('&') {
            Some(n) => {
                push_clean(out, &tag[i..i + n], fixes);
                i += n;
                i += push_reference(out, &tag[i..], fixes);
            }
            None => {
                push_clean(out, &tag[i..], fixes);
                break;
            }
        }
    }
}

/// Copies text, dropping characters XML forbids.
fn push_clean(out: &mut String, text: &str, fixes: &mut Fixes) {
    if !has_forbidden_char(text) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        if is_xml_char(c) {
            out.push(c);
        } else {
            fixes.bad_chars += 1;
        }
    }
}

/// True when `text` holds a character XML forbids: a C0 control other than
/// tab/LF/CR, or U+FFFE/U+FFFF (UTF-8 `EF BF BE`/`EF BF BF`). A byte scan.
pub(crate) fn has_forbidden_char(text: &str) -> bool {
    let b = text.as_bytes();
    if !any_control_or_ef(b) {
        return false;
    }
    b.iter().enumerate().any(|(i, &c)| match c {
        b'\t' | b'\n' | b'\r' => false,
        0..=0x1f => true,
        0xef => b.get(i + 1) == Some(&0xbf) && matches!(b.get(i + 2), Some(0xbe | 0xbf)),
        _ => false,
    })
}

/// True when `bytes` holds a C0 control other than tab/LF/CR, or 0xEF: a
/// cheap, vectorizable prefilter for the exact checks (no early exit inside
/// a chunk, so the compiler can use SIMD).
pub(crate) fn any_control_or_ef(bytes: &[u8]) -> bool {
    bytes.chunks(64).any(|chunk| {
        chunk.iter().fold(false, |found, &c| {
            found | ((c < 0x20) & (c != b'\t') & (c != b'\n') & (c != b'\r')) | (c == 0xef)
        })
    })
}

/// The replacement of the HTML named character reference `&name;` (the
/// HTML5 list, html5ever's table), one or two characters.
fn html_entity(name: &str) -> Option<impl Iterator<Item = char>> {
    let mut key = String::with_capacity(name.len() + 1);
    key.push_str(name);
    key.push(';');
    // The table also holds every prefix of a name, as (0, 0).
    let &(first, second) = markup5ever::data::NAMED_ENTITIES.get(key.as_str())?;
    let first = char::from_u32(first).filter(|_| first != 0)?;
    Some(std::iter::once(first).chain(char::from_u32(second).filter(|_| second != 0)))
}

/// Handles the `&` at `rest[0]`; returns how many bytes it consumed.
fn push_reference(out: &mut String, rest: &str, fixes: &mut Fixes) -> usize {
    let b = rest.as_bytes();
    let body_len = b
        .get(1..)
        .unwrap_or_default()
        .iter()
        .take(40)
        .position(|&c| !(is_name_char(c) || c == b'#'))
        .unwrap_or(b.len().saturating_sub(1).min(40));
    let ends_with_semicolon = b.get(1 + body_len) == Some(&b';');
    let name = &rest[1..1 + body_len];
    if ends_with_semicolon && !name.is_empty() {
        if let Some(num) = name.strip_prefix('#') {
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => num.parse().ok(),
            };
            match code.and_then(char::from_u32) {
                Some(c) if is_xml_char(c) => {
                    if let Some(hex) = num.strip_prefix('X') {
                        // `&#X41;`: XML wants a lower-case x.
                        fixes.bad_refs += 1;
                        out.push_str("&#x");
                        out.push_str(hex);
                        out.push(';');
                    } else {
                        out.push_str(&rest[..body_len + 2]);
                    }
                }
                Some(_) | None => fixes.bad_chars += 1,
            }
            return body_len + 2;
        }
        if matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
            out.push_str(&rest[..body_len + 2]);
            return body_len + 2;
        }
        if let Some(value) = html_entity(name) {
            fixes.entities += 1;
            if fixes.first_entity.is_none() {
                fixes.first_entity = Some(name.to_string());
            }
            for c in value {
                match c {
                    '<' => out.push_str("&lt;"),
                    '&' => out.push_str("&amp;"),
                    c => out.push(c),
                }
            }
            return body_len + 2;
        }
        // An unknown name: may be declared in a DOCTYPE; keep it.
        if name.bytes().all(is_name_char) && !name.is_empty() {
            out.push_str(&rest[..body_len + 2]);
            return body_len + 2;
        }
    }
    fixes.bare_amp += 1;
    out.push_str("&amp;");
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_document_is_borrowed_without_warnings() {
        let doc = "<rss><channel><title>a &amp; b &#233;</title></channel></rss>";
        let r = repair(doc);
        assert!(matches!(r.text, Cow::Borrowed(_)));
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn fixes_entities_bare_amp_and_bad_chars() {
        let doc = "<rss><channel><title>caf&eacute; & bar\u{1}&#2;</title>\
                   <link>http://x/?a=1&b=2</link></channel></rss>";
        let r = repair(doc);
        assert_eq!(
            r.text,
            "<rss><channel><title>caf\u{e9} &amp; bar</title>\
             <link>http://x/?a=1&amp;b=2</link></channel></rss>"
        );
        assert_eq!(r.warnings.len(), 3, "{:?}", r.warnings);
        assert!(r.warnings.iter().all(|w| w.starts_with(NOT_WELL_FORMED)));
    }

    #[test]
    fn upper_case_hex_references_are_repaired() {
        let r = repair("<a>&#X41;</a>");
        assert_eq!(r.text, "<a>&#x41;</a>");
        assert!(r.warnings[0].contains("&#X"), "{:?}", r.warnings);
    }

    #[test]
    fn cdata_and_comments_are_left_alone() {
        let doc = "<a><!-- & --><b><![CDATA[x & y &eacute;]]></b></a>";
        let r = repair(doc);
        assert_eq!(r.text, doc);
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn truncated_document_keeps_complete_items() {
        let doc = "<rss><channel><title>t</title><item><title>1</title></item>\
                   <item><title>2</title></item><item><title>thr";
        let r = repair(doc);
        assert_eq!(
            r.text,
            "<rss><channel><title>t</title><item><title>1</title></item>\
             <item><title>2</title></item></channel></rss>"
        );
        assert!(
            r.warnings[0].contains("kept 2 complete items"),
            "{:?}",
            r.warnings
        );
        assert!(r.warnings[0].starts_with(TRUNCATED));
        assert!(!r.truncated_before_items);
        assert!(repair("<rss><channel><title>t</ti").truncated_before_items);
        // Only the root's end tag is cut: complete but for that.
        let r = repair("<rss><channel><title>t</title></channel></rss");
        assert!(!r.truncated_before_items);
        assert_eq!(r.text, "<rss><channel><title>t</title></channel></rss>");
    }

    #[test]
    fn mismatched_end_tags_are_repaired() {
        let doc = "<feed><title>T</subtitle><entry><summary><p>a<br></p></summary></entry></feed>";
        let r = repair(doc);
        assert_eq!(
            r.text,
            "<feed><title>T</title><entry><summary><p>a<br></br></p></summary></entry></feed>"
        );
        assert!(
            r.warnings[0].contains("2 mismatched end tags"),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn junk_before_root_is_removed() {
        let r = repair("garbage\n<?xml version=\"1.0\"?><feed/>");
        assert_eq!(r.text, "<?xml version=\"1.0\"?><feed/>");
        assert!(r.warnings[0].contains("before the root"));
    }
}
