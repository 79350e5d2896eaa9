//! The conformance suite against the AWS adapters, on moto (see `moto.rs`).
//!
//! Each fixture owns a table, queues, a secret-name prefix and a KYC state machine, all named after one
//! ULID, so cases run in parallel on one server.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use pivota::ports::{KycWaitInput, Queue, QueueRef, Secrets, Table, Workflow};
use pivota_aws::{DynamoTable, SecretsManagerStore, SqsQueue, StepFunctionsWorkflow, provision};
use ulid::Ulid;

use crate::fixture::Fixture;
use crate::moto;

pub struct MotoFixture {
    run: String,
    table_name: String,
    state_machine_arn: String,
    clients: Clients,
    adapters: Adapters,
    queues_created: AtomicU32,
    /// Per execution ARN, how many `kyc-approve` invocations `fire_due_waits` has reported already.
    reported: Mutex<HashMap<String, usize>>,
}

struct Clients {
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    secrets_manager: aws_sdk_secretsmanager::Client,
    sfn: aws_sdk_sfn::Client,
}

impl Clients {
    async fn new() -> Self {
        let config = moto::sdk_config().await;
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            secrets_manager: aws_sdk_secretsmanager::Client::new(&config),
            sfn: aws_sdk_sfn::Client::new(&config),
        }
    }
}

struct Adapters {
    table: Arc<DynamoTable>,
    queue: Arc<SqsQueue>,
    secrets: Arc<SecretsManagerStore>,
    workflow: Arc<StepFunctionsWorkflow>,
}

impl Adapters {
    fn new(clients: &Clients, run: &str, table_name: &str, state_machine_arn: &str) -> Self {
        Self {
            table: Arc::new(DynamoTable::new(clients.dynamodb.clone(), table_name)),
            queue: Arc::new(SqsQueue::new(clients.sqs.clone())),
            secrets: Arc::new(
                SecretsManagerStore::new(clients.secrets_manager.clone()).with_name_prefix(format!("{run}/")),
            ),
            workflow: Arc::new(StepFunctionsWorkflow::new(clients.sfn.clone(), state_machine_arn)),
        }
    }
}

#[async_trait]
impl Fixture for MotoFixture {
    async fn new() -> Self {
        moto::enable_state_machine_execution(moto::endpoint());
        let run = format!("pivota-test-{}", Ulid::new().to_string().to_lowercase());
        let clients = Clients::new().await;
        let table_name = run.clone();
        provision::create_table(&clients.dynamodb, &table_name).await.expect("create the table");
        let definition = moto::kyc_definition(&moto::kyc_approve_function_arn());
        let state_machine_arn =
            provision::create_state_machine(&clients.sfn, &run, &definition, &moto::state_machine_role_arn())
                .await
                .expect("create the KYC state machine");
        let adapters = Adapters::new(&clients, &run, &table_name, &state_machine_arn);
        Self {
            run,
            table_name,
            state_machine_arn,
            clients,
            adapters,
            queues_created: AtomicU32::new(0),
            reported: Mutex::new(HashMap::new()),
        }
    }

    fn table(&self) -> Arc<dyn Table> {
        self.adapters.table.clone()
    }

    fn queue(&self) -> Arc<dyn Queue> {
        self.adapters.queue.clone()
    }

    async fn queue_with_dlq(&self, max_receive_count: u32) -> (QueueRef, QueueRef) {
        let n = self.queues_created.fetch_add(1, Ordering::Relaxed);
        provision::create_queue_with_dlq(&self.clients.sqs, &format!("{}-{n}", self.run), max_receive_count)
            .await
            .expect("create the queues")
    }

    fn secrets(&self) -> Arc<dyn Secrets> {
        self.adapters.secrets.clone()
    }

    fn workflow(&self) -> Arc<dyn Workflow> {
        self.adapters.workflow.clone()
    }

    async fn restart(&mut self) {
        self.clients = Clients::new().await;
        self.adapters = Adapters::new(&self.clients, &self.run, &self.table_name, &self.state_machine_arn);
    }

    /// moto runs the executions on its own clock; this waits (within `budget`) for every execution whose
    /// wait is due by then to leave RUNNING, then reports the `kyc-approve` invocations in their histories
    /// that no earlier call reported.
    async fn fire_due_waits(&self, budget: Duration) -> Vec<String> {
        moto::enable_state_machine_execution(moto::endpoint());
        let deadline = Instant::now() + budget;
        while Instant::now() < deadline && self.any_running_due_by(SystemTime::now() + budget).await {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut fired = Vec::new();
        for execution_arn in self.execution_arns().await {
            let (merchant_id, invocations) = self.invocations(&execution_arn).await;
            let mut reported = self.reported.lock().expect("reported lock");
            let before = reported.insert(execution_arn, invocations).unwrap_or(0);
            fired.extend(std::iter::repeat_n(merchant_id, invocations.saturating_sub(before)));
        }
        fired
    }
}

impl MotoFixture {
    async fn execution_arns(&self) -> Vec<String> {
        let pages = self
            .clients
            .sfn
            .list_executions()
            .state_machine_arn(&self.state_machine_arn)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("ListExecutions");
        pages.into_iter().flat_map(|page| page.executions).map(|e| e.execution_arn).collect()
    }

    /// Whether an execution is still running although its wait ends before `by`.
    async fn any_running_due_by(&self, by: SystemTime) -> bool {
        for execution_arn in self.execution_arns().await {
            let execution =
                self.clients.sfn.describe_execution().execution_arn(&execution_arn).send().await.expect("Describe");
            if execution.status != ExecutionStatus::Running {
                continue;
            }
            let input: KycWaitInput =
                serde_json::from_str(execution.input.as_deref().unwrap_or("{}")).expect("a KYC wait input");
            let started = SystemTime::try_from(execution.start_date).expect("a start date");
            if started + Duration::from_secs(input.wait_seconds) <= by {
                return true;
            }
        }
        false
    }

    /// The execution's merchant and how many times its history shows `kyc-approve` being invoked.
    async fn invocations(&self, execution_arn: &str) -> (String, usize) {
        let pages = self
            .clients
            .sfn
            .get_execution_history()
            .execution_arn(execution_arn)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("GetExecutionHistory");
        let events: Vec<_> = pages.into_iter().flat_map(|page| page.events).collect();
        let input = events
            .iter()
            .find_map(|event| event.execution_started_event_details()?.input.clone())
            .expect("an ExecutionStarted event with input");
        let input: KycWaitInput = serde_json::from_str(&input).expect("a KYC wait input");
        let invoked = events
            .iter()
            .filter(|event| {
                matches!(event.r#type, HistoryEventType::TaskScheduled | HistoryEventType::LambdaFunctionScheduled)
            })
            .count();
        (input.merchant_id, invoked)
    }
}

conformance_cases!(MotoFixture);
