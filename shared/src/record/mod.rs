//! Converting domain records to table items and back.

pub mod limits;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::kernel::error::Error;
use crate::ports::{Attributes, Item};

/// The record's JSON object as item attributes.
pub fn to_attributes<T: Serialize>(record: &T) -> Result<Attributes, Error> {
    match serde_json::to_value(record) {
        Ok(serde_json::Value::Object(attrs)) => Ok(attrs),
        Ok(_) => Err(Error::Internal("a record must serialise to a JSON object".into())),
        Err(e) => Err(Error::Internal(format!("serialising a record: {e}"))),
    }
}

/// The item's attributes as a record. A stored item that does not parse is corruption, not bad input.
pub fn from_item<T: DeserializeOwned>(item: &Item) -> Result<T, Error> {
    serde_json::from_value(serde_json::Value::Object(item.attrs.clone()))
        .map_err(|e| Error::Internal(format!("item {}/{} does not parse: {e}", item.key.pk, item.key.sk)))
}
