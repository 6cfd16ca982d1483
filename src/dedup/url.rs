//! URL canonicalization for matching (never for publishing: the original
//! link is what feeds carry). Two links that a reader would call "the same
//! page" give the same canonical string:
//!
//! - the scheme is dropped (`http` and `https` match), the host is
//!   lower-cased, default ports (80, 443) are dropped;
//! - a leading `www.` is dropped when [`UrlOptions::strip_www`] is on
//!   (the default);
//! - the fragment is dropped;
//! - tracking parameters are removed: [`TRACKING_PARAMS`] (exact names),
//!   every `utm_*` parameter, and the extra names of
//!   [`UrlOptions::extra_tracking`];
//! - the remaining query parameters are sorted (stable, by name then value);
//! - a trailing `/` of the path is dropped (`/a/` matches `/a`; the root
//!   path is empty).
//!
//! Text that is not an absolute URL is matched as written, trimmed.

/// Query parameters that only track the reader and never select content.
/// `utm_*` is matched as a prefix besides these exact names.
pub const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "yclid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "igshid",
    "ref",
    "ref_src",
    "ref_url",
    "referrer",
    "cmpid",
    "ncid",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "spm",
    "s_cid",
    "__twitter_impression",
    "wt_mc",
    "at_medium",
    "at_campaign",
];

/// How links are compared; from `[defaults]` in `feeds.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlOptions {
    /// Treat `www.example.org` and `example.org` as one host. Default: on.
    pub strip_www: bool,
    /// Tracking parameters removed besides [`TRACKING_PARAMS`] and `utm_*`,
    /// lower-case. Default: none.
    pub extra_tracking: Vec<String>,
}

impl Default for UrlOptions {
    fn default() -> Self {
        UrlOptions {
            strip_www: true,
            extra_tracking: Vec::new(),
        }
    }
}

impl UrlOptions {
    fn is_tracking(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        name.starts_with("utm_")
            || TRACKING_PARAMS.contains(&name.as_str())
            || self.extra_tracking.contains(&name)
    }
}

/// The canonical form of `link` for matching: `host[:port]/path[?query]`
/// with the rules of the module docs applied.
pub fn canonical_url(link: &str, options: &UrlOptions) -> String {
    let link = link.trim();
    let Ok(url) = url::Url::parse(link) else {
        return link.to_string();
    };
    let Some(host) = url.host_str() else {
        return link.to_string();
    };
    // `url` already lower-cases domain hosts and drops the scheme's
    // default port.
    let mut host = host.to_ascii_lowercase();
    if options.strip_www
        && let Some(rest) = host.strip_prefix("www.")
        && rest.contains('.')
    {
        host = rest.to_string();
    }
    let port = match url.port() {
        // An explicit 80 on https or 443 on http is still a default port
        // of the other scheme: both schemes match.
        Some(80) | Some(443) | None => String::new(),
        Some(p) => format!(":{p}"),
    };
    let path = url.path().trim_end_matches('/');
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !options.is_tracking(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    params.sort();
    let mut out = format!("{host}{port}{path}");
    if !params.is_empty() {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        out.push('?');
        out.push_str(&query);
    }
    out
}

/// The path and query part of a canonical URL (what stays when a site
/// moves to another domain).
pub fn canonical_path(canonical: &str) -> &str {
    match canonical.find('/') {
        Some(i) => canonical.get(i..).unwrap_or(""),
        None => canonical
            .find('?')
            .and_then(|i| canonical.get(i..))
            .unwrap_or(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(link: &str) -> String {
        canonical_url(link, &UrlOptions::default())
    }

    #[test]
    fn scheme_host_case_default_ports_and_fragment_do_not_matter() {
        let expected = "example.org/News/a";
        for link in [
            "http://example.org/News/a",
            "https://example.org/News/a",
            "HTTPS://EXAMPLE.org/News/a#comments",
            "http://example.org:80/News/a",
            "https://example.org:443/News/a/",
            "http://www.example.org/News/a",
        ] {
            assert_eq!(c(link), expected, "{link}");
        }
        // The path keeps its case; other ports are kept.
        assert_eq!(c("http://example.org:8080/x"), "example.org:8080/x");
        assert_ne!(c("http://example.org/news/a"), expected);
    }

    #[test]
    fn tracking_params_go_and_the_rest_are_sorted() {
        assert_eq!(
            c(
                "https://example.org/a?utm_source=rss&b=2&fbclid=x&a=1&utm_medium=feed&gclid=1&ref=hn&mc_cid=3"
            ),
            "example.org/a?a=1&b=2"
        );
        assert_eq!(c("https://example.org/a?utm_campaign=x"), "example.org/a");
        assert_eq!(c("https://example.org/?p=12"), "example.org?p=12");
        let opts = UrlOptions {
            strip_www: false,
            extra_tracking: vec!["from".into()],
        };
        assert_eq!(
            canonical_url("http://www.example.org/a?from=feed&id=3", &opts),
            "www.example.org/a?id=3"
        );
    }

    #[test]
    fn www_is_only_stripped_from_a_longer_host_and_non_urls_pass_through() {
        assert_eq!(c("http://www.com/a"), "www.com/a");
        assert_eq!(c("  not a url "), "not a url");
        assert_eq!(canonical_path("example.org/a/b?x=1"), "/a/b?x=1");
        assert_eq!(canonical_path("example.org?p=1"), "?p=1");
        assert_eq!(canonical_path("example.org"), "");
    }
}
