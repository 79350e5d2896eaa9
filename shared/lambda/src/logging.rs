//! The functions' log subscriber: what `lambda_runtime::tracing::init_default_subscriber` sets up
//! (lambda_runtime 1.5, for Lambda's advanced logging controls), filtered with `tracing-subscriber`'s
//! `Targets` instead of its `EnvFilter`.
//!
//! - The level is `AWS_LAMBDA_LOG_LEVEL` (the function's `ApplicationLogLevel`), else `RUST_LOG` when it
//!   is a bare level, else INFO.
//! - `RUST_LOG`, when it has valid directives (`info`, `aws_config=warn`, `pivota`), replaces that level,
//!   as `EnvFilter` does: `aws_config=warn` alone turns every other target off. A directive that does
//!   not parse is ignored with a message on stderr.
//! - `AWS_LAMBDA_LOG_FORMAT=JSON` (the function's `LogFormat: JSON`) makes each line a JSON object;
//!   otherwise lines are plain text. No timestamps (Lambda adds them), no targets.
//! - `log` records, from the crates that log with `log` rather than `tracing` (rustls, reqwest, tantivy),
//!   reach the subscriber at WARN and above, as events of their own target: a tantivy merge that failed
//!   is seen. Below WARN they stay off: tantivy reports every commit and merge at INFO.
//! - Release builds compile DEBUG and TRACE events out (`release_max_level_info`, see this crate's
//!   `Cargo.toml`). Asked for one of those levels, the function says so on stderr when it starts, so an
//!   operator who turns on DEBUG learns why nothing more appears.
//!
//! The difference: `EnvFilter`'s span and field directives (`[request{id=7}]=debug`) are not supported
//! and are ignored as invalid. `EnvFilter` compiles directives as regular expressions, and linking it put
//! a regex engine with its Unicode tables into every function, which each cold start paid for in
//! relocations (README, "Lambda binary size and cold start"); target and level directives, all a
//! deployed function is given, need none.

use std::str::FromStr;

// tracing-subscriber as lambda_runtime configures it: without its default features, so no ANSI colours
// and no `log` bridge of its own (tracing-log at every level; `bridge_log_records` installs one at WARN).
// The workspace's own dependency has both, for the local runner; taking it here added them to every
// function.
use lambda_runtime::tracing::subscriber as tracing_subscriber;
use tracing::level_filters::STATIC_MAX_LEVEL;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;

/// Installs the global subscriber from the environment (see the module doc).
pub fn init() {
    let var = |name| std::env::var(name).ok();
    let filter = filter(var("AWS_LAMBDA_LOG_LEVEL").as_deref(), var("RUST_LOG").as_deref());
    if let Some(asked) = compiled_out(&filter, STATIC_MAX_LEVEL) {
        let (asked, built) = (asked.to_string().to_uppercase(), STATIC_MAX_LEVEL.to_string().to_uppercase());
        eprintln!(
            "{asked} events are compiled out of this release build, which logs {built} and above; deploy a debug build to see them"
        );
    }
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|format| format.eq_ignore_ascii_case("json"));
    let layer = tracing_subscriber::fmt::layer().with_target(false).without_time();
    let registry = tracing_subscriber::registry().with(filter);
    // `set_global_default`, not `init`: with tracing-subscriber's `tracing-log` feature (which other crates
    // in a workspace build turn on), `init` would also install a `log` bridge of its own, at every level.
    let installed = if json {
        tracing::subscriber::set_global_default(registry.with(layer.json()))
    } else {
        tracing::subscriber::set_global_default(registry.with(layer))
    };
    installed.expect("the functions' subscriber is the first one installed");
    bridge_log_records().expect("no `log` logger is installed before the functions' own");
}

/// Passes `log` records at WARN and above on to the current subscriber.
fn bridge_log_records() -> Result<(), log::SetLoggerError> {
    tracing_log::LogTracer::builder().with_max_level(log::LevelFilter::Warn).init()
}

/// The filter `AWS_LAMBDA_LOG_LEVEL` and `RUST_LOG` ask for.
fn filter(aws_lambda_log_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    let mut directives: Option<Targets> = None;
    for directive in rust_log.unwrap_or_default().split(',').filter(|directive| !directive.is_empty()) {
        match Targets::from_str(directive) {
            Ok(parsed) => {
                let mut targets = directives.take().unwrap_or_default();
                if let Some(level) = parsed.default_level() {
                    targets = targets.with_default(level);
                }
                directives = Some(targets.with_targets(parsed));
            }
            Err(error) => eprintln!("ignoring `{directive}`: {error}"),
        }
    }
    directives.unwrap_or_else(|| {
        let level = aws_lambda_log_level.or(rust_log).and_then(|level| LevelFilter::from_str(level).ok());
        Targets::new().with_default(level.unwrap_or(LevelFilter::INFO))
    })
}

/// The most verbose level `filter` asks for, when this build compiles it out (`built` is the most verbose
/// level compiled in).
fn compiled_out(filter: &Targets, built: LevelFilter) -> Option<LevelFilter> {
    let asked = filter.iter().map(|(_, level)| level).chain(filter.default_level()).max()?;
    (asked > built).then_some(asked)
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing::Level;

    use super::*;

    #[track_caller]
    fn enables(filter: &Targets, target: &str, level: Level) -> bool {
        filter.would_enable(target, &level)
    }

    #[test]
    fn info_unless_lambda_or_rust_log_names_a_level() {
        let filter = filter(None, None);
        assert!(enables(&filter, "pivota", Level::INFO));
        assert!(!enables(&filter, "pivota", Level::DEBUG));

        let filter = super::filter(Some("DEBUG"), None);
        assert!(enables(&filter, "aws_smithy_runtime", Level::DEBUG));
        assert!(!enables(&filter, "aws_smithy_runtime", Level::TRACE));

        let filter = super::filter(None, Some("warn"));
        assert!(enables(&filter, "pivota", Level::WARN));
        assert!(!enables(&filter, "pivota", Level::INFO));

        // Lambda's FATAL is no tracing level: INFO, as lambda_runtime does.
        let filter = super::filter(Some("FATAL"), None);
        assert!(enables(&filter, "pivota", Level::INFO));
        assert!(!enables(&filter, "pivota", Level::DEBUG));
    }

    #[test]
    fn rust_log_directives_replace_the_level() {
        let filter = filter(Some("ERROR"), Some("info,aws_config=warn"));
        assert!(enables(&filter, "pivota::payments", Level::INFO));
        assert!(!enables(&filter, "aws_config::imds", Level::INFO));
        assert!(enables(&filter, "aws_config::imds", Level::WARN));

        // Only a target: everything else is off.
        let filter = super::filter(None, Some("aws_config=warn"));
        assert!(!enables(&filter, "pivota", Level::ERROR));
        assert!(enables(&filter, "aws_config", Level::WARN));

        // A bare target is every level of it.
        let filter = super::filter(None, Some("pivota,warn"));
        assert!(enables(&filter, "pivota", Level::TRACE));
        assert!(!enables(&filter, "hyper", Level::INFO));
    }

    #[test]
    fn directives_that_do_not_parse_are_ignored() {
        // A span directive: the level falls back to AWS_LAMBDA_LOG_LEVEL.
        let filter = filter(Some("WARN"), Some("[request{id=7}]=debug"));
        assert!(enables(&filter, "pivota", Level::WARN));
        assert!(!enables(&filter, "pivota", Level::INFO));

        // The valid ones stay.
        let filter = super::filter(None, Some("[request]=debug,pivota=debug"));
        assert!(enables(&filter, "pivota", Level::DEBUG));
        assert!(!enables(&filter, "hyper", Level::ERROR));
    }

    #[test]
    fn a_level_compiled_out_of_the_build_is_named() {
        let release = LevelFilter::INFO;
        assert_eq!(compiled_out(&filter(Some("DEBUG"), None), release), Some(LevelFilter::DEBUG));
        assert_eq!(
            compiled_out(&filter(None, Some("warn,aws_smithy_runtime=trace")), release),
            Some(LevelFilter::TRACE)
        );
        assert_eq!(compiled_out(&filter(Some("INFO"), None), release), None);
        assert_eq!(compiled_out(&filter(None, Some("error,pivota=info")), release), None);
        // A debug build compiles every level in.
        assert_eq!(compiled_out(&filter(Some("TRACE"), None), LevelFilter::TRACE), None);
    }

    /// What a subscriber writes, kept for the test to read.
    #[derive(Clone, Default)]
    struct Written(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Written {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn log_records_reach_the_subscriber_from_warn_up() {
        // The only test that installs the process's `log` logger.
        bridge_log_records().unwrap();
        let written = Written::default();
        let writer = written.clone();
        // A subscriber that writes INFO and above: what it leaves out of `log` records is the bridge's doing.
        let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).finish();
        tracing::subscriber::with_default(subscriber, || {
            log::error!(target: "tantivy::indexer::index_writer", "Some merging thread failed");
            log::warn!(target: "tantivy::directory::managed_directory", "Failed to delete meta.json");
            log::info!(target: "tantivy::indexer::segment_updater", "Starting merge");
            tracing::info!("a tracing event at INFO");
        });
        let text = String::from_utf8(written.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("Some merging thread failed"), "{text}");
        assert!(text.contains("Failed to delete meta.json"), "{text}");
        assert!(text.contains("a tracing event at INFO"), "{text}");
        assert!(!text.contains("Starting merge"), "{text}");
    }
}
