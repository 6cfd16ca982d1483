//! The SSRF guard: which network addresses a fetch may be redirected to.
//! A source configured with a public URL must not be bounced by a redirect
//! onto loopback, link-local (169.254.0.0/16, where cloud metadata lives),
//! private or other internal ranges. A source whose configured URL itself
//! points inside (a feed on the LAN, a test host on 127.0.0.1) may follow
//! redirects there. Pure functions; the fetcher resolves names and asks.
//!
//! How the fetcher applies it ([`super::fetch`]): a fetch whose configured
//! URL resolves to public addresses only (and whose source does not set
//! `allow_internal`) is *guarded*: every hop's host is checked where the
//! connection is made, by the HTTP client's DNS resolver, so a name that
//! resolved to a public address when the origin was classified and to
//! 169.254.169.254 a moment later (DNS rebinding) is still refused; IP
//! literals, which skip DNS, are checked before the request is sent.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// True for addresses that are not on the public internet.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
                || (s[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
                || (s[0] & 0xffc0) == 0xfec0 // fec0::/10 site-local (deprecated)
                || s[0] == 0x0064 && s[1] == 0xff9b // 64:ff9b::/96 NAT64 can reach v4 inside
                || v6.is_multicast()
                || v6 == Ipv6Addr::from([0u16; 8])
        }
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0 // 0.0.0.0/8
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 carrier-grade NAT
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24 IETF
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15 benchmarking
        || o[0] >= 240 // reserved
}

/// Whether a configured URL with addresses `origin` points inside: then its
/// fetches may go to internal addresses (a feed on the LAN).
pub fn is_internal_origin(origin: &[IpAddr]) -> bool {
    origin.iter().any(|ip| is_internal(*ip))
}

/// The first internal address of a guarded fetch's target, which refuses it.
pub fn refused_address(target: &[IpAddr]) -> Option<IpAddr> {
    target.iter().copied().find(|ip| is_internal(*ip))
}

/// Whether a fetch that started at a configured URL whose addresses are
/// `origin` may continue to a host with addresses `target`.
/// `allow_internal` is the per-source or daemon switch that lifts the guard.
pub fn may_follow(origin: &[IpAddr], target: &[IpAddr], allow_internal: bool) -> bool {
    allow_internal || is_internal_origin(origin) || refused_address(target).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn internal_ranges_are_recognised() {
        for inside in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "fd00::1",
            "fe80::1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_internal(ip(inside)), "{inside} should be internal");
        }
        for outside in [
            "93.184.216.34",
            "172.32.0.1",
            "8.8.8.8",
            "2606:4700::1111",
            "100.128.0.1",
        ] {
            assert!(!is_internal(ip(outside)), "{outside} should be public");
        }
    }

    #[test]
    fn public_sources_cannot_be_redirected_inside_unless_allowed() {
        let public = [ip("93.184.216.34")];
        let metadata = [ip("169.254.169.254")];
        let lan = [ip("192.168.0.10")];
        assert!(!may_follow(&public, &metadata, false));
        assert!(!may_follow(&public, &lan, false));
        assert!(may_follow(&public, &[ip("8.8.8.8")], false));
        assert!(
            may_follow(&public, &metadata, true),
            "the switch lifts the guard"
        );
        assert!(
            may_follow(&lan, &lan, false),
            "a LAN source may stay on the LAN"
        );
        // A host resolving to one public and one internal address is refused.
        assert!(!may_follow(
            &public,
            &[ip("8.8.8.8"), ip("10.0.0.1")],
            false
        ));
    }
}
