//! Store URL safety (SSRF): what a merchant may point Pivota's HTTP client at.
//!
//! - Only `https`, no credentials in the URL, a host name.
//! - The platform's own rule (`PlatformProfile::store_url`): Shopify's is the shop's `*.myshopify.com`
//!   domain.
//! - The host is resolved, and every address must be public: loopback, private, link-local (the
//!   169.254.169.254 metadata service), unique-local IPv6, CGNAT, documentation, multicast and reserved
//!   ranges are refused. The client then connects to the address that was checked (it is pinned in the
//!   client's resolver), so a DNS answer that changes between the check and the connection (rebinding)
//!   does not get through. Redirects are not followed.
//! - `PIVOTA_ALLOW_INSECURE_STORE_URLS=1` lifts the https, address and platform rules (the shop domain) so
//!   a store can be a local fake at `http://127.0.0.1:port`. For local testing only; never set in
//!   `template.yaml`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::Url;

use crate::stores::platforms::Platform;

#[derive(Clone, Copy, Debug, Default)]
pub struct StoreUrlPolicy {
    pub allow_insecure: bool,
}

/// A store URL that passed the checks, with the address its host resolved to.
#[derive(Clone, Debug)]
pub struct CheckedStoreUrl {
    pub url: Url,
    pub address: SocketAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreUrlError {
    /// The URL itself is unacceptable (names the reason).
    #[error("{0}")]
    Invalid(String),
    /// The host does not resolve (may be temporary).
    #[error("the store's host does not resolve: {0}")]
    Unresolvable(String),
}

impl StoreUrlPolicy {
    /// Parses and normalises a store URL: no query or fragment, no trailing slash.
    pub fn parse(&self, raw: &str, platform: Platform) -> Result<Url, StoreUrlError> {
        let invalid = |m: &str| StoreUrlError::Invalid(m.to_owned());
        let mut url =
            Url::parse(raw.trim()).map_err(|_| invalid("must be an absolute URL like https://shop.example"))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_insecure => {}
            _ => return Err(invalid("must use https")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not contain credentials"));
        }
        url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| invalid("must name a host"))?;
        url.set_query(None);
        url.set_fragment(None);
        platform.profile().store_url(&mut url, !self.allow_insecure).map_err(invalid)?;
        let trimmed = url.path().trim_end_matches('/').to_owned();
        url.set_path(&trimmed);
        Ok(url)
    }

    /// Resolves the URL's host and checks every address.
    pub async fn check(&self, url: &Url) -> Result<CheckedStoreUrl, StoreUrlError> {
        let host = url.host_str().ok_or_else(|| StoreUrlError::Invalid("must name a host".into()))?;
        let port = url.port_or_known_default().unwrap_or(443);
        let host_for_lookup = host.trim_start_matches('[').trim_end_matches(']');
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host_for_lookup, port))
            .await
            .map_err(|e| StoreUrlError::Unresolvable(e.to_string()))?
            .collect();
        let first = *addresses.first().ok_or_else(|| StoreUrlError::Unresolvable("no addresses".into()))?;
        if !self.allow_insecure
            && let Some(bad) = addresses.iter().find(|a| !is_public(a.ip()))
        {
            return Err(StoreUrlError::Invalid(format!("resolves to {}, which is not a public address", bad.ip())));
        }
        Ok(CheckedStoreUrl { url: url.clone(), address: first })
    }
}

impl CheckedStoreUrl {
    /// An HTTP client that connects only to the checked address and follows no redirects.
    pub fn client(&self, timeout: Duration) -> reqwest::Client {
        let mut builder = crate::kernel::http_client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(timeout)
            .user_agent(concat!("pivota/", env!("CARGO_PKG_VERSION")));
        if let Some(host) = self.url.host_str() {
            builder = builder.resolve(host, self.address);
        }
        builder.build().expect("the HTTP client's TLS backend initialises")
    }
}

/// Whether an address is globally reachable (not loopback, private, link-local, …).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0/24
        || (a == 198 && (18..20).contains(&b)) // benchmarking 198.18/15
        || a >= 240) // reserved 240/4
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation 2001:db8::/32
        || (segments[0] == 0x0064 && segments[1] == 0xff9b) // NAT64 64:ff9b::/96 (embeds IPv4)
        || segments[0] == 0x0100 && segments[1..4] == [0, 0, 0]) // discard 100::/64
}

/// The store URL safety rules in force.
pub trait HasStoreUrls {
    fn store_urls(&self) -> StoreUrlPolicy;
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: StoreUrlPolicy = StoreUrlPolicy { allow_insecure: false };
    const INSECURE: StoreUrlPolicy = StoreUrlPolicy { allow_insecure: true };

    #[test]
    fn only_https_without_credentials() {
        assert!(STRICT.parse("https://shop.example/wp", Platform::WooCommerce).is_ok());
        for bad in
            ["http://shop.example", "ftp://shop.example", "https://user:pw@shop.example", "shop.example", "https://"]
        {
            assert!(STRICT.parse(bad, Platform::WooCommerce).is_err(), "{bad}");
        }
        assert!(INSECURE.parse("http://127.0.0.1:8080", Platform::Custom).is_ok());
    }

    #[test]
    fn shopify_needs_its_shop_domain_and_is_normalised() {
        let url = STRICT.parse("https://acme-outdoor.myshopify.com/admin?x=1#y", Platform::Shopify).unwrap();
        assert_eq!(url.as_str(), "https://acme-outdoor.myshopify.com/");
        for bad in [
            "https://acme.example",
            "https://myshopify.com",
            "https://evil.com/.myshopify.com",
            "https://a.b.myshopify.com",
        ] {
            assert!(STRICT.parse(bad, Platform::Shopify).is_err(), "{bad}");
        }
    }

    #[test]
    fn non_public_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "2001:db8::1",
            "64:ff9b::a9fe:a9fe",
            "::",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "23.227.38.65"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn a_host_resolving_to_loopback_is_refused_unless_insecure() {
        let url = INSECURE.parse("http://localhost:8080", Platform::Custom).unwrap();
        assert!(matches!(STRICT.check(&url).await, Err(StoreUrlError::Invalid(_))));
        let checked = INSECURE.check(&url).await.unwrap();
        assert!(checked.address.ip().is_loopback());
        let literal = STRICT.parse("https://169.254.169.254/latest", Platform::Custom).unwrap();
        assert!(matches!(STRICT.check(&literal).await, Err(StoreUrlError::Invalid(_))));
    }
}
