//! Where webhooks may be sent (SSRF): https only in production, never to loopback, private,
//! link-local (cloud metadata) or other special-purpose addresses unless configuration allows
//! them (development and tests do). Checked when a webhook is added, and again at every attempt
//! on the addresses the name resolves to then (DNS may change), by the client's resolver.

use std::net::{IpAddr, SocketAddr};

use reqwest::Url;

use crate::platform::config::WebhookSettings;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("The URL is not valid: write it in full, like https://example.com/webhooks.")]
    Malformed,
    #[error("The URL must start with https://.")]
    NotHttps,
    #[error("The URL must start with https:// or http://.")]
    Scheme,
    #[error("The URL cannot contain a user name or password.")]
    Credentials,
    #[error("The URL cannot contain a fragment (#…).")]
    Fragment,
    #[error(
        "The URL points to a private, loopback or reserved address: webhooks go to public addresses."
    )]
    Private,
}

/// Checks a webhook URL as written (the name's addresses are checked at each delivery).
pub fn check_url(url: &str, settings: &WebhookSettings) -> Result<Url, TargetError> {
    let parsed = Url::parse(url).map_err(|_| TargetError::Malformed)?;
    match parsed.scheme() {
        "https" => {}
        "http" if settings.allow_http => {}
        "http" => return Err(TargetError::NotHttps),
        _ if settings.allow_http => return Err(TargetError::Scheme),
        _ => return Err(TargetError::NotHttps),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(TargetError::Credentials);
    }
    if parsed.fragment().is_some() {
        return Err(TargetError::Fragment);
    }
    let host = parsed.host().ok_or(TargetError::Malformed)?;
    if !settings.allow_private {
        let refused = match host {
            url::Host::Ipv4(ip) => !is_public(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => !is_public(IpAddr::V6(ip)),
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                name == "localhost" || name.ends_with(".localhost") || !name.contains('.')
            }
        };
        if refused {
            return Err(TargetError::Private);
        }
    }
    Ok(parsed)
}

/// Whether an address is on the public internet (not loopback, private, link-local, shared,
/// multicast, documentation, benchmarking or reserved).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 192 && b == 0 && v4.octets()[2] == 0) // IETF protocol assignments
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240) // reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            // Allowed, not denied: a list of what to refuse always misses a block (IPv4-
            // compatible, SIIT, local NAT64, site-local…). Global unicast is 2000::/3; inside
            // it, IANA's special-purpose blocks are refused.
            let [a, b, ..] = v6.segments();
            a & 0xe000 == 0x2000
                && !(a == 0x2001 && b < 0x0200) // 2001::/23: Teredo, benchmarking, ORCHID, …
                && !(a == 0x2001 && b == 0x0db8) // documentation
                && a != 0x2002 // 6to4 (embeds IPv4)
                && !(a == 0x3fff && b < 0x1000) // documentation (3fff::/20)
        }
    }
}

/// The delivery client's resolver: the system's, keeping only public addresses unless private
/// ones are allowed. The connection goes to an address checked here, so a name cannot be
/// re-pointed at an internal address between the check and the request (DNS rebinding).
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|addr| allow_private || is_public(addr.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(
                    Box::new(TargetError::Private) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The HTTP client deliveries use: no redirects (a 3xx is a failed attempt), no proxy from the
/// environment, the attempt's timeout, a connect timeout of at most 5 s (a target that does not
/// answer holds a delivery slot for no longer), the guarded resolver.
pub fn client(settings: &WebhookSettings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(CONNECT_TIMEOUT))
        .user_agent("CustomerPortal-Webhooks/1")
        .dns_resolver(std::sync::Arc::new(GuardedResolver {
            allow_private: settings.allow_private,
        }))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> WebhookSettings {
        WebhookSettings::new(true)
    }

    #[test]
    fn production_takes_public_https_urls_only() {
        let s = production();
        assert!(check_url("https://hooks.example.com/cs?x=1", &s).is_ok());
        assert!(check_url("https://93.184.216.34/hook", &s).is_ok());
        assert_eq!(
            check_url("http://hooks.example.com/", &s).unwrap_err(),
            TargetError::NotHttps
        );
        assert_eq!(
            check_url("ftp://hooks.example.com/", &s).unwrap_err(),
            TargetError::NotHttps
        );
        assert_eq!(
            check_url("hooks.example.com", &s).unwrap_err(),
            TargetError::Malformed
        );
        assert_eq!(
            check_url("https://user:pw@hooks.example.com/", &s).unwrap_err(),
            TargetError::Credentials
        );
        assert_eq!(
            check_url("https://example.com/#x", &s).unwrap_err(),
            TargetError::Fragment
        );
        for private in [
            "https://127.0.0.1/",
            "https://localhost/",
            "https://api.localhost./",
            "https://intranet/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://2130706433/", // 127.0.0.1 as one number
            "https://0x7f.1/",
        ] {
            assert_eq!(
                check_url(private, &s).unwrap_err(),
                TargetError::Private,
                "{private}"
            );
        }
    }

    #[test]
    fn development_allows_http_and_local_targets() {
        let s = WebhookSettings::new(false);
        assert!(check_url("http://127.0.0.1:9000/hook", &s).is_ok());
        assert!(check_url("http://localhost:9000/hook", &s).is_ok());
        assert_eq!(
            check_url("ftp://localhost/", &s).unwrap_err(),
            TargetError::Scheme
        );
    }

    #[test]
    fn public_addresses_are_told_from_the_rest() {
        for public in [
            "8.8.8.8",
            "93.184.216.34",
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        for private in [
            "127.0.0.1",
            "10.0.0.1",
            "169.254.169.254",
            "198.18.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::7f00:1",
            "::7f00:1",
            "::ffff:0:7f00:1",
            "fec0::1",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:1ff::1",
            "2002:7f00:1::1",
            "3fff::1",
            "4000::1",
            "fe80::1",
            "ff02::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
    }

    #[tokio::test]
    async fn the_resolver_drops_private_addresses() {
        use reqwest::dns::Resolve;
        let name = || "localhost".parse::<reqwest::dns::Name>().unwrap();
        let guarded = GuardedResolver {
            allow_private: false,
        };
        assert!(guarded.resolve(name()).await.is_err());
        let open = GuardedResolver {
            allow_private: true,
        };
        assert!(open.resolve(name()).await.unwrap().next().is_some());
    }
}
