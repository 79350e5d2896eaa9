//! The custom store's catalog side: the store call (its name and currency), the products page, and the
//! cursor that carries the currency from the first page on. The contract is in the parent module.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use time::OffsetDateTime;

use super::{CustomStore, call, parse, url};
use crate::kernel::money::Currency;
use crate::stores::platforms::{
    ExternalProduct, ExternalVariant, Platform, PlatformError, ProductPage, StoreCredentials, StoreEndpoint, StoreInfo,
    StorePlatform, label,
};

const PAGE_SIZE: u32 = 100;

#[derive(Deserialize)]
struct Store {
    name: String,
    currency: String,
}

async fn store(endpoint: &StoreEndpoint, credentials: &StoreCredentials) -> Result<(String, Currency), PlatformError> {
    let body = call(endpoint.http.get(url(&endpoint.base, "store")), credentials, false).await?.unwrap_or_default();
    let store: Store = parse(&body, "store")?;
    let currency = Currency::parse(&store.currency).map_err(|_| PlatformError::Invalid {
        reason: format!("the custom store's currency {:?} is not an ISO 4217 currency", store.currency),
    })?;
    Ok((store.name, currency))
}

#[derive(Deserialize)]
struct Page {
    products: Vec<Product>,
    #[serde(default)]
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Product {
    id: String,
    title: String,
    status: String,
    #[serde(default)]
    image_url: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    updated_at: Option<OffsetDateTime>,
    #[serde(default)]
    variants: Vec<Variant>,
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    product_type: Option<String>,
}

#[derive(Deserialize)]
struct Variant {
    id: String,
    title: String,
    #[serde(default)]
    sku: Option<String>,
    price_minor: i64,
    #[serde(default)]
    inventory_quantity: Option<i64>,
}

impl Product {
    pub(super) fn normalise(self) -> Result<ExternalProduct, String> {
        if !matches!(self.status.as_str(), "active" | "draft" | "archived") {
            return Err(format!("product {} has an unknown status {:?}", self.id, self.status));
        }
        Ok(ExternalProduct {
            external_id: self.id,
            title: self.title,
            status: self.status,
            image_url: self.image_url,
            updated_at: self.updated_at,
            vendor: label(self.vendor),
            product_type: label(self.product_type),
            variants: self
                .variants
                .into_iter()
                .map(|variant| ExternalVariant {
                    external_id: variant.id,
                    title: variant.title,
                    sku: variant.sku,
                    price_minor: variant.price_minor,
                    inventory_quantity: variant.inventory_quantity,
                })
                .collect(),
        })
    }
}

/// Our cursor carries the currency read on the first page, then the store's cursor: `"EUR|<cursor>"`.
fn split_cursor(cursor: &str) -> Option<(Currency, &str)> {
    let (code, rest) = cursor.split_once('|')?;
    Some((Currency::parse(code).ok()?, rest))
}

#[async_trait]
impl StorePlatform for CustomStore {
    fn platform(&self) -> Platform {
        Platform::Custom
    }

    async fn verify(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
    ) -> Result<StoreInfo, PlatformError> {
        let (name, currency) = store(endpoint, credentials).await?;
        Ok(StoreInfo { name, currency: Some(currency) })
    }

    async fn products_page(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        cursor: Option<&str>,
    ) -> Result<ProductPage, PlatformError> {
        let (currency, store_cursor) = match cursor {
            None => (store(endpoint, credentials).await?.1, None),
            Some(cursor) => {
                let (currency, rest) = split_cursor(cursor).ok_or_else(|| PlatformError::Invalid {
                    reason: format!("not a custom store cursor: {cursor:?}"),
                })?;
                (currency, Some(rest))
            }
        };
        let mut query = vec![("limit", PAGE_SIZE.to_string())];
        if let Some(store_cursor) = store_cursor {
            query.push(("cursor", store_cursor.to_owned()));
        }
        let request = endpoint.http.get(url(&endpoint.base, "products")).query(&query);
        let body = call(request, credentials, false).await?.unwrap_or_default();
        let page: Page = parse(&body, "products page")?;
        let products = page
            .products
            .into_iter()
            .map(Product::normalise)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| PlatformError::Invalid { reason: format!("the custom store's {reason}") })?;
        Ok(ProductPage {
            products,
            currency,
            next: page.next_cursor.filter(|next| !next.is_empty()).map(|next| format!("{}|{next}", currency.code())),
            wait_before_next: Duration::ZERO,
            total: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Product;

    fn normalised(product: serde_json::Value) -> crate::stores::platforms::ExternalProduct {
        serde_json::from_value::<Product>(product).unwrap().normalise().unwrap()
    }

    #[test]
    fn vendor_and_product_type_are_optional_and_an_empty_one_is_none() {
        let base = serde_json::json!({ "id": "p1", "title": "Mug", "status": "active", "variants": [] });
        let bare = normalised(base.clone());
        assert_eq!((bare.vendor, bare.product_type), (None, None));

        let mut labelled = base.clone();
        labelled["vendor"] = "Acme".into();
        labelled["product_type"] = "Mugs".into();
        let labelled = normalised(labelled);
        assert_eq!((labelled.vendor.as_deref(), labelled.product_type.as_deref()), (Some("Acme"), Some("Mugs")));

        let mut blank = base;
        blank["vendor"] = "".into();
        blank["product_type"] = serde_json::Value::Null;
        let blank = normalised(blank);
        assert_eq!((blank.vendor, blank.product_type), (None, None));
    }
}
