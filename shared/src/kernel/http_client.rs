//! Outbound HTTPS to third parties (PSPs, stores): every reqwest client starts from [`builder`].
//!
//! reqwest's TLS is rustls with the aws-lc-rs cryptography, the one the AWS SDK's TLS already links:
//! one crypto library per function instead of two (reqwest's own default is ring), and the same key
//! exchange towards a PSP or a store as towards AWS, post-quantum first (X25519MLKEM768, rustls'
//! `prefer-post-quantum`). The trust roots are Mozilla's (`webpki-roots`), as with reqwest's default.
//! reqwest takes its provider from rustls' process default, which [`builder`] installs; a client made
//! with `reqwest::Client::new()` would find none and panic, so clippy refuses those calls
//! (`clippy.toml`, `disallowed-methods`).

use std::sync::Once;

/// A reqwest client builder whose TLS runs on aws-lc-rs.
#[allow(clippy::disallowed_methods)] // the one place a client builder is made
pub fn builder() -> reqwest::ClientBuilder {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // An error means a provider is installed already (a host embedding Pivota chose one): keep it.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
    reqwest::Client::builder()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_build_on_aws_lc_with_post_quantum_key_exchange_first() {
        builder().build().expect("a client builds");
        let provider = rustls::crypto::CryptoProvider::get_default().expect("builder installs a provider");
        let groups: Vec<String> = provider.kx_groups.iter().map(|group| format!("{:?}", group.name())).collect();
        assert_eq!(groups.first().map(String::as_str), Some("X25519MLKEM768"), "{groups:?}");
        let aws_lc = rustls::crypto::aws_lc_rs::default_provider();
        assert_eq!(
            format!("{:?}", provider.cipher_suites),
            format!("{:?}", aws_lc.cipher_suites),
            "the installed provider is aws-lc-rs's"
        );
    }
}
