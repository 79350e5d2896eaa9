//! A stateful fake of the Wix REST APIs Pivota calls: Stores Catalog V1 "Query Products", Site
//! Properties, eCommerce "Get Order" and Order Transactions "Add Payment"; and a signer for webhook
//! deliveries, which Wix sends as RS256 JWTs.
//!
//! Wire details reproduced (Wix REST docs, https://dev.wix.com/docs/rest): `Authorization: <API key>`
//! and `wix-site-id` on every call; `POST /stores/v1/products/query` with `query.paging.limit` (at most
//! 100) and `offset`, answering `products`, `metadata {items, offset}` and `totalResults`; prices are
//! JSON numbers; a product without options has one variant whose id is all zeros. Errors are Wix's
//! `{"message", "details": {"applicationError": {"code", "description"}}}`; the exact 401 text is not
//! documented and is ours.
//!
//! The signing key pair below is a throwaway generated for these tests (never used anywhere else).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request};

use crate::failure::{FailurePlan, FakeFailure};
use crate::store_common::{Reply, Router, StoreState, header, lock, segments_after};

pub const DEFAULT_WIX_API_KEY: &str = "IST.fake-wix-api-key";
pub const DEFAULT_WIX_SITE_ID: &str = "6b8c2f0e-0000-4000-8000-000000000001";

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
    products: u64,
    requests: usize,
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
            products: 0,
            requests: 0,
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

    pub fn with_products(self, n: u64) -> Self {
        lock(&self.state).products = n;
        self
    }

    /// An order with this total (a decimal string, e.g. `"29.99"`), not paid yet.
    pub fn with_order(self, id: &str, total: &str) -> Self {
        lock(&self.state).orders.insert(id.into(), WixOrder { total: total.into(), paid: false });
        self
    }

    /// Product `i`'s id (a GUID).
    pub fn product_id(i: u64) -> String {
        format!("{i:08x}-0000-4000-8000-{i:012x}")
    }

    /// Whether product `i` has options (two variants, `S` and `L`).
    pub fn has_options(i: u64) -> bool {
        i % 4 == 0
    }

    /// The price in cents of product `i`'s variant `k` (0 for a product without options).
    pub fn expected_price_minor(i: u64, k: u64) -> i64 {
        (500 + i * 7 + k * 100) as i64
    }

    pub fn variant_count(&self) -> usize {
        let n = lock(&self.state).products;
        (1..=n).map(|i| if Self::has_options(i) { 2 } else { 1 }).sum()
    }

    pub fn requests(&self) -> usize {
        lock(&self.state).requests
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

    /// A standardised "created" event delivery body (the JWT): `data` is the stringified envelope
    /// `{eventType, instanceId, data, identity}` whose `data` is the stringified `{id, entityFqdn, slug,
    /// entityId, eventTime, createdEvent: {entity}}` ("About the structure of webhooks").
    pub fn sign_created_event(event_type: &str, event_id: &str, entity: &Value) -> String {
        let event = json!({
            "id": event_id,
            "entityFqdn": "wix.ecom.v1.order",
            "slug": "created",
            "entityId": entity["id"],
            "eventTime": "2024-05-01T10:00:00.000Z",
            "triggeredByAnonymizeRequest": false,
            "createdEvent": { "entity": entity },
        });
        let envelope = json!({
            "eventType": event_type,
            "instanceId": "9f5a6a4e-0000-4000-8000-00000000a991",
            "data": event.to_string(),
            "identity": json!({ "identityType": "ANONYMOUS_VISITOR", "anonymousVisitorId": "v-1" }).to_string(),
        });
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Self::sign_claims(&json!({ "data": envelope.to_string(), "iat": now, "exp": now + 3600 }))
    }
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        json!({ "message": message, "details": { "applicationError": { "code": code, "description": message, "data": {} } } }),
    )
}

/// A JSON number written from a decimal string, the way Wix writes prices.
fn number(minor: i64) -> Value {
    serde_json::from_str(&format!("{}.{:02}", minor / 100, minor % 100)).expect("a decimal is a JSON number")
}

fn price_data(minor: i64) -> Value {
    json!({
        "currency": "USD",
        "price": number(minor),
        "discountedPrice": number(minor),
        "formatted": { "price": format!("${}.{:02}", minor / 100, minor % 100) },
    })
}

fn product(i: u64) -> Value {
    let id = FakeWix::product_id(i);
    let variants: Vec<Value> = if FakeWix::has_options(i) {
        (0..2)
            .map(|k| {
                let size = ["S", "L"][k as usize];
                json!({
                    "id": format!("00000000-0000-0000-0000-00000000000{}", k + 1),
                    "choices": { "Size": size },
                    "variant": {
                        "priceData": price_data(FakeWix::expected_price_minor(i, k)),
                        "weight": 1,
                        "sku": format!("W-{i}-{k}"),
                        "visible": true,
                    },
                    "stock": { "trackQuantity": true, "quantity": 3 + k, "inStock": true },
                })
            })
            .collect()
    } else {
        vec![json!({
            "id": "00000000-0000-0000-0000-000000000000",
            "choices": {},
            "variant": { "priceData": price_data(FakeWix::expected_price_minor(i, 0)), "sku": format!("W-{i}"), "visible": true },
            "stock": { "trackQuantity": false, "inStock": true },
        })]
    };
    json!({
        "id": id,
        "name": format!("Wix product {i}"),
        "slug": format!("wix-product-{i}"),
        "visible": i % 9 != 0,
        "productType": "physical",
        "sku": format!("W-{i}"),
        "numericId": (1_700_000_000_000u64 + i).to_string(),
        "stock": { "trackInventory": false, "inStock": true },
        "priceData": price_data(FakeWix::expected_price_minor(i, 0)),
        "media": { "mainMedia": { "image": { "url": format!("https://static.wixstatic.com/media/p{i}.jpg"), "width": 100, "height": 100 } } },
        "lastUpdated": "2024-04-01T09:30:00.000Z",
        "variants": variants,
    })
}

impl StoreState for State {
    fn requests(&mut self) -> &mut usize {
        &mut self.requests
    }

    fn failures(&mut self) -> &mut FailurePlan {
        &mut self.failures
    }

    fn failure_body(&self, status: u16) -> Value {
        if status == 429 {
            json!({ "message": "Too many requests", "details": { "applicationError": { "code": "TOO_MANY_REQUESTS", "description": "Too many requests", "data": {} } } })
        } else {
            json!({ "message": "Internal error", "details": {} })
        }
    }

    fn route(&mut self, request: &Request) -> Reply {
        if header(request, "authorization") != Some(self.api_key.as_str()) {
            return error(401, "UNAUTHENTICATED", "API key is invalid or missing");
        }
        if header(request, "wix-site-id") != Some(self.site_id.as_str()) {
            return error(403, "PERMISSION_DENIED", "The API key has no access to this site");
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let path = segments_after(request, "").unwrap_or_default();
        match (request.method.as_str(), path.as_slice()) {
            ("POST", ["stores", "v1", "products", "query"]) => {
                let paging = &body["query"]["paging"];
                let limit = paging["limit"].as_u64().unwrap_or(50);
                if limit > 100 {
                    return error(400, "INVALID_ARGUMENT", "paging.limit must be at most 100");
                }
                let offset = paging["offset"].as_u64().unwrap_or(0);
                let end = (offset + limit).min(self.products);
                let include_variants = body["includeVariants"] == json!(true);
                let products: Vec<Value> = (offset + 1..=end)
                    .map(|i| {
                        let mut p = product(i);
                        if !include_variants {
                            p.as_object_mut().expect("an object").remove("variants");
                        }
                        p
                    })
                    .collect();
                Reply::json(
                    200,
                    json!({
                        "products": products,
                        "metadata": { "items": end.saturating_sub(offset), "offset": offset },
                        "totalResults": self.products,
                    }),
                )
            }
            ("GET", ["site-properties", "v4", "properties"]) => Reply::json(
                200,
                json!({ "version": "7", "properties": { "siteDisplayName": "Fake Wix Shop", "paymentCurrency": "USD", "language": "en" } }),
            ),
            ("GET", ["ecom", "v1", "orders", id]) => match self.orders.get(*id) {
                Some(order) => Reply::json(
                    200,
                    json!({ "order": {
                        "id": id, "number": "10001", "currency": "USD",
                        "paymentStatus": if order.paid { "PAID" } else { "NOT_PAID" },
                        "priceSummary": { "total": { "amount": order.total, "formattedAmount": format!("${}", order.total) } },
                    } }),
                ),
                None => error(404, "ORDER_NOT_FOUND", "Order not found"),
            },
            ("POST", ["ecom", "v1", "payments", "orders", id, "add-payment"]) => {
                let Some(order) = self.orders.get_mut(*id) else {
                    return error(404, "ORDER_NOT_FOUND", "Order not found");
                };
                let payment = &body["payments"][0];
                let reference = payment["regularPaymentDetails"]["providerTransactionId"].as_str().unwrap_or_default();
                if payment["amount"]["amount"].as_str() != Some(order.total.as_str()) {
                    return error(400, "INVALID_ARGUMENT", "amount does not match the order balance");
                }
                order.paid = true;
                self.orders_marked_paid.push(((*id).to_owned(), reference.to_owned()));
                Reply::json(
                    200,
                    json!({ "orderTransactions": { "orderId": id, "payments": [payment] }, "paymentsIds": ["p-1"] }),
                )
            }
            _ => error(404, "NOT_FOUND", "Not found"),
        }
    }
}
