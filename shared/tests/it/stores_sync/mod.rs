//! Store connections and catalog sync through the HTTP API and the sync worker, on both backends, against
//! the local fakes of Shopify, WooCommerce, Wix and a custom store: connecting and disconnecting
//! (`connections`), each platform's catalog synced (`catalogs`), sync jobs across invocations and
//! duplicates (`jobs`), and the products API over what was synced, the largest products included
//! (`products`).

mod catalogs;
mod connections;
mod jobs;
mod products;

use pivota::settings::Settings;
use pivota::stores::url_safety::StoreUrlPolicy;

use crate::fixtures::{Backend, Merchant, app_on};

/// An approved merchant on an app whose store URLs may be `http://127.0.0.1:…` if `allow_insecure`.
async fn merchant(backend: Backend, allow_insecure: bool) -> Merchant {
    let settings = Settings { store_urls: StoreUrlPolicy { allow_insecure }, ..Settings::default() };
    Merchant::approved(app_on(backend, settings).await).await
}
