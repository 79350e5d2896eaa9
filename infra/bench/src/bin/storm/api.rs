//! The merchant's side over HTTP: calls to the runner's API, and polling the orders list until all are paid.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use crate::{GIVE_UP, POLL_EVERY};

pub(crate) struct Api {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
}

impl Api {
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the runner answers");
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap_or(Value::Null))
    }

    /// Every order of the merchant, all pages.
    async fn orders(&self, id: &str, key: &str) -> Result<Vec<Value>, String> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut request = self
                .http
                .get(format!("{}/merchant/{id}/orders", self.base))
                .bearer_auth(key)
                .query(&[("limit", "100")]);
            if let Some(cursor) = &cursor {
                request = request.query(&[("cursor", cursor)]);
            }
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let page: Value = response.json().await.map_err(|e| e.to_string())?;
            if status != 200 {
                return Err(format!("{status}: {page}"));
            }
            all.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(all),
            }
        }
    }
}

/// Polls the orders list every [`POLL_EVERY`] until all `orders` orders are paid with their write-back
/// done, or [`GIVE_UP`] after `started`. Returns when each was first seen so (by external id), and the
/// last list read.
pub(crate) async fn poll_until_paid(
    api: &Api,
    id: &str,
    key: &str,
    orders: u32,
    started: Instant,
) -> (BTreeMap<String, Instant>, Vec<Value>) {
    let mut paid_at: BTreeMap<String, Instant> = BTreeMap::new();
    let mut last_seen = Vec::new();
    loop {
        let tick = Instant::now();
        match api.orders(id, key).await {
            Ok(orders) => {
                let seen = Instant::now();
                for o in &orders {
                    if o["status"] == "paid"
                        && o["write_back"] == "done"
                        && let Some(external) = o["external_id"].as_str()
                    {
                        paid_at.entry(external.to_owned()).or_insert(seen);
                    }
                }
                last_seen = orders;
            }
            Err(e) => eprintln!("orders list failed: {e}"),
        }
        if paid_at.len() >= orders as usize || started.elapsed() >= GIVE_UP {
            return (paid_at, last_seen);
        }
        tokio::time::sleep(POLL_EVERY.saturating_sub(tick.elapsed())).await;
    }
}
