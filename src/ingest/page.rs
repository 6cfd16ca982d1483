//! An item's web page to its main content, for a `full_text` source: the
//! page's bytes decoded (Content-Type charset, else `<meta charset>`, else
//! UTF-8), the article found by the readability algorithm (`dom_smoothie`,
//! a port of Mozilla's Readability.js) or by the source's CSS selectors,
//! and sanitized like every feed's content. Pure: the fetch is the
//! caller's (`refresh::full_text`).

use crate::config::FullText;
use crate::ingest::parse::{charset_param, html_to_text, sanitize_html};

/// Most elements a page may have for readability to read it: a bigger
/// page is refused (its content would cost seconds to score), and the
/// feed's content is kept.
pub const MAX_ELEMENTS: usize = 40_000;

/// Least text (characters) the extracted content must hold: less is a
/// page with no article (a login wall, a cookie notice, an index).
pub const MIN_TEXT_CHARS: usize = 140;

/// The main content of the page at `url` (its address after redirects),
/// as sanitized HTML with links made absolute against it; `Err` says in a
/// few words why there is none.
pub fn main_content(
    body: &[u8],
    content_type: Option<&str>,
    url: &str,
    how: &FullText,
) -> Result<String, String> {
    if let Some(kind) = content_type {
        let media = kind.split(';').next().unwrap_or("").trim();
        let html = media.is_empty()
            || media.eq_ignore_ascii_case("text/html")
            || media.eq_ignore_ascii_case("application/xhtml+xml");
        if !html {
            return Err(format!("the page is {media}, not HTML"));
        }
    }
    let text = decode(body, content_type);
    let found = match how {
        FullText::Readability => readable(&text, url)?,
        FullText::Selector(selectors) => selectors.pick(&text).ok_or_else(|| {
            format!(
                "full_text_selector `{}` matches nothing on the page",
                selectors.as_str()
            )
        })?,
    };
    let base = url::Url::parse(url).ok();
    let clean = sanitize_html(&found, base.as_ref());
    let chars = html_to_text(&clean).chars().count();
    if chars < MIN_TEXT_CHARS {
        return Err(format!(
            "the page's main content is {chars} characters of text, fewer than {MIN_TEXT_CHARS}"
        ));
    }
    Ok(clean)
}

/// The article readability finds in `html`.
fn readable(html: &str, url: &str) -> Result<String, String> {
    let config = dom_smoothie::Config {
        max_elements_to_parse: MAX_ELEMENTS,
        ..dom_smoothie::Config::default()
    };
    let mut reader = dom_smoothie::Readability::new(html, Some(url), Some(config))
        .map_err(|err| format!("readability: {err}"))?;
    if !reader.is_probably_readable() {
        return Err("the page has no main content (readability found no article)".into());
    }
    match reader.parse() {
        Ok(article) => Ok(article.content.to_string()),
        Err(dom_smoothie::ReadabilityError::TooManyElements(found, max)) => Err(format!(
            "the page has {found} elements, more than the {max} read"
        )),
        Err(dom_smoothie::ReadabilityError::GrabFailed) => {
            Err("the page has no main content (readability found no article)".into())
        }
        Err(err) => Err(format!("readability: {err}")),
    }
}

/// `body` as text: the Content-Type's charset, else a `<meta charset>` or
/// `http-equiv` declaration in the first 1,024 bytes, else UTF-8 (a BOM
/// wins over both); malformed bytes become U+FFFD.
fn decode(body: &[u8], content_type: Option<&str>) -> String {
    let label = content_type
        .and_then(charset_param)
        .or_else(|| meta_charset(body.get(..1024).unwrap_or(body)));
    let encoding = label
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(body);
    text.into_owned()
}

/// The charset a page's head declares: `<meta charset="x">` or
/// `<meta http-equiv="Content-Type" content="text/html; charset=x">`.
fn meta_charset(head: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let at = head.find("charset=")?;
    let rest = &head[at + "charset=".len()..];
    let rest = rest.trim_start_matches(['"', '\'', ' ']);
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(rest.len());
    let label = &rest[..end];
    (!label.is_empty()).then(|| label.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paragraphs(n: usize) -> String {
        (0..n)
            .map(|i| {
                format!(
                    "<p>Paragraph {i} of the story tells, at some length and with commas, \
                     what happened at the harbour when the boats came in late.</p>"
                )
            })
            .collect()
    }

    #[test]
    fn the_charset_comes_from_the_header_then_the_page_then_utf8() {
        let latin1 = b"<html><head><meta charset=\"iso-8859-1\"></head><body>caf\xe9</body></html>";
        assert!(decode(latin1, None).contains("café"));
        assert!(decode(latin1, Some("text/html; charset=windows-1252")).contains("café"));
        let equiv =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\">\xe9";
        assert!(decode(equiv, None).ends_with('é'));
        assert!(decode("plain é".as_bytes(), None).ends_with('é'));
    }

    #[test]
    fn a_page_that_is_not_html_is_refused() {
        let err = main_content(
            b"%PDF-1.7",
            Some("application/pdf"),
            "https://a.example/x",
            &FullText::Readability,
        )
        .unwrap_err();
        assert!(err.contains("application/pdf"), "{err}");
    }

    #[test]
    fn a_selector_picks_its_elements_and_the_result_is_sanitized() {
        let page = format!(
            "<html><body><nav>Home | About</nav><article><div class=\"body\">{}\
             <script>steal()</script><a href=\"/next\">next</a></div></article></body></html>",
            paragraphs(3)
        );
        let how = FullText::Selector(crate::rules::Selectors::parse("article .body").unwrap());
        let html = main_content(
            page.as_bytes(),
            Some("text/html"),
            "https://a.example/story/1",
            &how,
        )
        .unwrap();
        assert!(html.contains("Paragraph 2"), "{html}");
        assert!(!html.contains("Home | About"), "{html}");
        assert!(!html.contains("steal"), "{html}");
        assert!(html.contains("href=\"https://a.example/next\""), "{html}");
        let none = FullText::Selector(crate::rules::Selectors::parse(".missing").unwrap());
        let err =
            main_content(page.as_bytes(), None, "https://a.example/story/1", &none).unwrap_err();
        assert!(err.contains("`.missing` matches nothing"), "{err}");
    }

    #[test]
    fn too_little_text_is_no_article() {
        let page = "<html><body><article><p>Subscribe to read.</p></article></body></html>";
        let how = FullText::Selector(crate::rules::Selectors::parse("article").unwrap());
        let err = main_content(page.as_bytes(), None, "https://a.example/", &how).unwrap_err();
        assert!(err.contains("fewer than 140"), "{err}");
    }
}
