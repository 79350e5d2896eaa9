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
//!
//! This file holds the options and the run; [`cases`] what each function is sent and must answer,
//! [`measure`] one cold start and the rounds of them, [`report`] the table, [`trace`] the `--trace-connects` check.

mod cases;
mod measure;
mod report;
mod trace;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cases::{Case, case_for};
use measure::benchmark;
use report::print_table;
use trace::trace_connects;

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
        // Every function built into the directory (`<function>/bootstrap`), the baseline last.
        let entries = std::fs::read_dir(&options.lambda_dir)
            .map_err(|e| format!("cannot read {}: {e}", options.lambda_dir.display()))?;
        let mut functions: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.path().join("bootstrap").is_file())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name != "hello-lambda")
            .collect();
        functions.sort();
        functions.push("hello-lambda".into());
        options.functions = functions;
    }
    Ok(options)
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
