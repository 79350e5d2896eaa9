//! [`DynamoTable`]: the [`Table`] port on one DynamoDB table (single-table design).
//!
//! Schema (declared the same way in `template.yaml` and [`super::provision::create_table`]): hash `pk`,
//! range `sk`; GSIs `gsi1` (`gsi1pk`/`gsi1sk`) and `gsi2` (`gsi2pk`/`gsi2sk`) projecting all attributes;
//! TTL on `expires_at`.

mod item_codec;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, PutRequest, TransactWriteItem, WriteRequest,
};
use rand::Rng;

use self::item_codec::{
    AttributeMap, cursor_from_map, cursor_to_map, item_from_map, item_to_map, key_names, key_to_map,
};
use super::sdk_error::{OperationError, code, describe, is_transient};
use pivota::ports::{Condition, Index, Item, ItemKey, Page, Query, StoreError, Table, WriteOp};

/// DynamoDB's BatchWriteItem limit (moto accepts more, AWS refuses: we enforce it ourselves).
const BATCH_WRITE_LIMIT: usize = 25;
/// BatchGetItem's limit.
const BATCH_GET_LIMIT: usize = 100;
/// Rounds of retrying a batch's `UnprocessedItems` before giving up with a transient error.
const BATCH_RETRY_ROUNDS: u32 = 8;

#[derive(Clone, Debug)]
pub struct DynamoTable {
    client: Client,
    table_name: String,
}

impl DynamoTable {
    pub fn new(client: Client, table_name: impl Into<String>) -> Self {
        Self { client: super::call_log::dynamodb(client), table_name: table_name.into() }
    }

    pub fn table_name(&self) -> &str {
        &self.table_name
    }
}

/// A condition as DynamoDB expression parts.
struct ConditionExpression {
    expression: &'static str,
    names: Option<HashMap<String, String>>,
    values: Option<AttributeMap>,
}

impl ConditionExpression {
    fn of(condition: Condition) -> Option<Self> {
        let simple = |expression| Some(Self { expression, names: None, values: None });
        match condition {
            Condition::None => None,
            Condition::NotExists => simple("attribute_not_exists(pk)"),
            Condition::Exists => simple("attribute_exists(pk)"),
            // `version` is a DynamoDB reserved word, hence the placeholder.
            Condition::VersionIs(version) => Some(Self {
                expression: "#v = :v",
                names: Some(HashMap::from([("#v".to_owned(), "version".to_owned())])),
                values: Some(HashMap::from([(":v".to_owned(), AttributeValue::N(version.to_string()))])),
            }),
        }
    }

    /// A ConditionCheck must carry an expression; `Condition::None` becomes one that always holds.
    fn of_check(condition: Condition) -> Self {
        Self::of(condition).unwrap_or(Self {
            expression: "attribute_exists(pk) OR attribute_not_exists(pk)",
            names: None,
            values: None,
        })
    }
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table_name)
            .set_key(Some(key_to_map(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| store_error("GetItem", &err))?;
        output.item.map(item_from_map).transpose()
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        pivota::record::limits::check_item(&item)?;
        let condition = ConditionExpression::of(condition);
        self.client
            .put_item()
            .table_name(&self.table_name)
            .set_item(Some(item_to_map(item)?))
            .set_condition_expression(condition.as_ref().map(|c| c.expression.to_owned()))
            .set_expression_attribute_names(condition.as_ref().and_then(|c| c.names.clone()))
            .set_expression_attribute_values(condition.and_then(|c| c.values))
            .send()
            .await
            .map_err(|err| store_error("PutItem", &err))?;
        Ok(())
    }

    async fn delete(&self, key: &ItemKey, condition: Condition) -> Result<(), StoreError> {
        let condition = ConditionExpression::of(condition);
        self.client
            .delete_item()
            .table_name(&self.table_name)
            .set_key(Some(key_to_map(key)))
            .set_condition_expression(condition.as_ref().map(|c| c.expression.to_owned()))
            .set_expression_attribute_names(condition.as_ref().and_then(|c| c.names.clone()))
            .set_expression_attribute_values(condition.and_then(|c| c.values))
            .send()
            .await
            .map_err(|err| store_error("DeleteItem", &err))?;
        Ok(())
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        // What DynamoDB would refuse (101 actions, 4 MB, two actions on one item, an item over 400 KB) is
        // refused here, before the call.
        pivota::record::limits::check_transaction(&ops)?;
        let items = ops.into_iter().map(|op| self.transact_item(op)).collect::<Result<Vec<_>, _>>()?;
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(err) => Err(match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    cancellation(cancelled.cancellation_reasons())
                        .unwrap_or_else(|| StoreError::Other(describe("TransactWriteItems", &err)))
                }
                _ => store_error("TransactWriteItems", &err),
            }),
        }
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        if !(1..=1000).contains(&query.limit) {
            return Err(StoreError::Other(format!("a query's limit must be 1..=1000, not {}", query.limit)));
        }
        let (pk_name, sk_name) = key_names(query.index);
        let start_key = match &query.cursor {
            Some(cursor) => Some(cursor_start_key(&query, cursor)?),
            None => None,
        };
        let mut values = HashMap::from([(":pk".to_owned(), AttributeValue::S(query.pk.clone()))]);
        let mut key_condition = "#pk = :pk".to_owned();
        if let Some(prefix) = &query.sk_prefix {
            key_condition.push_str(" AND begins_with(#sk, :prefix)");
            values.insert(":prefix".to_owned(), AttributeValue::S(prefix.clone()));
        }
        let mut names = HashMap::from([("#pk".to_owned(), pk_name.to_owned())]);
        if query.sk_prefix.is_some() {
            names.insert("#sk".to_owned(), sk_name.to_owned());
        }
        let output = self
            .client
            .query()
            .table_name(&self.table_name)
            .set_index_name(index_name(query.index).map(str::to_owned))
            .key_condition_expression(key_condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            // Index queries are eventually consistent on DynamoDB; only the primary key can read its writes.
            .consistent_read(query.index == Index::Primary)
            .scan_index_forward(!query.descending)
            .limit(query.limit as i32)
            .set_exclusive_start_key(start_key)
            .send()
            .await
            .map_err(|err| store_error("Query", &err))?;
        let items = output.items.unwrap_or_default().into_iter().map(item_from_map).collect::<Result<_, _>>()?;
        let next = match output.last_evaluated_key {
            Some(key) if !key.is_empty() => Some(cursor_from_map(query.index, key)?),
            _ => None,
        };
        Ok(Page { items, next })
    }

    async fn batch_get(&self, keys: Vec<ItemKey>) -> Result<Vec<Item>, StoreError> {
        // BatchGetItem refuses a key twice in one call, and takes at most 100 keys.
        let mut unique: Vec<ItemKey> = Vec::with_capacity(keys.len());
        let mut seen = std::collections::HashSet::new();
        for key in keys {
            if seen.insert(key.clone()) {
                unique.push(key);
            }
        }
        let mut found = Vec::with_capacity(unique.len());
        for chunk in unique.chunks(BATCH_GET_LIMIT) {
            let mut pending: Vec<AttributeMap> = chunk.iter().map(key_to_map).collect();
            let mut round = 0;
            while !pending.is_empty() {
                let keys_and_attributes = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(|err| StoreError::Other(format!("building a batch get: {err}")))?;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table_name, keys_and_attributes)
                    .send()
                    .await
                    .map_err(|err| store_error("BatchGetItem", &err))?;
                for map in output.responses.and_then(|mut r| r.remove(&self.table_name)).unwrap_or_default() {
                    found.push(item_from_map(map)?);
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table_name))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if !pending.is_empty() {
                    round += 1;
                    if round > BATCH_RETRY_ROUNDS {
                        return Err(StoreError::Transient("BatchGetItem left keys unprocessed".into()));
                    }
                    tokio::time::sleep(backoff(round)).await;
                }
            }
        }
        Ok(found)
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        // BatchWriteItem refuses two requests for one key in a call. Keeping only the last put of each
        // key gives the same end state as putting the items one after the other.
        items.iter().try_for_each(pivota::record::limits::check_item)?;
        let mut last_put = HashMap::new();
        for (position, item) in items.iter().enumerate() {
            last_put.insert(item.key.clone(), position);
        }
        let requests = items
            .into_iter()
            .enumerate()
            .filter(|(position, item)| last_put[&item.key] == *position)
            .map(|(_, item)| put_request(item))
            .collect::<Result<Vec<_>, _>>()?;
        for chunk in requests.chunks(BATCH_WRITE_LIMIT) {
            self.batch_write_chunk(chunk.to_vec()).await?;
        }
        Ok(())
    }
}

impl DynamoTable {
    fn transact_item(&self, op: WriteOp) -> Result<TransactWriteItem, StoreError> {
        let built = match op {
            WriteOp::Put { item, condition } => {
                let condition = ConditionExpression::of(condition);
                let put = Put::builder()
                    .table_name(&self.table_name)
                    .set_item(Some(item_to_map(item)?))
                    .set_condition_expression(condition.as_ref().map(|c| c.expression.to_owned()))
                    .set_expression_attribute_names(condition.as_ref().and_then(|c| c.names.clone()))
                    .set_expression_attribute_values(condition.and_then(|c| c.values))
                    .build();
                put.map(|put| TransactWriteItem::builder().put(put).build())
            }
            WriteOp::Delete { key, condition } => {
                let condition = ConditionExpression::of(condition);
                let delete = Delete::builder()
                    .table_name(&self.table_name)
                    .set_key(Some(key_to_map(&key)))
                    .set_condition_expression(condition.as_ref().map(|c| c.expression.to_owned()))
                    .set_expression_attribute_names(condition.as_ref().and_then(|c| c.names.clone()))
                    .set_expression_attribute_values(condition.and_then(|c| c.values))
                    .build();
                delete.map(|delete| TransactWriteItem::builder().delete(delete).build())
            }
            WriteOp::Check { key, condition } => {
                let condition = ConditionExpression::of_check(condition);
                let check = ConditionCheck::builder()
                    .table_name(&self.table_name)
                    .set_key(Some(key_to_map(&key)))
                    .condition_expression(condition.expression)
                    .set_expression_attribute_names(condition.names)
                    .set_expression_attribute_values(condition.values)
                    .build();
                check.map(|check| TransactWriteItem::builder().condition_check(check).build())
            }
        };
        built.map_err(|err| StoreError::Other(format!("building a transaction item: {err}")))
    }

    /// One BatchWriteItem of at most 25 puts, retrying `UnprocessedItems` (throttled partitions) with
    /// jittered exponential backoff, a bounded number of times.
    async fn batch_write_chunk(&self, mut requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for round in 0..=BATCH_RETRY_ROUNDS {
            if round > 0 {
                tokio::time::sleep(backoff(round)).await;
            }
            let output = self
                .client
                .batch_write_item()
                .request_items(&self.table_name, requests)
                .send()
                .await
                .map_err(|err| store_error("BatchWriteItem", &err))?;
            requests = output.unprocessed_items.and_then(|mut left| left.remove(&self.table_name)).unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
        }
        Err(StoreError::Transient(format!(
            "BatchWriteItem: {} items still unprocessed after {BATCH_RETRY_ROUNDS} retries",
            requests.len()
        )))
    }
}

fn index_name(index: Index) -> Option<&'static str> {
    match index {
        Index::Primary => None,
        Index::Gsi1 => Some("gsi1"),
        Index::Gsi2 => Some("gsi2"),
    }
}

/// Checks the cursor against the query before it becomes an `ExclusiveStartKey`: DynamoDB would
/// either reject a foreign key or, worse, silently start somewhere unrelated.
fn cursor_start_key(query: &Query, cursor: &pivota::ports::PageCursor) -> Result<AttributeMap, StoreError> {
    let position = match query.index {
        Index::Primary => &cursor.key,
        Index::Gsi1 | Index::Gsi2 => cursor.index_key.as_ref().ok_or(StoreError::InvalidCursor)?,
    };
    let outside_prefix = query.sk_prefix.as_ref().is_some_and(|prefix| !position.sk.starts_with(prefix));
    if position.pk != query.pk || outside_prefix {
        return Err(StoreError::InvalidCursor);
    }
    Ok(cursor_to_map(query.index, cursor))
}

fn put_request(item: Item) -> Result<WriteRequest, StoreError> {
    let put = PutRequest::builder()
        .set_item(Some(item_to_map(item)?))
        .build()
        .map_err(|err| StoreError::Other(format!("building a put request: {err}")))?;
    Ok(WriteRequest::builder().put_request(put).build())
}

/// Full jitter over an exponential ceiling: 50 ms, 100 ms, … capped at 2 s.
fn backoff(round: u32) -> Duration {
    let ceiling_ms = (50u64 << round.min(6)).min(2_000);
    Duration::from_millis(rand::thread_rng().gen_range(ceiling_ms / 2..=ceiling_ms))
}

/// Maps the reasons of a `TransactionCanceledException`: the first failed condition wins; a conflict
/// with another transaction has no index; throttling is transient. `None` for anything else.
fn cancellation(reasons: &[aws_sdk_dynamodb::types::CancellationReason]) -> Option<StoreError> {
    let codes: Vec<&str> = reasons.iter().map(|reason| reason.code().unwrap_or("None")).collect();
    if let Some(index) = codes.iter().position(|code| *code == "ConditionalCheckFailed") {
        return Some(StoreError::TransactionCancelled { index: Some(index) });
    }
    if codes.contains(&"TransactionConflict") {
        return Some(StoreError::TransactionCancelled { index: None });
    }
    if codes.iter().any(|code| matches!(*code, "ThrottlingError" | "ProvisionedThroughputExceeded")) {
        return Some(StoreError::Transient(format!("TransactWriteItems cancelled: {codes:?}")));
    }
    None
}

fn store_error<E: OperationError>(operation: &str, err: &SdkError<E, HttpResponse>) -> StoreError {
    if code(err) == Some("ConditionalCheckFailedException") {
        StoreError::ConditionFailed
    } else if is_transient(err) {
        StoreError::Transient(describe(operation, err))
    } else {
        StoreError::Other(describe(operation, err))
    }
}
