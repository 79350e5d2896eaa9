//! The moto server that AWS-side tests talk to, one per test process.
//!
//! `PIVOTA_TEST_AWS_ENDPOINT` names a running server (the test command starts one). Without it, the first
//! test starts one itself — `infra/moto/serve.py` (moto's server with DynamoDB's transaction isolation) run
//! by `PIVOTA_TEST_MOTO_PYTHON`, else by `.venv/bin/python` in the workspace — on a free port, behind a
//! watchdog shell that stops it when this process ends. A missing emulator is a test failure, never a skip.
//!
//! Execution of state machines is switched on for the whole server (see [`enable_state_machine_execution`]):
//! moto keeps state machines created with it off and on in two separate backends, so it must be on
//! before anything is created and stay on.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;

pub const ENDPOINT_VAR: &str = "PIVOTA_TEST_AWS_ENDPOINT";
pub const PYTHON_VAR: &str = "PIVOTA_TEST_MOTO_PYTHON";
pub const REGION: &str = "us-east-1";
/// moto's default account.
pub const ACCOUNT_ID: &str = "123456789012";

static ENDPOINT: OnceLock<String> = OnceLock::new();

/// `http://127.0.0.1:<port>` of a ready moto server with state machine execution on.
pub fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(|| {
        let endpoint = match std::env::var(ENDPOINT_VAR) {
            Ok(endpoint) if !endpoint.trim().is_empty() => {
                let endpoint = endpoint.trim().trim_end_matches('/').to_owned();
                wait_until_ready(&endpoint, None);
                endpoint
            }
            _ => start_server(),
        };
        enable_state_machine_execution(&endpoint);
        endpoint
    })
}

/// SDK configuration for the emulator: static dummy credentials, fixed region, endpoint override.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "pivota-tests"))
        .endpoint_url(endpoint())
        .load()
        .await
}

/// Makes moto really run state machines (Wait states take real time; its Docker-less Lambda answers a
/// task with the task's input). moto 5.2.5 keeps this setting until told otherwise; sending it again is
/// harmless, so fixtures do before they create or fire anything.
pub fn enable_state_machine_execution(endpoint: &str) {
    let config = r#"{"lambda":{"use_docker":false},"stepfunctions":{"execute_state_machine":true}}"#;
    match http(endpoint, "POST", "/moto-api/config", config) {
        Ok((status, _)) if (200..300).contains(&status) => {}
        other => panic!("moto at {endpoint} refused the execution config: {other:?}"),
    }
}

/// The KYC state machine's definition, with its SAM substitution pointed at a function ARN.
pub fn kyc_definition(function_arn: &str) -> String {
    let path = workspace_root().join("infra/statemachine/kyc.asl.json");
    let definition = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    pivota_aws::provision::substitute_definition(
        &definition,
        &[("KycApproveFunctionArn", function_arn), ("Partition", "aws")],
    )
}

/// The ARN the KYC task invokes. moto's Docker-less Lambda answers any invoke with the request's payload
/// without looking the function up, so no function (nor the IAM role one needs) has to be created.
pub fn kyc_approve_function_arn() -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:pivota-kyc-approve")
}

pub fn state_machine_role_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:role/pivota-kyc-state-machine")
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("shared/ has a parent").to_path_buf()
}

fn start_server() -> String {
    let python =
        std::env::var_os(PYTHON_VAR).map(PathBuf::from).unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    if !python.is_file() {
        panic!(
            "no AWS emulator: set {ENDPOINT_VAR} to a running moto server, or {PYTHON_VAR} to a Python with \
             moto[server] (looked for {})",
            python.display()
        );
    }
    let server = workspace_root().join("infra/moto/serve.py");
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let log = std::env::temp_dir().join(format!("pivota-moto-{port}.log"));
    // The shell outlives nothing: it stops moto as soon as this test process is gone, since a static
    // is never dropped and test binaries end with `exit`.
    let watchdog = r#"MOTO_PORT="$1" "$5" "$2" -H 127.0.0.1 -p "$1" >"$4" 2>&1 & moto=$!
while kill -0 "$3" 2>/dev/null && kill -0 "$moto" 2>/dev/null; do sleep 1; done
kill "$moto" 2>/dev/null"#;
    let child = Command::new("sh")
        .args(["-c", watchdog, "moto-watchdog"])
        .arg(port.to_string())
        .arg(&server)
        .arg(std::process::id().to_string())
        .arg(&log)
        .arg(&python)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|err| panic!("starting {}: {err}", server.display()));
    let endpoint = format!("http://127.0.0.1:{port}");
    wait_until_ready(&endpoint, Some((child, &log)));
    endpoint
}

fn wait_until_ready(endpoint: &str, mut started: Option<(Child, &Path)>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if matches!(http(endpoint, "GET", "/moto-api/", ""), Ok((200, _))) {
            return;
        }
        if let Some((child, log)) = started.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            panic!("moto_server exited ({status}) before answering; see {}", log.display());
        }
        if Instant::now() > deadline {
            panic!("the AWS emulator at {endpoint} did not answer GET /moto-api/ within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A minimal HTTP/1.1 exchange with moto's own API (no HTTP client crate needed for two calls).
fn http(endpoint: &str, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let host = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP response"))?;
    Ok((status, response))
}
