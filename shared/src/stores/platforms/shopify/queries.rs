//! The GraphQL documents Pivota sends, what each costs, and the shapes of their `data`.
//!
//! ## Cost arithmetic ("GraphQL Admin API rate limits", "Cost calculation",
//! https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits)
//! A scalar or enum field costs 0, an object 1, a mutation 10, and a connection is sized by its `first`
//! argument: 2 for the connection, plus `first` times the cost of one node (an object: 1 plus its own
//! fields). `products(first: 250) { nodes { id } }` requests 2 + 250 × 1 = 252. A single query may not
//! request more than 1000 (`MAX_COST_EXCEEDED`), whatever the bucket holds.
//!
//! The products page, per product: the product 1 + `featuredMedia` 1 + its `image` 1 + `variants(first: M)`
//! (2 + its `pageInfo` 1 + M × 1) = 6 + M. (`featuredMedia` is the `Media` interface, which costs "the maximum
//! of possible selections": 1 + the `MediaImage` branch's `image` 1.) The page: `shop` 1 + `productsCount` 1 +
//! `products` 2 + its `pageInfo` 1 + N × (6 + M). With N = 50 and M = 13: 5 + 50 × 19 = **955** ≤ 1000.
//! (M = 13 covers nearly every catalog; a product with more variants gets its remaining variants in
//! follow-up [`PRODUCT_VARIANTS`] queries.) The page size
//! barely matters for throughput: the actual cost, which is what the bucket keeps, is proportional to the
//! products and variants returned, so a sync of any size is paced by the shop's restore rate.

use serde::Deserialize;

/// Products per page (`products(first: N)`).
pub(super) const PRODUCTS_PER_PAGE: u32 = 50;
/// Variants read with their product (`variants(first: M)`).
pub(super) const VARIANTS_PER_PRODUCT: u32 = 13;
/// Variants per follow-up query for a product that has more than [`VARIANTS_PER_PRODUCT`].
pub(super) const VARIANTS_PER_FOLLOW_UP: u32 = 250;

/// The requested cost of [`PRODUCTS_PAGE`] by the rules above.
pub(super) const fn products_page_cost(products: u32, variants: u32) -> u32 {
    1 + 1 + 2 + 1 + products * (1 + 1 + 1 + 2 + 1 + variants)
}

/// The requested cost of [`PRODUCT_VARIANTS`]: the product 1 + the connection 2 + `pageInfo` 1 + 250 × 1.
pub(super) const fn product_variants_cost(variants: u32) -> u32 {
    1 + 2 + 1 + variants
}

/// Cost 1 (`shop` is an object, its fields scalars).
pub(super) const SHOP: &str = "query Shop { shop { name myshopifyDomain currencyCode } }";

/// `productsCount` (2024-04 on; "Unification of count fields") says how many products the shop has, for
/// the sync's progress; it counts up to 10,000 by default and then says `AT_LEAST`, which is not used.
/// `featuredImage` is deprecated ("Use `featuredMedia` instead.", 2025-01 schema); the featured media's image
/// is the same product image. A video or 3D model as featured media has no image here, so no image URL.
/// `vendor` and `productType` are `String!` on `Product` ("The name of the product's vendor"; "The product
/// type that merchants define": the 2025-01 schema in `../shared/vendor-specs/`, and "Product",
/// https://shopify.dev/docs/api/admin-graphql/latest/objects/Product), so `""` when unset; scalars, free.
pub(super) const PRODUCTS_PAGE: &str = "query ProductsPage($after: String) { \
    shop { currencyCode } \
    productsCount { count precision } \
    products(first: 50, after: $after) { \
      pageInfo { hasNextPage endCursor } \
      nodes { id title status updatedAt vendor productType featuredMedia { ... on MediaImage { image { url } } } \
        variants(first: 13) { pageInfo { hasNextPage endCursor } \
          nodes { id title sku price inventoryQuantity } } } } }";

pub(super) const PRODUCT_VARIANTS: &str = "query ProductVariants($id: ID!, $after: String) { \
    product(id: $id) { \
      variants(first: 250, after: $after) { pageInfo { hasNextPage endCursor } \
        nodes { id title sku price inventoryQuantity } } } }";

/// `uri` replaced `callbackUrl` in `WebhookSubscriptionInput` (2025-10 reference: "callbackUrl
/// Deprecated", "uri: The URI where the webhook subscription should send events. Supports an HTTPS URL…").
pub(super) const WEBHOOK_SUBSCRIPTION_CREATE: &str = "mutation WebhookSubscriptionCreate(\
    $topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) { \
    webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) { \
      webhookSubscription { id topic uri } userErrors { field message } } }";

/// The existing subscription for a topic and address (`webhookSubscriptions(topics:, uri:)`); cost 2 + 10.
pub(super) const WEBHOOK_SUBSCRIPTIONS: &str = "query WebhookSubscriptions(\
    $topics: [WebhookSubscriptionTopic!], $uri: String) { \
    webhookSubscriptions(first: 10, topics: $topics, uri: $uri) { nodes { id topic uri } } }";

pub(super) const WEBHOOK_SUBSCRIPTION_DELETE: &str = "mutation WebhookSubscriptionDelete($id: ID!) { \
    webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } } }";

pub(super) const WEBHOOK_SUBSCRIPTION: &str =
    "query WebhookSubscription($id: ID!) { webhookSubscription(id: $id) { id } }";

/// `OrderMarkAsPaidInput` has only `id`: Shopify records a sale transaction for the outstanding amount and
/// has no field for an external reference ("orderMarkAsPaid", 2025-10 reference).
pub(super) const ORDER_MARK_AS_PAID: &str = "mutation OrderMarkAsPaid($input: OrderMarkAsPaidInput!) { \
    orderMarkAsPaid(input: $input) { order { id displayFinancialStatus } userErrors { field message } } }";

pub(super) const ORDER_FINANCIAL_STATUS: &str =
    "query OrderFinancialStatus($id: ID!) { order(id: $id) { id displayFinancialStatus } }";

/// Every document Pivota sends to Shopify. `tests/shopify.rs` validates each against Shopify's published
/// schema; a document constant left out of this list fails `every_document_is_listed` below.
pub const DOCUMENTS: &[&str] = &[
    SHOP,
    PRODUCTS_PAGE,
    PRODUCT_VARIANTS,
    WEBHOOK_SUBSCRIPTION_CREATE,
    WEBHOOK_SUBSCRIPTIONS,
    WEBHOOK_SUBSCRIPTION_DELETE,
    WEBHOOK_SUBSCRIPTION,
    ORDER_MARK_AS_PAID,
    ORDER_FINANCIAL_STATUS,
    SHOP_IDENTITY,
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ShopData {
    pub shop: Shop,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Shop {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub my_shopify_domain: Option<String>,
    pub currency_code: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct ProductsData {
    pub shop: Shop,
    #[serde(rename = "productsCount", default)]
    pub products_count: Option<Count>,
    pub products: Connection<ProductNode>,
}

/// A `Count`: `precision` is `EXACT`, or `AT_LEAST` when the count hit its limit.
#[derive(Debug, Deserialize)]
pub(super) struct Count {
    pub count: u64,
    pub precision: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct ProductVariantsData {
    pub product: Option<ProductVariantsNode>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ProductVariantsNode {
    pub variants: Connection<VariantNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Connection<T> {
    pub page_info: PageInfo,
    pub nodes: Vec<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PageInfo {
    pub has_next_page: bool,
    #[serde(default)]
    pub end_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProductNode {
    pub id: String,
    pub title: String,
    pub status: String,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub featured_media: Option<FeaturedMedia>,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub product_type: Option<String>,
    pub variants: Connection<VariantNode>,
}

/// `featuredMedia { ... on MediaImage { image { url } } }`: `{}` when the media is not an image.
#[derive(Debug, Deserialize)]
pub(super) struct FeaturedMedia {
    #[serde(default)]
    pub image: Option<Image>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Image {
    pub url: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct VariantNode {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub sku: Option<String>,
    pub price: String,
    #[serde(default)]
    pub inventory_quantity: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct UserError {
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SubscriptionCreateData {
    pub webhook_subscription_create: SubscriptionCreatePayload,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SubscriptionCreatePayload {
    pub webhook_subscription: Option<SubscriptionNode>,
    #[serde(default)]
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Deserialize)]
pub(super) struct SubscriptionNode {
    pub id: String,
    #[serde(default)]
    pub uri: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SubscriptionsData {
    pub webhook_subscriptions: SubscriptionList,
}

#[derive(Debug, Deserialize)]
pub(super) struct SubscriptionList {
    pub nodes: Vec<SubscriptionNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SubscriptionDeleteData {
    pub webhook_subscription_delete: MutationPayload,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SubscriptionData {
    pub webhook_subscription: Option<SubscriptionNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MarkAsPaidData {
    pub order_mark_as_paid: MutationPayload,
}

/// The `userErrors` of a mutation whose other fields we do not need.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MutationPayload {
    #[serde(default)]
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Deserialize)]
pub(super) struct OrderData {
    pub order: Option<OrderNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OrderNode {
    #[serde(default)]
    pub display_financial_status: Option<String>,
}

/// The shop the access token reaches, asked to confirm an `app/uninstalled` delivery (a revoked token is a
/// 401) and to record the shop's identity when its webhooks are set up. Cost 1 (`shop` is an object).
pub(super) const SHOP_IDENTITY: &str = "query ShopIdentity { shop { id myshopifyDomain } }";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queries_request_what_the_cost_arithmetic_assumes() {
        assert!(PRODUCTS_PAGE.contains(&format!("products(first: {PRODUCTS_PER_PAGE},")));
        assert!(PRODUCTS_PAGE.contains(&format!("variants(first: {VARIANTS_PER_PRODUCT})")));
        assert!(PRODUCT_VARIANTS.contains(&format!("variants(first: {VARIANTS_PER_FOLLOW_UP},")));
        assert_eq!(products_page_cost(PRODUCTS_PER_PAGE, VARIANTS_PER_PRODUCT), 955);
        assert_eq!(product_variants_cost(VARIANTS_PER_FOLLOW_UP), 254);
        assert!(PRODUCTS_PAGE.contains("featuredMedia { ... on MediaImage { image { url } } }"));
        // Scalars: free, so the page's cost above does not move.
        assert!(PRODUCTS_PAGE.contains("updatedAt vendor productType featuredMedia"));
        // The single-query limit is 1000 points; one more variant per product would break it.
        assert!(products_page_cost(PRODUCTS_PER_PAGE, VARIANTS_PER_PRODUCT) <= 1000);
        assert!(products_page_cost(PRODUCTS_PER_PAGE, VARIANTS_PER_PRODUCT + 1) > 1000);
    }

    /// The names of this file's top-level `&str` constants (the documents: nothing else here is text).
    fn document_constants(source: &str) -> Vec<&str> {
        source
            .lines()
            .filter(|line| !line.starts_with(' ') && line.contains("const ") && line.contains(": &str"))
            .filter_map(|line| line.split("const ").nth(1)?.split(':').next())
            .collect()
    }

    #[test]
    fn every_document_is_listed() {
        let source = include_str!("queries.rs");
        let listed = source.split("pub const DOCUMENTS: &[&str] = &[").nth(1).and_then(|rest| rest.split("];").next());
        let listed: Vec<&str> = listed.expect("the DOCUMENTS list").split(',').map(str::trim).collect();
        let constants = document_constants(source);
        assert_eq!(constants.len(), DOCUMENTS.len(), "{constants:?}");
        for name in constants {
            assert!(listed.contains(&name), "{name} is sent to Shopify but missing from DOCUMENTS");
        }
        // The scan itself finds a constant written the usual ways.
        let example = "pub(super) const SHOP_ID: &str = \"{ shop { id } }\";\nconst X: &[&str] = &[];";
        assert_eq!(document_constants(example), ["SHOP_ID"]);
    }
}
