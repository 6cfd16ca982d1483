//! How the fetcher turns host names into addresses: the system resolver
//! (bounded, off the async threads) or a fixed [`HostTable`] (tests), and
//! the HTTP client's resolver that applies the SSRF guard to them.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;
use url::Url;

use crate::ingest::guard;

/// A fixed host-name table standing in for DNS, for tests that need a host
/// listening on 127.0.0.1 to pass for one at another address (a public
/// one, or 169.254.169.254): each name maps to the address the SSRF guard
/// judges and the socket the connection really goes to. Names not in the
/// table do not resolve. See [`Fetcher::with_hosts`](super::Fetcher::with_hosts).
#[doc(hidden)]
#[derive(Default)]
pub struct HostTable {
    /// Name -> answers still to give (address judged, address dialled), and
    /// the lookups so far.
    names: Mutex<HashMap<String, (VecDeque<Answer>, usize)>>,
}

type Answer = (IpAddr, SocketAddr);

impl HostTable {
    /// Adds an answer for `name`: it resolves to `ip` and is reached at
    /// `dial`. Answers added to one name are given out in turn, one per
    /// lookup, and the last one to every lookup after (a name whose address
    /// changes: DNS rebinding). A URL naming this host must not give a port:
    /// the port of `dial` is used.
    pub fn add(&self, name: &str, ip: IpAddr, dial: SocketAddr) {
        let mut names = match self.names.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        names
            .entry(name.to_ascii_lowercase())
            .or_default()
            .0
            .push_back((ip, dial));
    }

    /// How many times `name` was looked up.
    pub fn lookups(&self, name: &str) -> usize {
        let names = match self.names.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        names.get(&name.to_ascii_lowercase()).map_or(0, |e| e.1)
    }

    fn lookup(&self, name: &str) -> Option<Resolved> {
        let mut names = match self.names.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (answers, count) = names.get_mut(&name.to_ascii_lowercase())?;
        *count += 1;
        let (ip, dial) = if answers.len() > 1 {
            answers.pop_front()?
        } else {
            *answers.front()?
        };
        Some(Resolved { ip, dial })
    }
}

/// One address a name resolved to: `ip` is what the guard judges, `dial`
/// where the connection goes (the same address, except in a [`HostTable`]).
#[derive(Clone, Copy, Debug)]
struct Resolved {
    ip: IpAddr,
    dial: SocketAddr,
}

/// System resolver lookups (`getaddrinfo`, one blocking thread each) under
/// way at once, at most. A lookup cannot be cancelled: when the resolver is
/// unreachable each one holds its thread for the resolver's timeout after
/// the fetch gave up on it, and unbounded lookups (one per source due)
/// filled tokio's blocking pool, which rendering, `/metrics`, the admin
/// socket and the watchdog's store probe need too. Measured with 20,000
/// sources and no DNS: 512 threads busy, `/metrics` 10 s, `syndic sources`
/// 10 s.
const MAX_SYSTEM_LOOKUPS: usize = 16;

static SYSTEM_LOOKUPS: std::sync::LazyLock<Arc<Semaphore>> =
    std::sync::LazyLock::new(|| Arc::new(Semaphore::new(MAX_SYSTEM_LOOKUPS)));

/// Runs blocking `work` on tokio's blocking pool once one of `slots` is
/// free, holding the slot until `work` ends, even when the caller stopped
/// waiting (a timeout): so at most that many threads are ever taken.
pub(super) async fn bounded_blocking<T: Send + 'static>(
    slots: &Arc<Semaphore>,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<T> {
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .map_err(std::io::Error::other)?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    })
    .await
    .map_err(std::io::Error::other)
}

/// How host names become addresses.
#[derive(Clone)]
pub(super) enum Lookup {
    /// The system resolver.
    System,
    /// A fixed table (tests).
    Table(Arc<HostTable>),
}

impl Lookup {
    async fn resolve(&self, name: &str) -> std::io::Result<Vec<Resolved>> {
        match self {
            Lookup::System => {
                let name = name.to_string();
                // Port 0: the HTTP client puts in the URL's port.
                let found = bounded_blocking(&SYSTEM_LOOKUPS, move || {
                    std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), 0))
                        .map(|addrs| addrs.collect::<Vec<_>>())
                })
                .await??;
                Ok(found
                    .into_iter()
                    .map(|a| Resolved {
                        ip: a.ip(),
                        dial: a,
                    })
                    .collect())
            }
            Lookup::Table(table) => table.lookup(name).map(|r| vec![r]).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{name} is not in the host table"),
                )
            }),
        }
    }

    /// Whether the host of `url` points inside. A URL that does not parse or
    /// a name that does not resolve counts as public: the stricter side.
    pub(super) async fn is_internal_origin(&self, url: &str) -> bool {
        let Ok(url) = Url::parse(url) else {
            return false;
        };
        match url.host() {
            Some(url::Host::Ipv4(ip)) => guard::is_internal(ip.into()),
            Some(url::Host::Ipv6(ip)) => guard::is_internal(ip.into()),
            Some(url::Host::Domain(name)) => match self.resolve(name).await {
                Ok(found) => {
                    guard::is_internal_origin(&found.iter().map(|r| r.ip).collect::<Vec<_>>())
                }
                Err(_) => false,
            },
            None => false,
        }
    }
}

/// The HTTP client's DNS resolver: [`Lookup`], and for guarded fetches the
/// SSRF guard, applied to the addresses the connection will use.
pub(super) struct GuardResolver {
    pub(super) lookup: Lookup,
    pub(super) guarded: bool,
}

/// The guard's refusal, carried out of the HTTP client in its error chain.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {address}, an internal address (SSRF guard)")]
pub(super) struct Refused {
    host: String,
    pub(super) address: IpAddr,
}

impl reqwest::dns::Resolve for GuardResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let lookup = self.lookup.clone();
        let guarded = self.guarded;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = lookup.resolve(&host).await?;
            if guarded {
                let ips: Vec<IpAddr> = found.iter().map(|r| r.ip).collect();
                if let Some(address) = guard::refused_address(&ips) {
                    return Err(Box::new(Refused { host, address }) as _);
                }
            }
            let addrs: reqwest::dns::Addrs = Box::new(
                found
                    .into_iter()
                    .map(|r| r.dial)
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
            Ok(addrs)
        })
    }
}
