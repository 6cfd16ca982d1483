//! What a fetch can fail with, and the cause of a failure in a few words.

use std::net::IpAddr;
use std::time::Duration;

#[derive(Clone, Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "body larger than the {limit}-byte cap; raise [defaults] max_body_bytes if the feed is really that big"
    )]
    TooLarge { limit: u64 },
    #[error(
        "decoded body larger than the {limit}-byte cap (4 x max_body_bytes): a compression bomb, or raise [defaults] max_body_bytes"
    )]
    DecodedTooLarge { limit: u64 },
    #[error("timed out (connect {}s, total {}s); raise [defaults] timeout if the host is just slow", connect.as_secs_f64(), total.as_secs_f64())]
    Timeout { connect: Duration, total: Duration },
    // URLs are shown with their secrets redacted (`crate::redact`).
    #[error("redirect loop back to {}", crate::redact::Redacted(.url))]
    RedirectLoop { url: String },
    #[error("more than {limit} redirects")]
    TooManyRedirects { limit: usize },
    #[error("bad redirect to `{}`: {}", crate::redact::Redacted(.location), crate::redact::Redacted(.reason))]
    BadRedirect { location: String, reason: String },
    #[error("cannot decode the body ({encoding}): {reason}")]
    Decoding { encoding: String, reason: String },
    #[error(
        "refused {}: it leads to {address}, an internal address, and the source's URL is public (SSRF guard); set allow_internal = true on the source if it must reach that address", crate::redact::Redacted(.url)
    )]
    Internal { url: String, address: IpAddr },
    /// A connection or protocol failure: `short` says it in a few words
    /// ("connection refused", "DNS lookup failed for ..."), `detail` is the
    /// whole chain of causes.
    #[error("{}", crate::redact::Redacted(.detail))]
    Network { short: String, detail: String },
}

impl FetchError {
    /// A failure whose few words are the detail itself.
    pub(super) fn network(detail: impl Into<String>) -> FetchError {
        let detail = detail.into();
        FetchError::Network {
            short: "network error".into(),
            detail,
        }
    }

    /// The cause in a few words, read at a glance in `syndic sources`, on
    /// `/` and in `STATUS=`; the whole message ([`Display`](std::fmt::Display))
    /// follows it wherever there is room.
    pub fn summary(&self) -> String {
        match self {
            FetchError::TooLarge { .. } => "body over the size cap".into(),
            FetchError::DecodedTooLarge { .. } => "decoded body over the size cap".into(),
            FetchError::Timeout { .. } => "timed out".into(),
            FetchError::RedirectLoop { .. } => "redirect loop".into(),
            FetchError::TooManyRedirects { .. } => "too many redirects".into(),
            FetchError::BadRedirect { .. } => "bad redirect".into(),
            FetchError::Decoding { encoding, .. } => format!("cannot decode the body ({encoding})"),
            FetchError::Internal { .. } => "refused: an internal address (SSRF guard)".into(),
            FetchError::Network { short, .. } => short.clone(),
        }
    }
}

/// What a chain of error causes says in a few words: the kind of an I/O
/// error where one is in the chain, else words that DNS, TLS and HTTP
/// errors are known to carry. `host` is the request's host.
pub(super) fn chain_in_few_words(
    chain: &[&(dyn std::error::Error + 'static)],
    text: &str,
    host: &str,
) -> String {
    use std::io::ErrorKind;
    let io_kind = chain
        .iter()
        .find_map(|e| e.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    let lower = text.to_ascii_lowercase();
    match io_kind {
        Some(ErrorKind::ConnectionRefused) => return format!("connection refused by {host}"),
        Some(ErrorKind::ConnectionReset) => return format!("connection reset by {host}"),
        Some(ErrorKind::ConnectionAborted) => return format!("connection aborted by {host}"),
        Some(ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable) => {
            return format!("{host} unreachable (no network?)");
        }
        _ => {}
    }
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        format!("DNS lookup failed for {host} (no network, or a wrong host name?)")
    } else if lower.contains("certificate") && lower.contains("expired") {
        format!("TLS: {host}'s certificate expired")
    } else if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        format!("TLS: {host}'s certificate is not from a trusted issuer")
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        format!("TLS: the certificate is not valid for {host}")
    } else if lower.contains("certificate") || lower.contains("tls") {
        format!("TLS handshake with {host} failed")
    } else if lower.contains("connection closed") || lower.contains("incomplete message") {
        format!("{host} closed the connection")
    } else {
        format!("cannot reach {host}")
    }
}
