//! What the tests start from: the local runner binary as a test subject, started on a free port with its own
//! data directory and killed when dropped; and a merchant registered through it, over HTTP.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

pub const ADMIN_TOKEN: &str = "blackbox-admin-token-0123456789";

/// A runner process; killed when dropped.
pub struct Runner {
    child: Child,
    pub base: String,
    log: std::path::PathBuf,
}

impl Runner {
    pub fn start(data_dir: &Path, kyc_wait_seconds: u64) -> Self {
        Self::start_with(data_dir, kyc_wait_seconds, &[])
    }

    /// A runner with more environment (fake PSP and store base URLs, say).
    pub fn start_with(data_dir: &Path, kyc_wait_seconds: u64, env: &[(&str, String)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pivota-local"))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("PIVOTA_LISTEN", "127.0.0.1:0")
            .env("PIVOTA_DATA_DIR", data_dir)
            .env("PIVOTA_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("PIVOTA_KYC_WAIT_SECONDS", kyc_wait_seconds.to_string())
            .env("PIVOTA_KYC_RESTRICTED_COUNTRIES", "IR,KP")
            .env("PIVOTA_ALLOW_INSECURE_STORE_URLS", "1")
            .env("RUST_LOG", "debug")
            .env("PIVOTA_LOG_FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::options().create(true).append(true).open(data_dir.join("runner.log")).unwrap())
            .spawn()
            .expect("the runner starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines.next().expect("the runner prints its address").expect("stdout is readable");
            if let Some(address) = line.strip_prefix("Pivota listening on ") {
                break address.trim().to_owned();
            }
        };
        // Keep draining stdout so the runner never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, base, log: data_dir.join("runner.log") }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn terminate(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// A runner on a data directory of its own, whose KYC waits last `kyc_wait_seconds`, and an HTTP client.
/// The directory must outlive the runner (and any runner restarted on it).
pub fn started(kyc_wait_seconds: u64) -> (TempDir, Runner, reqwest::Client) {
    let dir = tempfile::tempdir().unwrap();
    let runner = Runner::start(dir.path(), kyc_wait_seconds);
    (dir, runner, pivota::kernel::http_client::builder().build().unwrap())
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A registration request.
pub fn registration(email: &str, country: &str) -> Value {
    json!({"business_name": "Acme Outdoor", "email": email, "country": country, "website": "https://acme.example"})
}

/// Registers a merchant, which must succeed: the answer.
pub async fn register(http: &reqwest::Client, runner: &Runner, email: &str, country: &str) -> Value {
    let response =
        http.post(runner.url("/merchant/register")).json(&registration(email, country)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// `GET /merchant/{id}` with `key`.
pub async fn get_merchant(http: &reqwest::Client, runner: &Runner, id: &str, key: &str) -> reqwest::Response {
    http.get(runner.url(&format!("/merchant/{id}"))).bearer_auth(key).send().await.unwrap()
}

/// Reads the merchant until its status is `wanted` (within 20 s): the merchant.
pub async fn wait_for_status(http: &reqwest::Client, runner: &Runner, id: &str, key: &str, wanted: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let merchant: Value = get_merchant(http, runner, id, key).await.json().await.unwrap();
        if merchant["status"] == wanted {
            return merchant;
        }
        assert!(Instant::now() < deadline, "{id} never became {wanted}: {merchant}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
