//! The version rule, on a record of the simplest kind and a table of one mutex-guarded map.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{FIRST_VERSION, Record, Written};
use crate::ports::{Condition, Item, ItemKey, Page, Query, StoreError, Table, WriteOp};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Note {
    id: String,
    text: String,
    #[serde(skip)]
    version: u64,
}

impl Record for Note {
    fn key(&self) -> ItemKey {
        ItemKey::new("NOTES", format!("NOTE#{}", self.id))
    }

    fn gsi1(&self) -> Option<ItemKey> {
        Some(ItemKey::new("BY_TEXT", self.text.clone()))
    }

    fn expires_at(&self) -> Option<i64> {
        Some(1_700_000_000)
    }

    fn version(&self) -> u64 {
        self.version
    }

    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
}

fn note(text: &str) -> Note {
    Note { id: "n1".into(), text: text.into(), version: FIRST_VERSION }
}

/// Single puts and deletes with their conditions, as the adapters check them; nothing else is needed here.
#[derive(Default)]
struct MapTable(Mutex<HashMap<ItemKey, Item>>);

impl MapTable {
    fn holds(&self, condition: Condition, key: &ItemKey) -> bool {
        let items = self.0.lock().unwrap();
        match (condition, items.get(key)) {
            (Condition::None, _) => true,
            (Condition::NotExists, stored) => stored.is_none(),
            (Condition::Exists, stored) => stored.is_some(),
            (Condition::VersionIs(version), stored) => stored.is_some_and(|item| item.version == version),
        }
    }

    fn stored(&self, key: &ItemKey) -> Option<Item> {
        self.0.lock().unwrap().get(key).cloned()
    }
}

#[async_trait]
impl Table for MapTable {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        Ok(self.stored(key))
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        if !self.holds(condition, &item.key) {
            return Err(StoreError::ConditionFailed);
        }
        self.0.lock().unwrap().insert(item.key.clone(), item);
        Ok(())
    }

    async fn delete(&self, key: &ItemKey, condition: Condition) -> Result<(), StoreError> {
        if !self.holds(condition, key) {
            return Err(StoreError::ConditionFailed);
        }
        self.0.lock().unwrap().remove(key);
        Ok(())
    }

    async fn transact(&self, _ops: Vec<WriteOp>) -> Result<(), StoreError> {
        unimplemented!("not used by these tests")
    }

    async fn query(&self, _query: Query) -> Result<Page, StoreError> {
        unimplemented!("not used by these tests")
    }

    async fn batch_get(&self, _keys: Vec<ItemKey>) -> Result<Vec<Item>, StoreError> {
        unimplemented!("not used by these tests")
    }

    async fn batch_put(&self, _items: Vec<Item>) -> Result<(), StoreError> {
        unimplemented!("not used by these tests")
    }
}

#[test]
fn an_item_holds_the_attributes_and_its_place_and_reads_back_at_its_version() {
    let mut record = note("hello");
    record.version = 7;
    let item = record.to_item().unwrap();
    assert_eq!(item.key, ItemKey::new("NOTES", "NOTE#n1"));
    assert_eq!(item.gsi1, Some(ItemKey::new("BY_TEXT", "hello")));
    assert_eq!((&item.gsi2, item.expires_at, item.version), (&None, Some(1_700_000_000), 7));
    assert_eq!(serde_json::Value::Object(item.attrs.clone()), serde_json::json!({"id": "n1", "text": "hello"}));
    assert_eq!(Note::from_item(&item).unwrap(), record);
}

#[test]
fn a_new_record_is_created_at_the_first_version_if_nothing_is_stored() {
    let mut record = note("hello");
    record.version = 5;
    let WriteOp::Put { item, condition } = record.create_op().unwrap() else { panic!("a put") };
    assert_eq!((item.version, condition), (FIRST_VERSION, Condition::NotExists));
}

#[test]
fn a_change_is_written_one_version_up_if_still_at_the_version_read() {
    let mut record = note("hello");
    record.version = 3;
    let WriteOp::Put { item, condition } = record.save_op().unwrap() else { panic!("a put") };
    assert_eq!((item.version, condition), (4, Condition::VersionIs(3)));
    assert_eq!(record.version, 3, "building the write changes nothing");
    assert_eq!(record.delete_op(), WriteOp::Delete { key: record.key(), condition: Condition::VersionIs(3) });
    record.saved();
    assert_eq!(record.version, 4);
}

#[tokio::test]
async fn a_save_moves_the_version_and_a_lost_race_leaves_it_as_read() {
    let table = MapTable::default();
    let mut first = note("hello");
    assert_eq!(first.create(&table).await.unwrap(), Written::Done);
    assert_eq!(note("again").create(&table).await.unwrap(), Written::Lost, "created once");

    let stored = table.stored(&first.key()).unwrap();
    let mut second = Note::from_item(&stored).unwrap();
    assert_eq!(second.version, FIRST_VERSION);

    first.text = "first".into();
    assert_eq!(first.save(&table).await.unwrap(), Written::Done);
    assert_eq!(first.version, 2);
    assert_eq!(table.stored(&first.key()).unwrap().version, 2);

    second.text = "second".into();
    assert_eq!(second.save(&table).await.unwrap(), Written::Lost);
    assert_eq!(second.version, FIRST_VERSION, "a lost race keeps the version read");
    assert_eq!(Note::from_item(&table.stored(&first.key()).unwrap()).unwrap(), first, "the winner's change stays");

    assert_eq!(second.delete(&table).await.unwrap(), Written::Lost);
    assert_eq!(first.delete(&table).await.unwrap(), Written::Done);
    assert!(table.stored(&first.key()).is_none());
}
