//! Store connections: a merchant's Shopify, WooCommerce, Wix or custom store.
//!
//! | item             | pk              | sk                 |
//! |------------------|-----------------|--------------------|
//! | store            | `MERCHANT#<id>` | `STORE#<store_id>` |
//! | store → merchant | `STORE#<id>`    | `STORE`            |
//!
//! Credentials live in the secret store only (`<namespace>/merchants/<id>/stores/<store_id>`); the item
//! holds the secret's name. The second item finds a store's merchant from a webhook's URL.
//!
//! - `request.rs`: the connect request, parsed field by field;
//! - `credentials.rs`: the store's secrets, read, kept for compliance webhooks, cached, deleted;
//! - `connection.rs`: connecting (after a live check) and disconnecting (the products' removal queued).

pub mod platforms;
pub mod tasks;
pub mod url_safety;

mod connection;
pub mod credentials;
mod request;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::kernel::error::Error;
use crate::kernel::money::Currency;
use crate::onboarding::merchant::MerchantId;
use crate::payments::connectors::PspMode;
use crate::ports::HasClock;
use crate::ports::HasTable;
use crate::ports::{Index, ItemKey, Query};
use crate::record::{Record, Written};
use crate::stores::platforms::{Platform, PlatformError, StoreEndpoint, WebhookSubscription};
use crate::stores::url_safety::HasStoreUrls;
use crate::stores::url_safety::StoreUrlError;

pub use connection::{connect, deactivate, disconnect};
pub use credentials::{
    CREDENTIALS_TTL, CredentialsCache, cached_credentials, credentials, delete_secrets, kept_credentials,
};
pub use request::{StoreConnectCommand, StoreConnectRequest};

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

impl Record for Store {
    fn key(&self) -> ItemKey {
        store_key(&self.merchant_id, &self.store_id)
    }

    crate::record::version_field!();
}

/// The store's endpoint: its URL checked again (the address may have changed since it was connected) and a
/// client pinned to the checked address.
pub async fn endpoint(
    app: &impl HasStoreUrls,
    url: &url::Url,
    timeout: std::time::Duration,
) -> Result<StoreEndpoint, Error> {
    let checked = app.store_urls().check(url).await.map_err(|e| match e {
        StoreUrlError::Invalid(reason) => Error::Conflict(format!("the store URL is no longer acceptable: {reason}")),
        StoreUrlError::Unresolvable(reason) => Error::StoreUnavailable(format!("the store is unreachable: {reason}")),
    })?;
    let http = checked.client(timeout);
    Ok(StoreEndpoint { base: checked.url, http })
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

pub async fn get(app: &impl HasTable, merchant_id: &MerchantId, store_id: &str) -> Result<Store, Error> {
    let item = app.table().get(&store_key(merchant_id, store_id)).await?.ok_or(Error::NotFound("store"))?;
    Store::from_item(&item)
}

/// The merchant that owns a store (for webhooks, which name only the store).
pub async fn owner(app: &impl HasTable, store_id: &str) -> Result<Option<MerchantId>, Error> {
    let Some(item) = app.table().get(&owner_key(store_id)).await? else { return Ok(None) };
    Ok(item.attrs.get("merchant_id").and_then(|v| v.as_str()).and_then(MerchantId::parse))
}

/// The merchant's stores, oldest first (store ids are ULIDs); disconnected ones are left out.
pub async fn list(app: &impl HasTable, merchant_id: &MerchantId) -> Result<Vec<Store>, Error> {
    let mut query = Query::new(Index::Primary, format!("MERCHANT#{merchant_id}"), 1000);
    query.sk_prefix = Some("STORE#".into());
    let stores: Vec<Store> =
        app.table().query(query).await?.items.iter().map(Store::from_item).collect::<Result<_, _>>()?;
    Ok(stores.into_iter().filter(|s| s.connection_status != ConnectionStatus::Disconnected).collect())
}

/// Saves a changed store, retrying `change` on a concurrent update (the store item is small and hot:
/// the sync worker and the API both touch it).
pub async fn update(
    app: &(impl HasTable + HasClock),
    merchant_id: &MerchantId,
    store_id: &str,
    mut change: impl FnMut(&mut Store),
) -> Result<Store, Error> {
    for _ in 0..8 {
        let mut store = get(app, merchant_id, store_id).await?;
        change(&mut store);
        store.updated_at = app.clock().now();
        if store.save(app.table()).await? == Written::Done {
            return Ok(store);
        }
    }
    Err(Error::Conflict("the store kept changing; retry".into()))
}
