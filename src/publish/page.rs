//! Pages for people: the HTML shell every page of syndic shares, each
//! feed's page (`/feeds/{name}.html`: its items, and how to subscribe in
//! each format) and the `<link rel="alternate">` tags that let browsers and
//! readers discover the feeds from any page.
//!
//! A feed's page is rendered with its feeds, from the same items, and
//! served as stored bytes with its own ETag like them.

use super::*;

/// The style of every page: readable without scripts or external files.
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;line-height:1.5;color:#222}\
table{border-collapse:collapse;max-width:100%}td,th{padding:.25em .5em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top;overflow-wrap:break-word}\
.wide{position:relative;left:50%;transform:translateX(-50%);width:calc(100vw - 2em);max-width:90em;overflow-x:auto}\
.wide table{width:100%}.src td:nth-child(3){overflow-wrap:anywhere;min-width:8em}.src td:nth-child(4){min-width:14em}\
.src td:nth-child(2),.src td:nth-child(6),.src td:nth-child(9){white-space:nowrap}\
.bad{color:#a00}.ok{color:#070}time{color:#666}\
.subscribe input{width:100%;font-family:monospace;font-size:.9em;padding:.2em}\
.subscribe dt{font-weight:bold;margin-top:.5em}.item{margin:1.5em 0}.item h2{font-size:1.15em;margin:0}";

/// How many words of an item's text its entry on a feed page shows.
pub const SUMMARY_WORDS: usize = 60;

/// A whole HTML page: `title`, extra `<head>` content (`head`, e.g.
/// [`alternate_links`]) and `body`.
pub fn html(title: &str, head: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title>{head}<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        escape_html(title)
    )
}

/// The autodiscovery tags of one feed: one `<link rel="alternate">` per
/// format it offers (RSS first: readers take the first one).
pub fn alternate_links(base: &str, name: &str, title: &str, formats: &[Format]) -> String {
    let mut out = String::new();
    for format in formats {
        out.push_str(&format!(
            "<link rel=\"alternate\" type=\"{}\" title=\"{}\" href=\"{}\">",
            format.media_type(),
            escape_html(&format!("{title} ({})", format_name(*format))),
            escape_html(&format!("{base}/feeds/{name}.{}", format.extension())),
        ));
    }
    out
}

/// The name a person knows a format by.
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Rss => "RSS",
        Format::Atom => "Atom",
        Format::Json => "JSON Feed",
        Format::Html => "web page",
    }
}

/// The page of a feed's current document: its title and description, how
/// to subscribe (each format's address, ready to copy), and its items with
/// their dates, authors and the first [`SUMMARY_WORDS`] words of their text.
pub fn feed_page(meta: &FeedMeta, items: &[StoredItem]) -> Vec<u8> {
    let mut body = format!(
        "<header><h1>{}</h1><p>{}</p></header>\n<section class=\"subscribe\"><h2>Subscribe</h2>\
         <p>Copy an address into your feed reader:</p><dl>",
        escape_html(meta.title),
        escape_html(meta.description)
    );
    for format in &meta.formats {
        let url = meta.current_url(*format);
        body.push_str(&format!(
            "<dt><a href=\"{url}\">{}</a></dt><dd><input type=\"text\" readonly value=\"{url}\" aria-label=\"{} address\"></dd>",
            format_name(*format),
            format_name(*format),
            url = escape_html(&url),
        ));
    }
    body.push_str("</dl></section>\n<main>\n");
    if items.is_empty() {
        body.push_str("<p>No items yet.</p>\n");
    }
    for item in items {
        body.push_str(&format!(
            "<article class=\"item\"><h2><a href=\"{}\">{}</a></h2><p><time datetime=\"{}\">{}</time>",
            escape_html(&item_link(meta, item)),
            escape_html(&item_title(item)),
            item.published.to_rfc3339(),
            item.published.format("%e %B %Y, %H:%M UTC"),
        ));
        if !item.entry.authors.is_empty() {
            let authors: Vec<String> = item.entry.authors.iter().map(|a| plain_text(a)).collect();
            body.push_str(&format!(" · {}", escape_html(&authors.join(", "))));
        }
        body.push_str("</p>");
        if let Some(summary) = summary(item) {
            body.push_str(&format!("<p>{}</p>", escape_html(&summary)));
        }
        body.push_str("</article>\n");
    }
    body.push_str("</main>\n<footer><p><a href=\"/\">All feeds</a></p></footer>");
    let head = alternate_links(meta.base, meta.name, meta.title, &meta.formats);
    html(meta.title, &head, &body).into_bytes()
}

/// The first [`SUMMARY_WORDS`] words of an item's text (summary, else
/// content), `…` when cut; `None` when it has none.
fn summary(item: &StoredItem) -> Option<String> {
    let e = &item.entry;
    let text = plain_text(e.summary_html.as_deref().or(e.content_html.as_deref())?);
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.len() {
        0 => None,
        n if n <= SUMMARY_WORDS => Some(words.join(" ")),
        _ => Some(format!(
            "{}…",
            words.get(..SUMMARY_WORDS).unwrap_or_default().join(" ")
        )),
    }
}
