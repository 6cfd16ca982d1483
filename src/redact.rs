//! Secrets in URLs, kept out of everything syndic shows: pages, OPML,
//! feeds, metrics, logs, CLI output and error messages. The real URL is
//! still what is fetched; only what is displayed passes through here.
//!
//! A URL's userinfo (`https://alice:pass@host/`) and the values of query
//! parameters that carry credentials (`?token=...`, `&api_key=...`; see
//! [`is_secret_param`]) are shown as `***`:
//! `https://***@host/feed?user=alice&token=***`. Secrets in a URL's path (a
//! share link such as `/share/9f8e7d`) cannot be told from a path and are
//! not redacted.
//!
//! [`url`] redacts one URL, [`text`] every URL inside free text (an error
//! message, a log line), [`Redacted`] is a `Display` wrapper, and
//! [`Writer`] redacts everything written through it (the log output).

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::sync::RwLock;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Query parameter names (compared case-insensitively, after percent
/// decoding) whose values are secrets.
pub const SECRET_PARAMS: &[&str] = &[
    "token",
    "key",
    "apikey",
    "api_key",
    "api-key",
    "access_token",
    "auth",
    "authorization",
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "sig",
    "signature",
    "hash",
    "session",
    "sessionid",
    "sid",
    "jwt",
    "code",
    "credential",
    "credentials",
];

/// Parameter names containing one of these are secrets too
/// (`refresh_token`, `client_secret`, `X-Amz-Signature`, `userPassword`).
const SECRET_FRAGMENTS: &[&str] = &[
    "token",
    "secret",
    "passw",
    "apikey",
    "api_key",
    "api-key",
    "signature",
    "credential",
    "auth",
];

/// Names added by `[daemon] secret_params`, lowercased.
static EXTRA: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Makes `names` (the config's `secret_params`) secret besides the
/// built-in list, replacing earlier additions. Called when a config is
/// loaded or reloaded.
pub fn configure(names: &[String]) {
    let names = names
        .iter()
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    match EXTRA.write() {
        Ok(mut extra) => *extra = names,
        Err(poisoned) => *poisoned.into_inner() = names,
    }
}

/// True when a query parameter of this name carries a credential: it is in
/// [`SECRET_PARAMS`] or the configured additions, or contains one of the
/// fragments `token`, `secret`, `passw`, `apikey`, `signature`,
/// `credential`, `auth` (case-insensitive).
pub fn is_secret_param(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    if SECRET_PARAMS.contains(&name.as_str()) || SECRET_FRAGMENTS.iter().any(|f| name.contains(f)) {
        return true;
    }
    let extra = match EXTRA.read() {
        Ok(extra) => extra,
        Err(poisoned) => poisoned.into_inner(),
    };
    extra.contains(&name)
}

/// `url` as it may be shown: userinfo and secret query values as `***`.
/// Text that is not a URL comes back as it is (with any URLs inside it
/// redacted).
pub fn url(url: &str) -> String {
    text(url).into_owned()
}

/// A `Display` of a URL (or of text holding URLs) with its secrets
/// redacted.
pub struct Redacted<'a>(pub &'a str);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&text(self.0))
    }
}

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*text(self.0), f)
    }
}

/// Every `scheme://` URL inside `input` with its secrets redacted; borrowed
/// when there was nothing to redact.
pub fn text(input: &str) -> Cow<'_, str> {
    let mut out = String::new();
    // Up to where `input` has been copied to `out`.
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = input[search..].find("://") {
        let sep = search + found;
        let start = scheme_start(input, sep);
        let end = url_end(input, sep + 3);
        search = end.max(sep + 3);
        if start == sep {
            continue;
        }
        if let Some(redacted) = redact_one(&input[start..end]) {
            out.push_str(&input[copied..start]);
            out.push_str(&redacted);
            copied = end;
        }
    }
    if copied == 0 {
        Cow::Borrowed(input)
    } else {
        out.push_str(&input[copied..]);
        Cow::Owned(out)
    }
}

/// Where the scheme before `://` at `sep` starts (`sep` when there is none).
fn scheme_start(input: &str, sep: usize) -> usize {
    let bytes = input.as_bytes();
    let mut start = sep;
    while let Some(&b) = start.checked_sub(1).and_then(|i| bytes.get(i)) {
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.' {
            start -= 1;
        } else {
            break;
        }
    }
    // A scheme starts with a letter.
    while start < sep && !bytes.get(start).is_some_and(u8::is_ascii_alphabetic) {
        start += 1;
    }
    start
}

/// Where a URL starting before `from` ends: at white space, a control
/// character, a quote, `<`, `>`, a backtick, a backslash (a JSON escape)
/// or a closing bracket.
fn url_end(input: &str, from: usize) -> usize {
    input[from..]
        .char_indices()
        .find(|(_, c)| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '"' | '\'' | '<' | '>' | '`' | '\\' | ')' | ']' | '}')
        })
        .map_or(input.len(), |(i, _)| from + i)
}

/// One URL (`scheme://...`) redacted, or `None` when it holds no secret.
fn redact_one(url: &str) -> Option<String> {
    let sep = url.find("://")?;
    let authority_start = sep + 3;
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let mut changed = false;
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..authority_start]);
    match authority.rfind('@') {
        Some(at) => {
            out.push_str(MASK);
            out.push_str(&authority[at..]);
            changed = true;
        }
        None => out.push_str(authority),
    }
    let after = &rest[authority_len..];
    let (before_fragment, fragment) = match after.find('#') {
        Some(i) => after.split_at(i),
        None => (after, ""),
    };
    match before_fragment.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let mut first = true;
            for pair in query.split('&') {
                if !first {
                    out.push('&');
                }
                first = false;
                match pair.split_once('=') {
                    Some((name, value)) if !value.is_empty() && secret_name(name) => {
                        out.push_str(name);
                        out.push('=');
                        out.push_str(MASK);
                        changed = true;
                    }
                    _ => out.push_str(pair),
                }
            }
        }
        None => out.push_str(before_fragment),
    }
    out.push_str(fragment);
    changed.then_some(out)
}

/// [`is_secret_param`] on a raw (maybe percent-encoded) parameter name.
fn secret_name(raw: &str) -> bool {
    let decoded: String = url::form_urlencoded::parse(raw.as_bytes())
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default();
    is_secret_param(&decoded) || is_secret_param(raw)
}

/// An `io::Write` that redacts the URLs in what is written through it: the
/// log output. Each write is redacted on its own; the log formatter writes
/// one whole line at a time.
pub struct Writer<W>(pub W);

impl<W: io::Write> io::Write for Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(line) => match text(line) {
                Cow::Borrowed(_) => self.0.write_all(buf)?,
                Cow::Owned(redacted) => self.0.write_all(redacted.as_bytes())?,
            },
            Err(_) => {
                let lossy = String::from_utf8_lossy(buf);
                self.0.write_all(text(&lossy).as_bytes())?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn userinfo_and_secret_params_are_masked_the_rest_kept() {
        assert_eq!(
            url("https://alice:pa55@host.example:8443/feed?user=alice&token=T0K&page=2#top"),
            "https://***@host.example:8443/feed?user=alice&token=***&page=2#top"
        );
        assert_eq!(
            url("https://bob@host.example/feed"),
            "https://***@host.example/feed"
        );
        for name in [
            "token",
            "TOKEN",
            "Key",
            "apikey",
            "api_key",
            "access_token",
            "auth",
            "password",
            "secret",
            "sig",
            "signature",
            "X-Amz-Signature",
            "client_secret",
            "refresh_token",
            "api%5Fkey",
        ] {
            assert_eq!(
                url(&format!("http://h/f?a=1&{name}=s3cr3t")),
                format!("http://h/f?a=1&{name}=***"),
                "{name}"
            );
        }
        // Nothing secret: the very same text, borrowed.
        for plain in [
            "https://host.example/feed.xml?page=2&format=rss",
            "https://host.example/path/with@sign",
            "no url here: a://",
            "",
        ] {
            assert!(matches!(text(plain), Cow::Borrowed(_)), "{plain}");
        }
    }

    #[test]
    fn urls_inside_text_json_and_error_messages_are_found() {
        let err = "error sending request for url (http://u:p4ss@127.0.0.1:9/f?apikey=K3Y): connection refused";
        assert_eq!(
            text(err),
            "error sending request for url (http://***@127.0.0.1:9/f?apikey=***): connection refused"
        );
        let json = r#"{"url":"https://h/f?token=T0K","next":"ftp://x:y@z/"}"#;
        assert_eq!(
            text(json),
            r#"{"url":"https://h/f?token=***","next":"ftp://***@z/"}"#
        );
        let two = "a http://h/?key=1 b <https://h/?sig=2> c";
        assert_eq!(text(two), "a http://h/?key=*** b <https://h/?sig=***> c");
        assert_eq!(
            Redacted("http://h/?password=x").to_string(),
            "http://h/?password=***"
        );
    }

    #[test]
    fn configured_names_are_secret_too() {
        assert!(!is_secret_param("syndic_test_only_name"));
        configure(&["Syndic_Test_Only_Name".to_string()]);
        assert!(is_secret_param("syndic_test_only_name"));
        assert_eq!(
            url("http://h/f?SYNDIC_TEST_ONLY_NAME=v"),
            "http://h/f?SYNDIC_TEST_ONLY_NAME=***"
        );
        configure(&[]);
        assert!(!is_secret_param("syndic_test_only_name"));
    }

    #[test]
    fn the_writer_redacts_each_write() {
        let mut out = Writer(Vec::new());
        out.write_all(b"WARN fetch failed url=https://a:b@h/f?token=x\n")
            .unwrap();
        assert_eq!(
            String::from_utf8(out.0).unwrap(),
            "WARN fetch failed url=https://***@h/f?token=***\n"
        );
    }
}
