//! The table: binary size and init/total latency percentiles per function, against hello-world and the target ratio.

use std::collections::BTreeMap;

use pivota_bench::quantile;

use crate::cases::Case;
use crate::measure::{Figures, ms};

const BASELINE: &str = "hello-lambda";
/// The target: each function within this factor of hello-world.
const TARGET_RATIO: f64 = 1.5;

pub(crate) fn print_table(cases: &[Case], figures: &mut BTreeMap<String, Figures>, runs: usize) -> bool {
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
