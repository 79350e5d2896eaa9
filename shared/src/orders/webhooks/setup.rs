//! Setting up a store's webhooks: the address a store delivers to, and the subscriptions (orders,
//! products, and Shopify's uninstall) made on the store through its platform, idempotently.

use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::ports::HasClock;
use crate::ports::HasSecrets;
use crate::ports::HasTable;
use crate::stores;
use crate::stores::platforms::{self, Installation, Platform};
use crate::stores::url_safety::HasStoreUrls;

/// The address a store delivers to: `{public base}/webhooks/{platform}/{store_id}`, the public base being
/// `PIVOTA_PUBLIC_BASE_URL` or the API's own domain (`pivota_http::request::public_base`). Shopify's compliance
/// topics (configured in the app, not through the API) go to the same address.
pub fn address(public_base: &str, platform: Platform, store_id: &str) -> Result<url::Url, Error> {
    url::Url::parse(&format!("{public_base}/webhooks/{platform}/{store_id}"))
        .map_err(|e| Error::Internal(format!("the public base URL does not make a URL: {e}")))
}

/// Subscribes the store's order (and product, and uninstall) webhooks to Pivota. Idempotent.
pub async fn setup(
    app: &(impl HasTable + HasSecrets + HasClock + HasStoreUrls),
    public_base: &str,
    merchant_id: &MerchantId,
    store_id: &str,
) -> Result<stores::Store, Error> {
    let store = stores::get(app, merchant_id, store_id).await?;
    if !store.connection_status.is_active() {
        return Err(Error::Conflict(format!(
            "the store is {}; connect it again first",
            store.connection_status.as_str()
        )));
    }
    let topics = store.platform.profile().webhook_topics();
    let credentials = stores::credentials(app, &store).await?;
    let url = url::Url::parse(&store.store_url).map_err(|e| Error::Internal(e.to_string()))?;
    let endpoint = stores::endpoint(app, &url, std::time::Duration::from_secs(15)).await?;
    let address = address(public_base, store.platform, store_id)?;
    let subscriptions = platforms::webhooks(store.platform)
        .subscribe(&endpoint, &credentials, &address, topics)
        .await
        .map_err(|e| stores::platform_error(store.platform, e))?;
    // The shop its deliveries must name (Shopify; other platforms have no such question). Best effort: a
    // store without it falls back to its URL's host.
    let identity = match platforms::webhooks(store.platform).installation(&endpoint, &credentials).await {
        Ok(Installation::Installed(identity)) => identity,
        _ => None,
    };
    stores::update(app, merchant_id, store_id, |store| {
        store.webhooks = subscriptions.clone();
        if identity.is_some() {
            store.shop_identity = identity.clone();
        }
    })
    .await
}
