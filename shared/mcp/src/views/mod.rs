//! What the tools answer with: typed, so each tool's output schema is generated from these types, and
//! bounded: lists are pages, a product shows at most [`MAX_VARIANTS`] variants and an order
//! [`MAX_LINES`] lines, and text from stores and PSPs is cut at [`MAX_TEXT`] characters.
//!
//! Each view has the fields of the REST API's view of the same record (`Product::view`, `Order::view`,
//! `Payment::view`, the sync job's), so an assistant and an integration read the same names; the tests hold
//! them to it. What a view leaves out: an order's customer (personal data an assistant does not need) and
//! anything secret, which no record view carries in the first place.

mod catalog;
mod orders;
mod stores;

use serde::Serialize;
use time::OffsetDateTime;

pub use catalog::{ProductPage, ProductView, VariantView};
pub use orders::{AttemptView, NextActionView, OrderLineView, OrderPage, OrderView, PaymentView};
pub use stores::{StoreList, StoreView, SyncJobView, SyncProgressView, SyncStarted};

/// The most variants a product view lists (`variant_count` gives them all).
pub const MAX_VARIANTS: usize = 50;
/// The most order lines an order view lists (`line_count` gives them all).
pub const MAX_LINES: usize = 50;
/// The longest text field, in characters; longer text ends in "…".
pub const MAX_TEXT: usize = 500;

pub(crate) fn bounded(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

pub(crate) fn bounded_opt(text: Option<&str>) -> Option<String> {
    text.map(bounded)
}

pub(crate) fn rfc3339(at: &OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// An enum's wire name (`snake_case`), as the REST API writes it.
pub(crate) fn label(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}
