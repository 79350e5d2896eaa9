//! `cargo run -p pivota-local`: the whole platform on 127.0.0.1 (see the README for its configuration).

use pivota::kernel::secret::ExposeSecret;
use pivota_local::{AdminToken, LocalConfig, Platform};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let json_logs = std::env::var("PIVOTA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,aws_config=warn".into()),
        )
        .with_target(false)
        .with_writer(std::io::stderr);
    if json_logs {
        subscriber.json().init()
    } else {
        subscriber.init()
    }

    let config = LocalConfig::from_env()?;
    let data_dir = config.data_dir.clone();
    let platform = Platform::start(config).await?;
    println!("Pivota listening on http://{}", platform.local_addr);
    println!("console: http://{}/console", platform.local_addr);
    println!("data directory: {}", data_dir.display());
    match &platform.admin_token {
        AdminToken::FromEnvironment => println!("admin token: from PIVOTA_ADMIN_TOKEN"),
        AdminToken::Stored(token) => println!("admin token: {}", token.expose_secret()),
    }

    shutdown_signal().await;
    tracing::info!("shutting down");
    platform.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
