//! Output hygiene for aggregated HTML: whatever the store holds is cleaned
//! again on the way out (defence in depth: a store written by an older
//! build, or an ingest bug, must not reach subscribers).
//!
//! [`clean_html`] keeps ordinary markup and drops `script`, `iframe`,
//! `style`, event handler attributes (`on*`), inline `style` (and so CSS
//! `expression()`), and URLs whose scheme is not http(s), mailto, data
//! images or relative; relative URLs are made absolute against the item's
//! base. It also strips the control characters XML 1.0 forbids, so the
//! result can go into any of the three formats. The output is a pure
//! function of the input and the base: rendering stays deterministic.

use std::borrow::Cow;
use std::collections::HashSet;

use url::Url;

use super::xml_clean;

/// URL schemes allowed in `href` / `src` after cleaning.
const SCHEMES: [&str; 4] = ["http", "https", "mailto", "tel"];

/// Sanitizes `html` and makes its relative URLs absolute against `base`
/// (when there is one; without a base, relative URLs are dropped so that
/// nothing in the output depends on where it is read).
pub fn clean_html(html: &str, base: Option<&Url>) -> String {
    let input = xml_clean(html);
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(HashSet::from(SCHEMES))
        .link_rel(None)
        .strip_comments(true);
    match base {
        Some(base) => {
            builder.url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone()));
        }
        None => {
            builder.url_relative(ammonia::UrlRelative::Deny);
        }
    }
    let cleaned = builder.clean(&input).to_string();
    match xml_clean_cow(&cleaned) {
        Cow::Borrowed(_) => cleaned,
        Cow::Owned(s) => s,
    }
}

/// [`xml_clean`] that does not allocate when there is nothing to strip.
fn xml_clean_cow(text: &str) -> Cow<'_, str> {
    if text.chars().all(super::xml_allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(xml_clean(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://example.org/posts/one.html").unwrap()
    }

    #[test]
    fn scripts_iframes_handlers_and_javascript_urls_are_removed() {
        let dirty = r#"<p onclick="steal()">Hi<script>alert(1)</script><iframe src="https://evil.example/"></iframe>
<a href="javascript:alert(2)">x</a><img src="x.png" onerror="alert(3)"><span style="width: expression(alert(4))">s</span><style>p{}</style></p>"#;
        let clean = clean_html(dirty, Some(&base()));
        for bad in [
            "script",
            "iframe",
            "onclick",
            "onerror",
            "javascript:",
            "expression",
            "style",
            "alert",
        ] {
            assert!(!clean.contains(bad), "{bad} in {clean}");
        }
        assert!(clean.contains("<p>Hi"), "{clean}");
        assert!(
            clean.contains(r#"<img src="https://example.org/posts/x.png">"#),
            "{clean}"
        );
    }

    #[test]
    fn relative_urls_become_absolute_and_entities_stay_escaped_once() {
        let clean = clean_html(
            r#"<a href="/about">A &amp; B &lt;tag&gt;</a>"#,
            Some(&base()),
        );
        assert_eq!(
            clean,
            r#"<a href="https://example.org/about">A &amp; B &lt;tag&gt;</a>"#
        );
        assert_eq!(clean_html(&clean, Some(&base())), clean, "idempotent");
    }

    #[test]
    fn control_characters_are_stripped() {
        assert_eq!(clean_html("<p>a\u{1}b\u{b}c</p>", None), "<p>abc</p>");
    }
}
