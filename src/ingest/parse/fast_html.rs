//! A fast path for [`super::sanitize_html`]: a small HTML tokenizer that
//! accepts only markup it fully understands and then writes exactly what
//! ammonia (html5ever's parse, ammonia's clean, html5ever's serializer,
//! then [`super::sanitize`]'s XML-friendly touches) would write. Anything
//! else makes it give up (`None`) and the caller runs ammonia.
//!
//! What it accepts:
//! * text, with `&`-references it can decode without HTML's legacy rules:
//!   `&name;` of the HTML list, `&#N;`/`&#xN;` of printable characters, and
//!   a `&` that starts no reference at all;
//! * comments (dropped, as ammonia drops them);
//! * start and end tags of a fixed set of elements (those ammonia's policy
//!   allows too), properly nested, with the HTML tree-building cases that
//!   would restructure the document excluded: a block element inside an
//!   open `<p>` or a heading inside a heading, `<li>` outside `<ul>`/`<ol>`,
//!   an `<a>` inside an `<a>`, a newline right after `<pre>`, an end tag
//!   that does not close the current element. Elements still open at the end
//!   are closed (as html5ever does);
//! * attributes with simple names, quoted or plain values, no duplicates.
//!   Those not on the policy's allow-list are dropped, `href`/`src` are
//!   checked and resolved exactly like ammonia does (scheme allow-list,
//!   relative URLs joined to the base); `style` values are cleaned by
//!   ammonia itself (on a one-element snippet, cached); a relative URL that
//!   cannot be joined makes it give up;
//! * `<script>`, `<style>`, `<title>` and `<textarea>` that the policy drops
//!   with their content, up to their plain end tag (a `<!--` inside a
//!   script, whose escaped states it does not follow, makes it give up).
//!
//! [`text`] is the same tokenizer for [`super::html_to_text`]: the text
//! ammonia's tag stripper leaves, for markup whose text HTML keeps in place.
//!
//! `tests::fast_path_*`, `tests::text_fast_path_matches_ammonia`, the
//! corpus test `shared_sanitizer_fast_path_matches_ammonia_on_corpus`,
//! `tests/fuzz_smoke.rs` and the fuzz target `sanitize_diff` check that
//! the output equals ammonia's whenever a fast path accepts.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use ammonia::Builder;
use url::Url;

use super::{entities, plain_url};

/// How an element takes part in HTML tree building.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Inline elements: inserted where they are, no implied end tags.
    Inline,
    /// Void inline elements (no content, no end tag).
    VoidInline,
    /// Elements whose start tag closes an open `<p>`.
    Block,
    /// `<hr>`: void and closes an open `<p>`.
    VoidBlock,
    Heading,
    Pre,
    List,
    ListItem,
    Anchor,
    Table,
    /// `tbody`, `thead`, `tfoot`.
    TableSection,
    TableRow,
    /// `td`, `th`.
    TableCell,
}

impl Kind {
    /// Elements in which text other than whitespace, and most elements,
    /// would be moved out (HTML's "foster parenting").
    fn is_table_context(self) -> bool {
        matches!(self, Kind::Table | Kind::TableSection | Kind::TableRow)
    }
}

/// The elements the fast path knows (a subset of what the policy allows;
/// see [`Policy::new`]).
const ELEMENTS: &[(&str, Kind)] = &[
    ("a", Kind::Anchor),
    ("abbr", Kind::Inline),
    ("acronym", Kind::Inline),
    ("b", Kind::Inline),
    ("big", Kind::Inline),
    ("cite", Kind::Inline),
    ("code", Kind::Inline),
    ("del", Kind::Inline),
    ("dfn", Kind::Inline),
    ("em", Kind::Inline),
    ("font", Kind::Inline),
    ("i", Kind::Inline),
    ("ins", Kind::Inline),
    ("kbd", Kind::Inline),
    ("mark", Kind::Inline),
    ("q", Kind::Inline),
    ("s", Kind::Inline),
    ("samp", Kind::Inline),
    ("small", Kind::Inline),
    ("span", Kind::Inline),
    ("strike", Kind::Inline),
    ("strong", Kind::Inline),
    ("sub", Kind::Inline),
    ("sup", Kind::Inline),
    ("time", Kind::Inline),
    ("tt", Kind::Inline),
    ("u", Kind::Inline),
    ("var", Kind::Inline),
    ("br", Kind::VoidInline),
    ("img", Kind::VoidInline),
    ("wbr", Kind::VoidInline),
    ("hr", Kind::VoidBlock),
    ("address", Kind::Block),
    ("article", Kind::Block),
    ("aside", Kind::Block),
    ("blockquote", Kind::Block),
    ("center", Kind::Block),
    ("div", Kind::Block),
    ("figcaption", Kind::Block),
    ("figure", Kind::Block),
    ("footer", Kind::Block),
    ("header", Kind::Block),
    ("nav", Kind::Block),
    ("p", Kind::Block),
    ("section", Kind::Block),
    ("h1", Kind::Heading),
    ("h2", Kind::Heading),
    ("h3", Kind::Heading),
    ("h4", Kind::Heading),
    ("h5", Kind::Heading),
    ("h6", Kind::Heading),
    ("pre", Kind::Pre),
    ("ol", Kind::List),
    ("ul", Kind::List),
    ("li", Kind::ListItem),
    ("table", Kind::Table),
    ("tbody", Kind::TableSection),
    ("thead", Kind::TableSection),
    ("tfoot", Kind::TableSection),
    ("tr", Kind::TableRow),
    ("td", Kind::TableCell),
    ("th", Kind::TableCell),
];

/// The HTML entity names that are also recognised without a `;` (the
/// "legacy" ones): after `&`, a run of letters starting with one of these
/// is read differently by HTML, so the fast path gives up on it.
const LEGACY_ENTITIES: [&str; 106] = [
    "AElig", "AMP", "Aacute", "Acirc", "Agrave", "Aring", "Atilde", "Auml", "COPY", "Ccedil",
    "ETH", "Eacute", "Ecirc", "Egrave", "Euml", "GT", "Iacute", "Icirc", "Igrave", "Iuml", "LT",
    "Ntilde", "Oacute", "Ocirc", "Ograve", "Oslash", "Otilde", "Ouml", "QUOT", "REG", "THORN",
    "Uacute", "Ucirc", "Ugrave", "Uuml", "Yacute", "aacute", "acirc", "acute", "aelig", "agrave",
    "amp", "aring", "atilde", "auml", "brvbar", "ccedil", "cedil", "cent", "copy", "curren", "deg",
    "divide", "eacute", "ecirc", "egrave", "eth", "euml", "frac12", "frac14", "frac34", "gt",
    "iacute", "icirc", "iexcl", "igrave", "iquest", "iuml", "laquo", "lt", "macr", "micro",
    "middot", "nbsp", "not", "ntilde", "oacute", "ocirc", "ograve", "ordf", "ordm", "oslash",
    "otilde", "ouml", "para", "plusmn", "pound", "quot", "raquo", "reg", "sect", "shy", "sup1",
    "sup2", "sup3", "szlig", "thorn", "times", "uacute", "ucirc", "ugrave", "uml", "uuml",
    "yacute", "yen", "yuml",
];

/// What the fast path needs to know of the ammonia policy, read from the
/// builder itself so that the two cannot drift apart.
pub(crate) struct Policy {
    /// Known elements the builder allows.
    elements: HashMap<&'static str, Kind, Fnv>,
    /// Elements read as raw text that the builder drops with their content
    /// ([`RAW_TEXT`] among its `clean_content_tags`).
    dropped: HashSet<&'static str, Fnv>,
    generic_attributes: HashSet<&'static str, Fnv>,
    generic_attribute_prefixes: Vec<&'static str>,
    tag_attributes: HashMap<&'static str, HashSet<&'static str, Fnv>, Fnv>,
    url_schemes: HashSet<&'static str, Fnv>,
    link_rel: Option<String>,
    /// A `style` value (decoded) -> what ammonia writes for it (escaped),
    /// `None` to give up.
    style: fn(&str) -> Option<String>,
}

/// FNV-1a: the policy's keys are short tag and attribute names, looked up
/// for every tag of every fragment, where SipHash's setup dominated.
#[derive(Default)]
struct FnvHasher(u64);

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

type Fnv = BuildHasherDefault<FnvHasher>;

impl Policy {
    /// The policy of `builder`, or `None` when it uses features the fast path
    /// does not reproduce (then every input goes to ammonia).
    pub(crate) fn new(
        builder: &Builder<'static>,
        style: fn(&str) -> Option<String>,
    ) -> Option<Policy> {
        let tags = builder.clone_tags();
        let clean_content = builder.clone_clean_content_tags();
        if !builder.clone_tag_attribute_values().is_empty()
            || !builder.clone_set_tag_attribute_values().is_empty()
            || !builder.clone_allowed_classes().is_empty()
            || builder.is_url_relative_deny()
            || builder.is_url_relative_custom()
            || builder.is_url_relative_rewrite_with_root()
        {
            return None;
        }
        let elements = ELEMENTS
            .iter()
            .filter(|(name, _)| tags.contains(name) && !clean_content.contains(name))
            .map(|(name, kind)| (*name, *kind))
            .collect();
        Some(Policy {
            elements,
            dropped: dropped(builder),
            generic_attributes: builder.clone_generic_attributes().into_iter().collect(),
            generic_attribute_prefixes: builder
                .clone_generic_attribute_prefixes()
                .map(|p| p.into_iter().collect())
                .unwrap_or_default(),
            tag_attributes: builder
                .clone_tag_attributes()
                .into_iter()
                .map(|(tag, attrs)| (tag, attrs.into_iter().collect()))
                .collect(),
            url_schemes: builder.clone_url_schemes().into_iter().collect(),
            link_rel: builder.get_link_rel().map(str::to_string),
            style,
        })
    }

    /// The policy of a tag stripper (a builder that allows no tags, such as
    /// `Builder::empty()`), for [`text`]: every known element is stripped
    /// and its text kept, but those it drops with their content.
    pub(crate) fn stripper(builder: &Builder<'static>) -> Policy {
        let clean_content = builder.clone_clean_content_tags();
        Policy {
            elements: ELEMENTS
                .iter()
                .filter(|(name, _)| !clean_content.contains(name))
                .map(|(name, kind)| (*name, *kind))
                .collect(),
            dropped: dropped(builder),
            generic_attributes: HashSet::default(),
            generic_attribute_prefixes: Vec::new(),
            tag_attributes: HashMap::default(),
            url_schemes: HashSet::default(),
            link_rel: None,
            style: |_| None,
        }
    }

    fn allows_attribute(&self, element: &str, attribute: &str) -> bool {
        self.generic_attributes.contains(attribute)
            || self
                .generic_attribute_prefixes
                .iter()
                .any(|p| attribute.starts_with(p))
            || self
                .tag_attributes
                .get(element)
                .is_some_and(|a| a.contains(attribute))
    }
}

/// Elements whose content HTML reads as plain text up to their end tag
/// (script data, raw text, escapable raw text).
const RAW_TEXT: [&str; 4] = ["script", "style", "textarea", "title"];

/// The [`RAW_TEXT`] elements `builder` drops with their content.
fn dropped(builder: &Builder<'static>) -> HashSet<&'static str, Fnv> {
    let clean_content = builder.clone_clean_content_tags();
    RAW_TEXT
        .into_iter()
        .filter(|name| clean_content.contains(name))
        .collect()
}

/// Skips a dropped raw-text element: from its start tag `tag` to the end of
/// its end tag, which HTML finds as the first `</name` (any case) followed
/// by a space, `/` or `>`. `None` when that is not plain: a self-closing
/// start tag (HTML ignores the slash), no end tag, an end tag with more
/// than spaces before its `>`, `<!--` inside a script (whose escaped
/// states the fast path does not follow), or U+FEFF right after one.
fn skip_dropped(html: &str, tag: &StartTag) -> Option<usize> {
    if tag.self_closing {
        return None;
    }
    let name = tag.name.as_bytes();
    let content = html.get(tag.end..)?;
    let b = content.as_bytes();
    let mut from = 0;
    loop {
        let at = from + memchr::memmem::find(b.get(from..)?, b"</")?;
        let after = b.get(at + 2..).unwrap_or_default();
        let closes = after
            .get(..name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
            && matches!(
                after.get(name.len()),
                Some(b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>')
            );
        if closes {
            let (_, end) = parse_end_tag(html, tag.end + at)?;
            if name == b"script"
                && (content.get(..at)?.contains("<!--") || html.get(end..)?.starts_with('\u{feff}'))
            {
                // html5ever also drops a byte-order mark right after a
                // script (its tokenizer resumes there as at the start).
                return None;
            }
            return Some(end);
        }
        from = at + 2;
    }
}

/// The open elements, innermost last, with counts of those that matter for
/// tree building.
#[derive(Default)]
struct Open {
    stack: Vec<(&'static str, Kind)>,
    p: usize,
    headings: usize,
    anchors: usize,
}

impl Open {
    fn top(&self) -> Option<&'static str> {
        self.stack.last().map(|(n, _)| *n)
    }

    fn top_kind(&self) -> Option<Kind> {
        self.stack.last().map(|(_, k)| *k)
    }

    /// Inside a table but not in a cell: only whitespace text, comments
    /// and table parts are read as written.
    fn in_table_context(&self) -> bool {
        self.top_kind().is_some_and(Kind::is_table_context)
    }

    fn push(&mut self, name: &'static str, kind: Kind) {
        match kind {
            Kind::Heading => self.headings += 1,
            Kind::Anchor => self.anchors += 1,
            _ if name == "p" => self.p += 1,
            _ => {}
        }
        self.stack.push((name, kind));
    }

    /// Closes the innermost element, writing its end tag.
    fn close(&mut self, out: &mut String) {
        let Some((name, kind)) = self.stack.pop() else {
            return;
        };
        match kind {
            Kind::Heading => self.headings -= 1,
            Kind::Anchor => self.anchors -= 1,
            _ if name == "p" => self.p -= 1,
            _ => {}
        }
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
}

/// Sanitizes `html` (already cleaned of XML-invalid characters) like
/// ammonia would, or returns `None` when the input is beyond the fast path.
pub(crate) fn clean(html: &str, base: Option<&Url>, policy: &Policy) -> Option<String> {
    // HTML's tokenizer drops a byte-order mark at the very start.
    let html = html.strip_prefix('\u{feff}').unwrap_or(html);
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    let mut open = Open::default();
    let b = html.as_bytes();
    let mut i = 0;
    while i < html.len() {
        let (token, next) = token(html, i)?;
        i = next;
        match token {
            Token::Start(tag) => {
                if policy.dropped.contains(&*tag.name) {
                    // In a table, HTML may move it out first.
                    if open.in_table_context() {
                        return None;
                    }
                    i = skip_dropped(html, &tag)?;
                    continue;
                }
                let (&name, &kind) = policy.elements.get_key_value(&*tag.name)?;
                let void = matches!(kind, Kind::VoidInline | Kind::VoidBlock);
                if tag.self_closing && !void {
                    return None;
                }
                // Table parts only where they belong (a row directly in
                // a table gets the `<tbody>` HTML implies); nothing else
                // directly inside a table.
                if kind == Kind::TableCell && open.top_kind() == Some(Kind::TableCell) {
                    // A cell closes the cell it is in.
                    open.close(&mut out);
                }
                let top = open.top_kind();
                match kind {
                    Kind::Table if open.p > 0 || open.in_table_context() => return None,
                    Kind::TableSection if top != Some(Kind::Table) => return None,
                    Kind::TableRow => match top {
                        Some(Kind::TableSection) => {}
                        Some(Kind::Table) => {
                            out.push_str("<tbody>");
                            open.push("tbody", Kind::TableSection);
                        }
                        _ => return None,
                    },
                    Kind::TableCell if top != Some(Kind::TableRow) => return None,
                    Kind::TableSection | Kind::TableCell => {}
                    _ if open.in_table_context() => return None,
                    _ => {}
                }
                // Tree-building cases: an `<li>` closes the `<li>` it is
                // in; a block closes the `<p>` it is in. Only when that
                // element is the innermost one; otherwise HTML
                // restructures more than the fast path follows.
                if kind == Kind::ListItem && open.top() == Some("li") {
                    open.close(&mut out);
                }
                let closes_p = !matches!(
                    kind,
                    Kind::Inline
                        | Kind::VoidInline
                        | Kind::Anchor
                        | Kind::Table
                        | Kind::TableSection
                        | Kind::TableRow
                        | Kind::TableCell
                );
                if closes_p && open.p > 0 {
                    if open.top() != Some("p") {
                        return None;
                    }
                    open.close(&mut out);
                }
                match kind {
                    Kind::Heading if open.headings > 0 => return None,
                    Kind::ListItem if !matches!(open.top(), Some("ul" | "ol")) => return None,
                    Kind::Anchor if open.anchors > 0 => return None,
                    _ => {}
                }
                write_start_tag(&mut out, name, &tag.attrs, base, policy)?;
                if void {
                    continue;
                }
                if kind == Kind::Pre {
                    // HTML drops a newline right after `<pre>`.
                    if html[i..].starts_with("\r\n") {
                        i += 2;
                    } else if matches!(b.get(i), Some(b'\n' | b'\r')) {
                        i += 1;
                    }
                }
                open.push(name, kind);
            }
            Token::End(name) => {
                let (&name, &kind) = policy.elements.get_key_value(&*name)?;
                if open.in_table_context() && !kind.is_table_context() {
                    return None;
                }
                match kind {
                    // `</br>` is read as `<br>`; other void end tags
                    // are ignored.
                    Kind::VoidInline | Kind::VoidBlock => {
                        if name == "br" {
                            out.push_str("<br />");
                        }
                        continue;
                    }
                    // The end of a block closes the `<p>`/`<li>` left
                    // open inside it (HTML's implied end tags).
                    Kind::Block | Kind::Heading | Kind::Pre | Kind::List | Kind::ListItem => {
                        let inside = open.stack.iter().rposition(|(n, _)| *n == name)?;
                        if open
                            .stack
                            .get(inside + 1..)
                            .unwrap_or_default()
                            .iter()
                            .any(|(n, _)| !matches!(*n, "p" | "li"))
                        {
                            return None;
                        }
                        while open.stack.len() > inside + 1 {
                            open.close(&mut out);
                        }
                    }
                    // The end of a table part closes the parts and the
                    // `<p>`/`<li>` left open inside it.
                    Kind::Table | Kind::TableSection | Kind::TableRow | Kind::TableCell => {
                        let inside = open.stack.iter().rposition(|(n, _)| *n == name)?;
                        let after = open.stack.get(inside + 1..).unwrap_or_default();
                        if after.iter().any(|(n, k)| {
                            !matches!(*n, "p" | "li")
                                && !matches!(
                                    k,
                                    Kind::TableSection | Kind::TableRow | Kind::TableCell
                                )
                        }) {
                            return None;
                        }
                        while open.stack.len() > inside + 1 {
                            open.close(&mut out);
                        }
                    }
                    Kind::Inline | Kind::Anchor => {}
                }
                if open.top() != Some(name) {
                    return None;
                }
                open.close(&mut out);
            }
            Token::Comment => {}
            Token::Lt => {
                if open.in_table_context() {
                    return None;
                }
                out.push_str("&lt;");
            }
            Token::Ref(decoded) => {
                if open.in_table_context() {
                    return None;
                }
                decoded.push_escaped(&mut out, false);
            }
            Token::Text(text) => {
                if open.in_table_context() && !text.bytes().all(is_space) {
                    return None;
                }
                push_text(&mut out, text);
            }
        }
    }
    while !open.stack.is_empty() {
        open.close(&mut out);
    }
    Some(out)
}

/// The text of `html` (already cleaned of XML-invalid characters) as the
/// tag stripper of `policy` ([`Policy::stripper`]) leaves it, references
/// decoded; `None` when the input is beyond this fast path. Tags are
/// dropped and their text kept, so only elements whose text HTML leaves
/// where it is are accepted: the known elements but tables (whose text
/// HTML may move out) and `<pre>` (which drops a newline). Raw-text
/// elements the stripper drops (`<script>`, `<style>`, ...) go with their
/// content.
pub(crate) fn text(html: &str, policy: &Policy) -> Option<String> {
    let html = html.strip_prefix('\u{feff}').unwrap_or(html);
    let keeps_text = |name: &str| {
        policy.elements.get(name).is_some_and(|kind| {
            !kind.is_table_context() && !matches!(kind, Kind::TableCell | Kind::Pre)
        })
    };
    let mut out = String::with_capacity(html.len());
    let mut i = 0;
    while i < html.len() {
        let (token, next) = token(html, i)?;
        i = next;
        match token {
            Token::Start(tag) if policy.dropped.contains(&*tag.name) => {
                i = skip_dropped(html, &tag)?;
            }
            Token::Start(StartTag { name, .. }) | Token::End(name) if keeps_text(&name) => {}
            Token::Start(_) | Token::End(_) => return None,
            Token::Comment => {}
            Token::Lt => out.push('<'),
            Token::Ref(Ref::Text(t)) => out.push_str(t),
            Token::Ref(Ref::Char(c)) => out.push(c),
            Token::Text(text) => out.push_str(text),
        }
    }
    Some(out)
}

/// One piece of the input as the fast paths read it.
enum Token<'h> {
    Start(StartTag<'h>),
    /// An end tag's name, lower case.
    End(Cow<'h, str>),
    /// A comment (dropped).
    Comment,
    /// A `<` that starts no markup (text).
    Lt,
    /// A character reference, decoded.
    Ref(Ref),
    /// Text up to the next `<` or `&`.
    Text(&'h str),
}

/// The token at `html[i..]` (not empty) and the index after it; `None`
/// beyond the fast paths (doctypes, CDATA, processing instructions, tags
/// and references they do not read).
fn token(html: &str, i: usize) -> Option<(Token<'_>, usize)> {
    let b = html.as_bytes();
    Some(match b.get(i)? {
        b'<' => match b.get(i + 1).copied() {
            Some(c) if c.is_ascii_alphabetic() => {
                let tag = parse_start_tag(html, i)?;
                let end = tag.end;
                (Token::Start(tag), end)
            }
            Some(b'/') => {
                let (name, end) = parse_end_tag(html, i)?;
                (Token::End(name), end)
            }
            Some(b'!') => (Token::Comment, skip_comment(html, i)?),
            Some(b'?') => return None,
            _ => (Token::Lt, i + 1),
        },
        b'&' => {
            let (decoded, len) = reference(html.get(i..)?)?;
            (Token::Ref(decoded), i + len)
        }
        _ => {
            let rest = b.get(i..).unwrap_or_default();
            let end = memchr::memchr2(b'<', b'&', rest).map_or(html.len(), |n| i + n);
            (Token::Text(html.get(i..end)?), end)
        }
    })
}

/// A start tag as read, borrowing from the input where it can.
struct StartTag<'h> {
    /// Lower case.
    name: Cow<'h, str>,
    /// (lower-case name, decoded value), in order.
    attrs: Vec<(Cow<'h, str>, Cow<'h, str>)>,
    self_closing: bool,
    /// Index just after the `>`.
    end: usize,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| is_space(c)) {
        i += 1;
    }
    i
}

/// Reads the start tag at `html[at] == '<'`.
fn parse_start_tag(html: &str, at: usize) -> Option<StartTag<'_>> {
    let b = html.as_bytes();
    let mut i = at + 1;
    let name_start = i;
    while b.get(i).is_some_and(u8::is_ascii_alphanumeric) {
        i += 1;
    }
    let name = lowercase(&html[name_start..i]);
    let mut attrs: Vec<(Cow<str>, Cow<str>)> = Vec::new();
    loop {
        let before = i;
        i = skip_spaces(b, i);
        match b.get(i)? {
            b'>' => {
                return Some(StartTag {
                    name,
                    attrs,
                    self_closing: false,
                    end: i + 1,
                });
            }
            b'/' => {
                return (b.get(i + 1) == Some(&b'>')).then(|| StartTag {
                    name,
                    attrs,
                    self_closing: true,
                    end: i + 2,
                });
            }
            c if c.is_ascii_alphabetic() && i > before => {}
            // No space before an attribute, or an odd character.
            _ => return None,
        }
        let attr_start = i;
        while b
            .get(i)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_'))
        {
            i += 1;
        }
        let attr = lowercase(&html[attr_start..i]);
        if !matches!(b.get(i), Some(c) if is_space(*c) || matches!(c, b'=' | b'>' | b'/')) {
            return None;
        }
        let after_name = skip_spaces(b, i);
        let value = if b.get(after_name) == Some(&b'=') {
            i = skip_spaces(b, after_name + 1);
            match b.get(i)? {
                &q @ (b'"' | b'\'') => {
                    let len = html[i + 1..].find(q as char)?;
                    let raw = &html[i + 1..i + 1 + len];
                    i += len + 2;
                    // After a quoted value: a space, `>` or `/>`.
                    if !matches!(b.get(i), Some(c) if is_space(*c) || matches!(c, b'>' | b'/')) {
                        return None;
                    }
                    decode_value(raw)?
                }
                _ => {
                    let start = i;
                    while let Some(&c) = b.get(i).filter(|&&c| !is_space(c) && c != b'>') {
                        if matches!(c, b'"' | b'\'' | b'<' | b'=' | b'`' | b'&') {
                            return None;
                        }
                        i += 1;
                    }
                    if i == start {
                        return None;
                    }
                    normalize_newlines(&html[start..i])
                }
            }
        } else {
            // No value: the next attribute starts after the spaces.
            Cow::Borrowed("")
        };
        if attrs.iter().any(|(n, _)| *n == attr) {
            return None;
        }
        attrs.push((attr, value));
    }
}

/// Reads the end tag at `html[at..]` == `</`: (lower-case name, index after
/// `>`). Only `</name>` and `</name  >`.
fn parse_end_tag(html: &str, at: usize) -> Option<(Cow<'_, str>, usize)> {
    let b = html.as_bytes();
    let start = at + 2;
    let mut i = start;
    while b.get(i).is_some_and(u8::is_ascii_alphanumeric) {
        i += 1;
    }
    if i == start || !b.get(start).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let name = lowercase(&html[start..i]);
    i = skip_spaces(b, i);
    (b.get(i) == Some(&b'>')).then_some((name, i + 1))
}

/// Skips the comment at `html[at..]` == `<!`; `None` for anything else
/// (doctype, CDATA, odd comments).
fn skip_comment(html: &str, at: usize) -> Option<usize> {
    let body = html[at..].strip_prefix("<!--")?;
    if body.starts_with('>') || body.starts_with("->") {
        return None;
    }
    let end = body.find("-->")?;
    if body.find("--!>").is_some_and(|bang| bang < end) {
        return None;
    }
    Some(at + 4 + end + 3)
}

/// `name` in ASCII lower case, borrowed when it already is.
fn lowercase(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|c| c.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

/// Decodes a quoted attribute value; `None` when a reference is beyond the
/// fast path.
fn decode_value(raw: &str) -> Option<Cow<'_, str>> {
    if memchr::memchr2(b'&', b'\r', raw.as_bytes()).is_none() {
        return Some(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while let Some(n) = raw[i..].find('&') {
        out.push_str(&normalize_newlines(&raw[i..i + n]));
        let (decoded, len) = reference(&raw[i + n..])?;
        match decoded {
            Ref::Text(t) => out.push_str(t),
            Ref::Char(c) => out.push(c),
        }
        i += n + len;
    }
    out.push_str(&normalize_newlines(&raw[i..]));
    Some(Cow::Owned(out))
}

/// HTML's input preprocessing: CR LF and lone CR become LF.
fn normalize_newlines(text: &str) -> Cow<'_, str> {
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

/// What a reference stands for.
#[derive(Clone, Copy)]
enum Ref {
    Text(&'static str),
    Char(char),
}

impl Ref {
    fn push_escaped(self, out: &mut String, attribute: bool) {
        match self {
            Ref::Text(t) => push_escaped(out, t, attribute),
            Ref::Char(c) => push_escaped(out, c.encode_utf8(&mut [0; 4]), attribute),
        }
    }
}

/// The reference at `rest[0] == '&'`: (what it stands for, bytes
/// consumed). A `&` that starts no reference stands for itself.
fn reference(rest: &str) -> Option<(Ref, usize)> {
    let b = rest.as_bytes();
    match b.get(1) {
        Some(b'#') => numeric_reference(rest),
        Some(c) if c.is_ascii_alphanumeric() => {
            let run = 1 + b
                .get(1..)
                .unwrap_or_default()
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            let name = &rest[1..run];
            if b.get(run) == Some(&b';') {
                let value = match name {
                    "amp" => Some("&"),
                    "lt" => Some("<"),
                    "gt" => Some(">"),
                    "quot" => Some("\""),
                    "apos" => Some("'"),
                    _ => entities::lookup(name),
                };
                if let Some(value) = value {
                    return Some((Ref::Text(value), run + 1));
                }
            }
            // Not a `name;` reference: HTML would still read a legacy
            // name at its start; otherwise the `&` is literal.
            if LEGACY_ENTITIES.iter().any(|l| name.starts_with(l)) {
                return None;
            }
            Some((Ref::Text("&"), 1))
        }
        _ => Some((Ref::Text("&"), 1)),
    }
}

/// `&#N;` or `&#xN;` of a printable character (not a control, surrogate or
/// noncharacter, which HTML maps or reports).
fn numeric_reference(rest: &str) -> Option<(Ref, usize)> {
    let b = rest.as_bytes();
    let (radix, start) = match b.get(2) {
        Some(b'x' | b'X') => (16, 3),
        _ => (10, 2),
    };
    let digits = b
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|c| c.is_ascii_hexdigit() && (radix == 16 || c.is_ascii_digit()))
        .count();
    if digits == 0 || digits > 8 || b.get(start + digits) != Some(&b';') {
        return None;
    }
    let code = u32::from_str_radix(&rest[start..start + digits], radix).ok()?;
    let c = char::from_u32(code)?;
    if code < 0x20
        || (0x7f..=0x9f).contains(&code)
        || (0xfdd0..=0xfdef).contains(&code)
        || code & 0xfffe == 0xfffe
    {
        return None;
    }
    Some((Ref::Char(c), start + digits + 1))
}

/// Writes text (or an attribute value) escaped like html5ever's serializer
/// followed by [`super::sanitize`]'s `&nbsp;` -> `&#160;`, with HTML's
/// newline normalization.
/// [`push_escaped`] for a run of text that holds no `<` or `&` (the text
/// between markup): the bytes that may need escaping are found with
/// `memchr`, and most runs have none.
fn push_text(out: &mut String, text: &str) {
    let b = text.as_bytes();
    let mut copied = 0;
    let mut from = 0;
    while let Some(n) = b
        .get(from..)
        .and_then(|rest| memchr::memchr3(b'>', b'\r', 0xc2, rest))
    {
        let i = from + n;
        from = i + 1;
        if let Some((replacement, len)) = escape_at(b, i, false) {
            out.push_str(&text[copied..i]);
            out.push_str(replacement);
            copied = i + len;
            from = copied;
        }
    }
    out.push_str(&text[copied..]);
}

/// Escapes `text` as html5ever's serializer does (in an attribute value
/// when `attribute`), with HTML's newline normalization.
fn push_escaped(out: &mut String, text: &str, attribute: bool) {
    let b = text.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    // Every byte looked at is ASCII or the lead byte of U+00A0, so the
    // slices below fall on character boundaries.
    while i < b.len() {
        match escape_at(b, i, attribute) {
            Some((replacement, len)) => {
                out.push_str(&text[copied..i]);
                out.push_str(replacement);
                i += len;
                copied = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
}

/// What the byte at `b[i]` (and the one after it) is written as, and how
/// many bytes that replaces; `None` for a byte written as it is.
fn escape_at(b: &[u8], i: usize, attribute: bool) -> Option<(&'static str, usize)> {
    Some(match b.get(i)? {
        b'&' => ("&amp;", 1),
        b'<' => ("&lt;", 1),
        b'>' => ("&gt;", 1),
        b'"' if attribute => ("&quot;", 1),
        0xc2 if b.get(i + 1) == Some(&0xa0) => ("&#160;", 2),
        b'\r' if b.get(i + 1) == Some(&b'\n') => ("", 1),
        b'\r' => ("\n", 1),
        _ => return None,
    })
}

/// Writes a start tag with its attributes filtered like ammonia does;
/// `None` when an attribute is beyond the fast path.
fn write_start_tag(
    out: &mut String,
    name: &str,
    attrs: &[(Cow<str>, Cow<str>)],
    base: Option<&Url>,
    policy: &Policy,
) -> Option<()> {
    out.push('<');
    out.push_str(name);
    for (attr, value) in attrs {
        if !policy.allows_attribute(name, attr) {
            continue;
        }
        if attr == "style" {
            out.push_str(" style=\"");
            out.push_str(&(policy.style)(value)?);
            out.push('"');
            continue;
        }
        let mut value: &str = value;
        let joined;
        if attr == "href" || attr == "src" {
            if let Some(scheme) = plain_url::http_scheme(value) {
                // Most links: no need to build the `Url` to know it parses.
                if !policy.url_schemes.contains(scheme) {
                    continue;
                }
            } else {
                match Url::parse(value) {
                    Ok(url) => {
                        if !policy.url_schemes.contains(url.scheme()) {
                            continue;
                        }
                    }
                    Err(url::ParseError::RelativeUrlWithoutBase) => {
                        if let Some(base) = base {
                            joined = base.join(value).ok()?;
                            value = joined.as_str();
                        }
                    }
                    Err(_) => continue,
                }
            }
        }
        out.push(' ');
        out.push_str(attr);
        out.push_str("=\"");
        push_escaped(out, value, true);
        out.push('"');
    }
    if name == "a"
        && let Some(rel) = &policy.link_rel
    {
        out.push_str(" rel=\"");
        push_escaped(out, rel, true);
        out.push('"');
    }
    if matches!(name, "br" | "img" | "hr" | "wbr") {
        out.push_str(" />");
    } else {
        out.push('>');
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::super::sanitize_html_both_ways;
    use url::Url;

    /// Inputs the fast path must accept (and get right).
    const ACCEPTED: &[&str] = &[
        "<p>Hello <b>world</b></p>",
        "<p>A <a href=\"https://example.com/a?x=1&amp;y=2\">link</a>.</p>",
        "<p>A <a href=\"https://example.com/a?x=1&y=2\">raw query</a></p>",
        "<p>rel <a href=\"/relative/path\" title=\"T\">x</a></p>",
        "<img src=\"https://example.com/i.png\" alt=\"1 > 0\" width=\"10\">",
        "<img src=img.png><br/><br /><hr>",
        "Tom &amp; Jerry &lt;3 &eacute;&#233;&#xE9; &nbsp;x\u{a0}y",
        "a < b > c & d",
        "AT&T and &foo; and &#8217;",
        "<ul><li>one</li>\n<li>two <em>2</em></li></ul><ol><li>x</li></ol>",
        "<div><p>p1</p><p>p2</p><blockquote><p>q</p></blockquote></div>",
        "<h2>Title</h2><p>body<!-- a comment --></p>",
        "<pre><code>fn main() {}\n</code></pre>",
        "<P CLASS=intro>Upper <B>case</B></P>",
        "<p>unclosed <i>at the end",
        "<a href=\"javascript:alert(1)\" onclick=\"x()\">js</a>",
        "<a href=\"mailto:a@example.com\" target=_blank rel=nofollow>m</a>",
        "<img src=\"data:image/png;base64,AAAA\" onerror=\"alert(1)\">",
        "<span id=\"x\" name=\"y\" data-x=\"1\">attrs dropped</span>",
        "line\r\nbreaks\rhere <b title=\"a\r\nb\">x</b>",
        "<figure><img src=\"a.jpg\"><figcaption>cap</figcaption></figure>",
        "<p>\"quotes\" and 'apostrophes' in text</p><a title='it\"s'>q</a>",
        "<b><b><b><b>deep</b></b></b></b>",
        "<a href=\"http://[::1]:8080/x\">v6</a><a href=\"//cdn.example.com/x\">proto</a>",
        "<a href=\"\">empty</a><a href>bare</a>",
        "<img src=x onerror=alert(1)//>",
        // A leading byte-order mark is dropped, a second one kept (found by
        // tests/fuzz_smoke.rs).
        "\u{feff}<p>bom</p>",
        "\u{feff}\u{feff}x<b>y\u{feff}</b>",
        "<pre>\nnewline</pre><pre>\r\nx</pre><pre>\n\ny</pre>",
        "<p>a<p>b<div>c<p>d</div><p>e",
        "<ul><li>a<li>b</ul><ol><li><p>x</ol>",
        "<br></br><img src=\"x\"></img><hr></hr>a<wbr></wbr>",
        "<img alt loading=\"lazy\" srcset=\"a.png 2x\" src=a.png>",
        "<div><p>a</div><blockquote><p>q</blockquote>",
        "<table><tr><td>x</td></tr></table>",
        "<table cellpadding=\"0\" style=\"width: auto\">\n <tbody><tr><th align=right>a</th><td style=\"padding: 5px\"><p>b</td></tr>\n</tbody></table>",
        "<table>\n<tr><td>1<td>2\n</tr><tr><td><table><tr><td>inner</table></td></tr></table>",
        "<div><table><thead><tr><th>h</th></tr></thead><tfoot></tfoot></table></div>",
        "<ul><li><table><tr><td><ul><li>a</li></ul></td></tr><!-- c --></table></li></ul>",
        "<font color=red><span><b>x</b><br><table><tr><td><b>y</b></td></tr></table></span></font>",
        "<b><table></table></b><a href=x><table><tr><td>in</td></tr></table></a>",
        "<p style=\"color: red; background: url(x); position: fixed\">style</p>",
        "<span style='font-size: 14pt; line-height: 19px; '>a</span><b style=\"\">b</b>",
        "<i style=\"x:expression(alert(1))\">c</i><u style=\"color:&quot;red&amp;\">d</u>",
        // Raw-text elements ammonia drops with their content.
        "safe<script type=\"text/javascript\">location.href='http:/'+'/x/';</script> description",
        "<blockquote class=\"twitter-tweet\"><p>t</p></blockquote>\n<script async src=\"https://platform.twitter.com/widgets.js\" charset=\"utf-8\"></script>",
        "<p>a<style>p { color: red }</style>b</p><SCRIPT>x</SCRIPT >y",
        "<script>if (a </scripty) {}</script\n>z<b>",
        "<title>T &amp; <b></title>x<textarea>\n<p></textarea>",
    ];

    /// Inputs the fast path must leave to ammonia.
    const DECLINED: &[&str] = &[
        "<script>a<!--b</script>c",
        "<script/>x",
        "<script>no end tag",
        "<style>x</style foo>y",
        "<table><tr><td>1</td><script>x</script></tr></table>",
        "<p><div>x</div></p>",
        "<b><i>x</b></i>",
        "<a href=x><a href=y>nested</a></a>",
        "<li>stray</li>",
        "<table>x<tr><td>x</td></tr></table>",
        "<table><tr><b>x</b><td>x</td></tr></table>",
        "<table><td>x</td></table>",
        "<p><table><tr><td>x</td></tr></table>",
        "<table><tr><td><b>x</td></tr></table>",
        "<table><caption>c</caption></table>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<svg><script>alert(1)</script></svg>",
        "&copy 2020",
        "&notit; legacy prefix",
        "<!DOCTYPE html>",
        "<![CDATA[x]]>",
        "<?php echo 1 ?>",
        "</p>",
        "<p/>",
        "<a href=\"java&#x09;script:alert(1)\">tab</a>",
        "<scr<script>ipt>alert(1)</script>",
        "<a href=\"x\"title=\"no space\">t</a>",
        "<h1><h2>x</h2></h1>",
        "<!-->",
        "<p>x</p >\n</div>",
        "<p><i>a<p>b",
        "<span><p>a</span>",
        "<b><p>a</b>",
        "<a href=x><table><tr><td><a href=y>in</a></td></tr></table></a>",
        "<ul><li><span>a<li>b</ul>",
        "<dl><dt>a<dd>b</dl>",
    ];

    fn bases() -> [Option<Url>; 2] {
        [None, Url::parse("https://example.org/blog/post/").ok()]
    }

    #[test]
    fn fast_path_accepts_simple_markup_and_matches_ammonia() {
        for input in ACCEPTED {
            for base in bases() {
                let (fast, ammonia) = sanitize_html_both_ways(input, base.as_ref());
                assert_eq!(
                    fast.as_deref(),
                    Some(ammonia.as_str()),
                    "input {input:?}, base {base:?}"
                );
            }
        }
    }

    /// The text fast path: equal to ammonia's tag stripper wherever it
    /// accepts, and it accepts the common markup (misnested and stray tags
    /// included: HTML moves elements there, not text).
    #[test]
    fn text_fast_path_matches_ammonia() {
        use super::super::html_to_text_both_ways;
        let mut taken = 0;
        let extra = [
            "Example <a href=\"test.html\">test</a>",
            "<strong>&#x26;</strong> &amp; <b><i>x</b></i> <p><div>y</div></p>",
            "<a href=x><a href=y>nested</a></a><li>stray</li></p><h1><h2>h</h2></h1>",
            "a<br>b<br/>c<hr>d<p>e</p>f<div>g</div>h",
            "History of the &lt;blink> tag < 3 &copy 2020",
        ];
        for input in ACCEPTED.iter().chain(DECLINED).chain(&extra) {
            let (fast, ammonia) = html_to_text_both_ways(input);
            if let Some(fast) = fast {
                taken += 1;
                assert_eq!(fast, ammonia, "input {input:?}");
            }
        }
        for input in extra.iter().take(4) {
            assert!(html_to_text_both_ways(input).0.is_some(), "{input:?}");
        }
        for input in [
            "a<script>b</script>c",
            "<style>p {}</style>t<textarea>\nx</textarea>",
        ] {
            assert!(html_to_text_both_ways(input).0.is_some(), "{input:?}");
        }
        for input in [
            "a<script>b<!--</script>c",
            "<pre>\nx</pre>",
            "<table>x<tr><td>y</td></tr></table>",
            "<textarea/>x",
            "<blink>b</blink>",
        ] {
            assert_eq!(html_to_text_both_ways(input).0, None, "{input:?}");
        }
        assert!(taken > 40, "the text fast path took only {taken} inputs");
    }

    #[test]
    fn fast_path_declines_what_it_does_not_understand() {
        for input in DECLINED {
            for base in bases() {
                let (fast, ammonia) = sanitize_html_both_ways(input, base.as_ref());
                assert_eq!(fast, None, "input {input:?} (ammonia: {ammonia:?})");
            }
        }
    }

    #[test]
    fn fast_path_output_is_safe_and_resolved() {
        let base = Url::parse("https://example.org/blog/post/").ok();
        let (fast, _) = sanitize_html_both_ways(
            "<a href=\"javascript:alert(1)\" onclick=\"x()\">js</a><img src=\"i.png\">",
            base.as_ref(),
        );
        assert_eq!(
            fast.as_deref(),
            Some(
                "<a rel=\"noopener noreferrer\">js</a>\
                 <img src=\"https://example.org/blog/post/i.png\" />"
            )
        );
    }

    /// Every entity name of the table decodes as HTML decodes it.
    #[test]
    fn fast_path_entities_match_html() {
        for (name, _) in super::entities::ENTITIES {
            for input in [
                format!("x&{name};y"),
                format!("<b title=\"&{name};\">t</b>"),
            ] {
                let (fast, ammonia) = sanitize_html_both_ways(&input, None);
                if let Some(fast) = fast {
                    assert_eq!(fast, ammonia, "input {input:?}");
                }
            }
        }
    }

    /// Characters through numeric references, in text and attributes.
    #[test]
    fn fast_path_numeric_references_match_html() {
        let codes = (0u32..0x3000)
            .chain([
                0xd7ff, 0xd800, 0xdfff, 0xe000, 0xfdd0, 0xfffd, 0xfffe, 0x1f600,
            ])
            .chain([0x10fffe, 0x10ffff, 0x110000]);
        for code in codes {
            for input in [
                format!("a&#{code};b"),
                format!("a&#x{code:X};b"),
                format!("<i title=\"&#x{code:x};\">t</i>"),
            ] {
                let (fast, ammonia) = sanitize_html_both_ways(&input, None);
                if let Some(fast) = fast {
                    assert_eq!(fast, ammonia, "input {input:?}");
                }
            }
        }
    }
}
