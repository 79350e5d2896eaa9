//! Merchants in the table (see `shared/ACCESS_PATTERNS.md`).
//!
//! | item            | pk                    | sk        | gsi1pk                      | gsi1sk        | gsi2pk      | gsi2sk        |
//! |-----------------|-----------------------|-----------|-----------------------------|---------------|-------------|---------------|
//! | merchant        | `MERCHANT#<id>`       | `PROFILE` | `MERCHANT_STATUS#<status>`  | `<id>`        | `MERCHANTS` | `<id>`        |
//! | e-mail claim    | `EMAIL#<email>`       | `EMAIL`   |                             |               |             |               |
//!
//! The merchant's first API key is written in the same transaction (see `api_keys.rs`).
//!
//! Merchant ids embed a ULID, so sorting by id is sorting by registration time.

use crate::kernel::error::Error;
use crate::onboarding::api_keys::ApiKeyRecord;
use crate::onboarding::merchant::{Merchant, MerchantId, MerchantStatus};
use crate::ports::{Condition, Index, Item, ItemKey, PageCursor, Query, StoreError, Table, WriteOp};
use crate::record::Record;

pub struct Merchants<'a> {
    table: &'a dyn Table,
}

/// A page of merchants.
pub struct MerchantPage {
    pub merchants: Vec<Merchant>,
    pub next: Option<PageCursor>,
}

fn merchant_key(id: &MerchantId) -> ItemKey {
    ItemKey::new(format!("MERCHANT#{id}"), "PROFILE")
}

fn email_key(merchant: &Merchant) -> ItemKey {
    ItemKey::new(format!("EMAIL#{}", merchant.email), "EMAIL")
}

fn status_partition(status: MerchantStatus) -> String {
    format!("MERCHANT_STATUS#{}", status.as_str())
}

const ALL_MERCHANTS: &str = "MERCHANTS";

impl Record for Merchant {
    fn key(&self) -> ItemKey {
        merchant_key(&self.id)
    }

    /// Listed by status, newest first.
    fn gsi1(&self) -> Option<ItemKey> {
        Some(ItemKey::new(status_partition(self.status), self.id.as_str()))
    }

    /// Listed all together, newest first.
    fn gsi2(&self) -> Option<ItemKey> {
        Some(ItemKey::new(ALL_MERCHANTS, self.id.as_str()))
    }

    crate::record::version_field!();
}

impl<'a> Merchants<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    /// Writes a new merchant, its e-mail claim and its first API key in one transaction. An e-mail that is
    /// already claimed → `Conflict`, and nothing is written.
    pub async fn create(
        &self,
        merchant: &Merchant,
        first_key: &ApiKeyRecord,
        owner: &ApiKeyRecord,
    ) -> Result<(), Error> {
        let mut claim = serde_json::Map::new();
        claim.insert("merchant_id".into(), merchant.id.as_str().into());
        let mut ops = vec![
            merchant.create_op()?,
            WriteOp::Put { item: Item::new(email_key(merchant), claim), condition: Condition::NotExists },
        ];
        ops.extend(first_key.create_ops()?);
        ops.extend(owner.create_ops()?);
        match self.table.transact(ops).await {
            Ok(()) => Ok(()),
            Err(StoreError::TransactionCancelled { index: Some(1) }) => {
                Err(Error::Conflict("a merchant with this email is already registered".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Undoes [`Merchants::create`] when the rest of registration failed, so no half-registered merchant
    /// stays behind. Conditional on the merchant being untouched since.
    pub async fn delete_new(
        &self,
        merchant: &Merchant,
        first_key: &ApiKeyRecord,
        owner: &ApiKeyRecord,
    ) -> Result<(), Error> {
        let mut ops =
            vec![merchant.delete_op(), WriteOp::Delete { key: email_key(merchant), condition: Condition::Exists }];
        ops.extend(first_key.delete_ops());
        ops.extend(owner.delete_ops());
        self.table.transact(ops).await.map_err(Error::from)
    }

    pub async fn get(&self, id: &MerchantId) -> Result<Option<Merchant>, Error> {
        self.table.get(&merchant_key(id)).await?.as_ref().map(Merchant::from_item).transpose()
    }

    /// Newest first, optionally only those in one status.
    pub async fn list(
        &self,
        status: Option<MerchantStatus>,
        limit: u32,
        cursor: Option<PageCursor>,
    ) -> Result<MerchantPage, Error> {
        let (index, partition) = match status {
            Some(status) => (Index::Gsi1, status_partition(status)),
            None => (Index::Gsi2, ALL_MERCHANTS.to_owned()),
        };
        let mut query = Query::new(index, partition, limit);
        query.cursor = cursor;
        query.descending = true;
        let page = self.table.query(query).await?;
        let merchants = page.items.iter().map(Merchant::from_item).collect::<Result<_, _>>()?;
        Ok(MerchantPage { merchants, next: page.next })
    }
}
