//! Plays the KYC state machine locally: the embedded durable timers are the Wait state, and a due timer
//! invokes the `kyc-approve` handler as the Task would, with the same retry policy as the ASL
//! (`infra/statemachine/kyc.asl.json`): transient errors retried with exponential backoff, then failed.

use std::sync::Arc;
use std::time::Duration;

use pivota::app::App;
use pivota::embedded::EmbeddedWorkflow;
use pivota::kyc_task::{self, TaskError};
use tokio::sync::watch;
use tracing::{error, info, warn};

const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// A claimed timer whose task has not finished by then is handed out again (the runner crashed).
const LEASE: Duration = Duration::from_secs(60);
const MAX_ATTEMPTS: u32 = 4;
const BACKOFF: Duration = Duration::from_secs(2);

/// Fires due KYC waits until `shutdown` turns true.
pub async fn run(app: Arc<App>, workflow: Arc<EmbeddedWorkflow>, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Err(e) = fire_due(&app, &workflow).await {
            error!(error = %e, "could not fire KYC waits");
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn fire_due(app: &App, workflow: &EmbeddedWorkflow) -> Result<(), pivota::ports::WorkflowError> {
    for input in workflow.claim_due(app.clock.now(), LEASE).await? {
        let merchant_id = input.merchant_id.clone();
        match kyc_task::handle(app, input).await {
            Ok(output) => {
                info!(merchant_id, outcome = ?output.run, "kyc-approve task succeeded");
                workflow.complete(&merchant_id).await?;
            }
            Err(TaskError::Transient(reason)) => {
                warn!(merchant_id, reason, "kyc-approve task failed transiently; retrying with backoff");
                workflow.retry_or_fail(&merchant_id, &reason, MAX_ATTEMPTS, BACKOFF).await?;
            }
            Err(TaskError::Fatal(reason)) => {
                error!(merchant_id, reason, "kyc-approve task failed");
                workflow.retry_or_fail(&merchant_id, &reason, 0, BACKOFF).await?;
            }
        }
    }
    Ok(())
}
