//! Cold start of each Lambda binary against a local Runtime API, next to a hello-world Lambda built
//! the same way: binary size, and the time from process start to the first invocation's answer.
//!
//! ```text
//! cargo run --release -p pivota-bench --bin cold_start -- [LAMBDA_DIR | --lambda-dir DIR]
//!     [--runs N] [--timeout-ms MS] [--trace-connects] [FUNCTION ...]
//! ```
//! `LAMBDA_DIR` holds `cargo lambda build --release` output, `<function>/bootstrap` (default
//! `target/lambda`). Each function gets an event it answers without AWS, so the figure is init, runtime
//! and handler; the answer is checked, and the run fails if a function took another path.
//!
//! `--trace-connects` runs each function once under `strace -f -e trace=connect` instead and fails if
//! anything but the Runtime API is connected to before the first invocation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use pivota_bench::connect_trace::{self, Peer};
use pivota_bench::quantile;
use pivota_bench::runtime_api::{Invocation, Moment, Outcome, RuntimeApi};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const DEFAULT_FUNCTIONS: &[&str] =
    &["register", "merchant-get", "admin-merchants", "admin-review", "openapi", "kyc-approve", "hello-lambda"];
const BASELINE: &str = "hello-lambda";
/// The issue's target: each function within this factor of hello-world.
const TARGET_RATIO: f64 = 1.5;

struct Options {
    lambda_dir: PathBuf,
    functions: Vec<String>,
    runs: usize,
    timeout: Duration,
    trace_connects: bool,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        lambda_dir: PathBuf::from("target/lambda"),
        functions: Vec::new(),
        runs: 20,
        timeout: Duration::from_secs(10),
        trace_connects: false,
    };
    let mut lambda_dir_given = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--lambda-dir" => {
                options.lambda_dir = value("--lambda-dir")?.into();
                lambda_dir_given = true;
            }
            "--runs" => {
                options.runs = value("--runs")?.parse().map_err(|e| format!("--runs: {e}"))?;
                if options.runs == 0 {
                    return Err("--runs must be at least 1".into());
                }
            }
            "--timeout-ms" => {
                let ms = value("--timeout-ms")?.parse().map_err(|e| format!("--timeout-ms: {e}"))?;
                options.timeout = Duration::from_millis(ms);
            }
            "--trace-connects" => options.trace_connects = true,
            "-h" | "--help" => {
                return Err("usage: cold_start [LAMBDA_DIR | --lambda-dir DIR] [--runs N] [--timeout-ms MS] \
                     [--trace-connects] [FUNCTION ...]"
                    .into());
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            // The first bare argument that names a directory is the lambda dir; the rest are functions.
            other if !lambda_dir_given && options.functions.is_empty() && Path::new(other).is_dir() => {
                options.lambda_dir = other.into();
                lambda_dir_given = true;
            }
            function => options.functions.push(function.to_owned()),
        }
    }
    if options.functions.is_empty() {
        options.functions = DEFAULT_FUNCTIONS.iter().map(|f| f.to_string()).collect();
    }
    Ok(options)
}

/// What a function must answer to show it took the path we meant.
#[derive(Debug, Clone, Copy)]
enum Expected {
    /// An API Gateway v2 response with this `statusCode`.
    Http(u16),
    /// An invocation error of this type.
    InvocationError(&'static str),
    /// The hello-world echo.
    Hello,
}

struct Case {
    function: String,
    bootstrap: PathBuf,
    payload: Vec<u8>,
    expected: Expected,
}

/// The API Gateway v2 event of `events/<file>`, changed by `edit` so the function refuses it before any
/// AWS call.
fn http_event(raw: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut event: Value = serde_json::from_str(raw).expect("events/*.json are valid JSON");
    edit(&mut event);
    serde_json::to_vec(&event).expect("a JSON value serializes")
}

fn without_authorization(event: &mut Value) {
    if let Some(headers) = event["headers"].as_object_mut() {
        headers.remove("authorization");
    }
}

fn case_for(function: &str, lambda_dir: &Path) -> Result<Case, String> {
    let (payload, expected) = match function {
        // Malformed JSON body: 400 from parsing, before the table or any secret is touched.
        "register" => (
            http_event(include_str!("../../../../events/register.json"), |e| e["body"] = json!("{\"business_name\": ")),
            Expected::Http(400),
        ),
        // No bearer token: 401 before the API key hasher secret or the table is read.
        "merchant-get" => (
            http_event(include_str!("../../../../events/merchant-get.json"), without_authorization),
            Expected::Http(401),
        ),
        // No bearer token: 401 before the admin token secret is read.
        "admin-merchants" => (
            http_event(include_str!("../../../../events/admin-merchants.json"), without_authorization),
            Expected::Http(401),
        ),
        "admin-review" => (
            http_event(include_str!("../../../../events/admin-review-approve.json"), without_authorization),
            Expected::Http(401),
        ),
        // Served from memory.
        "openapi" => (http_event(include_str!("../../../../events/openapi.json"), |_| ()), Expected::Http(200)),
        // The stylesheet: served before any session (or secret) is read.
        "console" => (
            http_event(include_str!("../../../../events/console.json"), |e| {
                e["rawPath"] = json!("/console/static/app.css");
                e["requestContext"]["http"]["path"] = json!("/console/static/app.css");
                e["cookies"] = json!([]);
            }),
            Expected::Http(200),
        ),
        // Not a merchant id: a fatal task error before the table is read.
        "kyc-approve" => (
            serde_json::to_vec(&json!({ "merchant_id": "not-an-id", "wait_seconds": 5 })).expect("serializes"),
            Expected::InvocationError("KycTaskError"),
        ),
        "hello-lambda" => (b"{}".to_vec(), Expected::Hello),
        other => return Err(format!("no benchmark event for the function {other}")),
    };
    let bootstrap = lambda_dir.join(function).join("bootstrap");
    if !bootstrap.is_file() {
        return Err(format!("{} is missing: run `cargo lambda build --release` first", bootstrap.display()));
    }
    Ok(Case { function: function.to_owned(), bootstrap, payload, expected })
}

/// Checks the function's answer; `Ok` describes it for the table.
fn check(expected: Expected, outcome: &Outcome) -> Result<String, String> {
    let json = |body: &[u8]| serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    let short = |body: &[u8]| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    match (expected, outcome) {
        (Expected::Http(status), Outcome::Response { body }) => match json(body)["statusCode"].as_u64() {
            Some(got) if got == u64::from(status) => Ok(format!("HTTP {got}")),
            Some(got) => Err(format!("HTTP {got}, expected {status}: {}", short(body))),
            None => Err(format!("not an API Gateway response: {}", short(body))),
        },
        (Expected::InvocationError(kind), Outcome::Error { error_type, body }) => {
            // lambda_runtime sends the type in the body; its header always says `unhandled`.
            let body_type = json(body)["errorType"].as_str().map(str::to_owned);
            match body_type.as_deref().or(error_type.as_deref()) {
                Some(got) if got == kind => Ok(format!("error {got}")),
                got => Err(format!("error {got:?}, expected {kind}: {}", short(body))),
            }
        }
        (Expected::Hello, Outcome::Response { body }) if json(body)["hello"] == "world" => Ok("hello world".into()),
        (_, Outcome::InitError { error_type, body }) => Err(format!("init error {error_type:?}: {}", short(body))),
        (_, Outcome::Response { body }) => Err(format!("unexpected response: {}", short(body))),
        (_, Outcome::Error { error_type, body }) => Err(format!("unexpected error {error_type:?}: {}", short(body))),
    }
}

/// The environment Lambda gives a `provided.al2023` function, plus Pivota's configuration. The AWS
/// endpoint is a closed port, so an AWS call would show up as an error or as latency.
fn lambda_env(case: &Case, runtime_api: &RuntimeApi) -> Vec<(&'static str, String)> {
    vec![
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
        ("TZ", ":UTC".into()),
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.address().to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", case.function.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", case.function)),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2025/11/26/[$LATEST]bench".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "AKIDBENCHMARK0000000".into()),
        ("AWS_SECRET_ACCESS_KEY", "bench-secret-access-key".into()),
        ("AWS_SESSION_TOKEN", "bench-session-token".into()),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".into()),
        ("PIVOTA_TABLE_NAME", "bench".into()),
        ("PIVOTA_KYC_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:bench".into()),
    ]
}

/// One cold start: from spawning the process to the Runtime API receiving its first answer.
struct Sample {
    /// Until the first `next`: the function's init phase.
    init: Option<Duration>,
    total: Duration,
    answer: String,
    first_next: Option<Moment>,
    runtime_api_port: u16,
}

/// How to start the bootstrap: directly, or under strace writing to a file.
enum Launch<'a> {
    Direct,
    Traced { output: &'a Path },
}

async fn cold_start(
    case: &Case,
    run: usize,
    timeout: Duration,
    log: &Path,
    launch: Launch<'_>,
) -> Result<Sample, String> {
    let invocation = Invocation {
        request_id: format!("{}-{run:04}", case.function),
        function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{}", case.function),
        payload: case.payload.clone(),
        timeout: Duration::from_secs(30),
    };
    let mut api = RuntimeApi::start(invocation).await.map_err(|e| format!("cannot start the Runtime API: {e}"))?;
    let mut command = match launch {
        Launch::Direct => Command::new(&case.bootstrap),
        Launch::Traced { output } => {
            let mut command = Command::new("strace");
            command.args(["-f", "-ttt", "-e", "trace=connect", "-o"]).arg(output).arg(&case.bootstrap);
            // Killing strace would leave the function running detached: kill its whole group instead.
            command.process_group(0);
            command
        }
    };
    let log_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let stderr = log_file.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
    command
        .env_clear()
        .envs(lambda_env(case, &api))
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(stderr)
        .kill_on_drop(true);

    let started = Moment::now();
    let mut child = command.spawn().map_err(|e| format!("cannot start {}: {e}", case.bootstrap.display()))?;
    let result = tokio::select! {
        biased;
        outcome = api.outcome() => outcome.ok_or_else(|| "the Runtime API stopped".to_owned()),
        status = child.wait() => Err(format!("exited before answering ({})", status.map_or_else(|e| e.to_string(), |s| s.to_string()))),
        () = tokio::time::sleep(timeout) => Err(format!("no answer within {timeout:?}")),
    };
    stop(&mut child, &launch).await;
    let (answered, outcome) = result.map_err(|reason| with_log_tail(reason, log))?;
    let first_next = api.first_next();
    Ok(Sample {
        init: first_next.map(|at| at.instant - started.instant),
        total: answered.instant - started.instant,
        answer: check(case.expected, &outcome)?,
        first_next,
        runtime_api_port: api.address().port(),
    })
}

async fn stop(child: &mut Child, launch: &Launch<'_>) {
    if let (Launch::Traced { .. }, Some(pid)) = (launch, child.id()) {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status().await;
    }
    let _ = child.kill().await;
}

fn with_log_tail(reason: String, log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(10)..].join("\n    ");
    if tail.is_empty() { reason } else { format!("{reason}; its output ends with:\n    {tail}") }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[derive(Default)]
struct Figures {
    init: Vec<Duration>,
    total: Vec<Duration>,
    answer: String,
    failure: Option<String>,
}

async fn benchmark(cases: &[Case], options: &Options, logs: &Path) -> BTreeMap<String, Figures> {
    let mut figures: BTreeMap<String, Figures> = BTreeMap::new();
    // Round 0 warms the page cache and is not counted. Functions take turns within each round, so noise
    // from other work on the machine spreads over all of them alike.
    for run in 0..=options.runs {
        for case in cases {
            let entry = figures.entry(case.function.clone()).or_default();
            if entry.failure.is_some() {
                continue;
            }
            let log = logs.join(format!("{}.log", case.function));
            match cold_start(case, run, options.timeout, &log, Launch::Direct).await {
                Ok(sample) if run > 0 => {
                    entry.init.extend(sample.init);
                    entry.total.push(sample.total);
                    entry.answer = sample.answer;
                }
                Ok(sample) => entry.answer = sample.answer,
                Err(reason) => entry.failure = Some(format!("run {run}: {reason}")),
            }
        }
    }
    figures
}

fn print_table(cases: &[Case], figures: &mut BTreeMap<String, Figures>, runs: usize) -> bool {
    let size = |case: &Case| std::fs::metadata(&case.bootstrap).map(|m| m.len()).unwrap_or(0);
    let baseline = cases.iter().find(|c| c.function == BASELINE);
    let baseline_size = baseline.map(size);
    let baseline_p50 = figures.get_mut(BASELINE).filter(|f| f.failure.is_none()).map(|f| {
        f.total.sort();
        quantile(&f.total, 0.5)
    });
    let ratio = |value: f64, base: Option<f64>| base.map_or("-".to_owned(), |base| format!("{:.2}x", value / base));

    println!(
        "cold start: spawn -> first invocation answered on a local Runtime API; {runs} runs each, after 1 warm-up"
    );
    println!(
        "{:<16} {:>8} {:>10} {:>6} {:>9} {:>8} {:>8} {:>8} {:>6}  response",
        "function", "MiB", "bytes", "size×", "init p50", "p50 ms", "p90 ms", "max ms", "p50×"
    );
    let mut all_ok = true;
    let mut over_target = Vec::new();
    for case in cases {
        let bytes = size(case);
        let mib = bytes as f64 / (1024.0 * 1024.0);
        let size_ratio = ratio(bytes as f64, baseline_size.map(|b| b as f64));
        let figures = figures.entry(case.function.clone()).or_default();
        if let Some(failure) = &figures.failure {
            all_ok = false;
            println!("{:<16} {mib:>8.2} {bytes:>10} {size_ratio:>6}  FAILED {failure}", case.function);
            continue;
        }
        figures.init.sort();
        figures.total.sort();
        let p50 = quantile(&figures.total, 0.5);
        let p50_ratio = ratio(ms(p50), baseline_p50.map(ms));
        if baseline_p50.is_some_and(|base| ms(p50) > TARGET_RATIO * ms(base)) {
            over_target.push(case.function.as_str());
        }
        println!(
            "{:<16} {mib:>8.2} {bytes:>10} {size_ratio:>6} {:>9.2} {:>8.2} {:>8.2} {:>8.2} {p50_ratio:>6}  {}",
            case.function,
            ms(quantile(&figures.init, 0.5)),
            ms(p50),
            ms(quantile(&figures.total, 0.9)),
            ms(quantile(&figures.total, 1.0)),
            figures.answer,
        );
    }
    if baseline_p50.is_some() {
        if over_target.is_empty() {
            println!("target: every p50 within {TARGET_RATIO}x of {BASELINE}: met");
        } else {
            println!("target: every p50 within {TARGET_RATIO}x of {BASELINE}: NOT met by {}", over_target.join(", "));
        }
    }
    all_ok
}

/// Runs each function once under strace; false if one connected to anything but the Runtime API before
/// its first `next`, or answered wrongly.
async fn trace_connects(cases: &[Case], options: &Options, logs: &Path) -> bool {
    let mut all_ok = true;
    for case in cases {
        let log = logs.join(format!("{}.log", case.function));
        let output = logs.join(format!("{}.strace", case.function));
        let sample = match cold_start(case, 0, options.timeout, &log, Launch::Traced { output: &output }).await {
            Ok(sample) => sample,
            Err(reason) => {
                all_ok = false;
                println!("{}: FAILED {reason}", case.function);
                continue;
            }
        };
        let strace_output = std::fs::read_to_string(&output).unwrap_or_default();
        let connects = connect_trace::parse(&strace_output, sample.runtime_api_port);
        let first_next = sample.first_next.map(|m| connect_trace::epoch_seconds(m.wall)).unwrap_or(f64::MAX);
        let (during_init, after): (Vec<_>, Vec<_>) = connects.iter().partition(|c| c.at < first_next);
        let network_in_init = during_init.iter().filter(|c| c.peer == Peer::Network).count();
        let count = |list: &[&connect_trace::Connect], peer| list.iter().filter(|c| c.peer == peer).count();
        println!(
            "{}: {} | before first /next: {} Runtime API, {} unix socket, {} network | until the answer: {} Runtime API, {} unix socket, {} network",
            case.function,
            sample.answer,
            count(&during_init, Peer::RuntimeApi),
            count(&during_init, Peer::UnixSocket),
            network_in_init,
            count(&after, Peer::RuntimeApi),
            count(&after, Peer::UnixSocket),
            count(&after, Peer::Network),
        );
        for connect in connects.iter().filter(|c| c.peer != Peer::RuntimeApi) {
            let phase = if connect.at < first_next { "init" } else { "invoke" };
            println!("    {phase}: {connect}");
        }
        all_ok &= network_in_init == 0;
    }
    all_ok
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let cases: Result<Vec<Case>, String> = options.functions.iter().map(|f| case_for(f, &options.lambda_dir)).collect();
    let cases = match cases {
        Ok(cases) => cases,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let logs = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("cannot create a directory for the functions' output: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ok = if options.trace_connects {
        trace_connects(&cases, &options, logs.path()).await
    } else {
        let mut figures = benchmark(&cases, &options, logs.path()).await;
        print_table(&cases, &mut figures, options.runs)
    };
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
