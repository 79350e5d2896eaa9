//! The local runner: the whole platform on 127.0.0.1 on the embedded backend.
//!
//! - Every HTTP function's handler behind the routes that `template.yaml` declares ([`gateway`]).
//! - The KYC wait as durable timers that invoke `kyc-approve` like the state machine ([`step_functions`]).

pub mod config;
pub mod gateway;
pub mod platform_secrets;
pub mod step_functions;

use std::net::SocketAddr;
use std::sync::Arc;

use pivota::app::{App, Ports};
use pivota::embedded::EmbeddedBackend;
use pivota::ports::SystemClock;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::LocalConfig;
pub use platform_secrets::AdminToken;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Open(#[from] pivota::embedded::OpenError),
    #[error("platform secrets: {0}")]
    Secrets(#[from] pivota::ports::SecretsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// A running platform.
pub struct Platform {
    pub local_addr: SocketAddr,
    pub admin_token: AdminToken,
    pub app: Arc<App>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Platform {
    /// Opens the data directory, makes sure the platform secrets exist, binds, and starts serving.
    pub async fn start(config: LocalConfig) -> Result<Self, StartError> {
        let backend = EmbeddedBackend::open(&config.data_dir)?;
        let admin_token =
            platform_secrets::ensure(backend.secrets().as_ref(), &config.settings, config.admin_token).await?;
        let ports = Ports {
            table: backend.table(),
            secrets: backend.secrets(),
            workflow: backend.workflow(),
            clock: Arc::new(SystemClock),
        };
        let app = Arc::new(App::new(ports, config.settings));
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen, source })?;

        let (shutdown, signal) = watch::channel(false);
        let router = axum::Router::new().fallback(gateway::handle).with_state(Arc::clone(&app));
        let mut server_signal = signal.clone();
        let server = tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            let graceful = async move {
                let _ = server_signal.changed().await;
            };
            if let Err(e) = axum::serve(listener, service).with_graceful_shutdown(graceful).await {
                tracing::error!(error = %e, "the HTTP server stopped");
            }
        });
        let timers = tokio::spawn(step_functions::run(Arc::clone(&app), backend.workflow(), signal));
        Ok(Self { local_addr, admin_token, app, shutdown, tasks: vec![server, timers] })
    }

    /// Stops accepting requests, lets in-flight ones finish, and stops the timers.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
