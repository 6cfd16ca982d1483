//! The `[daemon]` table: listen address, store, public URL, contact, log
//! level, admin listener, secret parameters.

use std::net::SocketAddr;

use toml::Spanned;
use toml::de::DeValue;
use url::Url;

use super::raw::RawDaemon;
use super::validate::{Ctx, check_http_url, resolve_path, take_single};
use super::{AdminListen, DEFAULT_LISTEN, DEFAULT_STORE, DaemonConfig};

const CONTACT_HELP: &str = "write printable ASCII such as \"mailto:admin@example.org\" \
     or \"https://example.org/about\", or remove the key";

const ADMIN_LISTEN_HELP: &str = "write a loopback address and a port, such as \"127.0.0.1:8081\", \
     or \"off\"; remove the key for the default (127.0.0.1, the public port plus one)";

pub(super) fn build_daemon(
    ctx: &mut Ctx<'_>,
    value: Option<Spanned<DeValue<'_>>>,
) -> Option<DaemonConfig> {
    let raw = take_single::<RawDaemon>(ctx, value, "daemon").unwrap_or_default();

    let mut listen = DEFAULT_LISTEN;
    if let Some(raw_listen) = &raw.listen {
        match raw_listen.get_ref().trim().parse::<SocketAddr>() {
            Ok(addr) => listen = addr,
            Err(_) => ctx.error(
                raw_listen.span(),
                format!(
                    "daemon: listen `{}` is not a socket address",
                    raw_listen.get_ref()
                ),
                Some(
                    "write an IP address and a port, such as \"127.0.0.1:8080\" or \"[::]:8080\""
                        .to_string(),
                ),
            ),
        }
    }

    let store = match &raw.store {
        Some(raw_store) if raw_store.get_ref().trim().is_empty() => {
            ctx.error(
                raw_store.span(),
                "daemon: store is empty",
                Some(format!(
                    "write a folder such as \"{DEFAULT_STORE}\", or remove the key"
                )),
            );
            resolve_path(&ctx.base, DEFAULT_STORE)
        }
        Some(raw_store) => {
            let path = resolve_path(&ctx.base, raw_store.get_ref());
            if path.exists() && !path.is_dir() {
                ctx.error(
                    raw_store.span(),
                    format!(
                        "daemon: store `{}` exists and is not a folder",
                        path.display()
                    ),
                    Some(format!(
                        "relative paths are resolved against `{}`; \
                         name a folder, or a path that does not exist yet",
                        ctx.base.display()
                    )),
                );
            }
            path
        }
        None => resolve_path(&ctx.base, DEFAULT_STORE),
    };

    let public_url = match &raw.public_url {
        Some(raw_url) => {
            let help_base =
                "write the address readers reach syndic at, such as \"https://feeds.example.org\"";
            match check_http_url(raw_url.get_ref()) {
                Ok(url) if url.query().is_some() => {
                    ctx.error(
                        raw_url.span(),
                        format!(
                            "daemon: public_url must not have a query, got `{}`",
                            raw_url.get_ref()
                        ),
                        Some(help_base.to_string()),
                    );
                    None
                }
                Ok(url) if url.fragment().is_some() => {
                    ctx.error(
                        raw_url.span(),
                        format!(
                            "daemon: public_url must not have a fragment, got `{}`",
                            raw_url.get_ref()
                        ),
                        Some(help_base.to_string()),
                    );
                    None
                }
                Ok(url) => Some(url),
                Err((problem, _)) => {
                    ctx.error(
                        raw_url.span(),
                        format!("daemon: public_url {problem}"),
                        Some(help_base.to_string()),
                    );
                    None
                }
            }
        }
        None => match Url::parse(&format!("http://{listen}")) {
            Ok(url) => Some(url),
            Err(err) => {
                let span = raw.listen.as_ref().map_or(0..0, Spanned::span);
                ctx.error(
                    span,
                    format!("daemon: cannot make a public_url from listen `{listen}`: {err}"),
                    Some("set public_url in [daemon]".to_string()),
                );
                None
            }
        },
    };

    let contact = raw.contact.as_ref().and_then(|c| {
        let text = c.get_ref().trim();
        if text.is_empty() || !text.chars().all(|ch| ch == ' ' || ch.is_ascii_graphic()) {
            ctx.error(
                c.span(),
                format!(
                    "daemon: contact `{}` cannot go into a User-Agent header",
                    c.get_ref().escape_debug()
                ),
                Some(CONTACT_HELP.to_string()),
            );
            None
        } else {
            Some(text.to_string())
        }
    });

    let log_level = raw.log_level.as_ref().and_then(|l| {
        let text = l.get_ref().trim();
        if text.is_empty() {
            ctx.error(
                l.span(),
                "daemon: log_level is empty",
                Some(
                    "write a level such as \"info\" or \"syndic=debug\", or remove the key"
                        .to_string(),
                ),
            );
            None
        } else {
            Some(text.to_string())
        }
    });

    let admin_listen = match &raw.admin_listen {
        None => AdminListen::Beside,
        Some(raw_admin) => {
            let text = raw_admin.get_ref().trim();
            if text.eq_ignore_ascii_case("off") {
                AdminListen::Off
            } else {
                match text.parse::<SocketAddr>() {
                    Ok(addr) if addr == listen && addr.port() != 0 => {
                        ctx.error(
                            raw_admin.span(),
                            format!("daemon: admin_listen `{text}` is the public listen address"),
                            Some(ADMIN_LISTEN_HELP.to_string()),
                        );
                        AdminListen::Beside
                    }
                    Ok(addr) => AdminListen::At(addr),
                    Err(_) => {
                        ctx.error(
                            raw_admin.span(),
                            format!("daemon: admin_listen `{text}` is not a socket address"),
                            Some(ADMIN_LISTEN_HELP.to_string()),
                        );
                        AdminListen::Beside
                    }
                }
            }
        }
    };

    let mut secret_params: Vec<String> = Vec::new();
    for param in raw.secret_params.iter().flatten() {
        let name = param.get_ref().trim().to_ascii_lowercase();
        if name.is_empty() || name.contains(['&', '=', '?', '#', ' ']) {
            ctx.error(
                param.span(),
                format!(
                    "daemon: secret_params: `{}` is not a parameter name",
                    param.get_ref()
                ),
                Some(
                    "write query parameter names such as \"session\" or \"private_id\"".to_string(),
                ),
            );
        } else if !secret_params.contains(&name) {
            secret_params.push(name);
        }
    }

    Some(DaemonConfig {
        listen,
        store,
        public_url: public_url?,
        contact,
        log_level,
        admin_listen,
        public_status: raw.public_status.unwrap_or(false),
        secret_params,
    })
}
