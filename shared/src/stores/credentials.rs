//! A store's credentials: in the secret store only, the item holding the secret's name.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;

use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::ports::HasDeployment;
use crate::ports::HasSecrets;
use crate::stores::platforms::StoreCredentials;

use super::Store;

pub(super) fn secret_name(app: &impl HasDeployment, merchant_id: &MerchantId, store_id: &str) -> String {
    format!("{}/merchants/{merchant_id}/stores/{store_id}", app.secret_namespace())
}

pub async fn credentials(app: &impl HasSecrets, store: &Store) -> Result<StoreCredentials, Error> {
    kept_credentials(app, store)
        .await?
        .ok_or_else(|| Error::Internal(format!("the secret of store {} is missing", store.store_id)))
}

/// Where a disconnected store's webhook secret is kept on its own, with no credential that reaches the store,
/// for a platform whose deliveries must still be verified then
/// ([`PlatformProfile::verifies_after_disconnect`](crate::stores::platforms::PlatformProfile::verifies_after_disconnect):
/// Shopify sends its compliance topics whatever Pivota's state, `shop/redact` 48 hours after an uninstall).
pub(super) fn webhook_only_secret_name(store: &Store) -> String {
    format!("{}/webhook-only", store.secret_ref)
}

/// The store's credentials; for a store the merchant disconnected, its webhook secret alone where it is kept;
/// `None` once both are deleted.
pub async fn kept_credentials(app: &impl HasSecrets, store: &Store) -> Result<Option<StoreCredentials>, Error> {
    let secret = match app.secrets().get(&store.secret_ref).await? {
        Some(secret) => secret,
        None if store.platform.profile().verifies_after_disconnect() => {
            let Some(secret) = app.secrets().get(&webhook_only_secret_name(store)).await? else { return Ok(None) };
            secret
        }
        None => return Ok(None),
    };
    let credentials = serde_json::from_str(secret.expose_secret())
        .map_err(|_| Error::Internal("a store secret does not parse".into()))?;
    Ok(Some(credentials))
}

/// Deletes every secret of a store, its webhook secret included: after Shopify's `shop/redact` for a store
/// that is gone, nothing more is sent to verify.
pub async fn delete_secrets(app: &(impl HasSecrets + HasStoreCredentials), store: &Store) -> Result<(), Error> {
    app.secrets().delete(&store.secret_ref).await?;
    app.secrets().delete(&webhook_only_secret_name(store)).await?;
    app.store_credentials().forget(&store.store_id);
    Ok(())
}

/// Store credentials read recently, per process, so that a webhook delivery (which Shopify wants
/// acknowledged within 5 s) does not cost a Secrets Manager round trip each time. An entry holds for the
/// version of the store item it was read with, so a disconnect (or any change to the store) makes it
/// stale, and for at most [`CREDENTIALS_TTL`], so a secret changed outside Pivota is picked up soon.
/// Entries are per function as well (see [`crate::invocation`]): where one process serves several
/// functions, none reads another's cached credentials.
#[derive(Default)]
pub struct CredentialsCache {
    entries: Mutex<HashMap<CacheKey, CachedCredentials>>,
}

/// (the function, the store id).
type CacheKey = (Option<&'static str>, String);

struct CachedCredentials {
    store_version: u64,
    read_at: Instant,
    credentials: StoreCredentials,
}

pub const CREDENTIALS_TTL: Duration = Duration::from_secs(60);
/// A bound on the memory the cache takes; far above the stores one warm function sees in a minute.
const CREDENTIALS_CACHE_ENTRIES: usize = 1024;

impl CredentialsCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, CachedCredentials>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn key(store_id: &str) -> CacheKey {
        (crate::invocation::current(), store_id.to_owned())
    }

    fn get(&self, store_id: &str, store_version: u64, now: Instant) -> Option<StoreCredentials> {
        let entries = self.entries();
        let entry = entries.get(&Self::key(store_id))?;
        let fresh = entry.store_version == store_version && now.duration_since(entry.read_at) < CREDENTIALS_TTL;
        fresh.then(|| entry.credentials.clone())
    }

    fn insert(&self, store_id: &str, store_version: u64, read_at: Instant, credentials: StoreCredentials) {
        let mut entries = self.entries();
        if entries.len() >= CREDENTIALS_CACHE_ENTRIES {
            entries.retain(|_, entry| read_at.duration_since(entry.read_at) < CREDENTIALS_TTL);
            if entries.len() >= CREDENTIALS_CACHE_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(Self::key(store_id), CachedCredentials { store_version, read_at, credentials });
    }

    /// Every function's entry for the store.
    pub(super) fn forget(&self, store_id: &str) {
        self.entries().retain(|(_, cached), _| cached != store_id);
    }
}

/// The store's credentials through this process's [`CredentialsCache`] (the webhook path).
pub async fn cached_credentials(
    app: &(impl HasSecrets + HasStoreCredentials),
    store: &Store,
) -> Result<StoreCredentials, Error> {
    let now = Instant::now();
    if let Some(credentials) = app.store_credentials().get(&store.store_id, store.version, now) {
        return Ok(credentials);
    }
    let credentials = credentials(app, store).await?;
    app.store_credentials().insert(&store.store_id, store.version, now, credentials.clone());
    Ok(credentials)
}

/// The process's cache of store credentials (see [`CredentialsCache`]).
pub trait HasStoreCredentials {
    fn store_credentials(&self) -> &CredentialsCache;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(token: &str) -> StoreCredentials {
        serde_json::from_value(serde_json::json!({"api_token": token})).unwrap()
    }

    #[test]
    fn cached_credentials_hold_for_the_store_version_and_the_ttl() {
        let cache = CredentialsCache::default();
        let read_at = Instant::now();
        assert!(cache.get("sto_1", 3, read_at).is_none());
        cache.insert("sto_1", 3, read_at, credentials("token-a"));
        let hit = cache.get("sto_1", 3, read_at + CREDENTIALS_TTL - Duration::from_millis(1)).unwrap();
        assert_eq!(hit.api_token.expose_secret(), "token-a");
        assert!(cache.get("sto_1", 4, read_at).is_none(), "the store changed since");
        assert!(cache.get("sto_2", 3, read_at).is_none(), "another store");
        assert!(cache.get("sto_1", 3, read_at + CREDENTIALS_TTL).is_none(), "expired");
        cache.forget("sto_1");
        assert!(cache.get("sto_1", 3, read_at).is_none(), "forgotten on disconnect");
    }

    #[test]
    fn a_full_cache_makes_room() {
        let cache = CredentialsCache::default();
        let start = Instant::now();
        for i in 0..CREDENTIALS_CACHE_ENTRIES {
            cache.insert(&format!("sto_{i}"), 1, start, credentials("t"));
        }
        let later = start + CREDENTIALS_TTL;
        cache.insert("sto_new", 1, later, credentials("new"));
        assert_eq!(cache.entries().len(), 1, "the expired entries made room");
        assert!(cache.get("sto_new", 1, later).is_some());
    }
}
