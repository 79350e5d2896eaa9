//! The WooCommerce, Wix and custom-store platform modules against their local fakes (127.0.0.1 only), one
//! module each; this one holds what they share.

mod custom;
mod wix;
mod woocommerce;

use std::collections::BTreeSet;

use http::{HeaderMap, HeaderName, HeaderValue};
use pivota::stores::platforms::{ExternalProduct, StoreCredentials, StoreEndpoint, StorePlatform};

use crate::fixtures::stores;

const WEBHOOK_SECRET: &str = "pivota-generated-webhook-secret-0123456789";

fn credentials(token: &str) -> StoreCredentials {
    stores::credentials(token, WEBHOOK_SECRET)
}

fn headers(pairs: &[(String, String)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| (HeaderName::try_from(name.as_str()).unwrap(), HeaderValue::from_str(value).unwrap()))
        .collect()
}

/// Pages through the whole catalog.
async fn all_products(
    platform: &dyn StorePlatform,
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
) -> Vec<ExternalProduct> {
    let mut products = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let page = platform.products_page(endpoint, credentials, cursor.as_deref()).await.unwrap();
        products.extend(page.products);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return products,
        }
    }
    panic!("the catalog never ended");
}

fn assert_each_once(products: &[ExternalProduct], expected: usize) {
    let ids: BTreeSet<&str> = products.iter().map(|product| product.external_id.as_str()).collect();
    assert_eq!(products.len(), expected);
    assert_eq!(ids.len(), expected, "a product came twice");
}
