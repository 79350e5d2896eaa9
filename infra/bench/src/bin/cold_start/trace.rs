//! `--trace-connects`: each function once under strace, failing if it connects to anything but the Runtime API
//! before its first invocation.

use std::path::Path;

use pivota_bench::connect_trace::{self, Peer};

use crate::Options;
use crate::cases::Case;
use crate::measure::{Launch, cold_start};

/// Runs each function once under strace; false if one connected to anything but the Runtime API before
/// its first `next`, or answered wrongly.
pub(crate) async fn trace_connects(cases: &[Case], options: &Options, logs: &Path) -> bool {
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
