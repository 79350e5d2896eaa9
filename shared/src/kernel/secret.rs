//! Secrets: wrapped so they cannot be logged, and compared in constant time.

pub use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Compares two secrets in constant time, whatever their lengths: both sides are hashed first, so
/// neither the content nor the length of the expected secret leaks through timing.
pub fn secrets_match(presented: &str, expected: &SecretString) -> bool {
    let presented = Sha256::digest(presented.as_bytes());
    let expected = Sha256::digest(expected.expose_secret().as_bytes());
    presented.ct_eq(&expected).into()
}

/// A fresh random secret: `bytes` random bytes, URL-safe base64 without padding.
pub fn random_token(bytes: usize) -> SecretString {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut raw = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
}

/// Serde for a [`SecretString`] kept in the secret store's JSON (never in a table item or a response):
/// `#[serde(with = "crate::kernel::secret::serde_secret")]`.
pub mod serde_secret {
    use secrecy::{ExposeSecret, SecretString};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.expose_secret())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SecretString, D::Error> {
        String::deserialize(deserializer).map(SecretString::from)
    }
}

/// [`serde_secret`] for an optional secret.
pub mod serde_optional_secret {
    use secrecy::{ExposeSecret, SecretString};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<SecretString>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(secret) => serializer.serialize_some(secret.expose_secret()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<SecretString>, D::Error> {
        Option::<String>::deserialize(deserializer).map(|value| value.map(SecretString::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_same_secret() {
        let expected = SecretString::from("s3cret-token");
        assert!(secrets_match("s3cret-token", &expected));
        assert!(!secrets_match("s3cret-tokeN", &expected));
        assert!(!secrets_match("s3cret-token-longer", &expected));
        assert!(!secrets_match("", &expected));
    }

    #[test]
    fn debug_output_redacts_the_value() {
        let token = random_token(32);
        let shown = format!("{token:?}");
        assert!(!shown.contains(token.expose_secret()), "{shown}");
    }

    #[test]
    fn random_tokens_differ_and_have_the_asked_entropy() {
        let a = random_token(32);
        let b = random_token(32);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 43);
    }
}
