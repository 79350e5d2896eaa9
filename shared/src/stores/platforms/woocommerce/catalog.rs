//! WooCommerce's catalog side: verifying a connection, and the catalog read page by page (products in id
//! order, each variable product's variations), kept part-way when the store throttles. Sources: see the
//! parent module.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use serde::Deserialize;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::{Keys, PER_PAGE, Route, WooCommerce, all_pages, get, without_waiting};
use crate::kernel::money::Currency;
use crate::stores::platforms::store_http::{decimal_to_minor, read_body};
use crate::stores::platforms::{
    ExternalProduct, ExternalVariant, Platform, PlatformError, ProductPage, StoreCredentials, StoreEndpoint, StoreInfo,
    StorePlatform,
};

/// Variable products whose variations are read at the same time.
const VARIATION_READS_IN_PARALLEL: usize = 4;

#[derive(Deserialize)]
struct Setting {
    value: String,
}

async fn store_currency(
    endpoint: &StoreEndpoint,
    keys: &Keys<'_>,
    deadline: Instant,
) -> Result<Currency, PlatformError> {
    let setting: Setting =
        get(endpoint, keys, Route::CurrencySetting, &[], deadline).await?.json("currency setting")?;
    Currency::parse(&setting.value).map_err(|_| PlatformError::Invalid {
        reason: format!("WooCommerce's currency {:?} is not an ISO 4217 currency", setting.value),
    })
}

/// The site title from the WordPress REST index (`GET /wp-json`, `_fields=name` so the route list is not
/// sent back); the host when that is not available. Best effort: the index may be disabled.
async fn site_name(endpoint: &StoreEndpoint) -> String {
    let url = format!("{}/wp-json/", endpoint.base.as_str().trim_end_matches('/'));
    #[derive(Deserialize)]
    struct Index {
        name: String,
    }
    let name = async {
        let response = endpoint.http.get(url).query(&[("_fields", "name")]).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        // `_fields=name` makes this a few bytes; a site that ignores it sends its whole route list, which is
        // not worth more than a MiB for a display name.
        let index: Index = serde_json::from_slice(&read_body(super::NAME, response, 1024 * 1024).await.ok()?).ok()?;
        Some(index.name.trim().to_owned()).filter(|name| !name.is_empty())
    };
    match name.await {
        Some(name) => name,
        None => endpoint.base.host_str().unwrap_or("WooCommerce store").to_owned(),
    }
}

#[derive(Deserialize)]
pub(super) struct WooProduct {
    id: u64,
    name: String,
    #[serde(rename = "type", default)]
    kind: String,
    status: String,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    price: Option<String>,
    #[serde(default)]
    stock_quantity: Option<i64>,
    #[serde(default)]
    images: Vec<WooImage>,
    #[serde(default)]
    date_modified_gmt: Option<String>,
}

#[derive(Deserialize)]
struct WooImage {
    src: String,
}

#[derive(Deserialize)]
pub(super) struct WooVariation {
    id: u64,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    price: Option<String>,
    #[serde(default)]
    stock_quantity: Option<i64>,
    #[serde(default)]
    attributes: Vec<WooAttribute>,
}

#[derive(Deserialize)]
struct WooAttribute {
    #[serde(default)]
    option: String,
}

/// `publish` is live; `draft`, `pending` and `private` are not visible to shoppers.
fn product_status(status: &str) -> &'static str {
    match status {
        "publish" => "active",
        "trash" => "archived",
        _ => "draft",
    }
}

/// `date_modified_gmt` is ISO 8601 without an offset, in UTC.
fn gmt_time(raw: Option<&str>) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    PrimitiveDateTime::parse(raw?, format).ok().map(PrimitiveDateTime::assume_utc)
}

pub(super) fn non_empty(sku: Option<String>) -> Option<String> {
    sku.filter(|sku| !sku.trim().is_empty())
}

/// A price string as minor units. An empty price means the item has no price and cannot be bought
/// (WooCommerce's `is_purchasable`), so it is left out rather than offered at zero.
fn price(raw: Option<&str>, currency: Currency, id: u64) -> Result<Option<i64>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => decimal_to_minor(raw, currency)
            .map(Some)
            .ok_or_else(|| format!("item {id} has a price {raw:?} that is not an amount in {currency}")),
    }
}

pub(super) fn normalise(
    product: WooProduct,
    variations: Vec<WooVariation>,
    currency: Currency,
) -> Result<ExternalProduct, String> {
    let variants = if product.kind == "variable" {
        let mut variants = Vec::with_capacity(variations.len());
        for variation in variations {
            let Some(price_minor) = price(variation.price.as_deref(), currency, variation.id)? else { continue };
            let options: Vec<&str> =
                variation.attributes.iter().map(|a| a.option.as_str()).filter(|o| !o.is_empty()).collect();
            variants.push(ExternalVariant {
                external_id: variation.id.to_string(),
                title: if options.is_empty() { product.name.clone() } else { options.join(" / ") },
                sku: non_empty(variation.sku),
                price_minor,
                inventory_quantity: variation.stock_quantity,
            });
        }
        variants
    } else {
        price(product.price.as_deref(), currency, product.id)?
            .map(|price_minor| ExternalVariant {
                external_id: product.id.to_string(),
                title: product.name.clone(),
                sku: non_empty(product.sku.clone()),
                price_minor,
                inventory_quantity: product.stock_quantity,
            })
            .into_iter()
            .collect()
    };
    Ok(ExternalProduct {
        external_id: product.id.to_string(),
        title: product.name,
        status: product_status(&product.status).to_owned(),
        image_url: product.images.into_iter().next().map(|image| image.src),
        updated_at: gmt_time(product.date_modified_gmt.as_deref()),
        variants,
        // No vendor or product type: see the parent module.
        vendor: None,
        product_type: None,
    })
}

/// Where a catalog read resumes: a page of the id-ordered product list; the store's currency once read
/// (absent only before the first call of a job); and, for a page handed back part-way, the last product of
/// it already delivered. Written `<page>:<currency>[:<after id>]`, opaque to the sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cursor {
    page: u32,
    currency: Option<Currency>,
    after: Option<u64>,
}

impl Cursor {
    const FIRST: Cursor = Cursor { page: 1, currency: None, after: None };

    fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.split(':');
        let page = parts.next()?.parse().ok().filter(|page| *page >= 1)?;
        let currency = match parts.next() {
            Some(code) => Some(Currency::parse(code).ok()?),
            None => None,
        };
        let after = match parts.next() {
            Some(id) => Some(id.parse().ok()?),
            None => None,
        };
        parts.next().is_none().then_some(Cursor { page, currency, after })
    }

    /// The cursor as text; only written once the currency is known.
    fn write(self, currency: Currency) -> String {
        match self.after {
            Some(after) => format!("{}:{}:{after}", self.page, currency.code()),
            None => format!("{}:{}", self.page, currency.code()),
        }
    }
}

/// One call's read of the catalog: where it starts, in which currency, and until when it may wait out a
/// throttled request.
struct PageRead<'a> {
    endpoint: &'a StoreEndpoint,
    keys: &'a Keys<'a>,
    at: Cursor,
    currency: Currency,
    deadline: Instant,
}

impl PageRead<'_> {
    async fn run(&self) -> Result<ProductPage, PlatformError> {
        let query = [
            ("per_page", PER_PAGE.to_string()),
            ("page", self.at.page.to_string()),
            ("orderby", "id".into()),
            ("order", "asc".into()),
        ];
        let answer = match get(self.endpoint, self.keys, Route::Products, &query, self.deadline).await {
            Ok(answer) => answer,
            Err(PlatformError::Throttled { retry_after }) => {
                return self.hand_back(Vec::new(), self.at.after, None, retry_after);
            }
            Err(error) => return Err(error),
        };
        let listed: Vec<WooProduct> = answer.json("products")?;
        let total = answer.total();
        let more = answer.more_after(self.at.page, listed.len());
        // Products at or before `after` were delivered by an earlier call (the list is in id order).
        let listed: Vec<WooProduct> =
            listed.into_iter().filter(|product| self.at.after.is_none_or(|after| product.id > after)).collect();
        // Variable products' variations, a few reads in flight at a time. They finish in any order (one
        // waiting out a `Retry-After` holds up no other), and are taken in list order.
        let variable: Vec<u64> = listed.iter().filter(|product| product.kind == "variable").map(|p| p.id).collect();
        let mut variation_reads = futures::stream::iter(variable)
            .map(|product| async move {
                let route = Route::Variations { product };
                (
                    product,
                    all_pages::<WooVariation>(self.endpoint, self.keys, route, true, "variations", self.deadline).await,
                )
            })
            .buffer_unordered(VARIATION_READS_IN_PARALLEL);
        let mut finished = HashMap::new();
        let mut products = Vec::new();
        let mut last = self.at.after;
        for product in listed {
            let variations = if product.kind == "variable" {
                let read = loop {
                    if let Some(read) = finished.remove(&product.id) {
                        break read;
                    }
                    let (id, read) = variation_reads.next().await.expect("one read per variable product");
                    finished.insert(id, read);
                };
                match read {
                    Ok(variations) => variations,
                    // The products before this one are complete: they are kept, the rest of the page comes later.
                    Err(PlatformError::Throttled { retry_after }) => {
                        return self.hand_back(products, last, total, retry_after);
                    }
                    Err(error) => return Err(error),
                }
            } else {
                Vec::new()
            };
            last = Some(product.id);
            let product = normalise(product, variations, self.currency)
                .map_err(|reason| PlatformError::Invalid { reason: format!("WooCommerce {reason}") })?;
            products.push(product);
        }
        Ok(ProductPage {
            products,
            currency: self.currency,
            next: more.then(|| Cursor { page: self.at.page + 1, currency: None, after: None }.write(self.currency)),
            wait_before_next: Duration::ZERO,
            total,
        })
    }

    /// A page ended early by a throttled request that could not be waited out in this call: the products it
    /// completed, and the same page again after `retry_after`, past `last` (the last product delivered). With
    /// nothing to keep (no product, and the currency came with the cursor) that is just the throttled answer.
    fn hand_back(
        &self,
        products: Vec<ExternalProduct>,
        last: Option<u64>,
        total: Option<u64>,
        retry_after: Duration,
    ) -> Result<ProductPage, PlatformError> {
        if products.is_empty() && self.at.currency.is_some() {
            return Err(PlatformError::Throttled { retry_after });
        }
        Ok(ProductPage {
            products,
            currency: self.currency,
            next: Some(Cursor { after: last, ..self.at }.write(self.currency)),
            wait_before_next: retry_after,
            total,
        })
    }
}

#[async_trait]
impl StorePlatform for WooCommerce {
    fn platform(&self) -> Platform {
        Platform::WooCommerce
    }

    async fn verify(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
    ) -> Result<StoreInfo, PlatformError> {
        let keys = Keys::of(credentials)?;
        get(endpoint, &keys, Route::Products, &[("per_page", "1".into())], without_waiting()).await?;
        let currency = store_currency(endpoint, &keys, without_waiting()).await?;
        Ok(StoreInfo { name: site_name(endpoint).await, currency: Some(currency) })
    }

    async fn products_page(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        cursor: Option<&str>,
    ) -> Result<ProductPage, PlatformError> {
        self.products_page_until(endpoint, credentials, cursor, without_waiting()).await
    }

    async fn products_page_until(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        cursor: Option<&str>,
        deadline: Instant,
    ) -> Result<ProductPage, PlatformError> {
        let keys = Keys::of(credentials)?;
        let at = match cursor {
            None => Cursor::FIRST,
            Some(raw) => Cursor::parse(raw)
                .ok_or_else(|| PlatformError::Invalid { reason: format!("not a WooCommerce page cursor: {raw:?}") })?,
        };
        let currency = match at.currency {
            Some(currency) => currency,
            None => store_currency(endpoint, &keys, deadline).await?,
        };
        PageRead { endpoint, keys: &keys, at, currency, deadline }.run().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_carry_the_page_the_currency_and_where_a_page_stopped() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(Cursor::parse("3:USD"), Some(Cursor { page: 3, currency: Some(usd), after: None }));
        assert_eq!(Cursor::parse("3:USD:1207"), Some(Cursor { page: 3, currency: Some(usd), after: Some(1207) }));
        assert_eq!(Cursor::parse("2"), Some(Cursor { page: 2, currency: None, after: None }));
        for bad in ["0:USD", "x", "3:XYZ1", "3:USD:x", "3:USD:5:6", ""] {
            assert_eq!(Cursor::parse(bad), None, "{bad:?}");
        }
        for written in ["3:USD", "3:USD:1207"] {
            assert_eq!(Cursor::parse(written).unwrap().write(usd), written);
        }
    }

    #[test]
    fn gmt_dates_are_utc() {
        let parsed = gmt_time(Some("2024-03-01T10:20:30")).unwrap();
        assert_eq!(parsed.unix_timestamp(), 1_709_288_430);
    }
}
