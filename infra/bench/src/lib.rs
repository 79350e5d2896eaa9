//! Shared helpers of the benchmark binaries.

pub mod catalog;
pub mod connect_trace;
pub mod runtime_api;
pub mod scan_search;
pub mod sync_worker_process;

use std::time::Duration;

use pivota::settings::Settings;
use pivota_local::{LocalConfig, Platform};

/// The local runner on the embedded backend in a fresh directory, on a runtime of its own so that a load
/// generator does not share its scheduler.
pub struct Runner {
    pub platform: Platform,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    runtime: tokio::runtime::Runtime,
    _data_dir: tempfile::TempDir,
}

impl Runner {
    pub fn start(worker_threads: usize, settings: Settings) -> Self {
        let data_dir = tempfile::tempdir().expect("a temporary data directory");
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(worker_threads).enable_all().build().unwrap();
        let config = LocalConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.path().to_owned(),
            admin_token: Some("bench-admin-token".into()),
            settings,
        };
        let platform = runtime.block_on(Platform::start(config)).expect("the runner starts");
        let base = format!("http://{}", platform.local_addr);
        Self { platform, base, runtime, _data_dir: data_dir }
    }

    pub fn stop(self) {
        self.runtime.block_on(self.platform.stop());
    }
}

/// `POST /merchant/register` through a runner at `base`: the new merchant's id and its test API key.
pub async fn register(http: &reqwest::Client, base: &str, business_name: &str, email: &str) -> (String, String) {
    let body = serde_json::json!({
        "business_name": business_name, "email": email, "country": "DE", "website": "https://shop.example",
    });
    let registered: serde_json::Value =
        http.post(format!("{base}/merchant/register")).json(&body).send().await.unwrap().json().await.unwrap();
    let field = |name: &str| registered[name].as_str().unwrap_or_else(|| panic!("no {name}: {registered}")).to_owned();
    (field("merchant_id"), field("api_key"))
}

/// The `q`-quantile (0..=1) of sorted samples, nearest-rank.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&samples, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&samples, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&samples, 1.0), Duration::from_millis(100));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }
}
