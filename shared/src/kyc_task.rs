//! The `kyc-approve` task, as the KYC state machine (or the local runner playing it) invokes it.

use lambda_runtime::Diagnostic;
use serde::Serialize;

use crate::app::App;
use crate::error::Error;
use crate::merchant::MerchantId;
use crate::onboarding::{self, KycRun};
use crate::ports::KycWaitInput;

/// The task's output, recorded in the execution history.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct KycTaskOutput {
    pub merchant_id: String,
    #[serde(flatten)]
    pub run: KycRun,
}

/// A failed task. `error_type` tells the state machine whether to retry: its Retry matches `TransientError`.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("transient: {0}")]
    Transient(String),
    #[error("{0}")]
    Fatal(String),
}

impl From<TaskError> for Diagnostic {
    fn from(error: TaskError) -> Self {
        let error_type = match error {
            TaskError::Transient(_) => "TransientError",
            TaskError::Fatal(_) => "KycTaskError",
        };
        Diagnostic { error_type: error_type.to_owned(), error_message: error.to_string() }
    }
}

impl From<Error> for TaskError {
    fn from(error: Error) -> Self {
        if error.is_transient() { TaskError::Transient(error.to_string()) } else { TaskError::Fatal(error.to_string()) }
    }
}

pub async fn handle(app: &App, input: KycWaitInput) -> Result<KycTaskOutput, TaskError> {
    let merchant_id = MerchantId::parse(&input.merchant_id)
        .ok_or_else(|| TaskError::Fatal(format!("{:?} is not a merchant id", input.merchant_id)))?;
    let run = onboarding::run_automatic_kyc(app, &merchant_id).await?;
    Ok(KycTaskOutput { merchant_id: input.merchant_id, run })
}
