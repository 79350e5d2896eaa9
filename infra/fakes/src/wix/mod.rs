//! A stateful fake of the Wix REST APIs Pivota calls, for one site on Catalog V1 or Catalog V3 (chosen
//! per fake: [`WixCatalog`]), and a signer for webhook deliveries, which Wix sends as RS256 JWTs.
//!
//! Wire details reproduced (Wix REST docs):
//! - Every call: `Authorization: <API key>` and `wix-site-id` ("API Keys"). Errors are Wix's
//!   `{"message", "details": {"applicationError": {"code", "description"}}}`; the exact 401 text is not
//!   documented and is ours.
//! - `GET /stores/v3/provision/version` answers `{"catalogVersion": "V1_CATALOG" | "V3_CATALOG" |
//!   "STORES_NOT_INSTALLED"}`
//!   (https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-versioning/get-catalog-version).
//! - Catalog V1 "Query Products", `POST /stores-reader/v1/products/query` (the older `/stores/v1/…`
//!   path of its cURL example is served too;
//!   https://dev.wix.com/docs/rest/business-solutions/stores/catalog/query-products): `query.paging.limit`
//!   (at most 100) and `offset`, `query.filter` as a string of JSON, `includeVariants`,
//!   `includeHiddenProducts` (hidden products are left out without it); answers
//!   `products`, `metadata {items, offset}` and `totalResults`; prices are JSON numbers; a product
//!   without options has one variant whose id is all zeros.
//! - Catalog V3 "Query Products", `POST /stores/v3/products/query`
//!   (https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/products-v3/query-products):
//!   `query.cursorPaging {limit (at most 100), cursor}`, `query.filter` on `id` (`$eq`, `$in`) only, no
//!   filter next to a cursor; no variants in the answer; `currency` only with `fields: ["CURRENCY"]`;
//!   amounts are decimal strings; `pagingMetadata {count, cursors.next, hasNext}`, no total.
//! - Catalog V3 "Get Product", `GET /stores/v3/products/{id}`
//!   (https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/products-v3/get-product):
//!   the product with `variantsInfo.variants`; `choices[].optionChoiceNames` only with
//!   `fields=VARIANT_OPTION_CHOICE_NAMES`; 404 for a product the site does not have.
//! - Read-Only Variants "Query Variants", `POST /stores/v3/products/query-variants`
//!   (https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/read-only-variants-v3/query-variants):
//!   filter on `productData.productId`, up to 1,000 a call, `variantId`,
//!   `optionChoices[].optionChoiceNames`, `price.actualPrice.amount`, `productData`.
//! - Inventory Items "Query Inventory Items", `POST /stores/v3/inventory-items/query`
//!   (https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/inventory-items-v3/introduction;
//!   the path as Wix's `@wix/stores` SDK calls it): filter on `productId`, up to 1,000 a call; an item
//!   per variant and location with `trackQuantity` and `quantity` (or `inStock`); paging metadata
//!   `{count, cursors}`.
//! - The other catalog's API: Wix's V1 query recipe says V3 endpoints on a V1 site "return 428
//!   Precondition Required"
//!   (https://dev.wix.com/docs/api-reference/business-solutions/stores/skills/query-products-catalog-v1).
//!   What V1 endpoints answer on a V3 site is not documented: the fake answers 428 the same way, and
//!   428 for catalog calls on a site without Wix Stores (also ours).
//! - Site Properties "Get Site Properties", `GET /site-properties/v4/properties`
//!   (https://dev.wix.com/api/rest/business-info/site-properties/properties/get-site-properties);
//!   eCommerce "Get Order", `GET /ecom/v1/orders/{id}`
//!   (https://dev.wix.com/docs/rest/business-solutions/e-commerce/orders/orders/get-order); Order
//!   Transactions "Add Payments", `POST /ecom/v1/payments/orders/{orderId}/add-payment`
//!   (https://dev.wix.com/docs/rest/business-solutions/e-commerce/order-transactions/add-payments).
//! - Webhooks ("About the Structure of Webhooks",
//!   https://dev.wix.com/docs/rest/articles/get-started/webhook-structure; Catalog V1 "Product Changed",
//!   https://dev.wix.com/docs/rest/business-solutions/stores/catalog/product-changed): a JWT whose
//!   `data` is the stringified `{eventType, instanceId, data, identity}`; standardised events' `data` is the
//!   stringified `{id, entityFqdn, slug, entityId, eventTime, createdEvent | updatedEvent |
//!   deletedEvent}`; Catalog V1's legacy product events carry `{productId, …}` instead (event types
//!   from Wix's `@wix/stores` SDK: `com.wix.ecommerce.catalog.api.v1.ProductChanged` and the like).
//!
//! The signing key pair below is a throwaway generated for these tests (never used anywhere else).

mod catalog;
mod routes;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer};

use crate::failure::{FailurePlan, FakeFailure};
use crate::store_common::{Router, lock};
use catalog::{Catalog, ProductEdit};

pub const DEFAULT_WIX_API_KEY: &str = "IST.fake-wix-api-key";
pub const DEFAULT_WIX_SITE_ID: &str = "6b8c2f0e-0000-4000-8000-000000000001";

/// The catalog the fake site runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WixCatalog {
    #[default]
    V1,
    V3,
    /// Wix Stores is not installed on the site.
    NotInstalled,
}

/// Test-only RSA key pair (2048 bits) standing in for a Wix app's webhook key.
const TEST_PRIVATE_KEY_PEM: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCirK+V6Tti8uAv\n\
vDCcGwgmj0M/KqvmdeHRx2YgTDk7/PiT+6LyS9IApLnWv/Mk/xmMiUwK6hgXY4R/\n\
CceSHso/+aWD/wBi4TELgjkLKitmdwDDLrNpE+eSAsh8BwidlMhQJd7vuVb4v1BQ\n\
zQDQF7JVoEcjDE73Ac3/Ks5b8UWkfS970l7YckUN5SMfo+D8dzJdsF+XbOBoOA94\n\
HMLyvc31KGqPd6Pv6hgixNVpL/GqFLn5z8L21Wnw0AH3JrZavo18Aju+fSCUpEEJ\n\
kBHj51uV3KrfI+Z8Kkb6/45fp9uyRtSWjK2opDR6RlPdrpze6k6FgSXD9Z9EtHyw\n\
C+9fCVJ1AgMBAAECggEAC3jVpiMNUNhTdpJVNEEUxVFfmu4JsuY3z2k6OsddVu1r\n\
Y1ZA4sj1jZ2QTIR7Y23JEbfiALgLDGU0hBf+tr+MoE/c/A7I6nA6mvbrSm4GIwL7\n\
7wfVV7DzaQDgvhxp32ENcleFXg8KQt8NDTGz37j4FuFHewGEdRdvvVG5vVKpyGR9\n\
sPAhol/M09OJcuOzSNME5iONczX8XBFNPn9TH19ZDOtK1N9593Tla90QP1dmU0Va\n\
maknn/Kx11XRjcdNBk2fSHOND+gLYniYBqr1KyTVDv9qzt8sqQ7djahvXfyXQuds\n\
Jua1tLADYXjShFiDb17+SSQk5vTqLpJsoSFEWUkWmQKBgQDlTVrhQVsdquPuNU1J\n\
1/WRp1L0zVWnXjhlufBJ866J8KxJEY5kUzgwPPp4clh9kr1kEKTO5wdTx6xq2Ydu\n\
qcwZIEBjdtvVVF9n3YJk1gATtrh2mzecdsfOh3aEQXIorc5HPXncsK9J3fkvONSx\n\
OGPC7TaoOYjeRS6TcFjb0MPV2QKBgQC1nWjSbxak6G79JDZ7axy1S4GDSPc3mJB2\n\
srC11OU6jwZQ0E0K/rq/Ut5d4ii3M22N4cJRtQfF+0tzImTQCt108yXkjRVjwqip\n\
aUK1GBhffb0s10MZB4B8YfosOpl/sttkmrRs4lCOTbD4i0Je+ryR382/xJ9YYWfZ\n\
yrweulLz/QKBgQCEdG+3yMn6VDm/4zhXHJG05mPMF0SQHqQTVxoPjdzXv5e1yZdo\n\
Ko49hyvkIaEuQHJ4eAjLn7ai1aeqPSe3bAwCw5eOHR2VmFxYIiNtXhTDTnw1vymb\n\
jx2SFrwGX8uy5dtPWZqoOcO3tqp3daufB4TRF7fH6xw90Na7wl0B9RD62QKBgAwW\n\
gAWRk0ZCmjCLGn04cd63OdWNI7c1llfwKMbRdrhhEKCMXLRgo/lcAKTrCp6285G/\n\
9vkNPYk14p21KlSWhIrmLB18LnJHYIZ2FRSMmAKzEcZMRZEC6NBejRIojFLtiqC1\n\
k1Cz93yhOygvzKkZszdaWA1tftWZFhpu3fqFmEPZAoGBAIO/P33OuvRFUrM8z5Bd\n\
dYAIMjAQl8mpExMuuTEU01CfSLbnVG0gazyfvRoav9g/I14UXgzmwP58GIpcwV4h\n\
oPG+CUBs03uK2b4I+7E7VWFmSGiICojOx32E+WjlnOPYJWUn6NICTSKrL8JukVTY\n\
nu7EsOxIciA8e/flHR7x4Pb3\n\
-----END PRIVATE KEY-----\n\
";
const TEST_PUBLIC_KEY_PEM: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAoqyvlek7YvLgL7wwnBsI\n\
Jo9DPyqr5nXh0cdmIEw5O/z4k/ui8kvSAKS51r/zJP8ZjIlMCuoYF2OEfwnHkh7K\n\
P/mlg/8AYuExC4I5CyorZncAwy6zaRPnkgLIfAcInZTIUCXe77lW+L9QUM0A0Bey\n\
VaBHIwxO9wHN/yrOW/FFpH0ve9Je2HJFDeUjH6Pg/HcyXbBfl2zgaDgPeBzC8r3N\n\
9Shqj3ej7+oYIsTVaS/xqhS5+c/C9tVp8NAB9ya2Wr6NfAI7vn0glKRBCZAR4+db\n\
ldyq3yPmfCpG+v+OX6fbskbUloytqKQ0ekZT3a6c3upOhYElw/WfRLR8sAvvXwlS\n\
dQIDAQAB\n\
-----END PUBLIC KEY-----\n\
";

/// An eCommerce order the fake knows.
#[derive(Clone, Debug, PartialEq, Eq)]
struct WixOrder {
    total: String,
    paid: bool,
}

pub struct FakeWix {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

struct State {
    api_key: String,
    site_id: String,
    version: WixCatalog,
    catalog: Catalog,
    requests: usize,
    calls: Vec<String>,
    failures: FailurePlan,
    orders: BTreeMap<String, WixOrder>,
    orders_marked_paid: Vec<(String, String)>,
}

impl FakeWix {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            api_key: DEFAULT_WIX_API_KEY.into(),
            site_id: DEFAULT_WIX_SITE_ID.into(),
            version: WixCatalog::V1,
            catalog: Catalog::default(),
            requests: 0,
            calls: Vec::new(),
            failures: FailurePlan::default(),
            orders: BTreeMap::new(),
            orders_marked_paid: Vec::new(),
        }));
        Mock::given(any()).respond_with(Router { state: state.clone() }).mount(&server).await;
        Self { server, state }
    }

    /// What replaces `https://www.wixapis.com`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn with_credentials(self, api_key: &str, site_id: &str) -> Self {
        {
            let mut state = lock(&self.state);
            state.api_key = api_key.into();
            state.site_id = site_id.into();
        }
        self
    }

    /// The site's catalog (V1 unless told).
    pub fn with_catalog(self, version: WixCatalog) -> Self {
        lock(&self.state).version = version;
        self
    }

    pub fn with_products(self, n: u64) -> Self {
        lock(&self.state).catalog.products = n;
        self
    }

    /// An order with this total (a decimal string, e.g. `"29.99"`), not paid yet.
    pub fn with_order(self, id: &str, total: &str) -> Self {
        lock(&self.state).orders.insert(id.into(), WixOrder { total: total.into(), paid: false });
        self
    }

    /// The merchant renames product `i` and sets every variant's price (cents).
    pub fn edit_product(&self, i: u64, name: &str, price_minor: i64) {
        let mut state = lock(&self.state);
        let revision = state.catalog.edits.get(&i).map_or(1, |edit| edit.revision + 1);
        state.catalog.edits.insert(i, ProductEdit { name: name.into(), price_minor, revision });
    }

    /// The merchant adds a product; returns its index.
    pub fn add_product(&self) -> u64 {
        let mut state = lock(&self.state);
        state.catalog.products += 1;
        state.catalog.products
    }

    /// The merchant deletes product `i`.
    pub fn delete_product(&self, i: u64) {
        lock(&self.state).catalog.deleted.insert(i);
    }

    /// Product `i`'s id (a GUID).
    pub fn product_id(i: u64) -> String {
        format!("{i:08x}-0000-4000-8000-{i:012x}")
    }

    /// The id of product `i`'s variant `k` on Catalog V3 (a GUID; V1's are all zeros but the last).
    pub fn v3_variant_id(i: u64, k: u64) -> String {
        format!("{i:08x}-0000-4000-9000-{k:012x}")
    }

    /// Whether product `i` has options (two variants, `S` and `L`).
    pub fn has_options(i: u64) -> bool {
        i.is_multiple_of(4)
    }

    /// The price in cents of product `i`'s variant `k` (0 for a product without options).
    pub fn expected_price_minor(i: u64, k: u64) -> i64 {
        (500 + i * 7 + k * 100) as i64
    }

    /// Product `i`'s brand: one of three, none for every fifth product.
    pub fn expected_brand(i: u64) -> Option<&'static str> {
        (!i.is_multiple_of(5)).then(|| ["Northwind", "Contoso", "Fabrikam"][(i % 3) as usize])
    }

    /// The stock of product `i`'s variant `k` (`None`: not tracked). On V3, products with options whose
    /// index is a multiple of 8 hold 10 more in a second location.
    pub fn expected_quantity(&self, i: u64, k: u64) -> Option<i64> {
        let second = lock(&self.state).version == WixCatalog::V3 && i.is_multiple_of(8);
        Self::has_options(i).then(|| 3 + k as i64 + if second { 10 } else { 0 })
    }

    pub fn variant_count(&self) -> usize {
        let live = lock(&self.state).catalog.live();
        live.into_iter().map(|i| if Self::has_options(i) { 2 } else { 1 }).sum()
    }

    pub fn requests(&self) -> usize {
        lock(&self.state).requests
    }

    /// `"METHOD /path"` of every call routed (not those answered by an injected failure).
    pub fn calls(&self) -> Vec<String> {
        lock(&self.state).calls.clone()
    }

    pub fn fail_next(&self, n: usize, failure: FakeFailure) {
        lock(&self.state).failures.queue(n, failure);
    }

    /// `(order id, providerTransactionId)` for every payment added, in order.
    pub fn orders_marked_paid(&self) -> Vec<(String, String)> {
        lock(&self.state).orders_marked_paid.clone()
    }

    /// The app's public key (PEM), what `webhook_secret` holds for Wix.
    pub fn public_key_pem() -> &'static str {
        TEST_PUBLIC_KEY_PEM
    }

    /// A JWT of `claims`, signed RS256 with the test key.
    pub fn sign_claims(claims: &Value) -> String {
        let key = EncodingKey::from_rsa_pem(TEST_PRIVATE_KEY_PEM.as_bytes()).expect("the test key parses");
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).expect("signing works")
    }

    /// A delivery body (the JWT): `data` is the stringified envelope `{eventType, instanceId, data,
    /// identity}` whose `data` is `event`, stringified.
    pub fn sign_event(event_type: &str, event: &Value) -> String {
        let envelope = json!({
            "eventType": event_type,
            "instanceId": "9f5a6a4e-0000-4000-8000-00000000a991",
            "data": event.to_string(),
            "identity": json!({ "identityType": "ANONYMOUS_VISITOR", "anonymousVisitorId": "v-1" }).to_string(),
        });
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Self::sign_claims(&json!({ "data": envelope.to_string(), "iat": now, "exp": now + 3600 }))
    }

    /// A standardised event: `{id, entityFqdn, slug, entityId, eventTime, <slug>Event: body}`.
    fn standard_event(fqdn: &str, slug: &str, event_id: &str, entity_id: &Value, body: Value) -> Value {
        let mut event = json!({
            "id": event_id,
            "entityFqdn": fqdn,
            "slug": slug,
            "entityId": entity_id,
            "eventTime": "2024-05-01T10:00:00.000Z",
            "triggeredByAnonymizeRequest": false,
        });
        event[format!("{slug}Event")] = body;
        event
    }

    /// A standardised "created" event delivery body for an eCommerce `entity`.
    pub fn sign_created_event(event_type: &str, event_id: &str, entity: &Value) -> String {
        let event =
            Self::standard_event("wix.ecom.v1.order", "created", event_id, &entity["id"], json!({ "entity": entity }));
        Self::sign_event(event_type, &event)
    }

    /// A Catalog V3 product event (`slug`: `created`, `updated` or `deleted`) for product `i` as the
    /// site now has it: `wix.stores.catalog.v3.product_<slug>`, with `createdEvent.entity` or
    /// `updatedEvent.currentEntity`.
    pub fn sign_v3_product_event(&self, slug: &str, event_id: &str, i: u64) -> String {
        let entity = lock(&self.state).catalog.v3_product(i, false, Some(false));
        let body = match slug {
            "created" => json!({ "entity": entity }),
            "updated" => json!({ "currentEntity": entity }),
            _ => json!({}),
        };
        let event =
            Self::standard_event("wix.stores.catalog.v3.product", slug, event_id, &json!(Self::product_id(i)), body);
        Self::sign_event(&format!("wix.stores.catalog.v3.product_{slug}"), &event)
    }

    /// A Catalog V1 legacy product event (`kind`: `ProductCreated`, `ProductChanged` or
    /// `ProductDeleted`) for product `i`: `com.wix.ecommerce.catalog.api.v1.<kind>`.
    pub fn sign_v1_product_event(&self, kind: &str, i: u64) -> String {
        let id = Self::product_id(i);
        let payload = match kind {
            "ProductChanged" => json!({ "productId": id, "changedFields": ["name", "priceData"] }),
            "ProductCreated" => {
                let product = lock(&self.state).catalog.v1_product(i, false);
                json!({ "productId": id, "name": product["name"], "price": product["priceData"], "visible": product["visible"] })
            }
            _ => json!({ "productId": id }),
        };
        Self::sign_event(&format!("com.wix.ecommerce.catalog.api.v1.{kind}"), &payload)
    }
}
