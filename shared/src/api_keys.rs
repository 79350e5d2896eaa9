//! Issued API keys in the table (see `shared/ACCESS_PATTERNS.md`).
//!
//! | item    | pk                | sk       | gsi1pk                   | gsi1sk     |
//! |---------|-------------------|----------|--------------------------|------------|
//! | API key | `APIKEY#<hash>`   | `APIKEY` | `MERCHANT#<id>#APIKEYS`  | `<key_id>` |
//!
//! The partition key is the keyed hash of the key, so authenticating a request is one `GetItem` on the
//! hash: the plaintext is never stored and never compared.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::api_key::{ApiKeyHasher, ApiKeyMode, HashedApiKey, PlaintextApiKey};
use crate::error::Error;
use crate::item::{from_item, to_attributes};
use crate::merchant::MerchantId;
use crate::ports::{Item, ItemKey, Table};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub key_id: String,
    pub merchant_id: MerchantId,
    pub name: String,
    /// The first characters of the key, to recognise it in listings.
    pub prefix: String,
    pub mode: ApiKeyMode,
    pub hash: HashedApiKey,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub valid_until: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiKeyRecord {
    pub fn issue(
        merchant_id: &MerchantId,
        name: &str,
        key: &PlaintextApiKey,
        hasher: &ApiKeyHasher,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            key_id: format!("key_{}", ulid::Ulid::new()),
            merchant_id: merchant_id.clone(),
            name: name.to_owned(),
            prefix: key.display_prefix(),
            mode: key.mode(),
            hash: hasher.hash_new(key),
            created_at: now,
            valid_until: None,
            revoked_at: None,
        }
    }

    pub fn key(&self) -> ItemKey {
        key_of(&self.hash)
    }

    pub fn to_item(&self) -> Result<Item, Error> {
        let mut item = Item::new(self.key(), to_attributes(self)?);
        item.gsi1 = Some(ItemKey::new(format!("MERCHANT#{}#APIKEYS", self.merchant_id), self.key_id.clone()));
        Ok(item)
    }

    pub fn is_usable(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.valid_until.is_none_or(|expiry| now < expiry)
    }
}

fn key_of(hash: &HashedApiKey) -> ItemKey {
    ItemKey::new(format!("APIKEY#{}", hash.as_str()), "APIKEY")
}

/// The merchant a request authenticated as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedMerchant {
    pub merchant_id: MerchantId,
    pub key_id: String,
    pub mode: ApiKeyMode,
}

/// Looks a presented key up by its hash. Unknown, revoked and expired keys are all `Unauthenticated`.
pub async fn authenticate(
    table: &dyn Table,
    hasher: &ApiKeyHasher,
    presented: &str,
    now: OffsetDateTime,
) -> Result<AuthenticatedMerchant, Error> {
    let hash = hasher.hash_presented(presented).ok_or(Error::Unauthenticated)?;
    let item = table.get(&key_of(&hash)).await?.ok_or(Error::Unauthenticated)?;
    let record: ApiKeyRecord = from_item(&item)?;
    if !record.is_usable(now) {
        return Err(Error::Unauthenticated);
    }
    Ok(AuthenticatedMerchant { merchant_id: record.merchant_id, key_id: record.key_id, mode: record.mode })
}
