//! The search index port on S3 (`pivota_aws::S3Indexes`), against moto: each test has a bucket of its own
//! and builds "instances" (an `S3Indexes` with its own cache directory, as one Lambda instance has) on it.
//!
//! - `basics`: the port's cases (apply, remove, replace_all, no index, merchants isolated);
//! - `caching`: what a warm reader downloads, and a reader facing a commit S3 does not wholly hold;
//! - `writers`: concurrent writers, obsolete files, files left by lost writers, S3's conditional writes.

mod basics;
mod caching;
mod writers;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use pivota::ports::{IndexChange, ProductDoc, SearchIndex, SearchQuery};
use pivota_aws::{OBSOLETE_TAG, S3Indexes, provision};

use crate::fixtures::moto;

/// Every request an instance's client sent.
#[derive(Clone, Debug, Default)]
pub struct Requests(Arc<Mutex<Vec<Sent>>>);

#[derive(Clone, Debug)]
pub struct Sent {
    pub method: String,
    pub uri: String,
    pub if_none_match: Option<String>,
}

impl Requests {
    /// The keys under `indexes/` fetched with GET since the last call, `meta.json` apart.
    pub fn take_file_gets(&self) -> BTreeSet<String> {
        let taken = std::mem::take(&mut *self.0.lock().unwrap());
        taken
            .into_iter()
            .filter_map(|Sent { method, uri, .. }| {
                let (path, query) = uri.split_once('?').unwrap_or((&uri, ""));
                let object = method == "GET" && !query.contains("tagging") && !path.ends_with("/meta.json");
                object.then(|| path.split_once("/indexes/").map(|(_, key)| format!("indexes/{key}")))?
            })
            .collect()
    }

    /// Every request so far.
    pub fn all(&self) -> Vec<Sent> {
        self.0.lock().unwrap().clone()
    }
}

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "TestRequestRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let if_none_match = request.headers().get("if-none-match").map(str::to_owned);
        let sent = Sent { method: request.method().to_owned(), uri: request.uri().to_owned(), if_none_match };
        self.0.lock().unwrap().push(sent);
        Ok(())
    }
}

/// A bucket of the test's own, as `template.yaml` declares it.
pub struct TestBucket {
    pub client: aws_sdk_s3::Client,
    pub name: String,
}

/// One function instance on the bucket: its indexes, its cache directory and the requests it sent.
pub struct Instance {
    pub indexes: S3Indexes,
    pub requests: Requests,
    pub cache: tempfile::TempDir,
}

pub async fn bucket() -> TestBucket {
    let config = moto::sdk_config().await;
    let s3 = aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build();
    let client = aws_sdk_s3::Client::from_conf(s3);
    let name = format!("search-{}", ulid::Ulid::new().to_string().to_lowercase());
    provision::create_search_bucket(&client, &name).await.expect("create the search bucket");
    TestBucket { client, name }
}

impl TestBucket {
    pub fn instance(&self) -> Instance {
        let requests = Requests::default();
        let config = self.client.config().to_builder().interceptor(requests.clone()).build();
        let cache = tempfile::tempdir().unwrap();
        let indexes = S3Indexes::new(aws_sdk_s3::Client::from_conf(config), &self.name, cache.path());
        Instance { indexes, requests, cache }
    }

    /// Every key under `prefix`.
    pub async fn keys(&self, prefix: &str) -> BTreeSet<String> {
        let pages = self.client.list_objects_v2().bucket(&self.name).prefix(prefix).into_paginator().send();
        let pages: Vec<_> = pages.collect().await;
        pages
            .into_iter()
            .flat_map(|page| page.unwrap().contents.unwrap_or_default())
            .filter_map(|object| object.key)
            .collect()
    }

    pub async fn is_tagged_obsolete(&self, key: &str) -> bool {
        let tags = self.client.get_object_tagging().bucket(&self.name).key(key).send().await.unwrap();
        tags.tag_set().iter().any(|tag| (tag.key(), tag.value()) == OBSOLETE_TAG)
    }

    pub async fn get(&self, key: &str) -> Vec<u8> {
        let object = self.client.get_object().bucket(&self.name).key(key).send().await.unwrap();
        object.body.collect().await.unwrap().to_vec()
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>, tagging: Option<&str>) {
        let request = self.client.put_object().bucket(&self.name).key(key).body(bytes.into());
        request.set_tagging(tagging.map(str::to_owned)).send().await.unwrap();
    }

    pub async fn delete(&self, key: &str) {
        self.client.delete_object().bucket(&self.name).key(key).send().await.unwrap();
    }
}

pub fn merchant() -> String {
    format!("mer_{}", ulid::Ulid::new())
}

pub fn product(id: &str, title: &str) -> ProductDoc {
    ProductDoc {
        product_id: id.to_owned(),
        store_id: "sto_1".to_owned(),
        title: title.to_owned(),
        variant_titles: vec![],
        skus: vec![],
        vendor: None,
        product_type: None,
        status: "active".to_owned(),
        in_stock: true,
        min_stock: None,
        prices: vec![1_000],
        updated_at: 1_700_000_000,
    }
}

pub fn upsert(id: &str, title: &str) -> IndexChange {
    IndexChange::Upsert(product(id, title))
}

/// The ids of the products matching `text` (all of them without), sorted, and the total.
pub async fn found(index: &dyn SearchIndex, merchant_id: &str, text: Option<&str>) -> (Vec<String>, u64) {
    let query = SearchQuery { text: text.map(str::to_owned), limit: 100, ..Default::default() };
    let hits = index.search(merchant_id, &query).await.expect("search");
    let mut ids = hits.product_ids;
    ids.sort();
    (ids, hits.total)
}

pub fn ids(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    ids.sort();
    ids
}
