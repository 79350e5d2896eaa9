//! Store connections: a merchant's Shopify, WooCommerce, Wix or custom store.
//!
//! | item             | pk              | sk                 |
//! |------------------|-----------------|--------------------|
//! | store            | `MERCHANT#<id>` | `STORE#<store_id>` |
//! | store → merchant | `STORE#<id>`    | `STORE`            |
//!
//! Credentials live in the secret store only (`<namespace>/merchants/<id>/stores/<store_id>`); the item
//! holds the secret's name. The second item finds a store's merchant from a webhook's URL.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::app::App;
use crate::error::Error;
use crate::item::{from_item, to_attributes};
use crate::merchant::{MerchantId, MerchantStatus};
use crate::merchants::Merchants;
use crate::money::Currency;
use crate::platforms::{self, Platform, PlatformError, StoreCredentials, StoreEndpoint, WebhookSubscription};
use crate::ports::{Condition, Index, Item, ItemKey, Query, StoreError, WriteOp};
use crate::psp::PspMode;
use crate::store_tasks::{StoreTask, TaskKind};
use crate::store_url::{StoreUrlError, StoreUrlPolicy};
use crate::validation::FieldErrors;

/// The default low-stock threshold: a tracked variant with this many or fewer in stock is low.
pub const DEFAULT_LOW_STOCK_THRESHOLD: i64 = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Connected,
    Syncing,
    /// The last sync failed, or the store refused our credentials.
    Error,
    /// Disconnected by the merchant. Kept for the order history.
    Disconnected,
    /// The store uninstalled Pivota's app (Shopify `app/uninstalled`): still listed, so the merchant sees
    /// it and can connect it again; nothing syncs or is charged until then.
    Uninstalled,
}

impl ConnectionStatus {
    /// Whether the store is connected (or syncing, or in error): not disconnected, not uninstalled.
    pub fn is_active(self) -> bool {
        !matches!(self, ConnectionStatus::Disconnected | ConnectionStatus::Uninstalled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Connected => "connected",
            ConnectionStatus::Syncing => "syncing",
            ConnectionStatus::Error => "error",
            ConnectionStatus::Disconnected => "disconnected",
            ConnectionStatus::Uninstalled => "uninstalled",
        }
    }
}

/// The progress of a sync job, as the store list and the job route show it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncProgress {
    /// How many products the store reported having, when its platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
    pub pages: u64,
    pub products_seen: u64,
    pub written: u64,
    pub unchanged: u64,
    pub removed: u64,
    pub errors: u64,
    /// Products the table could not hold (the job's `skipped` lists the first of them, with the reason).
    #[serde(default)]
    pub skipped: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Store {
    pub store_id: String,
    pub merchant_id: MerchantId,
    pub platform: Platform,
    pub store_url: String,
    pub store_name: String,
    pub currency: Option<Currency>,
    /// Test or live: which PSP connections its orders are charged through, and only a payment of this
    /// mode marks an order paid in the store. Stores recorded before modes existed read as live, so none
    /// of their orders can be marked paid by a test payment.
    #[serde(default = "live")]
    pub mode: PspMode,
    pub connection_status: ConnectionStatus,
    pub secret_ref: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_sync_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub product_count: u64,
    /// The latest sync job, if any.
    #[serde(default)]
    pub last_job_id: Option<String>,
    /// The task removing the products of a disconnected or uninstalled store (`store_tasks.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removal_task_id: Option<String>,
    #[serde(default)]
    pub webhooks: Vec<WebhookSubscription>,
    /// The shop its webhooks must name (Shopify), as the platform said when they were set up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop_identity: Option<platforms::ShopIdentity>,
    pub low_stock_threshold: i64,
    #[serde(default)]
    pub last_error: Option<String>,
    /// The platform's rate limit asked the last sync to wait until then before its next request; the
    /// next sync honours it, so a new job does not open with a throttled request.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub rate_limited_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(skip)]
    pub version: u64,
}

fn live() -> PspMode {
    PspMode::Live
}

pub fn store_key(merchant_id: &MerchantId, store_id: &str) -> ItemKey {
    ItemKey::new(format!("MERCHANT#{merchant_id}"), format!("STORE#{store_id}"))
}

fn owner_key(store_id: &str) -> ItemKey {
    ItemKey::new(format!("STORE#{store_id}"), "STORE")
}

impl Store {
    pub fn to_item(&self, version: u64) -> Result<Item, Error> {
        let mut item = Item::new(store_key(&self.merchant_id, &self.store_id), to_attributes(self)?);
        item.version = version;
        Ok(item)
    }

    pub fn from_item(item: &Item) -> Result<Self, Error> {
        let mut store: Self = from_item(item)?;
        store.version = item.version;
        Ok(store)
    }

    /// The write that stores this (changed) store, conditional on the version read.
    pub fn update_op(&self) -> Result<WriteOp, Error> {
        Ok(WriteOp::Put { item: self.to_item(self.version + 1)?, condition: Condition::VersionIs(self.version) })
    }
}

/// The body of `POST /merchant/{merchant_id}/store/connect`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct StoreConnectRequest {
    /// `shopify`, `woocommerce`, `wix` or `custom`.
    #[schema(value_type = crate::platforms::Platform, required = true)]
    pub platform: Option<String>,
    /// `https://acme.myshopify.com`, the WordPress site URL, `https://www.wixapis.com` for Wix, or the custom
    /// store's base URL.
    pub store_url: Option<String>,
    /// Shopify Admin API access token; Wix API key; custom bearer token; WooCommerce `ck_…:cs_…`.
    pub api_token: Option<String>,
    /// WooCommerce REST API consumer key and secret (instead of `api_token`).
    pub consumer_key: Option<String>,
    pub consumer_secret: Option<String>,
    /// Wix: the site id.
    pub site_id: Option<String>,
    /// Shopify: the app's client secret, which signs its webhooks. Wix: the app's webhook public key (PEM).
    pub webhook_secret: Option<String>,
    /// `test` or `live` (default: the calling key's mode). A test key cannot connect a live store.
    #[schema(value_type = Option<PspMode>)]
    pub mode: Option<String>,
}

pub struct StoreConnectCommand {
    pub platform: Platform,
    pub store_url: url::Url,
    pub credentials: StoreCredentials,
    /// As asked; `None`: the calling key's mode.
    pub mode: Option<PspMode>,
}

fn secret_text(max: usize) -> impl Fn(&str) -> Result<SecretString, String> {
    move |raw: &str| {
        let value = raw.trim();
        if value.is_empty() || value.len() > max {
            Err(format!("must be 1 to {max} characters"))
        } else {
            Ok(SecretString::from(value.to_owned()))
        }
    }
}

impl StoreConnectCommand {
    pub fn parse(request: StoreConnectRequest, policy: StoreUrlPolicy) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let platform = errors.field("platform", request.platform, |raw| {
            Platform::parse(raw.trim()).ok_or("must be one of shopify, woocommerce, wix, custom")
        });
        let store_url = match platform {
            Some(platform) => errors.field("store_url", request.store_url, |raw| policy.parse(raw, platform)),
            None => None,
        };
        let mode =
            errors.optional("mode", request.mode, |raw| PspMode::parse(raw.trim()).ok_or("must be test or live"));
        let mut credentials = StoreCredentials {
            api_token: SecretString::from(String::new()),
            consumer_key: None,
            consumer_secret: None,
            site_id: None,
            webhook_secret: None,
        };
        match platform {
            Some(Platform::WooCommerce) => {
                let pair = request.api_token.as_deref().and_then(|token| token.split_once(':'));
                let (key, secret) = match pair {
                    Some((key, secret)) => (Some(key.to_owned()), Some(secret.to_owned())),
                    None => (request.consumer_key, request.consumer_secret),
                };
                credentials.consumer_key = errors.field("consumer_key", key, secret_text(512));
                credentials.consumer_secret = errors.field("consumer_secret", secret, secret_text(512));
                // Pivota signs its WooCommerce webhooks with a secret of its own.
                credentials.webhook_secret = Some(crate::secret::random_token(32));
            }
            Some(platform) => {
                if let Some(token) = errors.field("api_token", request.api_token, secret_text(4096)) {
                    credentials.api_token = token;
                }
                if platform == Platform::Wix {
                    credentials.site_id = errors.field("site_id", request.site_id, |raw| {
                        let id = raw.trim();
                        if id.is_empty() || id.len() > 100 { Err("must be the site's id") } else { Ok(id.to_owned()) }
                    });
                    credentials.webhook_secret =
                        errors.optional("webhook_secret", request.webhook_secret, secret_text(8192));
                } else if platform == Platform::Shopify {
                    credentials.webhook_secret =
                        errors.field("webhook_secret", request.webhook_secret, secret_text(512));
                } else {
                    credentials.webhook_secret = Some(crate::secret::random_token(32));
                }
            }
            None => {}
        }
        match (platform, store_url) {
            (Some(platform), Some(store_url)) if errors.is_empty() => {
                Ok(Self { platform, store_url, credentials, mode })
            }
            _ => Err(errors),
        }
    }
}

fn secret_name(app: &App, merchant_id: &MerchantId, store_id: &str) -> String {
    format!("{}/merchants/{merchant_id}/stores/{store_id}", app.settings.secret_namespace)
}

/// The store's endpoint: its URL checked again (the address may have changed since it was connected) and a
/// client pinned to the checked address.
pub async fn endpoint(app: &App, url: &url::Url, timeout: std::time::Duration) -> Result<StoreEndpoint, Error> {
    let checked = app.settings.store_urls.check(url).await.map_err(|e| match e {
        StoreUrlError::Invalid(reason) => Error::Conflict(format!("the store URL is no longer acceptable: {reason}")),
        StoreUrlError::Unresolvable(reason) => Error::StoreUnavailable(format!("the store is unreachable: {reason}")),
    })?;
    let http = checked.client(timeout);
    Ok(StoreEndpoint { base: checked.url, http })
}

pub async fn credentials(app: &App, store: &Store) -> Result<StoreCredentials, Error> {
    kept_credentials(app, store)
        .await?
        .ok_or_else(|| Error::Internal(format!("the secret of store {} is missing", store.store_id)))
}

/// Where a disconnected Shopify store's webhook secret (the app's client secret) is kept on its own, with
/// no credential that reaches the store: Shopify sends its compliance topics whatever Pivota's state
/// (`shop/redact` 48 hours after an uninstall), and they must still be verified.
fn webhook_only_secret_name(store: &Store) -> String {
    format!("{}/webhook-only", store.secret_ref)
}

/// The store's credentials; for a Shopify store the merchant disconnected, its webhook secret alone;
/// `None` once both are deleted.
pub async fn kept_credentials(app: &App, store: &Store) -> Result<Option<StoreCredentials>, Error> {
    let secret = match app.secrets.get(&store.secret_ref).await? {
        Some(secret) => secret,
        None if store.platform == Platform::Shopify => {
            let Some(secret) = app.secrets.get(&webhook_only_secret_name(store)).await? else { return Ok(None) };
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
pub async fn delete_secrets(app: &App, store: &Store) -> Result<(), Error> {
    app.secrets.delete(&store.secret_ref).await?;
    app.secrets.delete(&webhook_only_secret_name(store)).await?;
    app.store_credentials.forget(&store.store_id);
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
    fn forget(&self, store_id: &str) {
        self.entries().retain(|(_, cached), _| cached != store_id);
    }
}

/// The store's credentials through this process's [`CredentialsCache`] (the webhook path).
pub async fn cached_credentials(app: &App, store: &Store) -> Result<StoreCredentials, Error> {
    let now = Instant::now();
    if let Some(credentials) = app.store_credentials.get(&store.store_id, store.version, now) {
        return Ok(credentials);
    }
    let credentials = credentials(app, store).await?;
    app.store_credentials.insert(&store.store_id, store.version, now, credentials.clone());
    Ok(credentials)
}

/// What a platform error means for a request that asked it something.
pub fn platform_error(platform: Platform, error: PlatformError) -> Error {
    match error {
        PlatformError::Unauthorized { reason } => {
            Error::StoreRejected { platform: platform.as_str(), field: "api_token", reason }
        }
        PlatformError::Throttled { retry_after } => Error::StoreUnavailable(format!(
            "{platform} is rate limiting; retry after {} s",
            retry_after.as_secs().max(1)
        )),
        PlatformError::Unavailable { reason } | PlatformError::Invalid { reason } => Error::StoreUnavailable(format!(
            "{platform} could not be reached or answered unexpectedly ({reason}); retry shortly"
        )),
    }
}

/// Connects a store in `mode`: only after the platform accepted the credentials live; nothing is stored
/// otherwise. (The caller has checked that it may connect a store of that mode.)
pub async fn connect(
    app: &App,
    merchant_id: &MerchantId,
    mode: PspMode,
    command: StoreConnectCommand,
) -> Result<Store, Error> {
    let merchant = Merchants::new(app.table.as_ref()).get(merchant_id).await?.ok_or(Error::NotFound("merchant"))?;
    if merchant.status != MerchantStatus::Approved {
        return Err(Error::Conflict(format!(
            "the merchant is {}; only approved merchants may connect a store",
            merchant.status.as_str()
        )));
    }
    let checked = app
        .settings
        .store_urls
        .check(&command.store_url)
        .await
        .map_err(|e| Error::Validation(crate::validation::FieldError::new("store_url", e.to_string()).into()))?;
    let endpoint =
        StoreEndpoint { base: checked.url.clone(), http: checked.client(std::time::Duration::from_secs(15)) };
    let info = platforms::catalog(command.platform)
        .verify(&endpoint, &command.credentials)
        .await
        .map_err(|e| platform_error(command.platform, e))?;

    let store_id = format!("sto_{}", ulid::Ulid::new());
    let secret_ref = secret_name(app, merchant_id, &store_id);
    let serialized = serde_json::to_string(&command.credentials).map_err(|e| Error::Internal(e.to_string()))?;
    app.secrets.put(&secret_ref, &serialized.into()).await?;
    let now = app.clock.now();
    let store = Store {
        store_id: store_id.clone(),
        merchant_id: merchant_id.clone(),
        platform: command.platform,
        store_url: command.store_url.to_string(),
        store_name: info.name,
        currency: info.currency,
        mode,
        connection_status: ConnectionStatus::Connected,
        secret_ref,
        last_sync_at: None,
        product_count: 0,
        last_job_id: None,
        removal_task_id: None,
        webhooks: Vec::new(),
        shop_identity: None,
        low_stock_threshold: DEFAULT_LOW_STOCK_THRESHOLD,
        last_error: None,
        rate_limited_until: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut owner = serde_json::Map::new();
    owner.insert("merchant_id".into(), merchant_id.as_str().into());
    let ops = vec![
        WriteOp::Put { item: store.to_item(1)?, condition: Condition::NotExists },
        WriteOp::Put { item: Item::new(owner_key(&store_id), owner), condition: Condition::NotExists },
    ];
    app.table.transact(ops).await?;
    tracing::info!(%merchant_id, store_id, platform = command.platform.as_str(), "store connected");
    Ok(store)
}

pub async fn get(app: &App, merchant_id: &MerchantId, store_id: &str) -> Result<Store, Error> {
    let item = app.table.get(&store_key(merchant_id, store_id)).await?.ok_or(Error::NotFound("store"))?;
    Store::from_item(&item)
}

/// The merchant that owns a store (for webhooks, which name only the store).
pub async fn owner(app: &App, store_id: &str) -> Result<Option<MerchantId>, Error> {
    let Some(item) = app.table.get(&owner_key(store_id)).await? else { return Ok(None) };
    Ok(item.attrs.get("merchant_id").and_then(|v| v.as_str()).and_then(MerchantId::parse))
}

/// The merchant's stores, oldest first (store ids are ULIDs); disconnected ones are left out.
pub async fn list(app: &App, merchant_id: &MerchantId) -> Result<Vec<Store>, Error> {
    let mut query = Query::new(Index::Primary, format!("MERCHANT#{merchant_id}"), 1000);
    query.sk_prefix = Some("STORE#".into());
    let stores: Vec<Store> =
        app.table.query(query).await?.items.iter().map(Store::from_item).collect::<Result<_, _>>()?;
    Ok(stores.into_iter().filter(|s| s.connection_status != ConnectionStatus::Disconnected).collect())
}

/// Saves a changed store, retrying `change` on a concurrent update (the store item is small and hot:
/// the sync worker and the API both touch it).
pub async fn update(
    app: &App,
    merchant_id: &MerchantId,
    store_id: &str,
    mut change: impl FnMut(&mut Store),
) -> Result<Store, Error> {
    for _ in 0..8 {
        let mut store = get(app, merchant_id, store_id).await?;
        change(&mut store);
        store.updated_at = app.clock.now();
        match app.table.transact(vec![store.update_op()?]).await {
            Ok(()) => {
                store.version += 1;
                return Ok(store);
            }
            Err(StoreError::TransactionCancelled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict("the store kept changing; retry".into()))
}

/// Disconnects a store: removes the webhooks Pivota created on it (best effort: a store that cannot be
/// reached keeps them, and its deliveries are refused from now on), deletes the credentials, and queues the
/// removal of its products as a task ([`deactivate`]), answering without waiting for it. Idempotent:
/// disconnecting a disconnected store changes nothing but queues its removal again if that never finished.
pub async fn disconnect(app: &App, merchant_id: &MerchantId, store_id: &str) -> Result<(), Error> {
    let store = get(app, merchant_id, store_id).await?;
    if store.connection_status == ConnectionStatus::Disconnected {
        return requeue_removal(app, &store).await;
    }
    if !store.webhooks.is_empty()
        && let Ok(credentials) = credentials(app, &store).await
    {
        let url = url::Url::parse(&store.store_url).map_err(|e| Error::Internal(e.to_string()))?;
        let removed = match endpoint(app, &url, std::time::Duration::from_secs(10)).await {
            Ok(endpoint) => {
                platforms::webhooks(store.platform).unsubscribe(&endpoint, &credentials, &store.webhooks).await.is_ok()
            }
            Err(_) => false,
        };
        if !removed {
            tracing::warn!(store_id, "could not remove the store's webhooks; its deliveries will be refused");
        }
    }
    // Each step is idempotent and the status changes last, so a retry after a failure finishes the job.
    if store.platform == Platform::Shopify
        && let Some(webhook_secret) = kept_credentials(app, &store).await?.and_then(|c| c.webhook_secret)
    {
        let alone = StoreCredentials {
            api_token: SecretString::from(String::new()),
            consumer_key: None,
            consumer_secret: None,
            site_id: None,
            webhook_secret: Some(webhook_secret),
        };
        let serialized = serde_json::to_string(&alone).map_err(|e| Error::Internal(e.to_string()))?;
        app.secrets.put(&webhook_only_secret_name(&store), &serialized.into()).await?;
    }
    app.secrets.delete(&store.secret_ref).await?;
    app.store_credentials.forget(store_id);
    deactivate(app, merchant_id, store_id, ConnectionStatus::Disconnected).await?;
    tracing::info!(%merchant_id, store_id, "store disconnected");
    Ok(())
}

/// Moves a store to `status` (disconnected or uninstalled: its webhooks cleared) together with the task
/// that removes its products, in one transaction, then queues the task. A store already in that status
/// only has its unfinished removal queued again: the retry of a request whose queueing failed.
pub async fn deactivate(
    app: &App,
    merchant_id: &MerchantId,
    store_id: &str,
    status: ConnectionStatus,
) -> Result<(), Error> {
    for _ in 0..8 {
        let mut store = get(app, merchant_id, store_id).await?;
        if store.connection_status == status {
            return requeue_removal(app, &store).await;
        }
        let task = StoreTask::new(app, merchant_id, store_id, TaskKind::RemoveProducts);
        store.connection_status = status;
        store.webhooks.clear();
        store.removal_task_id = Some(task.task_id.clone());
        store.updated_at = app.clock.now();
        match app.table.transact(vec![store.update_op()?, task.create_op()?]).await {
            Ok(()) => return crate::store_tasks::enqueue(app, &task).await,
            // The store changed under us (a sync finishing): read it again.
            Err(StoreError::TransactionCancelled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict("the store kept changing; retry".into()))
}

async fn requeue_removal(app: &App, store: &Store) -> Result<(), Error> {
    match &store.removal_task_id {
        Some(task_id) => crate::store_tasks::requeue(app, &store.merchant_id, task_id).await,
        None => Ok(()),
    }
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
