//! Merchant API keys.
//!
//! A [`PlaintextApiKey`] exists only between generation and the one response that shows it. What is stored
//! is a [`HashedApiKey`]: HMAC-SHA256 of the key under a server-side pepper kept in Secrets Manager, so a
//! leaked table cannot be used to check guesses offline. The hash is also the key's lookup index.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::kernel::secret::random_token;

/// Whether a key works with the merchant's test or live PSP credentials. Visible in the key's prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyMode {
    Test,
    Live,
}

impl ApiKeyMode {
    fn prefix(self) -> &'static str {
        match self {
            ApiKeyMode::Test => "pvk_test_",
            ApiKeyMode::Live => "pvk_live_",
        }
    }
}

/// How many characters of a key are kept in clear to recognise it (`pvk_test_` plus four).
const DISPLAY_PREFIX_LEN: usize = 13;

/// The owner credential's prefix. Issued once at registration, it only manages API keys: it is how an
/// approved merchant gets its first live key, since a test key never mints a live one.
pub const OWNER_PREFIX: &str = "pvo_";

/// A freshly generated key, shown once. Debug and Display are redacted by `SecretString`.
#[derive(Debug)]
pub struct PlaintextApiKey {
    secret: SecretString,
    mode: ApiKeyMode,
    owner: bool,
}

impl PlaintextApiKey {
    /// 32 random bytes (256 bits) after the mode prefix.
    pub fn generate(mode: ApiKeyMode) -> Self {
        let body = random_token(32);
        Self { secret: SecretString::from(format!("{}{}", mode.prefix(), body.expose_secret())), mode, owner: false }
    }

    /// The merchant owner's credential (`pvo_…`): manages API keys of both modes, and nothing else.
    pub fn generate_owner() -> Self {
        let body = random_token(32);
        Self {
            secret: SecretString::from(format!("{OWNER_PREFIX}{}", body.expose_secret())),
            mode: ApiKeyMode::Live,
            owner: true,
        }
    }

    pub fn mode(&self) -> ApiKeyMode {
        self.mode
    }

    pub fn is_owner(&self) -> bool {
        self.owner
    }

    /// The part that may be shown again later (in listings, logs): `pvk_test_AbCd`.
    pub fn display_prefix(&self) -> String {
        self.secret.expose_secret()[..DISPLAY_PREFIX_LEN].to_owned()
    }

    /// For the single response that reveals the key.
    pub fn reveal(&self) -> &str {
        self.secret.expose_secret()
    }
}

/// The stored form: hex HMAC-SHA256 of the key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HashedApiKey(String);

impl HashedApiKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Hashes keys under the platform's pepper.
#[derive(Clone)]
pub struct ApiKeyHasher {
    pepper: SecretString,
}

impl std::fmt::Debug for ApiKeyHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKeyHasher([REDACTED])")
    }
}

impl ApiKeyHasher {
    pub fn new(pepper: SecretString) -> Self {
        Self { pepper }
    }

    pub fn hash_new(&self, key: &PlaintextApiKey) -> HashedApiKey {
        self.hash(key.reveal())
    }

    /// Hashes a key presented by a caller. Anything that is not shaped like a Pivota key yields `None`,
    /// so junk never reaches the table.
    pub fn hash_presented(&self, presented: &str) -> Option<HashedApiKey> {
        let shaped = (presented.starts_with(ApiKeyMode::Test.prefix())
            || presented.starts_with(ApiKeyMode::Live.prefix())
            || presented.starts_with(OWNER_PREFIX))
            && presented.len() <= 128
            && presented.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        shaped.then(|| self.hash(presented))
    }

    /// Hex HMAC-SHA256 of `data` under the pepper, separated by `purpose` from key hashes and from other
    /// uses.
    pub fn keyed_digest(&self, purpose: &str, data: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.pepper.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(b"\n");
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }

    fn hash(&self, key: &str) -> HashedApiKey {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.pepper.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(key.as_bytes());
        HashedApiKey(hex::encode(mac.finalize().into_bytes()))
    }
}

/// The platform's API-key hasher, keyed by its pepper (a platform secret, fetched on first use).
#[async_trait::async_trait]
pub trait HasApiKeyHasher {
    async fn api_key_hasher(&self) -> Result<ApiKeyHasher, crate::kernel::error::Error>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(pepper: &str) -> ApiKeyHasher {
        ApiKeyHasher::new(SecretString::from(pepper))
    }

    #[test]
    fn generated_keys_carry_their_mode_and_never_show_in_debug() {
        let key = PlaintextApiKey::generate(ApiKeyMode::Live);
        assert!(key.reveal().starts_with("pvk_live_"));
        assert_eq!(key.display_prefix().len(), DISPLAY_PREFIX_LEN);
        assert!(!format!("{key:?}").contains(key.reveal()));
    }

    #[test]
    fn a_presented_key_hashes_like_the_issued_one_and_only_under_the_same_pepper() {
        let key = PlaintextApiKey::generate(ApiKeyMode::Test);
        let issued = hasher("pepper-a").hash_new(&key);
        assert_eq!(hasher("pepper-a").hash_presented(key.reveal()), Some(issued.clone()));
        assert_ne!(hasher("pepper-b").hash_presented(key.reveal()), Some(issued.clone()));
        assert!(!issued.as_str().contains(&key.reveal()[9..]));
    }

    #[test]
    fn junk_is_not_hashed() {
        let h = hasher("p");
        assert_eq!(h.hash_presented("sk_test_123"), None);
        assert_eq!(h.hash_presented("pvk_test_ has space"), None);
        assert_eq!(h.hash_presented(&format!("pvk_test_{}", "a".repeat(200))), None);
    }
}
