//! Wix: the Wix REST APIs at `https://www.wixapis.com` (the [`StoreEndpoint`] base, so tests can point
//! it at a fake), called with an API key. Every path below is in [`paths`], each with the page that
//! documents it (checked by `tests::request_builders_use_the_documented_paths`).
//!
//! Wix sites run one of two product catalogs, V1 or V3, which are not compatible: each answers only its
//! own API, and new sites have been on V3 since 2025. Wix's "About the Catalog Versioning API"
//! (https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-versioning/introduction)
//! says to call Get Catalog Version "at the beginning of each flow", so the version is read at the start
//! of every flow (connect, the first page of a sync, a product event) and not stored: a site moved to V3
//! is synced through V3 from its next sync on. `STORES_NOT_INSTALLED` is a clear refusal. The V1 catalog
//! is in `v1.rs`, the V3 catalog in `v3/`, webhooks in `webhooks.rs`, and how a call is made (headers,
//! errors) in `transport.rs`.
//!
//! Other sources (Wix developer docs): the API key's headers, in `transport.rs`. Site Properties
//! (`siteDisplayName`, `paymentCurrency`), eCommerce orders and Order Transactions: see [`paths`].

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;

use super::{
    ExternalProduct, Platform, PlatformError, ProductPage, StoreCredentials, StoreEndpoint, StoreInfo, StorePlatform,
};
use crate::kernel::money::Currency;

mod profile;
mod transport;
mod v1;
mod v3;
mod webhooks;

use transport::{call, call_found, invalid, parse, url, url_with};

const NAME: &str = "Wix";

#[derive(Clone, Copy, Debug, Default)]
pub struct Wix;

/// Every Wix path Pivota calls, relative to `https://www.wixapis.com/`, with the page documenting it.
pub(crate) mod paths {
    /// `GET`: Stores "Get Catalog Version",
    /// https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-versioning/get-catalog-version
    pub const CATALOG_VERSION: &str = "stores/v3/provision/version";
    /// `POST`: Catalog V1 "Query Products" (its "Endpoint" line; an older cURL example shows
    /// `stores/v1/products/query`),
    /// https://dev.wix.com/docs/rest/business-solutions/stores/catalog/query-products
    pub const V1_QUERY_PRODUCTS: &str = "stores-reader/v1/products/query";
    /// `POST`: Catalog V3 "Query Products",
    /// https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/products-v3/query-products
    pub const V3_QUERY_PRODUCTS: &str = "stores/v3/products/query";
    /// `GET …/{productId}`: Catalog V3 "Get Product",
    /// https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/products-v3/get-product
    pub const V3_PRODUCTS: &str = "stores/v3/products";
    /// `POST`: Catalog V3 Read-Only Variants "Query Variants",
    /// https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/read-only-variants-v3/query-variants
    pub const V3_QUERY_VARIANTS: &str = "stores/v3/products/query-variants";
    /// `POST`: Catalog V3 Inventory Items "Query Inventory Items" (the Inventory Items API,
    /// https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/inventory-items-v3/introduction;
    /// the path as Wix's own `@wix/stores` SDK calls it: `/stores/v3/inventory-items` + `/query`).
    pub const V3_QUERY_INVENTORY_ITEMS: &str = "stores/v3/inventory-items/query";
    /// `GET`: Site Properties "Get Site Properties",
    /// https://dev.wix.com/api/rest/business-info/site-properties/properties/get-site-properties
    pub const SITE_PROPERTIES: &str = "site-properties/v4/properties";
    /// `GET …/{id}`: eCommerce Orders "Get Order",
    /// https://dev.wix.com/docs/rest/business-solutions/e-commerce/orders/orders/get-order
    pub const ORDERS: &str = "ecom/v1/orders";
    /// `POST …/{orderId}/add-payment`: eCommerce Order Transactions "Add Payments",
    /// https://dev.wix.com/docs/rest/business-solutions/e-commerce/order-transactions/add-payments
    pub const ORDER_PAYMENTS: &str = "ecom/v1/payments/orders";
}

/// The site's catalog, as Get Catalog Version names it (`catalogVersion`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
enum CatalogVersion {
    #[serde(rename = "V1_CATALOG")]
    V1,
    #[serde(rename = "V3_CATALOG")]
    V3,
    #[serde(rename = "STORES_NOT_INSTALLED")]
    NotInstalled,
}

fn version_request(endpoint: &StoreEndpoint) -> reqwest::RequestBuilder {
    endpoint.http.get(url(&endpoint.base, paths::CATALOG_VERSION))
}

/// The site's catalog version; a site without Wix Stores is refused.
async fn catalog_version(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
) -> Result<CatalogVersion, PlatformError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        catalog_version: CatalogVersion,
    }
    let answer: Answer = parse(&call(version_request(endpoint), credentials).await?, "catalog version")?;
    match answer.catalog_version {
        CatalogVersion::NotInstalled => {
            Err(PlatformError::Invalid { reason: "Wix Stores is not installed on this site".into() })
        }
        version => Ok(version),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SiteProperties {
    #[serde(default)]
    site_display_name: Option<String>,
    #[serde(default)]
    payment_currency: Option<String>,
}

fn site_properties_request(endpoint: &StoreEndpoint) -> reqwest::RequestBuilder {
    endpoint.http.get(url(&endpoint.base, paths::SITE_PROPERTIES))
}

/// The site's display name and payment currency. Best effort: the API key may lack the permission.
async fn site_properties(endpoint: &StoreEndpoint, credentials: &StoreCredentials) -> SiteProperties {
    #[derive(Deserialize)]
    struct Answer {
        properties: SiteProperties,
    }
    match call(site_properties_request(endpoint), credentials).await {
        Ok(body) => serde_json::from_slice::<Answer>(&body).map(|answer| answer.properties).unwrap_or_default(),
        Err(_) => SiteProperties::default(),
    }
}

/// The currency a page's products did not say: the site's payment currency.
async fn site_currency(endpoint: &StoreEndpoint, credentials: &StoreCredentials) -> Result<Currency, PlatformError> {
    site_properties(endpoint, credentials)
        .await
        .payment_currency
        .and_then(|code| Currency::parse(&code).ok())
        .ok_or_else(|| PlatformError::Invalid { reason: "Wix did not say the store's currency".into() })
}

/// Where the next page starts, with the catalog and the currency of the first page carried along:
/// V1 `"<offset>:<currency>"` (the form V1 syncs already in flight hold), V3 `"v3:<currency>:<cursor>"`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PageCursor {
    V1 { offset: u64, currency: Currency },
    V3 { currency: Currency, cursor: String },
}

impl PageCursor {
    fn parse(raw: &str) -> Option<Self> {
        if let Some(rest) = raw.strip_prefix("v3:") {
            let (code, cursor) = rest.split_once(':')?;
            return Some(Self::V3 { currency: Currency::parse(code).ok()?, cursor: cursor.to_owned() });
        }
        let (offset, code) = raw.split_once(':')?;
        Some(Self::V1 { offset: offset.parse().ok()?, currency: Currency::parse(code).ok()? })
    }

    fn render(&self) -> String {
        match self {
            Self::V1 { offset, currency } => format!("{offset}:{}", currency.code()),
            Self::V3 { currency, cursor } => format!("v3:{}:{cursor}", currency.code()),
        }
    }
}

/// One product as the site's catalog has it now; `None` when it is gone. For product events, which name
/// the product but (V1) do not carry it.
async fn current_product(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
    product_id: &str,
    currency: Currency,
) -> Result<Option<ExternalProduct>, PlatformError> {
    match catalog_version(endpoint, credentials).await? {
        CatalogVersion::V3 => v3::product(endpoint, credentials, product_id, currency).await,
        _ => v1::product(endpoint, credentials, product_id, currency).await,
    }
}

#[async_trait]
impl StorePlatform for Wix {
    fn platform(&self) -> Platform {
        Platform::Wix
    }

    async fn verify(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
    ) -> Result<StoreInfo, PlatformError> {
        let version = catalog_version(endpoint, credentials).await?;
        // One product read: the key may read the catalog, and the products say their currency.
        let page_currency = match version {
            CatalogVersion::V3 => v3::first_product_currency(endpoint, credentials).await?,
            _ => v1::first_product_currency(endpoint, credentials).await?,
        };
        let properties = site_properties(endpoint, credentials).await;
        let currency =
            properties.payment_currency.as_deref().and_then(|code| Currency::parse(code).ok()).or(page_currency);
        let name = properties
            .site_display_name
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| format!("Wix site {}", credentials.site_id.as_deref().unwrap_or_default()));
        Ok(StoreInfo { name, currency })
    }

    async fn products_page(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        cursor: Option<&str>,
    ) -> Result<ProductPage, PlatformError> {
        let cursor = match cursor {
            None => None,
            Some(raw) => Some(
                PageCursor::parse(raw)
                    .ok_or_else(|| PlatformError::Invalid { reason: format!("not a Wix page cursor: {raw:?}") })?,
            ),
        };
        match cursor {
            Some(PageCursor::V1 { offset, currency }) => v1::page(endpoint, credentials, offset, Some(currency)).await,
            Some(PageCursor::V3 { currency, cursor }) => {
                v3::page(endpoint, credentials, Some((currency, cursor))).await
            }
            None => match catalog_version(endpoint, credentials).await? {
                CatalogVersion::V3 => v3::page(endpoint, credentials, None).await,
                _ => v1::page(endpoint, credentials, 0, None).await,
            },
        }
    }

    async fn product(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        external_id: &str,
        currency: Currency,
    ) -> Result<Option<ExternalProduct>, PlatformError> {
        current_product(endpoint, credentials, external_id, currency).await
    }
}

/// A product's main image: V1 `media.mainMedia.image.url`; V3 `media.main.url`, or `media.main.image`
/// (an object with `url`, or a URL string).
fn image_url(media: Option<&Value>) -> Option<String> {
    let media = media?;
    ["/mainMedia/image/url", "/main/image/url", "/main/image", "/main/url"]
        .into_iter()
        .filter_map(|pointer| media.pointer(pointer).and_then(Value::as_str))
        .find(|url| url.starts_with("https://") || url.starts_with("http://"))
        .map(str::to_owned)
}

/// Wix's id of a product's variant is unique only within the product (V1's default variant is all
/// zeros; V3's Read-Only Variants API says the same), so the external id is `<productId>-<variantId>`.
fn variant_external_id(product_id: &str, variant_id: &str) -> String {
    format!("{product_id}-{variant_id}")
}

/// Pages follow each other at once: Wix's answers carry no budget to pace by (a 429 is honoured through
/// its `Retry-After`, like every platform's).
const NO_WAIT: Duration = Duration::ZERO;

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;

    fn endpoint() -> StoreEndpoint {
        StoreEndpoint {
            base: Url::parse("https://www.wixapis.com").unwrap(),
            http: crate::kernel::http_client::builder().build().unwrap(),
        }
    }

    /// The documented method and path of each call, written out from Wix's pages (see [`paths`]).
    #[test]
    fn request_builders_use_the_documented_paths() {
        let endpoint = endpoint();
        let built = [
            version_request(&endpoint),
            site_properties_request(&endpoint),
            v1::query_request(&endpoint, 1, 0, None),
            v3::query_products_request(&endpoint, 1, None, None),
            v3::get_product_request(&endpoint, "p 1").unwrap(),
            v3::variants::query_variants_request(&endpoint, &["p1".to_owned()], None),
            v3::inventory::query_inventory_request(&endpoint, &["p1".to_owned()], None),
            webhooks::get_order_request(&endpoint, "o/1").unwrap(),
            webhooks::add_payment_request(&endpoint, "o/1", "1.00", "psp").unwrap(),
        ];
        let seen: Vec<(String, String)> = built
            .into_iter()
            .map(|builder| {
                let request = builder.build().unwrap();
                (request.method().to_string(), request.url().path().to_owned())
            })
            .collect();
        let documented = [
            ("GET", "/stores/v3/provision/version"),
            ("GET", "/site-properties/v4/properties"),
            ("POST", "/stores-reader/v1/products/query"),
            ("POST", "/stores/v3/products/query"),
            ("GET", "/stores/v3/products/p%201"),
            ("POST", "/stores/v3/products/query-variants"),
            ("POST", "/stores/v3/inventory-items/query"),
            ("GET", "/ecom/v1/orders/o%2F1"),
            ("POST", "/ecom/v1/payments/orders/o%2F1/add-payment"),
        ];
        let documented: Vec<(String, String)> =
            documented.iter().map(|(method, path)| ((*method).to_owned(), (*path).to_owned())).collect();
        assert_eq!(seen, documented);
    }

    #[test]
    fn page_cursors_carry_the_catalog_and_the_currency() {
        let usd = Currency::parse("USD").unwrap();
        for cursor in
            [PageCursor::V1 { offset: 200, currency: usd }, PageCursor::V3 { currency: usd, cursor: "eyJ:a:b".into() }]
        {
            assert_eq!(PageCursor::parse(&cursor.render()), Some(cursor.clone()));
        }
        assert_eq!(PageCursor::parse("100:USD"), Some(PageCursor::V1 { offset: 100, currency: usd }));
        assert_eq!(PageCursor::parse("v3:XXX:abc"), None);
        assert_eq!(PageCursor::parse("abc"), None);
    }

    #[test]
    fn images_are_read_from_either_catalog() {
        let v1 = serde_json::json!({"mainMedia": {"image": {"url": "https://static.wixstatic.com/a.jpg"}}});
        let v3 = serde_json::json!({"main": {"image": {"url": "https://static.wixstatic.com/b.jpg"}}});
        let v3_string =
            serde_json::json!({"main": {"image": "wix:image://v1/c.jpg", "url": "https://x.example/c.jpg"}});
        assert_eq!(image_url(Some(&v1)).as_deref(), Some("https://static.wixstatic.com/a.jpg"));
        assert_eq!(image_url(Some(&v3)).as_deref(), Some("https://static.wixstatic.com/b.jpg"));
        assert_eq!(image_url(Some(&v3_string)).as_deref(), Some("https://x.example/c.jpg"), "not the wix:image:// id");
        assert_eq!(image_url(None), None);
    }
}
