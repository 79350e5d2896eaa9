//! The local runner: the whole platform on 127.0.0.1 on the embedded backend.
//!
//! - Every HTTP function's handler behind the routes that `template.yaml` declares ([`gateway`]).
//! - The KYC wait as durable timers that invoke `kyc-approve` like the state machine ([`step_functions`]).
//! - The sync and payment queues consumed like Lambda's SQS event source invokes `sync-worker` and
//!   `payment-worker` ([`sqs_consumer`]).

pub mod config;
pub mod gateway;
pub mod platform_secrets;
pub mod sqs_consumer;
pub mod step_functions;

use std::net::SocketAddr;
use std::sync::Arc;

use pivota::app::App;
use pivota_embedded::{EmbeddedBackend, QueueConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::LocalConfig;
pub use platform_secrets::AdminToken;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Open(#[from] pivota_embedded::OpenError),
    #[error("platform secrets: {0}")]
    Secrets(#[from] pivota::ports::SecretsError),
    #[error("queues: {0}")]
    Queue(#[from] pivota::ports::QueueError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// The queues the platform's consumers read, with their dead-letter queues (as `template.yaml` declares
/// them on SQS).
async fn declare_queues(backend: &EmbeddedBackend, settings: &pivota::settings::Settings) -> Result<(), StartError> {
    let queue = backend.queue();
    for work in [&settings.sync_queue, &settings.payment_queue, &settings.index_queue] {
        let dead_letter = format!("{}-dlq", work.0);
        queue.declare(&dead_letter, QueueConfig { max_receive_count: 0, dead_letter: None }).await?;
        queue.declare(&work.0, QueueConfig { max_receive_count: 5, dead_letter: Some(dead_letter) }).await?;
    }
    Ok(())
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
        declare_queues(&backend, &config.settings).await?;
        let ports = backend.ports();
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
        let sync = tokio::spawn(sqs_consumer::run(
            Arc::clone(&app),
            backend.queue(),
            app.settings.sync_queue.clone(),
            sqs_consumer::sync_worker,
            signal.clone(),
        ));
        let payments = tokio::spawn(sqs_consumer::run(
            Arc::clone(&app),
            backend.queue(),
            app.settings.payment_queue.clone(),
            sqs_consumer::payment_worker,
            signal.clone(),
        ));
        // FIFO: the embedded queue hands out one message of a merchant's group at a time, as SQS does.
        let indexer = tokio::spawn(sqs_consumer::run(
            Arc::clone(&app),
            backend.queue(),
            app.settings.index_queue.clone(),
            sqs_consumer::search_indexer,
            signal.clone(),
        ));
        let timers = tokio::spawn(step_functions::run(Arc::clone(&app), backend.workflow(), signal));
        Ok(Self { local_addr, admin_token, app, shutdown, tasks: vec![server, timers, sync, payments, indexer] })
    }

    /// Stops accepting requests, lets in-flight ones finish, and stops the timers.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
