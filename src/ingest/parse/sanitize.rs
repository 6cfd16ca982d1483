//! HTML handling for untrusted feed content: the allow-list sanitizer
//! ([`sanitize_html`], ammonia with one policy built once), HTML -> plain
//! text for titles (ammonia's tag stripper), plain text -> HTML for
//! text-only content, and the HTML escaper.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};
use url::Url;

/// Elements dropped together with everything inside them.
const DROP_WITH_CONTENT: [&str; 5] = ["script", "style", "title", "template", "textarea"];

/// Elements allowed besides ammonia's defaults: feedparser's acceptable
/// elements without the form controls (`form`, `input`, `button`,
/// `select`, `option`, `textarea`, ...), `noscript` and the elements that
/// fetch or run things on their own (`event-source`, `command`, `sound`).
const EXTRA_TAGS: [&str; 84] = [
    "abbr",
    "acronym",
    "address",
    "area",
    "article",
    "aside",
    "audio",
    "b",
    "big",
    "blockquote",
    "br",
    "canvas",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "datagrid",
    "dd",
    "del",
    "details",
    "dfn",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "em",
    "fieldset",
    "figure",
    "font",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "label",
    "legend",
    "li",
    "m",
    "map",
    "menu",
    "meter",
    "multicol",
    "nav",
    "nextid",
    "ol",
    "p",
    "pre",
    "progress",
    "q",
    "s",
    "samp",
    "section",
    "small",
    "source",
    "spacer",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "video",
];

/// Attributes allowed on any element: feedparser's acceptable attributes
/// without `style` (allowed apart, filtered by [`STYLE_PROPERTIES`]),
/// `id`/`name` (DOM clobbering), `rel` (set by the
/// sanitizer), `target`, and those holding URLs ammonia does not check
/// (`action`, `background`, `data`, `datasrc`, `dynsrc`, `lowsrc`, `icon`,
/// `ping`, `poster`, `form`, `contenteditable`, `datafld`).
const GENERIC_ATTRIBUTES: [&str; 123] = [
    "abbr",
    "accept-charset",
    "accept",
    "accesskey",
    "align",
    "alt",
    "autocomplete",
    "autofocus",
    "autoplay",
    "axis",
    "balance",
    "bgcolor",
    "bgproperties",
    "border",
    "bordercolor",
    "bordercolordark",
    "bordercolorlight",
    "bottompadding",
    "cellpadding",
    "cellspacing",
    "ch",
    "challenge",
    "char",
    "charoff",
    "charset",
    "checked",
    "choff",
    "cite",
    "class",
    "clear",
    "color",
    "cols",
    "colspan",
    "compact",
    "coords",
    "datapagesize",
    "datetime",
    "default",
    "delay",
    "dir",
    "disabled",
    "draggable",
    "end",
    "enctype",
    "face",
    "for",
    "frame",
    "galleryimg",
    "gutter",
    "headers",
    "height",
    "hidden",
    "hidefocus",
    "high",
    "href",
    "hreflang",
    "hspace",
    "inputmode",
    "ismap",
    "keytype",
    "label",
    "lang",
    "leftspacing",
    "list",
    "longdesc",
    "loop",
    "loopcount",
    "loopend",
    "loopstart",
    "low",
    "max",
    "maxlength",
    "media",
    "method",
    "min",
    "multiple",
    "nohref",
    "noshade",
    "nowrap",
    "open",
    "optimum",
    "pattern",
    "point-size",
    "pqg",
    "preload",
    "prompt",
    "radiogroup",
    "readonly",
    "repeat-max",
    "repeat-min",
    "replace",
    "required",
    "rev",
    "rightspacing",
    "rows",
    "rowspan",
    "rules",
    "scope",
    "selected",
    "shape",
    "size",
    "span",
    "src",
    "start",
    "step",
    "summary",
    "suppress",
    "tabindex",
    "template",
    "title",
    "toppadding",
    "type",
    "unselectable",
    "urn",
    "usemap",
    "valign",
    "value",
    "variable",
    "volume",
    "vrml",
    "vspace",
    "width",
    "wrap",
];

/// CSS properties kept in `style` attributes (ammonia drops the others):
/// feedparser's acceptable properties minus those that can load a URL
/// (`background`, `cursor`, `list-style`, ...) or move content out of its
/// box (`position`). Values are not checked: none of these takes `url()`.
const STYLE_PROPERTIES: [&str; 44] = [
    "background-color",
    "border",
    "border-bottom",
    "border-bottom-color",
    "border-collapse",
    "border-color",
    "border-left",
    "border-left-color",
    "border-right",
    "border-right-color",
    "border-top",
    "border-top-color",
    "clear",
    "color",
    "direction",
    "display",
    "float",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-variant",
    "font-weight",
    "height",
    "letter-spacing",
    "line-height",
    "margin",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "margin-top",
    "overflow",
    "padding",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "padding-top",
    "text-align",
    "text-decoration",
    "text-indent",
    "unicode-bidi",
    "vertical-align",
    "white-space",
    "width",
];

/// Void elements ammonia may emit; written as `<br />` so that the output
/// also reads as XML.
const VOID: [&str; 7] = ["area", "br", "col", "hr", "img", "source", "wbr"];

/// Sanitizes untrusted HTML with an allow-list: no script, iframe, object,
/// embed, style or form elements, no `on*` attributes, `style` attributes
/// only with the CSS properties of [`STYLE_PROPERTIES`], no `javascript:`,
/// `data:` or `vbscript:` URLs. Relative URLs are made
/// absolute against `base` when given and kept as they are otherwise. Links
/// get `rel="noopener noreferrer"`. Void elements are self-closed and
/// `&nbsp;` is written `&#160;`, so the result can be embedded in XML.
pub fn sanitize_html(html: &str, base: Option<&url::Url>) -> String {
    let input = strip_xml_invalid(html);
    if !input.contains(['<', '&', '>']) {
        // No markup and nothing to escape: returned as it is, without
        // ammonia (as it always was; stored items' digests depend on it).
        return input.into_owned();
    }
    let cleaned = with_base(base, || SANITIZER.clean(&input).to_string());
    xml_friendly(&cleaned)
}

thread_local! {
    /// The base for relative URLs of the fragment being sanitized on this
    /// thread (see [`with_base`]).
    static BASE: RefCell<Option<Url>> = const { RefCell::new(None) };
}

/// Runs `f` with `base` as the base the sanitizer resolves relative URLs
/// against (none: they are kept as they are).
fn with_base<T>(base: Option<&Url>, f: impl FnOnce() -> T) -> T {
    BASE.with(|cell| {
        if let Ok(mut current) = cell.try_borrow_mut() {
            *current = base.cloned();
        }
    });
    let out = f();
    BASE.with(|cell| {
        if let Ok(mut current) = cell.try_borrow_mut() {
            *current = None;
        }
    });
    out
}

/// A relative URL in a sanitized fragment: joined to the current base, as
/// ammonia's `UrlRelative::RewriteWithBase` does, or kept as it is, as
/// `UrlRelative::PassThrough` does, without one.
fn resolve_relative(url: &str) -> Option<Cow<'_, str>> {
    BASE.with(|cell| match cell.try_borrow().ok()?.as_ref() {
        Some(base) => base.join(url).ok().map(|u| Cow::Owned(String::from(u))),
        None => Some(Cow::Borrowed(url)),
    })
}

/// The allow-list sanitizer, built once (building one costs about as much
/// as cleaning a short text).
static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(sanitizer);

/// The tag stripper behind [`html_to_text`], built once.
static TEXT_ONLY: LazyLock<Builder<'static>> = LazyLock::new(text_only);

fn sanitizer() -> Builder<'static> {
    let mut builder = Builder::default();
    builder.clean_content_tags(DROP_WITH_CONTENT.iter().copied().collect::<HashSet<_>>());
    builder.add_tags(EXTRA_TAGS.iter().copied());
    builder.add_generic_attributes(GENERIC_ATTRIBUTES.iter().copied().chain(["style"]));
    builder.filter_style_properties(STYLE_PROPERTIES.iter().copied().collect());
    builder.attribute_filter(|_element, attribute, value| {
        if attribute.eq_ignore_ascii_case("style") {
            Some(Cow::Owned(safe_style(value)))
        } else {
            Some(Cow::Borrowed(value))
        }
    });
    builder.url_relative(UrlRelative::Custom(Box::new(resolve_relative)));
    builder
}

/// Keeps the CSS declarations of a `style` value whose value cannot run or
/// load anything: no `expression(` (old IE), `url(`, `javascript:`,
/// `behavior`, `-moz-binding`, `@import`, and no CSS escapes (`\`) or
/// comments that could hide those.
fn safe_style(style: &str) -> String {
    style
        .split(';')
        .filter(|decl| {
            let lower = decl.to_ascii_lowercase();
            ![
                "expression",
                "url(",
                "javascript",
                "vbscript",
                "behavior",
                "binding",
                "@import",
                "\\",
                "/*",
                "<",
            ]
            .iter()
            .any(|bad| lower.contains(bad))
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn text_only() -> Builder<'static> {
    let mut builder = Builder::empty();
    builder.clean_content_tags(DROP_WITH_CONTENT.iter().copied().collect::<HashSet<_>>());
    builder
}

/// Converts HTML to plain text: tags removed (script/style content too),
/// entities decoded, whitespace collapsed, trimmed.
pub(crate) fn html_to_text(html: &str) -> String {
    let input = strip_xml_invalid(html);
    if !input.contains(['<', '&']) {
        return collapse_whitespace(&input);
    }
    let escaped = TEXT_ONLY.clean(&input).to_string();
    collapse_whitespace(&unescape_serialized(&escaped))
}

/// Collapses runs of whitespace to one space and trims (and cleans
/// characters like [`sanitize_html`] does).
pub(crate) fn collapse_whitespace(text: &str) -> String {
    let text = strip_xml_invalid(text);
    let mut out = String::with_capacity(text.len());
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// True when RSS-style text seems to carry markup: a tag or an entity.
pub(crate) fn looks_like_html(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| match b {
        b'<' => bytes
            .get(i + 1)
            .is_some_and(|n| n.is_ascii_alphabetic() || *n == b'/' || *n == b'!'),
        b'&' => {
            let rest = bytes.get(i + 1..).unwrap_or_default();
            let len = rest
                .iter()
                .take(12)
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'#')
                .count();
            len > 0 && rest.get(len) == Some(&b';')
        }
        _ => false,
    })
}

/// Plain text -> HTML: escaped, blank lines make paragraphs, single line
/// breaks become `<br />`.
pub(crate) fn text_to_html(text: &str) -> String {
    let text = strip_xml_invalid(text)
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.lines()
                .map(|l| escape(l.trim()))
                .collect::<Vec<_>>()
                .join("<br />")
        })
        .collect();
    match paragraphs.len() {
        0 => String::new(),
        1 => paragraphs.into_iter().next().unwrap_or_default(),
        _ => paragraphs
            .iter()
            .map(|p| format!("<p>{p}</p>"))
            .collect::<Vec<_>>()
            .join(""),
    }
}

/// Escapes text for HTML element content and attribute values: `&`, `<`,
/// `>`, `"` and `'`; everything else is kept as is. The one HTML escaper
/// of syndic's own pages and of local articles.
pub fn escape_html(text: &str) -> String {
    escape_with(text, true)
}

/// Escapes text for HTML/XML: as [`escape_html`] but `'` is kept, which is
/// what parsed feeds were stored with (changing it would change their
/// digests, and so "update" every stored item with an apostrophe).
pub(crate) fn escape(text: &str) -> String {
    escape_with(text, false)
}

fn escape_with(text: &str, apostrophe: bool) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' if apostrophe => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Removes characters XML 1.0 does not allow, and reads C1 controls
/// (U+0080-U+009F, never meant in feeds) as the windows-1252 characters they
/// almost always stand for (`\u{92}` -> `’`).
fn strip_xml_invalid(text: &str) -> Cow<'_, str> {
    if !needs_char_cleaning(text) {
        return Cow::Borrowed(text);
    }
    text.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(c),
            '\u{80}'..='\u{9f}' => {
                let byte = [c as u8];
                let (decoded, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
                decoded.chars().next().filter(|d| !d.is_control())
            }
            '\u{fffe}' | '\u{ffff}' => None,
            c if c < ' ' => None,
            c => Some(c),
        })
        .collect::<String>()
        .into()
}

/// True when [`strip_xml_invalid`] would change `text`: a C0 control other
/// than tab/LF/CR, a C1 control (UTF-8 `C2 80`-`C2 9F`) or U+FFFE/U+FFFF
/// (`EF BF BE`/`EF BF BF`). A byte scan, much cheaper than decoding chars.
fn needs_char_cleaning(text: &str) -> bool {
    let b = text.as_bytes();
    if !super::recover::any_control_or_ef(b) && !b.contains(&0xc2) {
        return false;
    }
    b.iter().enumerate().any(|(i, &c)| match c {
        b'\t' | b'\n' | b'\r' => false,
        0..=0x1f => true,
        0xc2 => b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)),
        0xef => b.get(i + 1) == Some(&0xbf) && matches!(b.get(i + 2), Some(0xbe | 0xbf)),
        _ => false,
    })
}

/// Undoes the escaping of html5ever's serializer in text.
fn unescape_serialized(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Makes ammonia's HTML serialization XML-friendly: `<br>` -> `<br />`,
/// `&nbsp;` -> `&#160;`.
fn xml_friendly(html: &str) -> String {
    let html = html.replace("&nbsp;", "&#160;");
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() + 16);
    let mut copied = 0;
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        if c != b'<' {
            i += 1;
            continue;
        }
        let name_start = i + 1;
        let mut j = name_start;
        while bytes.get(j).is_some_and(u8::is_ascii_alphanumeric) {
            j += 1;
        }
        let name = &html[name_start..j];
        // Find the end of the tag, minding quoted attribute values.
        let mut quote = 0u8;
        let mut k = j;
        while let Some(&b) = bytes.get(k) {
            if quote != 0 {
                if b == quote {
                    quote = 0;
                }
            } else if b == b'"' || b == b'\'' {
                quote = b;
            } else if b == b'>' {
                break;
            }
            k += 1;
        }
        if k >= bytes.len() {
            break;
        }
        if VOID.iter().any(|v| v.eq_ignore_ascii_case(name)) && bytes.get(k - 1) != Some(&b'/') {
            out.push_str(&html[copied..k]);
            out.push_str(" />");
            copied = k + 1;
        }
        i = k + 1;
    }
    out.push_str(&html[copied..]);
    out
}

/// Parses `base` as an absolute URL usable as a base.
pub(crate) fn parse_base(base: &str) -> Option<Url> {
    Url::parse(base.trim())
        .ok()
        .filter(|u| !u.cannot_be_a_base())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_conversions() {
        assert_eq!(
            html_to_text("  <b>Caf&eacute;</b>\n &amp; <i>bar</i> &lt;3 "),
            "Café & bar <3"
        );
        assert_eq!(html_to_text("a<script>alert(1)</script>b"), "ab");
        assert!(looks_like_html("a <b>c</b>"));
        assert!(looks_like_html("AT&amp;T"));
        assert!(!looks_like_html("a < b & c"));
        assert_eq!(
            text_to_html("a < b\nc\n\nd"),
            "<p>a &lt; b<br />c</p><p>d</p>"
        );
        assert_eq!(collapse_whitespace(" a \t\n b "), "a b");
        assert_eq!(collapse_whitespace("don\u{92}t\u{1}"), "don\u{2019}t");
        assert_eq!(sanitize_html("don\u{92}t", None), "don\u{2019}t");
    }

    /// Moved from `fast_html`'s tests (the fast path wrote ammonia's
    /// output): unsafe URLs and handlers dropped, relative URLs resolved.
    #[test]
    fn output_is_safe_and_resolved() {
        let base = Url::parse("https://example.org/blog/post/").ok();
        let out = sanitize_html(
            "<a href=\"javascript:alert(1)\" onclick=\"x()\">js</a><img src=\"i.png\">",
            base.as_ref(),
        );
        assert_eq!(
            out,
            "<a rel=\"noopener noreferrer\">js</a>\
             <img src=\"https://example.org/blog/post/i.png\" />"
        );
    }

    #[test]
    fn output_is_xml_friendly() {
        let out = sanitize_html("a<br>b&nbsp;c<img src=\"x.png\" alt='1 > 0'>", None);
        assert_eq!(out, "a<br />b&#160;c<img src=\"x.png\" alt=\"1 &gt; 0\" />");
    }
}
