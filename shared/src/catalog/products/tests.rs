//! The product record's store-given labels (vendor, product type): the content hash of a product without
//! them, and their way through the record's item and the API's view.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{Product, content_hash};
use crate::kernel::money::Currency;
use crate::onboarding::merchant::MerchantId;
use crate::record::Record;
use crate::stores::platforms::{ExternalProduct, ExternalVariant};

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

fn mug() -> ExternalProduct {
    ExternalProduct {
        external_id: "p1".into(),
        title: "Mug".into(),
        status: "active".into(),
        image_url: None,
        updated_at: None,
        variants: vec![ExternalVariant {
            external_id: "v1".into(),
            title: "Default".into(),
            sku: None,
            price_minor: 1999,
            inventory_quantity: None,
        }],
        vendor: None,
        product_type: None,
    }
}

#[test]
fn a_product_without_labels_hashes_as_it_did_before_they_existed() {
    // The exact bytes hashed before `vendor` and `product_type` were added: a product synced then is not
    // rewritten by the next sync unless the store now gives it one.
    let before = r#"[{"external_id":"p1","title":"Mug","status":"active","updated_at":null,"variants":[{"external_id":"v1","title":"Default","price_minor":1999}]},"EUR"]"#;
    assert_eq!(content_hash(&mug(), eur()), hex::encode(Sha256::digest(before)));

    let with_vendor = ExternalProduct { vendor: Some("Acme".into()), ..mug() };
    let with_type = ExternalProduct { product_type: Some("Mugs".into()), ..mug() };
    assert_ne!(content_hash(&with_vendor, eur()), content_hash(&mug(), eur()), "a vendor is content");
    assert_ne!(content_hash(&with_type, eur()), content_hash(&mug(), eur()), "a product type is content");
}

fn stored(external: ExternalProduct) -> Product {
    let hash = content_hash(&external, eur());
    Product::from_store(&MerchantId::generate(), "sto_1", external, eur(), hash, None, OffsetDateTime::UNIX_EPOCH)
}

#[test]
fn labels_go_through_the_item_and_into_the_view() {
    let labelled = stored(ExternalProduct { vendor: Some("Acme".into()), product_type: Some("Mugs".into()), ..mug() });
    let item = labelled.to_item().unwrap();
    assert_eq!((item.attrs["vendor"].as_str(), item.attrs["product_type"].as_str()), (Some("Acme"), Some("Mugs")));
    let read = Product::from_item(&item).unwrap();
    assert_eq!(read, labelled);
    let view = read.view(5);
    assert_eq!((view["vendor"].as_str(), view["product_type"].as_str()), (Some("Acme"), Some("Mugs")));

    // An item written before the labels existed (or of a product without them) has no such attributes.
    let plain = stored(mug());
    let item = plain.to_item().unwrap();
    assert!(!item.attrs.contains_key("vendor") && !item.attrs.contains_key("product_type"), "{:?}", item.attrs);
    let read = Product::from_item(&item).unwrap();
    assert_eq!((read.vendor, read.product_type), (None, None));
    let view = plain.view(5);
    assert!(view["vendor"].is_null() && view["product_type"].is_null(), "{view}");
}
