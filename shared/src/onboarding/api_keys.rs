//! Issued API keys in the table (see `shared/ACCESS_PATTERNS.md`).
//!
//! | item            | pk                | sk                 |
//! |-----------------|-------------------|--------------------|
//! | lookup by hash  | `APIKEY#<hash>`   | `APIKEY`           |
//! | merchant's key  | `MERCHANT#<id>`   | `APIKEY#<key_id>`  |
//!
//! Both items hold the same record and are always written together in one transaction, with the same
//! version, so a revocation is visible to authentication (a strongly consistent `GetItem` on the hash)
//! on the very next request. The plaintext key is never stored and never compared.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::kernel::error::Error;
use crate::onboarding::api_key::{ApiKeyHasher, ApiKeyMode, HashedApiKey, PlaintextApiKey};
use crate::onboarding::merchant::MerchantId;
use crate::ports::{Condition, Item, ItemKey, Query, StoreError, Table, WriteOp};
use crate::record::{FIRST_VERSION, Record};

/// How stale `last_used_at` may get before a request refreshes it (one extra write per key per window,
/// not one per request).
const LAST_USED_RESOLUTION: Duration = Duration::minutes(5);

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
    /// After this instant the key no longer authenticates. (Not the table's TTL attribute: an expired
    /// key stays listed.)
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub valid_until: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// The owner credential (`pvo_…`): not an API key; it only manages keys, and is never listed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owner: bool,
    #[serde(skip)]
    pub version: u64,
}

fn lookup_key(hash: &HashedApiKey) -> ItemKey {
    ItemKey::new(format!("APIKEY#{}", hash.as_str()), "APIKEY")
}

fn listing_key(merchant_id: &MerchantId, key_id: &str) -> ItemKey {
    ItemKey::new(format!("MERCHANT#{merchant_id}"), format!("APIKEY#{key_id}"))
}

/// The record's own item is the lookup item, which authentication reads; the listing item is its copy,
/// written by the same rule in the same transaction ([`ApiKeyRecord::with_listing`]).
impl Record for ApiKeyRecord {
    fn key(&self) -> ItemKey {
        lookup_key(&self.hash)
    }

    crate::record::version_field!();
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
            last_used_at: None,
            owner: key.is_owner(),
            version: FIRST_VERSION,
        }
    }

    /// A write of the lookup item, and the same write of the listing item: both always hold the same
    /// record at the same version.
    fn with_listing(&self, op: WriteOp) -> Vec<WriteOp> {
        let listing = listing_key(&self.merchant_id, &self.key_id);
        let copy = match &op {
            WriteOp::Put { item, condition } => {
                WriteOp::Put { item: Item { key: listing, ..item.clone() }, condition: *condition }
            }
            WriteOp::Delete { condition, .. } => WriteOp::Delete { key: listing, condition: *condition },
            WriteOp::Check { condition, .. } => WriteOp::Check { key: listing, condition: *condition },
        };
        vec![op, copy]
    }

    /// The writes that create this key: both items, neither existing yet.
    pub fn create_ops(&self) -> Result<Vec<WriteOp>, Error> {
        Ok(self.with_listing(self.create_op()?))
    }

    /// The writes that delete this (new, untouched) key again.
    pub fn delete_ops(&self) -> Vec<WriteOp> {
        self.with_listing(self.delete_op())
    }

    /// The writes that store a change to this key, conditional on both items still being the version read.
    fn save_ops(&self) -> Result<Vec<WriteOp>, Error> {
        Ok(self.with_listing(self.save_op()?))
    }

    pub fn is_usable(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.valid_until.is_none_or(|expiry| now < expiry)
    }

    pub fn state(&self, now: OffsetDateTime) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if !self.is_usable(now) {
            "expired"
        } else {
            "active"
        }
    }
}

/// The merchant a request authenticated as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedMerchant {
    pub merchant_id: MerchantId,
    pub key_id: String,
    pub mode: ApiKeyMode,
    /// Authenticated with the owner credential, which only manages API keys.
    pub owner: bool,
}

impl AuthenticatedMerchant {
    /// A test key may not touch what live payments depend on: `Forbidden` when `mode` (of the key, PSP
    /// connection or store acted on) is live and the caller is not (a live key or the owner credential).
    pub fn may_act_in(&self, mode: ApiKeyMode, what: &str) -> Result<(), Error> {
        if mode == ApiKeyMode::Live && self.mode == ApiKeyMode::Test {
            return Err(Error::Forbidden(format!("a test key cannot {what}; use a live key or the owner credential")));
        }
        Ok(())
    }
}

/// Looks a presented key up by its hash. Unknown, revoked and expired keys are all `Unauthenticated`.
/// Refreshes `last_used_at` when it is older than a few minutes (best effort: a lost race is ignored).
pub async fn authenticate(
    table: &dyn Table,
    hasher: &ApiKeyHasher,
    presented: &str,
    now: OffsetDateTime,
) -> Result<AuthenticatedMerchant, Error> {
    let hash = hasher.hash_presented(presented).ok_or(Error::Unauthenticated)?;
    let item = table.get(&lookup_key(&hash)).await?.ok_or(Error::Unauthenticated)?;
    let mut record = ApiKeyRecord::from_item(&item)?;
    if !record.is_usable(now) {
        return Err(Error::Unauthenticated);
    }
    let caller = AuthenticatedMerchant {
        merchant_id: record.merchant_id.clone(),
        key_id: record.key_id.clone(),
        mode: record.mode,
        owner: record.owner,
    };
    if record.last_used_at.is_none_or(|used| now - used > LAST_USED_RESOLUTION) {
        record.last_used_at = Some(now);
        match table.transact(record.save_ops()?).await {
            Ok(()) | Err(StoreError::TransactionCancelled { .. }) => {}
            Err(e) => tracing::warn!(key_id = %record.key_id, error = %e, "could not record the key's last use"),
        }
    }
    Ok(caller)
}

/// Keys of one merchant.
pub struct ApiKeys<'a> {
    table: &'a dyn Table,
}

impl<'a> ApiKeys<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    pub async fn create(&self, record: &ApiKeyRecord) -> Result<(), Error> {
        Ok(self.table.transact(record.create_ops()?).await?)
    }

    /// Every API key of the merchant, oldest first (key ids are ULIDs); not the owner credential. A
    /// merchant has few keys; the page is the whole list up to 1000.
    pub async fn list(&self, merchant_id: &MerchantId) -> Result<Vec<ApiKeyRecord>, Error> {
        let mut query = Query::new(crate::ports::Index::Primary, format!("MERCHANT#{merchant_id}"), 1000);
        query.sk_prefix = Some("APIKEY#".into());
        let records: Vec<ApiKeyRecord> =
            self.table.query(query).await?.items.iter().map(ApiKeyRecord::from_item).collect::<Result<_, _>>()?;
        Ok(records.into_iter().filter(|record| !record.owner).collect())
    }

    /// An API key (never the owner credential).
    pub async fn get(&self, merchant_id: &MerchantId, key_id: &str) -> Result<Option<ApiKeyRecord>, Error> {
        let record = self
            .table
            .get(&listing_key(merchant_id, key_id))
            .await?
            .as_ref()
            .map(ApiKeyRecord::from_item)
            .transpose()?;
        Ok(record.filter(|record| !record.owner))
    }

    /// Revokes a key: it fails authentication from the next request on. Revoking a revoked key is a no-op.
    /// The merchant's last usable key cannot be revoked (they would lock themselves out): `Conflict`. The
    /// revocation is one transaction that also checks that another usable key is still the version read,
    /// so two concurrent revocations of the last two keys cannot both succeed.
    pub async fn revoke(
        &self,
        merchant_id: &MerchantId,
        key_id: &str,
        caller: &AuthenticatedMerchant,
        now: OffsetDateTime,
    ) -> Result<ApiKeyRecord, Error> {
        if caller.key_id == key_id {
            // A session never saws off the branch it sits on: revoke a key with another key (or the owner
            // credential), so the caller sees the result with a credential that still works.
            return Err(Error::Conflict(
                "this is the key making the request; revoke it with another key or the owner credential".into(),
            ));
        }
        for _ in 0..3 {
            let mut record = self.get(merchant_id, key_id).await?.ok_or(Error::NotFound("API key"))?;
            if record.mode == ApiKeyMode::Live {
                caller.may_act_in(ApiKeyMode::Live, "revoke a live key")?;
            }
            if record.revoked_at.is_some() {
                return Ok(record);
            }
            let keys = self.list(merchant_id).await?;
            let Some(other) = keys.iter().find(|k| k.key_id != key_id && k.is_usable(now)) else {
                return Err(Error::Conflict(
                    "this is the merchant's last usable API key; create another one first".into(),
                ));
            };
            record.revoked_at = Some(now);
            let mut ops = record.save_ops()?;
            ops.push(WriteOp::Check {
                key: listing_key(merchant_id, &other.key_id),
                condition: Condition::VersionIs(other.version),
            });
            match self.table.transact(ops).await {
                Ok(()) => {
                    record.saved();
                    return Ok(record);
                }
                // This key or the other one changed (revoked, used): decide again on fresh reads.
                Err(StoreError::TransactionCancelled { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(Error::Conflict("the keys changed concurrently; retry".into()))
    }
}
