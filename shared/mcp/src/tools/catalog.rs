//! `search_products`, `get_product` and `list_low_stock`: the product search of
//! `GET /merchant/{id}/products`, and one product.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{PivotaMcp, params};
use crate::views::{ProductPage, ProductView};
use pivota::catalog::products;
use pivota::kernel::error::Error;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchProductsArgs {
    /// Words to find in titles, variant titles, SKUs, vendor or product type (at most 200 characters);
    /// the last word also matches as a prefix, longer words forgive a typo, an exact SKU ranks first.
    pub q: Option<String>,
    /// Only this store's products (a `store_id` from list_stores).
    pub store_id: Option<String>,
    /// active, draft, archived or removed (default: all but removed).
    pub status: Option<String>,
    /// true: some variant can be sold; false: none can.
    pub in_stock: Option<bool>,
    /// true: only products at or below their store's low-stock threshold.
    pub low_stock: Option<bool>,
    /// Some variant costs at least this, integer minor units.
    pub price_min: Option<i64>,
    /// Some variant costs at most this, integer minor units.
    pub price_max: Option<i64>,
    /// relevance (default), price_asc, price_desc or updated.
    pub sort: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, with the same arguments.
    pub cursor: Option<String>,
}

impl SearchProductsArgs {
    fn params(self) -> std::collections::BTreeMap<&'static str, String> {
        params([
            ("q", self.q),
            ("store_id", self.store_id),
            ("status", self.status),
            ("in_stock", self.in_stock.map(|v| v.to_string())),
            ("low_stock", self.low_stock.map(|v| v.to_string())),
            ("price_min", self.price_min.map(|v| v.to_string())),
            ("price_max", self.price_max.map(|v| v.to_string())),
            ("sort", self.sort),
            ("limit", self.limit.map(|v| v.to_string())),
            ("cursor", self.cursor),
        ])
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetProductArgs {
    /// The product's `product_id` (from search_products).
    pub product_id: String,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListLowStockArgs {
    /// Only this store's products.
    pub store_id: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[tool_router(router = catalog_tools, vis = "pub(super)")]
impl PivotaMcp {
    /// Search the merchant's synced catalog, filtered and sorted, a page at a time.
    #[tool(
        description = "Search the merchant's products: words (title, SKU, vendor, type), filters (store, status, stock, \
                       low stock, price range in minor units) and a sort, a page at a time. Each product lists its \
                       variants with SKU, price, currency and stock, its status and its store.",
        annotations(title = "Search products", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn search_products(
        &self,
        Parameters(args): Parameters<SearchProductsArgs>,
    ) -> Result<Json<ProductPage>, String> {
        self.search("search_products", &args.params()).await
    }

    /// Products at or below their store's low-stock threshold: the ones about to run out.
    #[tool(
        description = "List products about to run out: some variant's stock is at or below its store's low-stock \
                       threshold. Removed products are left out. Paged like search_products.",
        annotations(title = "List low-stock products", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn list_low_stock(
        &self,
        Parameters(args): Parameters<ListLowStockArgs>,
    ) -> Result<Json<ProductPage>, String> {
        let search = SearchProductsArgs {
            store_id: args.store_id,
            low_stock: Some(true),
            sort: Some("updated".into()),
            limit: args.limit,
            cursor: args.cursor,
            ..Default::default()
        };
        self.search("list_low_stock", &search.params()).await
    }

    #[tool(
        description = "One product by its product_id, with its variants (SKU, price, stock).",
        annotations(title = "Get a product", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn get_product(&self, Parameters(args): Parameters<GetProductArgs>) -> Result<Json<ProductView>, String> {
        let found = async {
            let product = products::get(self.app.as_ref(), &self.caller.merchant_id, args.product_id.trim())
                .await?
                .ok_or(Error::NotFound("product"))?;
            let store = pivota::stores::get(self.app.as_ref(), &self.caller.merchant_id, &product.store_id).await?;
            Ok::<_, Error>(ProductView::of(&product, store.low_stock_threshold))
        };
        found.await.map(Json).map_err(|e| self.refuse("get_product", &e))
    }
}

impl PivotaMcp {
    async fn search(
        &self,
        tool: &str,
        params: &std::collections::BTreeMap<&'static str, String>,
    ) -> Result<Json<ProductPage>, String> {
        let page = pivota_http::products::search(self.app.as_ref(), &self.caller.merchant_id, params)
            .await
            .map_err(|e| self.refuse(tool, &e))?;
        Ok(Json(ProductPage {
            items: page.products.iter().map(|p| ProductView::of(p, page.threshold_of(p))).collect(),
            next_cursor: page.next_cursor,
            total: page.total,
            total_is_lower_bound: page.total_is_lower_bound,
        }))
    }
}
