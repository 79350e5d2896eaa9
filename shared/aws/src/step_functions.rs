//! [`StepFunctionsWorkflow`]: the [`Workflow`] port on the KYC state machine
//! (`infra/statemachine/kyc.asl.json`). One execution per merchant, named after the merchant id, so
//! Step Functions' unique execution names make starting idempotent.
//!
//! Execution names may not contain whitespace, `<>{}[]?*"#%\^|~`$&,;:/` or control characters and are
//! at most 80 characters. A merchant id holding such characters is escaped quoted-printable style
//! (`#` → `=23`, `=` → `=3D`), which leaves ordinary ids unchanged and keeps distinct ids distinct.

use async_trait::async_trait;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::types::ExecutionStatus;

use super::sdk_error::{OperationError, code, describe, is_transient};
use pivota::ports::{KycWaitInput, WaitStatus, Workflow, WorkflowError};

#[derive(Clone, Debug)]
pub struct StepFunctionsWorkflow {
    client: Client,
    state_machine_arn: String,
}

impl StepFunctionsWorkflow {
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> Self {
        Self { client: super::call_log::step_functions(client), state_machine_arn: state_machine_arn.into() }
    }

    /// `arn:…:stateMachine:<machine>` → `arn:…:execution:<machine>:<execution name>`.
    pub fn execution_arn(&self, merchant_id: &str) -> Result<String, WorkflowError> {
        let machine = self.state_machine_arn.replacen(":stateMachine:", ":execution:", 1);
        Ok(format!("{machine}:{}", execution_name(merchant_id)?))
    }
}

#[async_trait]
impl Workflow for StepFunctionsWorkflow {
    async fn start_kyc_wait(&self, input: &KycWaitInput) -> Result<(), WorkflowError> {
        let input_json = serde_json::to_string(input)
            .map_err(|err| WorkflowError::Other(format!("encoding the KYC wait input: {err}")))?;
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(execution_name(&input.merchant_id)?)
            .input(input_json)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The merchant's wait was started before (running or finished): nothing to do.
            Err(err) if code(&err) == Some("ExecutionAlreadyExists") => Ok(()),
            Err(err) => Err(workflow_error("StartExecution", &err)),
        }
    }

    async fn kyc_wait_status(&self, merchant_id: &str) -> Result<Option<WaitStatus>, WorkflowError> {
        let result = self.client.describe_execution().execution_arn(self.execution_arn(merchant_id)?).send().await;
        let output = match result {
            Ok(output) => output,
            Err(err) if code(&err) == Some("ExecutionDoesNotExist") => return Ok(None),
            Err(err) => return Err(workflow_error("DescribeExecution", &err)),
        };
        Ok(Some(match output.status {
            // A redrive restarts the failed task, so the merchant is waiting again.
            ExecutionStatus::Running | ExecutionStatus::PendingRedrive => WaitStatus::Waiting,
            ExecutionStatus::Succeeded => WaitStatus::Completed,
            ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted => WaitStatus::Failed,
            other => {
                return Err(WorkflowError::Other(format!("unknown execution status {other:?}")));
            }
        }))
    }
}

/// The merchant's execution name: the id itself, with characters Step Functions refuses escaped.
pub fn execution_name(merchant_id: &str) -> Result<String, WorkflowError> {
    const REFUSED: &str = " <>{}[]?*\"#%\\^|~`$&,;:/=";
    let mut name = String::with_capacity(merchant_id.len());
    for c in merchant_id.chars() {
        if REFUSED.contains(c) || c.is_control() || c.is_whitespace() {
            let mut utf8 = [0; 4];
            for byte in c.encode_utf8(&mut utf8).bytes() {
                name.push_str(&format!("={byte:02X}"));
            }
        } else {
            name.push(c);
        }
    }
    if name.is_empty() || name.chars().count() > 80 {
        return Err(WorkflowError::Other(format!(
            "merchant id {merchant_id:?} does not fit a Step Functions execution name (1 to 80 characters)"
        )));
    }
    Ok(name)
}

fn workflow_error<E: OperationError>(
    operation: &str,
    err: &aws_sdk_sfn::error::SdkError<E, aws_sdk_sfn::config::http::HttpResponse>,
) -> WorkflowError {
    if is_transient(err) {
        WorkflowError::Transient(describe(operation, err))
    } else {
        WorkflowError::Other(describe(operation, err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_merchant_ids_are_their_own_execution_names() {
        assert_eq!(execution_name("mer_01HZX3K9").unwrap(), "mer_01HZX3K9");
    }

    #[test]
    fn refused_characters_are_escaped_injectively() {
        assert_eq!(execution_name("mer#1").unwrap(), "mer=231");
        assert_eq!(execution_name("mer=231").unwrap(), "mer=3D231");
        assert!(execution_name(&"m".repeat(81)).is_err());
    }
}
