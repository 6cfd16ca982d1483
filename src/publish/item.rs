//! An item as every format publishes it: its text cleaned (sanitized HTML, plain
//! names and categories, no empty constructs), its title or the fallback, its
//! link, the sources it merged, and the escaping the writers share.

use super::*;

/// The item as every format publishes it, whatever the store holds: its
/// HTML sanitized with relative URLs made absolute against its own link,
/// and left out when it has nothing to show (no text, no image or media);
/// author names and categories as plain text, without empty or repeated
/// ones; enclosures only at full http(s) URLs.
pub(super) fn clean_item(item: &StoredItem) -> StoredItem {
    let mut item = item.clone();
    let base = item
        .entry
        .link
        .as_deref()
        .and_then(|l| url::Url::parse(l).ok());
    for field in [&mut item.entry.summary_html, &mut item.entry.content_html] {
        if let Some(html) = field.take() {
            let html = sanitize::clean_html(&html, base.as_ref());
            *field = html_has_content(&html).then_some(html);
        }
    }
    item.entry.authors = plain_list(&item.entry.authors);
    item.entry.categories = plain_list(&item.entry.categories);
    item.entry.enclosures.retain(|e| full_http_url(&e.url));
    item
}

/// Each text as plain text ([`plain_text`]), without empty or repeated ones.
pub(super) fn plain_list(texts: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(texts.len());
    for text in texts {
        let text = plain_text(text);
        if !text.is_empty() && !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

/// Whether some HTML shows anything: text outside its tags, or an image or
/// other embedded media. `<p> </p>` or `<br>` alone is nothing to say.
pub(super) fn html_has_content(html: &str) -> bool {
    const MEDIA: [&str; 9] = [
        "<img", "<video", "<audio", "<iframe", "<object", "<embed", "<svg", "<picture", "<math",
    ];
    let mut in_tag = false;
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            '&' if !in_tag => {
                // A no-break space alone is no text either.
                let lower = rest.get(..6).unwrap_or(rest).to_ascii_lowercase();
                if !(lower == "&nbsp;" || lower == "&#160;") {
                    return true;
                }
                rest = rest.get(6..).unwrap_or_default();
                continue;
            }
            c if !in_tag && !c.is_whitespace() => return true,
            _ => {}
        }
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    let lower = html.to_ascii_lowercase();
    MEDIA.iter().any(|tag| lower.contains(tag))
}

/// Whether a URL is one every format can carry as a full URL: http or
/// https, ASCII, with a dotted host name or an IP address (the W3C
/// validator refuses `https://example/` as an enclosure URL).
pub fn full_http_url(text: &str) -> bool {
    let Ok(url) = url::Url::parse(text) else {
        return false;
    };
    matches!(url.scheme(), "http" | "https")
        && text.is_ascii()
        && !text.contains(' ')
        && match url.host() {
            Some(url::Host::Domain(d)) => d.trim_end_matches('.').contains('.'),
            Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
            None => false,
        }
}

/// The RSS Profile's advice for character data, applied to a rendered RSS
/// or Atom document: `&` and `<` in text and attribute values are written as
/// the character references `&#x26;` and `&#x3C;` instead of `&amp;` and
/// `&lt;`, so a reader (and the W3C validator) can tell a title that says
/// `1&1` or `a < b` from one with entity-encoded markup. The document means
/// exactly the same to an XML parser; CDATA sections, comments and
/// processing instructions are left as they are.
pub fn char_refs(xml: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(xml.len() + xml.len() / 32);
    let mut rest = xml.as_slice();
    while let Some(i) = memchr::memchr2(b'&', b'<', rest) {
        let (head, tail) = rest.split_at(i);
        out.extend_from_slice(head);
        let (written, skip): (&[u8], usize) = if tail.starts_with(b"&amp;") {
            (b"&#x26;", 5)
        } else if tail.starts_with(b"&lt;") {
            (b"&#x3C;", 4)
        } else {
            let close: &[u8] = if tail.starts_with(b"<![CDATA[") {
                b"]]>"
            } else if tail.starts_with(b"<!--") {
                b"-->"
            } else if tail.starts_with(b"<?") {
                b"?>"
            } else {
                b""
            };
            let end = if close.is_empty() {
                1
            } else {
                memchr::memmem::find(tail, close).map_or(tail.len(), |at| at + close.len())
            };
            (tail.get(..end).unwrap_or(tail), end)
        };
        out.extend_from_slice(written);
        rest = tail.get(skip..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    out
}

pub use crate::ingest::parse::escape_html;

/// Removes the characters XML 1.0 forbids (C0 controls but tab, LF, CR;
/// U+FFFE, U+FFFF), whatever came in upstream.
pub fn xml_clean(text: &str) -> String {
    text.chars().filter(|&c| xml_allowed(c)).collect()
}

/// Whether XML 1.0 allows the character, and it is not a C1 control
/// (U+0080-U+009F: allowed, but "discouraged", and in feeds always text
/// decoded with the wrong character set).
pub fn xml_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
        || (c >= '\u{20}'
            && !('\u{7F}'..='\u{9F}').contains(&c)
            && c != '\u{FFFE}'
            && c != '\u{FFFF}')
}

/// The title of an item that has neither a title nor any text.
pub const UNTITLED: &str = "(untitled)";

/// At most this many words of an item's text make the title of an item
/// that has none.
pub(super) const TITLE_WORDS: usize = 10;

/// The item's title as published, the same in every format: its own (as
/// plain text), else the first words of its text (summary, else content;
/// at most [`TITLE_WORDS`] words, `…` when cut), else [`UNTITLED`].
pub fn item_title(item: &StoredItem) -> String {
    if let Some(title) = item.entry.title.as_deref().map(plain_text)
        && !title.is_empty()
    {
        return title;
    }
    let e = &item.entry;
    let text = e
        .summary_html
        .as_deref()
        .or(e.content_html.as_deref())
        .map(plain_text)
        .unwrap_or_default();
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.len() {
        0 => UNTITLED.to_string(),
        n if n <= TITLE_WORDS => words.join(" "),
        _ => format!(
            "{}…",
            words.get(..TITLE_WORDS).unwrap_or_default().join(" ")
        ),
    }
}

/// The item's text as plain text for the formats that need one when the
/// item has no HTML (Atom `summary`, JSON Feed `content_text`): its title
/// ([`item_title`]). `None` when it has a summary or content.
pub fn fallback_text(item: &StoredItem) -> Option<String> {
    let e = &item.entry;
    (e.summary_html.is_none() && e.content_html.is_none()).then(|| item_title(item))
}

/// Text that is safe wherever a reader might render it as HTML (many treat
/// RSS titles so): tags are dropped (script and style with their content),
/// entities decoded, whitespace collapsed. `a < b` stays `a < b`.
pub fn plain_text(text: &str) -> String {
    if !text.contains('<') && !text.contains('&') {
        return xml_clean(&text.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    let stripped = ammonia::Builder::empty().clean(text).to_string();
    let decoded = stripped
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    xml_clean(&decoded.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The item's link: its own, else its page under the public URL.
pub fn item_link(meta: &FeedMeta, item: &StoredItem) -> String {
    match &item.entry.link {
        Some(link) => xml_clean(link),
        None => format!("{}/items/{}", meta.base, item.key.to_hex()),
    }
}

/// One source of an item that merged cross-source duplicates.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemSource {
    pub id: String,
    /// The source's feed address, when remote.
    pub feed_url: Option<String>,
    /// The item's link in that source (its original link).
    pub link: Option<String>,
    /// How that source's copy was merged; `None` for the item's own source.
    pub merged_by: Option<String>,
}

/// Every source an item came from, its own first, when it merged
/// duplicates from other sources; empty otherwise.
pub fn item_sources(item: &StoredItem) -> Vec<ItemSource> {
    if item.merged.is_empty() {
        return Vec::new();
    }
    // Feed addresses are published: their secrets (a token, a password) as
    // `***`.
    let own = ItemSource {
        id: item.source.clone(),
        feed_url: item.feed_url.as_deref().map(crate::redact::url),
        link: item.entry.link.clone(),
        merged_by: None,
    };
    std::iter::once(own)
        .chain(item.merged.iter().map(|m| ItemSource {
            id: m.source.clone(),
            feed_url: m.feed_url.as_deref().map(crate::redact::url),
            link: m.link.clone(),
            merged_by: Some(m.rule.to_string()),
        }))
        .collect()
}
