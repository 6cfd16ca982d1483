//! A tiny, forgiving XML tag scanner over decoded text: start tags (with
//! attribute spans), end tags and the DOCTYPE; comments, CDATA, processing
//! instructions and text are skipped. It does not validate anything and never
//! fails: on input it cannot follow it simply stops.
//!
//! Used to sniff the root element, to find the `xml:base` in effect for each
//! entry (which feed-rs does not expose for content), and to locate the spans
//! that the feed-rs adapter rewrites to work around its quirks.

use std::borrow::Cow;
use std::ops::Range;

use url::Url;

/// One attribute of a start tag.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Attr<'a> {
    pub name: &'a str,
    /// The raw (still escaped) value, without quotes.
    pub value: &'a str,
    /// Where the whole attribute (`name="value"`) sits in the source.
    pub span: Range<usize>,
    /// Where the value sits in the source.
    pub value_span: Range<usize>,
}

/// A lexical event.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Token<'a> {
    Start {
        name: &'a str,
        /// The whole tag, `<` to `>`.
        span: Range<usize>,
        name_span: Range<usize>,
        attrs: Vec<Attr<'a>>,
        self_closing: bool,
    },
    End {
        name: &'a str,
        name_span: Range<usize>,
    },
    /// `<!DOCTYPE name ...>`: the name.
    Doctype { name: &'a str },
}

impl Token<'_> {
    /// The attribute `name` of a start tag, unescaped.
    pub(crate) fn attr(&self, name: &str) -> Option<String> {
        match self {
            Token::Start { attrs, .. } => attrs
                .iter()
                .find(|a| a.name == name)
                .map(|a| unescape(a.value)),
            _ => None,
        }
    }
}

/// Iterator over the tags of a document.
pub(crate) struct Tokenizer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Tokenizer<'a> {
    pub(crate) fn new(src: &'a str) -> Tokenizer<'a> {
        Tokenizer { src, pos: 0 }
    }

    /// Skips to just after `pat` (searched from `from`), or to the end.
    fn skip_past(&mut self, from: usize, pat: &str) {
        self.pos = match self.src[from..].find(pat) {
            Some(i) => from + i + pat.len(),
            None => self.src.len(),
        };
    }
}

fn is_name_byte(b: u8) -> bool {
    !(b.is_ascii_whitespace() || matches!(b, b'>' | b'/' | b'=' | b'<' | b'"' | b'\''))
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let src = self.src;
        let bytes = src.as_bytes();
        loop {
            let lt = self.pos + src.get(self.pos..)?.find('<')?;
            let rest = &src[lt..];
            if rest.starts_with("<!--") {
                self.skip_past(lt + 4, "-->");
                continue;
            }
            if rest.starts_with("<![CDATA[") {
                self.skip_past(lt + 9, "]]>");
                continue;
            }
            if rest.starts_with("<?") {
                self.skip_past(lt + 2, "?>");
                continue;
            }
            if rest.starts_with("<!") {
                // DOCTYPE (or another declaration): skip an internal subset.
                let mut i = lt + 2;
                let mut depth = 0usize;
                let mut quote = 0u8;
                while let Some(&b) = bytes.get(i) {
                    if quote != 0 {
                        if b == quote {
                            quote = 0;
                        }
                    } else if b == b'"' || b == b'\'' {
                        quote = b;
                    } else if b == b'[' {
                        depth += 1;
                    } else if b == b']' {
                        depth = depth.saturating_sub(1);
                    } else if b == b'>' && depth == 0 {
                        break;
                    }
                    i += 1;
                }
                let decl = &src[lt + 2..i.min(bytes.len())];
                self.pos = (i + 1).min(bytes.len());
                let mut words = decl.split_whitespace();
                if words
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case("doctype"))
                {
                    let name = words.next().unwrap_or("");
                    let name = name.split(['[', '>']).next().unwrap_or("");
                    return Some(Token::Doctype { name });
                }
                continue;
            }
            if rest.starts_with("</") {
                let start = lt + 2;
                let mut end = start;
                while bytes.get(end).is_some_and(|&c| is_name_byte(c)) {
                    end += 1;
                }
                self.skip_past(end, ">");
                return Some(Token::End {
                    name: &src[start..end],
                    name_span: start..end,
                });
            }
            // A start tag, or a stray `<` in text.
            let start = lt + 1;
            if !bytes.get(start).is_some_and(|&c| is_name_start(c)) {
                self.pos = start;
                continue;
            }
            let mut end = start;
            while bytes.get(end).is_some_and(|&c| is_name_byte(c)) {
                end += 1;
            }
            let name = &src[start..end];
            let mut attrs = Vec::new();
            let mut i = end;
            let self_closing;
            loop {
                while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
                let Some(&c) = bytes.get(i) else {
                    self.pos = bytes.len();
                    return None;
                };
                match c {
                    b'>' => {
                        self_closing = false;
                        i += 1;
                        break;
                    }
                    b'/' if bytes.get(i + 1) == Some(&b'>') => {
                        self_closing = true;
                        i += 2;
                        break;
                    }
                    b'/' | b'=' | b'"' | b'\'' | b'<' => {
                        // Garbage inside the tag: skip one byte.
                        i += 1;
                        continue;
                    }
                    _ => {}
                }
                let name_start = i;
                while bytes.get(i).is_some_and(|&c| is_name_byte(c)) {
                    i += 1;
                }
                let attr_name = &src[name_start..i];
                let mut j = i;
                while bytes.get(j).is_some_and(u8::is_ascii_whitespace) {
                    j += 1;
                }
                if bytes.get(j) != Some(&b'=') {
                    // An attribute without a value.
                    attrs.push(Attr {
                        name: attr_name,
                        value: "",
                        span: name_start..i,
                        value_span: i..i,
                    });
                    continue;
                }
                j += 1;
                while bytes.get(j).is_some_and(u8::is_ascii_whitespace) {
                    j += 1;
                }
                let (value_span, after) = match bytes.get(j) {
                    Some(&q) if q == b'"' || q == b'\'' => match src[j + 1..].find(q as char) {
                        Some(k) => (j + 1..j + 1 + k, j + 2 + k),
                        None => {
                            self.pos = bytes.len();
                            return None;
                        }
                    },
                    _ => {
                        let mut k = j;
                        while bytes
                            .get(k)
                            .is_some_and(|&c| !c.is_ascii_whitespace() && c != b'>')
                        {
                            k += 1;
                        }
                        (j..k, k)
                    }
                };
                attrs.push(Attr {
                    name: attr_name,
                    value: &src[value_span.clone()],
                    span: name_start..after,
                    value_span,
                });
                i = after;
            }
            self.pos = i;
            return Some(Token::Start {
                name,
                span: lt..i,
                name_span: start..end,
                attrs,
                self_closing,
            });
        }
    }
}

/// The local part of a qualified name.
pub(crate) fn local_name(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

/// The prefix of a qualified name, if any.
pub(crate) fn prefix(qname: &str) -> Option<&str> {
    qname.rsplit_once(':').map(|(p, _)| p)
}

/// Resolves the XML predefined entities and character references of an
/// attribute value; anything else is kept as written.
pub(crate) fn unescape(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after.find(';').filter(|&s| s <= 10);
        let decoded = semi.and_then(|s| {
            let ent = &after[..s];
            let ch = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let num = ent.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse::<u32>().ok()?,
                    };
                    char::from_u32(code)
                }
            };
            ch.map(|c| (c, s))
        });
        match decoded {
            Some((c, s)) => {
                out.push(c);
                rest = &after[s + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The explicit `xml:base` in effect for one entry and its text elements.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct EntryBases {
    pub entry: Option<Url>,
    pub summary: Option<Url>,
    pub content: Option<Url>,
}

/// Where entries live in a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryLayout {
    /// `<feed><entry>` (or a lone `<entry>` root).
    Atom,
    /// `<rss><channel><item>`.
    Rss,
}

/// For each entry (in document order), the explicit `xml:base` in effect for
/// the entry and for its summary/description and content elements. Only
/// `xml:base` attributes count (resolved against `initial` when relative).
pub(crate) fn entry_bases(
    src: &str,
    layout: EntryLayout,
    initial: Option<&Url>,
) -> Vec<EntryBases> {
    struct Frame<'a> {
        local: &'a str,
        base: Option<Url>,
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut out: Vec<EntryBases> = Vec::new();
    // Depth (stack length before push) of the entry element being read.
    let mut entry_depth: Option<usize> = None;
    for token in Tokenizer::new(src) {
        match token {
            Token::Start {
                name, self_closing, ..
            } => {
                let local = local_name(name);
                let parent = stack.last().and_then(|f| f.base.clone());
                let explicit = token.attr("xml:base").and_then(|b| {
                    let parent_or_initial = parent.as_ref().or(initial);
                    Url::parse(b.trim())
                        .ok()
                        .or_else(|| parent_or_initial.and_then(|p| p.join(b.trim()).ok()))
                });
                let base = explicit.or(parent);
                let depth = stack.len();
                let is_entry = match layout {
                    EntryLayout::Atom => local == "entry" && depth <= 1,
                    EntryLayout::Rss => {
                        local == "item"
                            && depth == 2
                            && stack.get(1).is_some_and(|f| f.local == "channel")
                    }
                };
                if is_entry {
                    out.push(EntryBases {
                        entry: base.clone(),
                        ..EntryBases::default()
                    });
                    entry_depth = Some(depth);
                } else if entry_depth.is_some_and(|d| depth == d + 1)
                    && let Some(last) = out.last_mut()
                {
                    match (layout, local) {
                        (EntryLayout::Atom, "summary") | (EntryLayout::Rss, "description") => {
                            last.summary = base.clone()
                        }
                        (EntryLayout::Atom, "content") | (EntryLayout::Rss, "encoded") => {
                            last.content = base.clone()
                        }
                        _ => {}
                    }
                }
                if !self_closing {
                    stack.push(Frame { local, base });
                } else if is_entry {
                    entry_depth = None;
                }
            }
            Token::End { name, .. } => {
                let local = local_name(name);
                // Pop to the matching element, if it is open at all.
                if let Some(pos) = stack.iter().rposition(|f| f.local == local) {
                    stack.truncate(pos);
                    if entry_depth.is_some_and(|d| pos <= d) {
                        entry_depth = None;
                    }
                }
            }
            Token::Doctype { .. } => {}
        }
    }
    out
}

/// Applies non-overlapping edits (`span` replaced by text) to `src`
/// (borrowed, not copied, when there are none).
pub(crate) fn apply_edits(src: &str, mut edits: Vec<(Range<usize>, String)>) -> Cow<'_, str> {
    if edits.is_empty() {
        return Cow::Borrowed(src);
    }
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(src.len() + 64);
    let mut pos = 0;
    for (range, text) in edits {
        if range.start < pos || range.end > src.len() || range.start > range.end {
            continue;
        }
        out.push_str(&src[pos..range.start]);
        out.push_str(&text);
        pos = range.end;
    }
    out.push_str(&src[pos..]);
    Cow::Owned(out)
}

/// Atom 0.3 elements that Atom 1.0 renamed (the adapter renames them).
pub(crate) fn atom03_rename(local: &str) -> Option<&'static str> {
    match local {
        "issued" => Some("published"),
        "modified" => Some("updated"),
        "tagline" => Some("subtitle"),
        "copyright" => Some("rights"),
        _ => None,
    }
}
