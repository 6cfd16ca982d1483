//! Content coding and conditional requests, to the letter of RFC 9110:
//! which stored variant a request gets (12.5.3), and whether it gets a 304
//! (13.1.1, 13.1.3, 13.2.2). List-valued fields are read across all their
//! header lines (5.3).
//!
//! Content coding choice ([`choose_coding`]):
//! * no `Accept-Encoding` at all: identity (any coding is acceptable; the
//!   plain bytes are the safe choice);
//! * each listed coding gets its weight (`q`, case-insensitive, default 1);
//!   a coding listed twice gets its lower weight; `*` gives its weight to
//!   every coding not listed by name; `x-gzip` is `gzip`;
//! * `identity` is acceptable unless refused (`identity;q=0`, or `*;q=0`
//!   without an `identity` entry); when not listed, by name or through `*`,
//!   it ranks below every coding the client listed;
//! * the highest weight wins whatever the order of the list; ties go to
//!   the smaller body: br, then gzip, then identity;
//! * an element whose weight is not a valid qvalue is ignored;
//! * 406 only when br, gzip and identity are all refused.

use axum::http::{HeaderMap, HeaderName, header};
use chrono::{DateTime, Utc};

use crate::publish::Rendered;

/// Which stored variant a request gets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Coding {
    Identity,
    Gzip,
    Brotli,
}

/// The values of a list-based field across all its header lines, split at
/// commas outside quoted strings, trimmed, empty elements dropped (RFC 9110
/// 5.3, 5.6.1). Lines that are not visible ASCII are skipped.
pub fn list_elements<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Vec<&'h str> {
    let mut out = Vec::new();
    for line in headers.get_all(name) {
        let Ok(line) = line.to_str() else {
            continue;
        };
        let mut start = 0;
        let mut quoted = false;
        for (at, b) in line.bytes().enumerate() {
            match b {
                b'"' => quoted = !quoted,
                b',' if !quoted => {
                    push_trimmed(&mut out, &line[start..at]);
                    start = at + 1;
                }
                _ => {}
            }
        }
        push_trimmed(&mut out, &line[start..]);
    }
    out
}

fn push_trimmed<'h>(out: &mut Vec<&'h str>, element: &'h str) {
    let element = element.trim();
    if !element.is_empty() {
        out.push(element);
    }
}

/// A qvalue (RFC 9110 12.4.2) in thousandths: `0`, `0.5`, `1.000`.
fn qvalue(text: &str) -> Option<u16> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1].get(i).copied().unwrap_or(0);
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The weights an `Accept-Encoding` gives: per coding name (lower case),
/// and for `*`. `None` when the element's weight is not a valid qvalue.
fn weighted(element: &str) -> Option<(String, u16)> {
    let mut fields = element.split(';');
    let name = fields.next()?.trim().to_ascii_lowercase();
    let mut weight = 1000;
    for param in fields {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("q") {
            weight = qvalue(value.trim())?;
        }
    }
    let name = if name == "x-gzip" {
        "gzip".to_string()
    } else {
        name
    };
    Some((name, weight))
}

/// Picks the variant for a request (see the module documentation); `None`
/// means nothing we have is acceptable (406).
pub fn choose_coding(headers: &HeaderMap) -> Option<Coding> {
    if !headers.contains_key(header::ACCEPT_ENCODING) {
        return Some(Coding::Identity);
    }
    let mut listed: Vec<(String, u16)> = Vec::new();
    for element in list_elements(headers, &header::ACCEPT_ENCODING) {
        let Some((name, weight)) = weighted(element) else {
            continue;
        };
        match listed.iter_mut().find(|(n, _)| *n == name) {
            Some((_, w)) => *w = (*w).min(weight),
            None => listed.push((name, weight)),
        }
    }
    let named = |name: &str| listed.iter().find(|(n, _)| n == name).map(|(_, w)| *w);
    let star = named("*");
    // Weights in thousandths, times two so that an unlisted identity can
    // rank below every listed weight and still above a refusal.
    let weight_of = |name: &str| -> u32 {
        match (named(name), star) {
            (Some(w), _) | (None, Some(w)) => u32::from(w) * 2,
            (None, None) if name == "identity" => 1,
            (None, None) => 0,
        }
    };
    // Ties go to the first: the smallest body.
    let candidates = [
        (Coding::Brotli, weight_of("br")),
        (Coding::Gzip, weight_of("gzip")),
        (Coding::Identity, weight_of("identity")),
    ];
    let mut best: Option<(Coding, u32)> = None;
    for (coding, weight) in candidates {
        if weight > 0 && best.is_none_or(|(_, b)| weight > b) {
            best = Some((coding, weight));
        }
    }
    best.map(|(coding, _)| coding)
}

/// The media types that ask for a feed when a client lists them.
const FEED_TYPES: [&str; 6] = [
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/rdf+xml",
    "application/json",
    "text/xml",
];

/// True when a request for a feed comes from a browser that would show
/// its XML as text: its `Accept` lists `text/html` (or XHTML), names no
/// feed type ([`FEED_TYPES`]), and weighs HTML above `application/xml`.
/// Browsers send `text/html,application/xhtml+xml,application/xml;q=0.9,
/// */*;q=0.8`; feed readers name a feed type, or send `*/*` or nothing,
/// and get the feed. Such a browser is given the feed's page instead.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let mut html = 0;
    let mut xml = 0;
    for element in list_elements(headers, &header::ACCEPT) {
        let Some((media, weight)) = weighted(element) else {
            continue;
        };
        if weight == 0 {
            continue;
        }
        match media.as_str() {
            "text/html" | "application/xhtml+xml" => html = html.max(weight),
            "application/xml" => xml = xml.max(weight),
            m if FEED_TYPES.contains(&m) => return false,
            _ => {}
        }
    }
    // Weights are never negative: above XML's is above zero.
    html > xml
}

/// True when any entity tag of the `If-None-Match` lines matches one of
/// ours, with the weak comparison RFC 9110 13.1.2 asks for (`W/` ignored),
/// any coding variant of the current body counting as a match; `*` matches
/// (the feed exists).
pub fn none_match(headers: &HeaderMap, rendered: &Rendered) -> bool {
    list_elements(headers, &header::IF_NONE_MATCH)
        .iter()
        .any(|tag| {
            *tag == "*" || {
                let tag = tag.strip_prefix("W/").unwrap_or(tag);
                rendered.etags.iter().any(|o| o == tag)
            }
        })
}

/// Whether a request gets a 304 (RFC 9110 13.2.2): `If-None-Match` when
/// present, else `If-Modified-Since` (ignored unless it is one valid
/// HTTP-date, 13.1.3) against `last_modified`.
pub fn not_modified(
    headers: &HeaderMap,
    rendered: &Rendered,
    last_modified: Option<DateTime<Utc>>,
) -> bool {
    if headers.contains_key(header::IF_NONE_MATCH) {
        return none_match(headers, rendered);
    }
    let mut lines = headers.get_all(header::IF_MODIFIED_SINCE).iter();
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return false;
    };
    let since = line
        .to_str()
        .ok()
        .and_then(|v| httpdate::parse_http_date(v).ok());
    match (since, last_modified) {
        (Some(since), Some(modified)) => {
            DateTime::<Utc>::from(since).timestamp() >= modified.timestamp()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn browsers_prefer_html_and_feed_readers_do_not() {
        let accept = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, value.parse().unwrap());
            prefers_html(&h)
        };
        // Chromium, Firefox, Safari.
        assert!(accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
        ));
        assert!(accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        // feedparser, a reader naming feed types, curl, a client listing
        // XML as high as HTML, one refusing HTML.
        assert!(!accept(
            "application/atom+xml,application/rdf+xml,application/rss+xml,application/x-netcdf,application/xml;q=0.9,text/xml;q=0.2,*/*;q=0.1"
        ));
        assert!(!accept("text/html, application/rss+xml;q=0.5"));
        assert!(!accept("*/*"));
        assert!(!accept("application/xml, text/html"));
        assert!(!accept("text/html;q=0.9, application/xml;q=0.9"), "a tie");
        assert!(!accept("text/html;q=0, */*"));
        assert!(!prefers_html(&HeaderMap::new()));
    }

    use super::*;
    use axum::http::HeaderValue;

    fn accept(lines: &[&str]) -> Option<Coding> {
        let mut h = HeaderMap::new();
        for line in lines {
            h.append(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(line).unwrap(),
            );
        }
        choose_coding(&h)
    }

    #[test]
    fn qvalues_parse_to_the_grammar() {
        assert_eq!(qvalue("0"), Some(0));
        assert_eq!(qvalue("0.000"), Some(0));
        assert_eq!(qvalue("0.5"), Some(500));
        assert_eq!(qvalue("0.05"), Some(50));
        assert_eq!(qvalue("1"), Some(1000));
        assert_eq!(qvalue("1.000"), Some(1000));
        assert_eq!(qvalue("1.5"), None);
        assert_eq!(qvalue("0.1234"), None);
        assert_eq!(qvalue("2"), None);
        assert_eq!(qvalue("-0"), None);
        assert_eq!(qvalue(""), None);
    }

    #[test]
    fn codings_follow_rfc_9110_12_5_3() {
        use Coding::*;
        assert_eq!(accept(&["gzip, deflate"]), Some(Gzip));
        assert_eq!(accept(&["gzip, br"]), Some(Brotli));
        assert_eq!(accept(&["br;q=0, gzip"]), Some(Gzip));
        assert_eq!(accept(&["identity"]), Some(Identity));
        assert_eq!(accept(&[""]), Some(Identity));
        assert_eq!(accept(&["br;q=0, gzip;q=0, *;q=0.5"]), Some(Identity));
        assert_eq!(accept(&["br;q=0, *"]), Some(Gzip));
        assert_eq!(accept(&["*, br;q=0"]), Some(Gzip));
        assert_eq!(accept(&["gzip;Q=0"]), Some(Identity));
        assert_eq!(accept(&["GZIP;q=0.5, br;q=0.4"]), Some(Gzip));
        assert_eq!(accept(&["br;q=0.4, gzip;q=0.5"]), Some(Gzip));
        assert_eq!(accept(&["gzip;q=0.2, identity;q=0.9"]), Some(Identity));
        assert_eq!(accept(&["x-gzip"]), Some(Gzip));
        assert_eq!(accept(&["gzip;q=0.001"]), Some(Gzip));
        assert_eq!(accept(&["gzip", "br"]), Some(Brotli));
        assert_eq!(accept(&["gzip", "gzip;q=0"]), Some(Identity));
        assert_eq!(accept(&["gzip;q=bogus"]), Some(Identity));
        assert_eq!(accept(&["identity;q=0"]), None);
        assert_eq!(accept(&["*;q=0"]), None);
        assert_eq!(accept(&["*;q=0, gzip"]), Some(Gzip));
        assert_eq!(accept(&["*;q=0, identity"]), Some(Identity));
        assert_eq!(accept(&["identity;q=0, gzip;q=0.1"]), Some(Gzip));
        assert_eq!(accept(&[]), Some(Identity));
    }

    #[test]
    fn list_elements_span_lines_and_respect_quotes() {
        let mut h = HeaderMap::new();
        h.append(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"a,b\", W/\"c\""),
        );
        h.append(header::IF_NONE_MATCH, HeaderValue::from_static(" , \"d\""));
        assert_eq!(
            list_elements(&h, &header::IF_NONE_MATCH),
            ["\"a,b\"", "W/\"c\"", "\"d\""]
        );
    }
}
