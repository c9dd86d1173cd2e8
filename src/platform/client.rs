//! Who the client is: the TCP peer, unless the peer is one of our own proxies
//! (`PORTAL_TRUSTED_PROXIES`), in which case the address that proxy saw, from
//! `X-Forwarded-For`. Each proxy appends the address it got the request from, so the list is read
//! from the right, past our own proxies; anything to the left of the first address that is not
//! ours was written by the client and is not believed.

use std::net::{IpAddr, SocketAddr};

use axum::{extract::ConnectInfo, http::HeaderMap};
use ipnet::IpNet;

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// CIDRs (`10.0.0.0/8`, `2001:db8::/32`) or single addresses, separated by commas or spaces.
    pub fn parse(text: &str) -> Option<TrustedProxies> {
        text.split([',', ' '])
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .ok()
            })
            .collect::<Option<Vec<_>>>()
            .map(TrustedProxies)
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` with these headers.
    pub fn client_address(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut hop = canonical(peer?);
        if !self.contains(hop) {
            return Some(hop);
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        for entry in forwarded.iter().rev() {
            // A proxy of ours wrote every entry to the right of this one: one it did not write
            // as an address ends the trust.
            let Ok(ip) = entry.trim().parse::<IpAddr>() else {
                return Some(hop);
            };
            hop = canonical(ip);
            if !self.contains(hop) {
                return Some(hop);
            }
        }
        Some(hop)
    }
}

/// The peer's address of a request (from axum's connect info).
pub fn peer(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

/// An IPv4 client seen through a dual-stack socket is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn forwarded_addresses_count_only_behind_our_own_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.0.2.1 2001:db8::/32").unwrap();
        let client = |peer: &str, values: &[&str]| {
            proxies
                .client_address(Some(ip(peer)), &forwarded(values))
                .unwrap()
                .to_string()
        };
        // Not from a proxy of ours: the peer, whatever the header says.
        assert_eq!(client("198.51.100.7", &["203.0.113.9"]), "198.51.100.7");
        // From ours: the first address from the right that is not ours.
        assert_eq!(client("10.1.2.3", &["203.0.113.9"]), "203.0.113.9");
        assert_eq!(
            client("10.1.2.3", &["1.1.1.1, 203.0.113.9, 10.9.9.9"]),
            "203.0.113.9"
        );
        assert_eq!(
            client("192.0.2.1", &["1.1.1.1", "203.0.113.9, 10.9.9.9"]),
            "203.0.113.9"
        );
        assert_eq!(
            client("::ffff:10.1.2.3", &["2001:db8::1, 2a00::5"]),
            "2a00::5"
        );
        // Junk where an address should be: the last proxy of ours that wrote one.
        assert_eq!(
            client("10.1.2.3", &["203.0.113.9, junk, 10.9.9.9"]),
            "10.9.9.9"
        );
        assert_eq!(client("10.1.2.3", &[]), "10.1.2.3");
        // No proxies configured: always the peer.
        let none = TrustedProxies::parse("").unwrap();
        assert_eq!(
            none.client_address(Some(ip("10.1.2.3")), &forwarded(&["203.0.113.9"])),
            Some(ip("10.1.2.3"))
        );
        assert!(TrustedProxies::parse("10.0.0.0/33").is_none());
        assert!(TrustedProxies::parse("proxy.example.com").is_none());
    }
}
