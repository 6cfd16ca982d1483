//! Plain `http`/`https` URLs recognised without building a [`url::Url`]:
//! most links in feeds are already absolute and in the form the URL parser
//! writes, and parsing each (twice: once as feed-rs reads a link, once when
//! it is normalized) was a visible share of a parse. Each check here is
//! conservative: `None`/`false` only means "parse it".

/// The scheme of `value` when it is an `http` or `https` URL that
/// `Url::parse` certainly accepts: the scheme in lower case, then `//` and a
/// host of lower-case ASCII labels (letters, digits, inner hyphens; the last
/// starting with a letter, so it is not read as an IPv4 address; no `xn--`
/// or other `--` label, which IDNA would check), no user or port, then
/// anything: the parser does not fail on a path, query or fragment.
pub(crate) fn http_scheme(value: &str) -> Option<&'static str> {
    http_parts(value).map(|(scheme, ..)| scheme)
}

/// Whether `Url::parse(value)` certainly succeeds and writes `value` back
/// unchanged: an [`http_scheme`] URL whose host has no trailing dot, with a
/// path (the parser adds `/` to a bare host), no `.` segment or
/// percent-encoded dot (which it resolves), at most one `#`, and only
/// characters it never percent-encodes in a path, query or fragment.
pub(crate) fn is_canonical_http(value: &str) -> bool {
    let Some((_, host, rest)) = http_parts(value) else {
        return false;
    };
    let Some(path) = rest.strip_prefix('/').filter(|_| !host.ends_with('.')) else {
        return false;
    };
    // One pass: allowed bytes only, one `#` at most, and in the path (up to
    // `?` or `#`) no segment of dots and no `%2e`.
    let b = path.as_bytes();
    let dots_only = |segment: &[u8]| !segment.is_empty() && segment.iter().all(|&c| c == b'.');
    let mut in_path = true;
    let mut fragment = false;
    let mut segment_start = 0;
    for (i, &c) in b.iter().enumerate() {
        if !is_kept(c) {
            return false;
        }
        match c {
            b'#' if fragment => return false,
            b'#' => fragment = true,
            _ => {}
        }
        if !in_path {
            continue;
        }
        match c {
            b'/' | b'?' | b'#' => {
                if dots_only(b.get(segment_start..i).unwrap_or_default()) {
                    return false;
                }
                segment_start = i + 1;
                in_path = c == b'/';
            }
            b'%' if b
                .get(i + 1..i + 3)
                .is_some_and(|h| h.eq_ignore_ascii_case(b"2e")) =>
            {
                return false;
            }
            _ => {}
        }
    }
    !(in_path && dots_only(b.get(segment_start..).unwrap_or_default()))
}

/// Bytes the parser writes as they are in a path, a query and a fragment.
fn is_kept(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
                | b'%'
                | b'?'
                | b'#'
        )
}

/// (scheme, host, what follows the host) of an [`http_scheme`] URL.
fn http_parts(value: &str) -> Option<(&'static str, &str, &str)> {
    let (scheme, rest) = if let Some(rest) = value.strip_prefix("https://") {
        ("https", rest)
    } else {
        ("http", value.strip_prefix("http://")?)
    };
    if value.len() > 1 << 16 {
        return None;
    }
    let host_end = rest
        .bytes()
        .position(|c| matches!(c, b'/' | b'?' | b'#' | b'\\'))
        .unwrap_or(rest.len());
    let (host, after) = rest.split_at(host_end);
    let labels = host.strip_suffix('.').unwrap_or(host);
    let mut last = "";
    for label in labels.split('.') {
        let b = label.as_bytes();
        let inner_ok = b
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
        if !inner_ok
            || !b.first().is_some_and(u8::is_ascii_alphanumeric)
            || !b.last().is_some_and(u8::is_ascii_alphanumeric)
            || label.contains("--")
        {
            return None;
        }
        last = label;
    }
    last.as_bytes()
        .first()
        .is_some_and(u8::is_ascii_lowercase)
        .then_some((scheme, host, after))
}

#[cfg(test)]
mod tests {
    use super::{http_scheme, is_canonical_http};

    /// Random strings over the characters that decide both checks, after
    /// `http://` or `https://`.
    fn random_urls(rounds: usize, prefixes: &[&'static str]) -> impl Iterator<Item = String> {
        const ALPHABET: &[u8] = b"ab0x9.-:/@%?#\\ \tX[]n2eE'|{}&=;(~+!*,$`^\"<>";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let prefixes = prefixes.to_vec();
        (0..rounds).map(move |round| {
            let mut value = String::from(prefixes[round % prefixes.len()]);
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let len = (state >> 59) as usize;
            for _ in 0..len {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let pick = (state >> 33) as usize % ALPHABET.len();
                value.push(char::from(ALPHABET[pick]));
            }
            value
        })
    }

    /// `http_scheme` takes the common links, and whatever it takes,
    /// `Url::parse` accepts with the same scheme.
    #[test]
    fn plain_http_urls_are_urls() {
        for taken in [
            "https://example.com/",
            "http://example.com",
            "https://www.example.co.uk/a/b?c=d&e#f",
            "https://sub-domain.example.org./x y",
            "http://a1.b2.c3/\\path",
        ] {
            assert!(http_scheme(taken).is_some(), "{taken}");
        }
        for left in [
            "https://192.168.0.1/",
            "https://example.com:8080/",
            "https://user@example.com/",
            "https://Example.com/",
            "https://xn--nxasmq6b.com/",
            "https://-a.com/",
            "https://a..b/",
            "https://",
            "ftp://example.com/",
            " https://example.com/",
            "https://ex%41mple.com/",
            "https://a.0x1f/",
        ] {
            assert_eq!(http_scheme(left), None, "{left}");
        }
        let mut taken = 0;
        for value in random_urls(200_000, &["https://", "http://"]) {
            if let Some(scheme) = http_scheme(&value) {
                taken += 1;
                let parsed = url::Url::parse(&value);
                assert!(parsed.is_ok(), "{value:?}: {parsed:?}");
                assert_eq!(
                    parsed.map(|u| u.scheme().to_string()).ok().as_deref(),
                    Some(scheme)
                );
            }
        }
        assert!(taken > 1000, "only {taken} random URLs taken");
    }

    /// What `is_canonical_http` takes, the parser writes back unchanged.
    #[test]
    fn canonical_http_urls_round_trip() {
        for taken in [
            "https://example.com/",
            "https://www.example.co.uk/2024/03/a-post.html?utm=1&x=%20#frag",
            "http://a.b/c/d;p=1/(x)*+,$!~@:e",
            "https://example.com/...x/.hidden/a..b",
        ] {
            assert!(is_canonical_http(taken), "{taken}");
        }
        for left in [
            "https://example.com",
            "https://example.com?x",
            "https://example.com./",
            "https://example.com/a/../b",
            "https://example.com/a/./b",
            "https://example.com/a/%2e%2E/b",
            "https://example.com/a b",
            "https://example.com/a?b'c",
            "https://example.com/a#b#c",
            "https://example.com/{x}",
            "https://example.com/a\\b",
        ] {
            assert!(!is_canonical_http(left), "{left}");
        }
        let mut taken = 0;
        for value in random_urls(
            300_000,
            &["https://a.b/", "http://x.example/p", "https://e.x/."],
        ) {
            if is_canonical_http(&value) {
                taken += 1;
                let parsed = url::Url::parse(&value).map(String::from);
                assert_eq!(parsed.as_deref(), Ok(value.as_str()));
            }
        }
        assert!(taken > 1000, "only {taken} random URLs taken");
    }
}
