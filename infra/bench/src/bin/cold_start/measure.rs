//! One cold start (spawn to first answer, optionally under strace) and the rounds of them the table reports.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use pivota_bench::runtime_api::{Invocation, Moment, RuntimeApi};
use tokio::process::{Child, Command};

use crate::Options;
use crate::cases::{Case, check, lambda_env};

/// One cold start: from spawning the process to the Runtime API receiving its first answer.
pub(crate) struct Sample {
    /// Until the first `next`: the function's init phase.
    pub(crate) init: Option<Duration>,
    pub(crate) total: Duration,
    pub(crate) answer: String,
    pub(crate) first_next: Option<Moment>,
    pub(crate) runtime_api_port: u16,
}

/// How to start the bootstrap: directly, or under strace writing to a file.
pub(crate) enum Launch<'a> {
    Direct,
    Traced { output: &'a Path },
}

pub(crate) async fn cold_start(
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

pub(crate) async fn stop(child: &mut Child, launch: &Launch<'_>) {
    if let (Launch::Traced { .. }, Some(pid)) = (launch, child.id()) {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status().await;
    }
    let _ = child.kill().await;
}

pub(crate) fn with_log_tail(reason: String, log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(10)..].join("\n    ");
    if tail.is_empty() { reason } else { format!("{reason}; its output ends with:\n    {tail}") }
}

pub(crate) fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[derive(Default)]
pub(crate) struct Figures {
    pub(crate) init: Vec<Duration>,
    pub(crate) total: Vec<Duration>,
    pub(crate) answer: String,
    pub(crate) failure: Option<String>,
}

pub(crate) async fn benchmark(cases: &[Case], options: &Options, logs: &Path) -> BTreeMap<String, Figures> {
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
