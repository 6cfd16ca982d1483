//! A private source's `headers`, `basic_auth` and `user_agent`, checked,
//! with `${VAR}` read from the environment and `password_file` read from
//! disk at load. Secrets are kept as [`Secret`], whose `Debug` is `***`:
//! no config dump, log or error shows them.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::validate::{Ctx, resolve_path};

/// A value that must never be shown (a token, a password).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// The value, for the request that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How a private source's requests authenticate and name themselves. Sent
/// only to the origin (scheme, host, port) of the source's `url`, never
/// after a redirect to another; two sources polling one URL share a
/// request only when these are equal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Credentials {
    /// `headers`: extra request headers, name and value.
    pub headers: Vec<(String, Secret)>,
    /// `basic_auth`: user and password.
    pub basic_auth: Option<(String, Secret)>,
    /// `user_agent`: instead of the daemon's.
    pub user_agent: Option<String>,
    /// `${VAR}`s that were not set when the config was read, each as
    /// `file:line:column: what`. Only commands that fetch (`serve`, `fetch`,
    /// `check`, a reload) refuse such a config: the others (`sources`,
    /// `render`, ...) run where the daemon's environment is not set.
    pub unset: Vec<String>,
}

impl Credentials {
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.basic_auth.is_none() && self.user_agent.is_none()
    }
}

/// `basic_auth = { user = "...", password_file = "..." }` (or `password =
/// "${VAR}"`) as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBasicAuth {
    user: String,
    password: Option<String>,
    password_file: Option<String>,
}

/// Headers a source may not set: syndic sends them itself.
const OWN_HEADERS: [&str; 6] = [
    "accept-encoding",
    "host",
    "if-none-match",
    "if-modified-since",
    "content-length",
    "connection",
];

const ENV_HELP: &str = "set it in the daemon's environment (under systemd: `Environment=` or \
                        `EnvironmentFile=` in a drop-in), or write the value in its place";

pub(super) fn build_credentials(
    ctx: &mut Ctx<'_>,
    headers: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    basic_auth: Option<Spanned<RawBasicAuth>>,
    user_agent: Option<Spanned<String>>,
    label: &str,
) -> Option<Credentials> {
    let mut ok = true;
    let mut out = Credentials::default();
    for (name, value) in headers.map(Spanned::into_inner).into_iter().flatten() {
        let n = name.get_ref();
        if n.is_empty() || !n.bytes().all(is_token_byte) {
            ctx.error(
                name.span(),
                format!("{label}: headers: `{n}` is not a header name"),
                Some("a header name is letters, digits and `-`, such as \"X-Api-Key\"".to_string()),
            );
            ok = false;
            continue;
        }
        if OWN_HEADERS.contains(&n.to_ascii_lowercase().as_str()) {
            ctx.error(
                name.span(),
                format!("{label}: headers: syndic sets `{n}` itself"),
                Some("remove it; use `user_agent` for the User-Agent".to_string()),
            );
            ok = false;
            continue;
        }
        let label = format!("{label}: headers.{n}");
        match expand(ctx, value.get_ref(), value.span(), &label, &mut out.unset) {
            Some(v) => out.headers.push((n.clone(), v)),
            None => ok = false,
        }
    }
    if let Some(auth) = basic_auth {
        let span = auth.span();
        let auth = auth.into_inner();
        let label = format!("{label}: basic_auth");
        let password = match (&auth.password, &auth.password_file) {
            (Some(_), Some(_)) | (None, None) => {
                ctx.error(
                    span.clone(),
                    format!("{label}: give `password_file` or `password`, one of them"),
                    Some(
                        "password_file = \"/etc/syndic/NAME.pass\" (a file only the daemon reads), \
                         or password = \"${VAR}\" from the environment"
                            .to_string(),
                    ),
                );
                None
            }
            (Some(p), None) => expand(
                ctx,
                p,
                span.clone(),
                &format!("{label}: password"),
                &mut out.unset,
            ),
            (None, Some(file)) => {
                let path = resolve_path(&ctx.base, file);
                match std::fs::read_to_string(&path) {
                    Ok(text) => Some(Secret(text.trim_end_matches(['\n', '\r']).to_string())),
                    Err(err) => {
                        ctx.error(
                            span.clone(),
                            format!("{label}: password_file `{}`: {err}", path.display()),
                            Some("create it (mode 0600, readable by the daemon's user), or fix the path".to_string()),
                        );
                        None
                    }
                }
            }
        };
        if auth.user.contains(':') || auth.user.chars().any(char::is_control) {
            ctx.error(
                span,
                format!("{label}: user has a `:` or a control character"),
                Some("basic auth cannot send such a user name".to_string()),
            );
            ok = false;
        }
        match password {
            Some(password) => out.basic_auth = Some((auth.user, password)),
            None => ok = false,
        }
    }
    if let Some(ua) = user_agent {
        let text = ua.get_ref().trim();
        if text.is_empty() || text.chars().any(char::is_control) {
            ctx.error(
                ua.span(),
                format!("{label}: user_agent is empty or has a control character"),
                Some("write a product name and version, such as \"syndic-news/1.0\"".to_string()),
            );
            ok = false;
        } else {
            out.user_agent = Some(text.to_string());
        }
    }
    ok.then_some(out)
}

/// A secret written in the config (`webhook_secret`), `${VAR}`s expanded;
/// an unset one is noted in `unset`.
pub(super) fn build_secret(
    ctx: &mut Ctx<'_>,
    value: &Spanned<String>,
    label: &str,
    unset: &mut Vec<String>,
) -> Option<Secret> {
    expand(ctx, value.get_ref(), value.span(), label, unset)
}

/// `value` with each `${NAME}` replaced by the environment variable NAME.
/// An unset variable is noted in `unset` (see [`Credentials::unset`]).
fn expand(
    ctx: &mut Ctx<'_>,
    value: &str,
    span: Range<usize>,
    label: &str,
    unset: &mut Vec<String>,
) -> Option<Secret> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find("${") {
        out.push_str(rest.get(..at).unwrap_or_default());
        let tail = rest.get(at + 2..).unwrap_or_default();
        let Some(end) = tail.find('}') else {
            ctx.error(
                span,
                format!("{label}: `${{` without its `}}`"),
                Some("write ${NAME} to read the environment variable NAME".to_string()),
            );
            return None;
        };
        let name = tail.get(..end).unwrap_or_default();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            ctx.error(
                span,
                format!("{label}: `${{{name}}}` is not an environment variable name"),
                Some("a name is letters, digits and `_`, such as ${NEWS_KEY}".to_string()),
            );
            return None;
        }
        match std::env::var(name) {
            Ok(v) => out.push_str(&v),
            Err(_) => unset.push(format!(
                "{}: {label}: the environment variable `{name}` is not set\n  help: {ENV_HELP}",
                ctx.place(&span)
            )),
        }
        rest = tail.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    if out.chars().any(|c| c.is_control() && c != '\t') {
        ctx.error(
            span,
            format!("{label}: the value has a line break or a control character"),
            Some("a header value is one line".to_string()),
        );
        return None;
    }
    Some(Secret(out))
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
