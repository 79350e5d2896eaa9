//! The KYC state machine (`infra/statemachine/kyc.asl.json`): its shape, and a real run on moto showing
//! the Wait hands over to the `kyc-approve` task.

use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use pivota::ports::{KycWaitInput, WaitStatus, Workflow};
use pivota_aws::{StepFunctionsWorkflow, provision};
use serde_json::Value;
use ulid::Ulid;

use crate::fixtures::moto;

const TRANSIENT_ERRORS: &[&str] = &[
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    "TransientError",
];

fn definition() -> Value {
    serde_json::from_str(&moto::kyc_definition("arn:aws:lambda:us-east-1:123456789012:function:kyc"))
        .expect("the ASL is JSON")
}

#[test]
fn the_wait_reads_its_length_from_the_input_and_leads_to_the_task() {
    let asl = definition();
    let start = asl["StartAt"].as_str().expect("StartAt");
    let wait = &asl["States"][start];
    assert_eq!(wait["Type"], "Wait");
    assert_eq!(wait["SecondsPath"], "$.wait_seconds");
    let task = &asl["States"][wait["Next"].as_str().expect("the Wait has a Next")];
    assert_eq!(task["Type"], "Task");
    assert_eq!(task["End"], true, "a success ends the execution; a failure is caught");
}

/// A task that fails for good (retries exhausted, or a permanent error) is caught: kyc-approve runs again
/// with the failure (which moves the merchant to manual review, with the reason), and the execution then
/// fails with the task's own error, for the failed-executions alarm.
#[test]
fn a_failed_task_routes_the_merchant_to_manual_review_then_fails_the_execution() {
    let asl = definition();
    let task = &asl["States"]["ApproveKyc"];
    let catch = &task["Catch"][0];
    assert_eq!(catch["ErrorEquals"], serde_json::json!(["States.ALL"]));
    assert_eq!(catch["ResultPath"], "$.failure", "the input is kept, the failure added");
    let route = &asl["States"][catch["Next"].as_str().unwrap()];
    assert_eq!(route["Resource"], "arn:aws:states:::lambda:invoke");
    assert_eq!(route["Parameters"]["FunctionName"], task["Parameters"]["FunctionName"]);
    assert_eq!(route["Parameters"]["Payload"]["merchant_id.$"], "$.merchant_id");
    assert_eq!(route["Parameters"]["Payload"]["failure.$"], "$.failure");
    assert!(route["Retry"][0]["ErrorEquals"].as_array().unwrap().iter().any(|e| e == "TransientError"));
    let end = &asl["States"][route["Next"].as_str().unwrap()];
    assert_eq!((end["Type"].as_str(), end["ErrorPath"].as_str()), (Some("Fail"), Some("$.failure.Error")));
    // What kyc-approve receives deserialises with the failure.
    let payload = serde_json::json!({"merchant_id": "mer_1", "wait_seconds": 5, "failure": {"Error": "KycTaskError", "Cause": "boom"}});
    let input: pivota::onboarding::kyc_task::KycTaskInput = serde_json::from_value(payload).unwrap();
    assert_eq!(input.failure.map(|f| (f.error, f.cause)), Some(("KycTaskError".into(), "boom".into())));
}

#[test]
fn the_task_invokes_kyc_approve_with_the_input_and_retries_transient_errors() {
    let asl = definition();
    let task = &asl["States"]["ApproveKyc"];
    assert_eq!(task["Resource"], "arn:aws:states:::lambda:invoke");
    assert_eq!(task["Parameters"]["FunctionName"], "arn:aws:lambda:us-east-1:123456789012:function:kyc");
    assert_eq!(task["Parameters"]["Payload.$"], "$");
    assert_eq!(task["OutputPath"], "$.Payload");

    let retry = task["Retry"].as_array().expect("the task retries");
    let transient = retry
        .iter()
        .find(|retrier| {
            retrier["ErrorEquals"].as_array().is_some_and(|errors| errors.iter().any(|e| e == "TransientError"))
        })
        .expect("a retrier for transient errors");
    let errors: Vec<&str> = transient["ErrorEquals"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(errors, TRANSIENT_ERRORS);
    assert!(transient["MaxAttempts"].as_u64().unwrap() >= 3, "retries more than once or twice");
    assert!(transient["BackoffRate"].as_f64().unwrap() > 1.0, "backs off");
    assert!(!errors.contains(&"States.ALL"), "a permanent error must not be retried");
}

#[test]
fn the_sam_substitutions_are_the_only_placeholders() {
    let raw = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/statemachine/kyc.asl.json"))
        .expect("the ASL file");
    let placeholders: std::collections::BTreeSet<&str> =
        raw.match_indices("${").map(|(at, _)| &raw[at..at + raw[at..].find('}').unwrap() + 1]).collect();
    assert_eq!(placeholders, ["${KycApproveFunctionArn}", "${Partition}"].into(), "only what SAM substitutes");
    // The partition is never hard-coded (aws-cn, aws-us-gov).
    assert!(!raw.contains("arn:aws:"), "{raw}");
    assert!(!moto::kyc_definition("arn").contains("${"));
}

#[tokio::test(flavor = "multi_thread")]
async fn on_moto_the_wait_runs_then_the_task_and_the_execution_succeeds() {
    // GIVEN the KYC state machine on moto, executing for real
    moto::enable_state_machine_execution(moto::endpoint());
    let sfn = aws_sdk_sfn::Client::new(&moto::sdk_config().await);
    let name = format!("pivota-kyc-{}", Ulid::new().to_string().to_lowercase());
    let definition = moto::kyc_definition(&moto::kyc_approve_function_arn());
    let arn = provision::create_state_machine(&sfn, &name, &definition, &moto::state_machine_role_arn())
        .await
        .expect("create the state machine");
    let workflow = StepFunctionsWorkflow::new(sfn.clone(), &arn);

    // WHEN a merchant's wait of 1 s starts
    let input = KycWaitInput { merchant_id: format!("mer_{}", Ulid::new()), wait_seconds: 1 };
    let started = Instant::now();
    workflow.start_kyc_wait(&input).await.expect("start");
    assert_eq!(workflow.kyc_wait_status(&input.merchant_id).await.unwrap(), Some(WaitStatus::Waiting));

    // THEN it succeeds, no sooner than the wait, with the task's payload as output
    let execution_arn = workflow.execution_arn(&input.merchant_id).unwrap();
    let execution = loop {
        let execution = sfn.describe_execution().execution_arn(&execution_arn).send().await.expect("describe");
        if execution.status != ExecutionStatus::Running {
            break execution;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the execution is still running");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(execution.status, ExecutionStatus::Succeeded);
    assert!(started.elapsed() >= Duration::from_millis(900), "the wait took {:?}", started.elapsed());
    let output: KycWaitInput = serde_json::from_str(execution.output.as_deref().unwrap()).unwrap();
    assert_eq!(output, input, "moto's Lambda echoes its payload, and OutputPath returns just that payload");
    assert_eq!(workflow.kyc_wait_status(&input.merchant_id).await.unwrap(), Some(WaitStatus::Completed));

    // AND the history shows the Wait entered and left, then the task entered and the Lambda scheduled
    let history = sfn.get_execution_history().execution_arn(&execution_arn).send().await.expect("history");
    let types: Vec<HistoryEventType> = history.events.iter().map(|event| event.r#type.clone()).collect();
    let position = |wanted: HistoryEventType| {
        types.iter().position(|t| *t == wanted).unwrap_or_else(|| panic!("no {wanted:?} in {types:?}"))
    };
    let order = [
        position(HistoryEventType::WaitStateEntered),
        position(HistoryEventType::WaitStateExited),
        position(HistoryEventType::TaskStateEntered),
        position(HistoryEventType::TaskScheduled),
        position(HistoryEventType::TaskSucceeded),
        position(HistoryEventType::ExecutionSucceeded),
    ];
    assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "out of order: {types:?}");
    let scheduled = history.events[order[3]].task_scheduled_event_details().expect("details");
    assert_eq!((scheduled.resource_type.as_str(), scheduled.resource.as_str()), ("lambda", "invoke"));
    let parameters: Value = serde_json::from_str(&scheduled.parameters).unwrap();
    assert_eq!(parameters["FunctionName"], moto::kyc_approve_function_arn());
    assert_eq!(parameters["Payload"]["merchant_id"], input.merchant_id);
}
