//! Item ⇄ DynamoDB attribute map. Keys are `S`, `version` and `expires_at` are `N`, and every attribute of
//! [`Item::attrs`] is stored natively (a JSON object becomes an `M`, an array an `L`, …) so the table
//! stays readable in the console and usable in expressions.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Number, Value};

use pivota::ports::{Index, Item, ItemKey, PageCursor, RESERVED_ATTRIBUTES, StoreError};

pub(super) type AttributeMap = HashMap<String, AttributeValue>;

/// The attribute names of an index's partition and sort key.
pub(super) fn key_names(index: Index) -> (&'static str, &'static str) {
    match index {
        Index::Primary => ("pk", "sk"),
        Index::Gsi1 => ("gsi1pk", "gsi1sk"),
        Index::Gsi2 => ("gsi2pk", "gsi2sk"),
    }
}

pub(super) fn key_to_map(key: &ItemKey) -> AttributeMap {
    let mut map = AttributeMap::with_capacity(2);
    insert_key(&mut map, Index::Primary, key);
    map
}

fn insert_key(map: &mut AttributeMap, index: Index, key: &ItemKey) {
    let (pk, sk) = key_names(index);
    map.insert(pk.to_owned(), AttributeValue::S(key.pk.clone()));
    map.insert(sk.to_owned(), AttributeValue::S(key.sk.clone()));
}

pub(super) fn item_to_map(item: Item) -> Result<AttributeMap, StoreError> {
    if let Some(name) = item.attrs.keys().find(|name| RESERVED_ATTRIBUTES.contains(&name.as_str())) {
        return Err(StoreError::Other(format!("attribute name {name:?} is reserved by the table")));
    }
    let mut map = AttributeMap::with_capacity(item.attrs.len() + 8);
    insert_key(&mut map, Index::Primary, &item.key);
    if let Some(key) = &item.gsi1 {
        insert_key(&mut map, Index::Gsi1, key);
    }
    if let Some(key) = &item.gsi2 {
        insert_key(&mut map, Index::Gsi2, key);
    }
    map.insert("version".to_owned(), AttributeValue::N(item.version.to_string()));
    if let Some(expires_at) = item.expires_at {
        map.insert("expires_at".to_owned(), AttributeValue::N(expires_at.to_string()));
    }
    for (name, value) in item.attrs {
        map.insert(name, json_to_attribute(value));
    }
    Ok(map)
}

pub(super) fn item_from_map(mut map: AttributeMap) -> Result<Item, StoreError> {
    let key = take_key(&mut map, Index::Primary)?.ok_or_else(|| corrupt("an item without pk/sk"))?;
    let gsi1 = take_key(&mut map, Index::Gsi1)?;
    let gsi2 = take_key(&mut map, Index::Gsi2)?;
    let version = match map.remove("version") {
        Some(AttributeValue::N(n)) => n.parse().map_err(|_| corrupt("a non-integer version"))?,
        Some(_) => return Err(corrupt("a non-numeric version")),
        None => 0,
    };
    let expires_at = match map.remove("expires_at") {
        Some(AttributeValue::N(n)) => Some(n.parse().map_err(|_| corrupt("a non-integer expires_at"))?),
        Some(_) => return Err(corrupt("a non-numeric expires_at")),
        None => None,
    };
    let attrs = map
        .into_iter()
        .map(|(name, value)| Ok((name, attribute_to_json(value)?)))
        .collect::<Result<_, StoreError>>()?;
    Ok(Item { key, gsi1, gsi2, version, expires_at, attrs })
}

/// Reads a `LastEvaluatedKey` back into the port's cursor.
pub(super) fn cursor_from_map(index: Index, mut map: AttributeMap) -> Result<PageCursor, StoreError> {
    let key = take_key(&mut map, Index::Primary)?.ok_or_else(|| corrupt("a LastEvaluatedKey without pk/sk"))?;
    let index_key = match index {
        Index::Primary => None,
        gsi => Some(take_key(&mut map, gsi)?.ok_or_else(|| corrupt("a LastEvaluatedKey without its index key"))?),
    };
    Ok(PageCursor { key, index_key })
}

/// The `ExclusiveStartKey` for a cursor: the primary key, plus the index key on a GSI.
pub(super) fn cursor_to_map(index: Index, cursor: &PageCursor) -> AttributeMap {
    let mut map = key_to_map(&cursor.key);
    if let (Index::Gsi1 | Index::Gsi2, Some(index_key)) = (index, &cursor.index_key) {
        insert_key(&mut map, index, index_key);
    }
    map
}

fn take_key(map: &mut AttributeMap, index: Index) -> Result<Option<ItemKey>, StoreError> {
    let (pk_name, sk_name) = key_names(index);
    match (map.remove(pk_name), map.remove(sk_name)) {
        (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => Ok(Some(ItemKey { pk, sk })),
        (None, None) => Ok(None),
        _ => Err(corrupt("a key attribute that is missing or not a string")),
    }
}

fn json_to_attribute(value: Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s),
        Value::Array(values) => AttributeValue::L(values.into_iter().map(json_to_attribute).collect()),
        Value::Object(fields) => {
            AttributeValue::M(fields.into_iter().map(|(name, value)| (name, json_to_attribute(value))).collect())
        }
    }
}

fn attribute_to_json(value: AttributeValue) -> Result<Value, StoreError> {
    Ok(match value {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(b),
        AttributeValue::N(n) => Value::Number(parse_number(&n)?),
        AttributeValue::S(s) => Value::String(s),
        AttributeValue::L(values) => Value::Array(values.into_iter().map(attribute_to_json).collect::<Result<_, _>>()?),
        AttributeValue::M(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(name, value)| Ok((name, attribute_to_json(value)?)))
                .collect::<Result<_, StoreError>>()?,
        ),
        // We never write sets or binaries; an item holding one was written by someone else.
        _ => {
            return Err(corrupt("an attribute type Pivota does not write (a set or binary)"));
        }
    })
}

/// DynamoDB numbers are decimal strings: try the integer types first so ids and amounts stay exact.
fn parse_number(n: &str) -> Result<Number, StoreError> {
    if let Ok(i) = n.parse::<i64>() {
        return Ok(i.into());
    }
    if let Ok(u) = n.parse::<u64>() {
        return Ok(u.into());
    }
    n.parse::<f64>().ok().and_then(Number::from_f64).ok_or_else(|| corrupt("a number JSON cannot hold"))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("the table holds {what}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_item_survives_the_round_trip_with_native_attributes() {
        let attrs = json!({"name": "Acme", "n": 3, "big": u64::MAX, "ratio": 0.5, "ok": true, "none": null,
            "tags": ["a", 1], "address": {"city": "Lyon"}});
        let mut item = Item::new(ItemKey::new("MERCHANT#1", "PROFILE"), attrs.as_object().unwrap().clone());
        item.gsi1 = Some(ItemKey::new("EMAIL#a@b.c", "MERCHANT#1"));
        item.expires_at = Some(1_700_000_000);
        item.version = 7;

        let map = item_to_map(item.clone()).unwrap();
        assert!(matches!(map["address"], AttributeValue::M(_)));
        assert_eq!(map["version"], AttributeValue::N("7".into()));
        assert_eq!(item_from_map(map).unwrap(), item);
    }

    #[test]
    fn reserved_attribute_names_are_refused() {
        let attrs = json!({"version": 2}).as_object().unwrap().clone();
        assert!(item_to_map(Item::new(ItemKey::new("a", "b"), attrs)).is_err());
    }
}
