//! Plays the KYC state machine locally: the embedded durable timers are the Wait state, and a due timer
//! invokes the `kyc-approve` handler as the Task would, with the same retry policy as the ASL
//! (`infra/statemachine/kyc.asl.json`): transient errors retried with exponential backoff; a task that
//! fails for good routes the merchant to manual review with the reason (the ASL's `Catch`), then fails.

use std::sync::Arc;
use std::time::Duration;

use pivota::app::App;
use pivota::onboarding::kyc_task::{self, KycTaskInput, TaskError, TaskFailure};
use pivota::ports::WaitStatus;
use pivota_embedded::EmbeddedWorkflow;
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
                if workflow.retry_or_fail(&merchant_id, &reason, MAX_ATTEMPTS, BACKOFF).await? == WaitStatus::Failed {
                    route_to_manual_review(app, &merchant_id, "TransientError", &reason).await;
                }
            }
            Err(TaskError::Fatal(reason)) => {
                error!(merchant_id, reason, "kyc-approve task failed");
                route_to_manual_review(app, &merchant_id, "KycTaskError", &reason).await;
                workflow.retry_or_fail(&merchant_id, &reason, 0, BACKOFF).await?;
            }
        }
    }
    Ok(())
}

/// The ASL's `Catch`: the task again, with the failure, which moves a merchant still pending KYC to manual
/// review with the reason.
async fn route_to_manual_review(app: &App, merchant_id: &str, error: &str, cause: &str) {
    let failure = TaskFailure { error: error.to_owned(), cause: cause.to_owned() };
    let input = KycTaskInput { merchant_id: merchant_id.to_owned(), wait_seconds: 0, failure: Some(failure) };
    if let Err(e) = kyc_task::handle_event(app, input).await {
        error!(merchant_id, error = %e, "could not route the merchant to manual review after the KYC task failed");
    }
}
