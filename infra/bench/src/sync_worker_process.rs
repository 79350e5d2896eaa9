//! The sync worker in a process of its own, so that its peak RSS is the worker's alone: the benchmark
//! re-executes itself with [`WORKER_FLAG`], the child opens the same embedded data directory (SQLite in WAL
//! mode, safe across processes) and plays Lambda's SQS event source as `infra/local/src/sqs_consumer.rs`
//! does, one invocation at a time: receive a message, call `sync_worker::handle` with the function's
//! deadline, delete the message unless it was reported failed, until the job is finished. It prints one
//! JSON line, a [`WorkerReport`], on stdout.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use pivota::app::App;
use pivota::onboarding::merchant::MerchantId;
use pivota::settings::Settings;
use pivota::stores::url_safety::StoreUrlPolicy;
use pivota_embedded::{EmbeddedBackend, QueueConfig};
use serde_json::{Value, json};

/// The first argument that makes the benchmark binary the worker.
pub const WORKER_FLAG: &str = "--worker";
/// The function's timeout in `template.yaml` (`SyncWorkerFunction`), so every invocation's deadline.
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(300);
/// Longer than an invocation, so a message is not redelivered while its invocation still runs.
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(360);
/// How often an empty queue is polled (a continuation may be delayed by a rate-limit wait).
const IDLE_POLL: Duration = Duration::from_millis(20);

/// What the worker process measured.
#[derive(Clone, Debug)]
pub struct WorkerReport {
    /// From the first receive to the job finished.
    pub elapsed: Duration,
    pub invocations: u32,
    /// Invocations whose message was reported failed (it would come back after the visibility timeout).
    pub failed_invocations: u32,
    /// Peak RSS once the runtime, the backend and the app are up, before the first receive.
    pub hwm_before_kib: u64,
    /// Peak RSS when the job is finished.
    pub hwm_after_kib: u64,
    pub rss_after_kib: u64,
}

/// The settings of every process of the benchmark: the fake shops listen on 127.0.0.1 over plain HTTP.
pub fn settings() -> Settings {
    Settings { kyc_wait_seconds: 0, store_urls: StoreUrlPolicy { allow_insecure: true }, ..Settings::default() }
}

/// An app on the embedded backend in `data_dir`, with the sync queue declared as the local runner declares
/// it (a dead-letter queue after 5 receives).
pub async fn embedded_app(data_dir: &Path) -> App {
    let backend = EmbeddedBackend::open(data_dir).expect("the embedded backend opens");
    let settings = settings();
    let queue = backend.queue();
    let dead_letter = format!("{}-dlq", settings.sync_queue.0);
    queue.declare(&dead_letter, QueueConfig { max_receive_count: 0, dead_letter: None }).await.unwrap();
    let config = QueueConfig { max_receive_count: 5, dead_letter: Some(dead_letter) };
    queue.declare(&settings.sync_queue.0, config).await.unwrap();
    let ports = backend.ports();
    App::new(ports, settings)
}

/// A field of `/proc/self/status` in KiB (`VmHWM`: peak resident set; `VmRSS`: resident now).
pub fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs job `job_id` of `merchant_id` in a child process on `data_dir` and returns what it measured.
pub async fn run_in_child(data_dir: &Path, merchant_id: &MerchantId, job_id: &str) -> WorkerReport {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let output = tokio::process::Command::new(exe)
        .arg(WORKER_FLAG)
        .arg(data_dir)
        .arg(merchant_id.as_str())
        .arg(job_id)
        .stderr(std::process::Stdio::inherit())
        .output()
        .await
        .expect("the worker process runs");
    assert!(output.status.success(), "the worker process failed: {}", output.status);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().expect("the worker prints its report");
    let report: Value = serde_json::from_str(line).expect("the worker's report is JSON");
    let number = |name: &str| report[name].as_u64().unwrap_or_else(|| panic!("{name} in {line}"));
    WorkerReport {
        elapsed: Duration::from_micros(number("elapsed_us")),
        invocations: number("invocations") as u32,
        failed_invocations: number("failed_invocations") as u32,
        hwm_before_kib: number("hwm_before_kib"),
        hwm_after_kib: number("hwm_after_kib"),
        rss_after_kib: number("rss_after_kib"),
    }
}

/// The child's `main`: `--worker <data_dir> <merchant_id> <job_id>`. The runtime is the one the function's
/// `#[tokio::main]` builds.
pub fn worker_main(args: &[String]) {
    let [data_dir, merchant_id, job_id] = args else {
        panic!("usage: {WORKER_FLAG} <data_dir> <merchant_id> <job_id>");
    };
    let merchant_id = MerchantId::parse(merchant_id).expect("a merchant id");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let report = runtime.block_on(drive(PathBuf::from(data_dir), merchant_id, job_id.clone()));
    println!("{report}");
}

async fn drive(data_dir: PathBuf, merchant_id: MerchantId, job_id: String) -> Value {
    let app = embedded_app(&data_dir).await;
    let queue_ref = app.settings.sync_queue.clone();
    let hwm_before_kib = proc_status_kib("VmHWM");
    let started = Instant::now();
    let (mut invocations, mut failed_invocations) = (0u32, 0u32);
    loop {
        let job = pivota::catalog::sync::get_job(&app, &merchant_id, &job_id).await.unwrap().expect("the job exists");
        if job.is_finished() {
            break;
        }
        let received = app.queue.receive(&queue_ref, 1, VISIBILITY_TIMEOUT).await.unwrap();
        if received.is_empty() {
            tokio::time::sleep(IDLE_POLL).await;
            continue;
        }
        for message in received {
            let mut record = SqsMessage::default();
            record.message_id = Some(message.message_id.clone());
            record.receipt_handle = Some(message.receipt_handle.clone());
            record.body = Some(message.body.clone());
            record.attributes.insert("ApproximateReceiveCount".into(), message.receive_count.to_string());
            let mut event = SqsEvent::default();
            event.records.push(record);
            invocations += 1;
            let response =
                pivota::lifecycle::sync_worker::handle(&app, event, Instant::now() + INVOCATION_TIMEOUT).await;
            if response.batch_item_failures.iter().any(|failure| failure.item_identifier == message.message_id) {
                failed_invocations += 1;
            } else {
                app.queue.delete(&queue_ref, &message.receipt_handle).await.unwrap();
            }
        }
    }
    json!({
        "elapsed_us": started.elapsed().as_micros() as u64,
        "invocations": invocations,
        "failed_invocations": failed_invocations,
        "hwm_before_kib": hwm_before_kib,
        "hwm_after_kib": proc_status_kib("VmHWM"),
        "rss_after_kib": proc_status_kib("VmRSS"),
    })
}
