//! The fake site's products, in the shapes of Catalog V1 and Catalog V3 (sources: the parent module).
//!
//! Product `i` (1-based) has two variants (`S`, `L`) when [`FakeWix::has_options`], one otherwise; a
//! product with options tracks its stock, one without does not. On V3, products with options whose index
//! is a multiple of 8 also hold stock in a second location. Every product but each fifth has a brand
//! ([`FakeWix::expected_brand`]): V1's `brand` is a string, V3's a Brand `{id, name}` (the "Product Object"
//! pages of Catalog V1, https://dev.wix.com/api/rest/wix-stores/catalog/products/product-object, and V3,
//! https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/products-v3/product-object);
//! a product without one has no `brand` at all.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::FakeWix;

pub(super) const DEFAULT_LOCATION: &str = "a5b1b7c3-0000-4000-8000-00000000000d";
const SIZES: [&str; 2] = ["S", "L"];
const SECOND_LOCATION: &str = "a5b1b7c3-0000-4000-8000-00000000000e";

/// A change a test made to a product in the store.
#[derive(Clone, Debug)]
pub(super) struct ProductEdit {
    pub name: String,
    pub price_minor: i64,
    /// 1 for the first edit, 2 for the next…: each moves the product's update time on.
    pub revision: u32,
}

#[derive(Default)]
pub(super) struct Catalog {
    pub products: u64,
    pub edits: BTreeMap<u64, ProductEdit>,
    pub deleted: BTreeSet<u64>,
}

/// `19.99` from 1999, as Wix writes an amount.
pub(super) fn decimal(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

impl Catalog {
    /// The products the store has, in catalog order.
    pub fn live(&self) -> Vec<u64> {
        (1..=self.products).filter(|i| !self.deleted.contains(i)).collect()
    }

    /// Product `i` by its id, if the store has it.
    pub fn find(&self, id: &str) -> Option<u64> {
        self.live().into_iter().find(|&i| FakeWix::product_id(i) == id)
    }

    /// Products whose index is a multiple of 9 are hidden from site visitors.
    pub fn visible(&self, i: u64) -> bool {
        !i.is_multiple_of(9)
    }

    fn name(&self, i: u64) -> String {
        self.edits.get(&i).map_or_else(|| format!("Wix product {i}"), |edit| edit.name.clone())
    }

    fn price(&self, i: u64, k: u64) -> i64 {
        self.edits.get(&i).map_or_else(|| FakeWix::expected_price_minor(i, k), |edit| edit.price_minor)
    }

    fn variant_count(i: u64) -> u64 {
        if FakeWix::has_options(i) { 2 } else { 1 }
    }

    // -----------------------------------------------------------------------------------------------
    // Catalog V1
    // -----------------------------------------------------------------------------------------------

    fn v1_price_data(minor: i64) -> Value {
        // A JSON number, as V1 writes prices.
        let number: Value = serde_json::from_str(&decimal(minor)).expect("a decimal is a JSON number");
        json!({
            "currency": "USD",
            "price": number,
            "discountedPrice": number,
            "formatted": { "price": format!("${}", decimal(minor)) },
        })
    }

    /// When the product last changed: an edit moves it on, as Wix does (`lastUpdated` / `updatedDate`).
    fn updated(&self, i: u64) -> String {
        let minutes = self.edits.get(&i).map_or(0, |edit| edit.revision);
        format!("2024-04-01T{:02}:{:02}:00.000Z", 9 + minutes / 60, minutes % 60)
    }

    /// V1 "Query Products" product; `variants` only with `includeVariants`.
    pub fn v1_product(&self, i: u64, include_variants: bool) -> Value {
        let id = FakeWix::product_id(i);
        let mut product = json!({
            "id": id,
            "name": self.name(i),
            "slug": format!("wix-product-{i}"),
            "visible": self.visible(i),
            "productType": "physical",
            "sku": format!("W-{i}"),
            "numericId": (1_700_000_000_000u64 + i).to_string(),
            "stock": { "trackInventory": false, "inStock": true },
            "priceData": Self::v1_price_data(self.price(i, 0)),
            "media": { "mainMedia": { "image": { "url": format!("https://static.wixstatic.com/media/p{i}.jpg"), "width": 100, "height": 100 } } },
            "lastUpdated": self.updated(i),
        });
        if let Some(brand) = FakeWix::expected_brand(i) {
            product["brand"] = json!(brand);
        }
        if include_variants {
            let variants: Vec<Value> = if FakeWix::has_options(i) {
                (0..2)
                    .map(|k| {
                        json!({
                            "id": format!("00000000-0000-0000-0000-00000000000{}", k + 1),
                            "choices": { "Size": SIZES[k as usize] },
                            "variant": { "priceData": Self::v1_price_data(self.price(i, k)), "weight": 1, "sku": format!("W-{i}-{k}"), "visible": true },
                            "stock": { "trackQuantity": true, "quantity": 3 + k, "inStock": true },
                        })
                    })
                    .collect()
            } else {
                vec![json!({
                    "id": "00000000-0000-0000-0000-000000000000",
                    "choices": {},
                    "variant": { "priceData": Self::v1_price_data(self.price(i, 0)), "sku": format!("W-{i}"), "visible": true },
                    "stock": { "trackQuantity": false, "inStock": true },
                })]
            };
            product["variants"] = Value::Array(variants);
        }
        product
    }

    // -----------------------------------------------------------------------------------------------
    // Catalog V3
    // -----------------------------------------------------------------------------------------------

    fn v3_amount(minor: i64, currency: bool) -> Value {
        let mut amount = json!({ "amount": decimal(minor) });
        if currency {
            amount["formattedAmount"] = json!(format!("${}", decimal(minor)));
        }
        amount
    }

    fn v3_choices(i: u64, k: u64, names: bool) -> Value {
        if !FakeWix::has_options(i) {
            return json!([]);
        }
        let mut choice = json!({ "optionChoiceIds": { "optionId": "size", "choiceId": format!("00000000-0000-4000-8000-0000000000c{k}") } });
        if names {
            choice["optionChoiceNames"] =
                json!({ "optionName": "Size", "choiceName": SIZES[k as usize], "renderType": "TEXT_CHOICES" });
        }
        json!([choice])
    }

    /// V3 product; `variantsInfo` only where Wix returns it (Get Product, events), `currency` only with
    /// the `CURRENCY` field.
    pub fn v3_product(&self, i: u64, currency: bool, variants: Option<bool>) -> Value {
        let count = Self::variant_count(i);
        let prices: Vec<i64> = (0..count).map(|k| self.price(i, k)).collect();
        let (min, max) = (prices.iter().min().copied().unwrap_or(0), prices.iter().max().copied().unwrap_or(0));
        let mut product = json!({
            "id": FakeWix::product_id(i),
            "revision": (1 + self.edits.get(&i).map_or(0, |edit| edit.revision)).to_string(),
            "createdDate": "2024-03-01T09:30:00.000Z",
            "updatedDate": self.updated(i),
            "name": self.name(i),
            "slug": format!("wix-product-{i}"),
            "visible": self.visible(i),
            "visibleInPos": true,
            "productType": "PHYSICAL",
            "media": { "main": { "id": format!("p{i}.jpg"), "mediaType": "IMAGE", "image": { "id": format!("p{i}.jpg"), "url": format!("https://static.wixstatic.com/media/p{i}.jpg"), "height": 100, "width": 100 } } },
            "actualPriceRange": { "minValue": Self::v3_amount(min, currency), "maxValue": Self::v3_amount(max, currency) },
            "inventory": { "availabilityStatus": "IN_STOCK", "preorderStatus": "DISABLED" },
            "variantSummary": { "variantCount": count },
        });
        if currency {
            product["currency"] = json!("USD");
        }
        if let Some(brand) = FakeWix::expected_brand(i) {
            product["brand"] = json!({ "id": format!("b0000000-0000-4000-8000-{:012x}", i % 3), "name": brand });
        }
        if let Some(names) = variants {
            let variants: Vec<Value> = (0..count)
                .map(|k| {
                    json!({
                        "id": FakeWix::v3_variant_id(i, k),
                        "visible": true,
                        "sku": self.v3_sku(i, k),
                        "choices": Self::v3_choices(i, k, names),
                        "price": { "actualPrice": Self::v3_amount(self.price(i, k), currency) },
                        "inventoryStatus": { "inStock": true, "preorderEnabled": false },
                        "physicalProperties": {},
                    })
                })
                .collect();
            product["variantsInfo"] = json!({ "variants": variants });
        }
        product
    }

    fn v3_sku(&self, i: u64, k: u64) -> String {
        if FakeWix::has_options(i) { format!("W-{i}-{k}") } else { format!("W-{i}") }
    }

    /// The Read-Only Variants API's variants of product `i`.
    pub fn v3_read_only_variants(&self, i: u64, currency: bool) -> Vec<Value> {
        (0..Self::variant_count(i))
            .map(|k| {
                let variant_id = FakeWix::v3_variant_id(i, k);
                let mut product_data = json!({
                    "productId": FakeWix::product_id(i),
                    "name": self.name(i),
                    "productType": "PHYSICAL",
                    "slug": format!("wix-product-{i}"),
                    "visible": self.visible(i),
                    "revision": "1",
                });
                if currency {
                    product_data["currency"] = json!("USD");
                }
                json!({
                    "id": variant_id,
                    "variantId": variant_id,
                    "visible": true,
                    "sku": self.v3_sku(i, k),
                    "optionChoices": Self::v3_choices(i, k, true),
                    "price": { "actualPrice": Self::v3_amount(self.price(i, k), currency) },
                    "inventoryStatus": { "inStock": true, "preorderEnabled": false },
                    "productData": product_data,
                })
            })
            .collect()
    }

    /// The Inventory Items API's items of product `i`: one per variant and location.
    pub fn v3_inventory_items(&self, i: u64) -> Vec<Value> {
        let mut items = Vec::new();
        for k in 0..Self::variant_count(i) {
            let item = |location: &str, n: u64, tracked: Option<i64>| {
                let mut item = json!({
                    "id": format!("{i:08x}-0000-4000-a000-{k:06x}{n:06x}"),
                    "revision": "1",
                    "variantId": FakeWix::v3_variant_id(i, k),
                    "locationId": location,
                    "productId": FakeWix::product_id(i),
                    "trackQuantity": tracked.is_some(),
                    "availabilityStatus": "IN_STOCK",
                });
                match tracked {
                    Some(quantity) => item["quantity"] = json!(quantity),
                    None => item["inStock"] = json!(true),
                }
                item
            };
            if FakeWix::has_options(i) {
                items.push(item(DEFAULT_LOCATION, 0, Some(3 + k as i64)));
                if i.is_multiple_of(8) {
                    items.push(item(SECOND_LOCATION, 1, Some(10)));
                }
            } else {
                items.push(item(DEFAULT_LOCATION, 0, None));
            }
        }
        items
    }
}
