//! Queries on the embedded table: DynamoDB's Query with `begins_with` on the sort key, byte-order
//! sorting (SQLite's BINARY collation compares UTF-8 bytes, as DynamoDB does), and `LastEvaluatedKey`
//! paging.

use rusqlite::Connection;
use rusqlite::types::Value;

use super::row::{ITEM_COLUMNS, read_row};
use pivota::ports::{Index, Item, ItemKey, Page, PageCursor, Query, StoreError};

use crate::db::SqlResult as _;

const MAX_LIMIT: u32 = 1000;

/// The columns a query runs on.
struct IndexColumns {
    pk: &'static str,
    sk: &'static str,
}

fn columns(index: Index) -> IndexColumns {
    match index {
        Index::Primary => IndexColumns { pk: "pk", sk: "sk" },
        Index::Gsi1 => IndexColumns { pk: "gsi1pk", sk: "gsi1sk" },
        Index::Gsi2 => IndexColumns { pk: "gsi2pk", sk: "gsi2sk" },
    }
}

fn index_key(item: &Item, index: Index) -> Option<&ItemKey> {
    match index {
        Index::Primary => Some(&item.key),
        Index::Gsi1 => item.gsi1.as_ref(),
        Index::Gsi2 => item.gsi2.as_ref(),
    }
}

pub(crate) fn validate(query: &Query) -> Result<(), StoreError> {
    if !(1..=MAX_LIMIT).contains(&query.limit) {
        return Err(StoreError::Other(format!("query limit must be 1 to {MAX_LIMIT}, not {}", query.limit)));
    }
    if query.pk.is_empty() {
        return Err(StoreError::Other("a query's partition key cannot be empty".into()));
    }
    if let Some(cursor) = &query.cursor {
        cursor_position(query, cursor)?;
    }
    Ok(())
}

/// Where a cursor points in the query's index, or `InvalidCursor` when it is not from this query: its
/// index key must be in the queried partition and, as DynamoDB insists, match the sort-key condition.
fn cursor_position<'c>(query: &Query, cursor: &'c PageCursor) -> Result<&'c ItemKey, StoreError> {
    let position = match query.index {
        Index::Primary => &cursor.key,
        Index::Gsi1 | Index::Gsi2 => cursor.index_key.as_ref().ok_or(StoreError::InvalidCursor)?,
    };
    let in_partition = position.pk == query.pk;
    let in_range = query.sk_prefix.as_ref().is_none_or(|prefix| position.sk.starts_with(prefix.as_str()));
    if in_partition && in_range { Ok(position) } else { Err(StoreError::InvalidCursor) }
}

pub(crate) fn run(conn: &Connection, query: &Query) -> Result<Page, StoreError> {
    let IndexColumns { pk, sk } = columns(query.index);
    let (order, after) = if query.descending { ("DESC", "<") } else { ("ASC", ">") };
    let mut sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE {pk} = ?");
    let mut args = vec![Value::Text(query.pk.clone())];

    if let Some(prefix) = &query.sk_prefix {
        // The range term lets SQLite use the index; the substr term is the exact `begins_with`.
        sql.push_str(&format!(" AND {sk} >= ? AND substr({sk}, 1, length(?)) = ?"));
        args.extend([prefix, prefix, prefix].map(|p| Value::Text(p.clone())));
    }
    if let Some(cursor) = &query.cursor {
        let position = cursor_position(query, cursor)?;
        match query.index {
            Index::Primary => {
                sql.push_str(&format!(" AND sk {after} ?"));
                args.push(Value::Text(position.sk.clone()));
            }
            // Ties on the index sort key are ordered by the primary key, so the cursor carries both.
            Index::Gsi1 | Index::Gsi2 => {
                sql.push_str(&format!(" AND ({sk}, pk, sk) {after} (?, ?, ?)"));
                args.extend([&position.sk, &cursor.key.pk, &cursor.key.sk].map(|v| Value::Text(v.clone())));
            }
        }
    }
    match query.index {
        Index::Primary => sql.push_str(&format!(" ORDER BY sk {order}")),
        Index::Gsi1 | Index::Gsi2 => sql.push_str(&format!(" ORDER BY {sk} {order}, pk {order}, sk {order}")),
    }
    sql.push_str(" LIMIT ?");
    args.push(Value::Integer(i64::from(query.limit)));

    let mut statement = conn.prepare_cached(&sql).sql()?;
    let rows = statement.query_map(rusqlite::params_from_iter(args), read_row).sql()?;
    let items =
        rows.map(|row| row.sql::<StoreError>().and_then(|row| row.into_item())).collect::<Result<Vec<Item>, _>>()?;

    // Like DynamoDB, a full page always carries a cursor, even when nothing follows it.
    let next = if items.len() == query.limit as usize {
        items.last().map(|last| PageCursor {
            key: last.key.clone(),
            index_key: match query.index {
                Index::Primary => None,
                index => index_key(last, index).cloned(),
            },
        })
    } else {
        None
    };
    Ok(Page { items, next })
}
