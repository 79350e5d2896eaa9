//! `pivota-provision`: creates what the SAM template would (the table, the platform secrets and the KYC
//! state machine) on an AWS-compatible endpoint, for tests against an emulator such as moto. Give it fresh
//! names: an existing table or state machine is an error. Prints `KEY=VALUE` lines for the functions'
//! environment on stdout.

use std::process::ExitCode;

use pivota::kernel::secret::{SecretString, random_token};
use pivota::ports::Secrets;
use pivota_aws::SecretsManagerStore;
use pivota_aws::provision::{create_state_machine, create_table, substitute_definition};

const USAGE: &str = "usage: pivota-provision --endpoint URL --region REGION --table NAME \
--admin-token-secret NAME --admin-token VALUE --api-key-pepper-secret NAME \
--kyc-state-machine NAME --kyc-definition PATH [--kyc-function-arn ARN]";

struct Args {
    endpoint: String,
    region: String,
    table: String,
    admin_token_secret: String,
    admin_token: String,
    pepper_secret: String,
    state_machine: String,
    definition: String,
    function_arn: String,
}

fn parse_args() -> Result<Args, String> {
    let mut pairs = std::collections::HashMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let name = flag.strip_prefix("--").ok_or_else(|| format!("unexpected argument {flag:?}"))?.to_owned();
        let value = args.next().ok_or_else(|| format!("--{name} needs a value"))?;
        pairs.insert(name, value);
    }
    let mut take = |name: &str| pairs.remove(name).ok_or_else(|| format!("--{name} is required"));
    let parsed = Args {
        endpoint: take("endpoint")?,
        region: take("region")?,
        table: take("table")?,
        admin_token_secret: take("admin-token-secret")?,
        admin_token: take("admin-token")?,
        pepper_secret: take("api-key-pepper-secret")?,
        state_machine: take("kyc-state-machine")?,
        definition: take("kyc-definition")?,
        function_arn: take("kyc-function-arn")
            .unwrap_or_else(|_| "arn:aws:lambda:us-east-1:123456789012:function:pivota-kyc-approve".into()),
    };
    match pairs.keys().next() {
        Some(unknown) => Err(format!("unknown flag --{unknown}")),
        None => Ok(parsed),
    }
}

async fn provision(args: Args) -> Result<(), String> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&args.endpoint)
        .region(aws_config::Region::new(args.region.clone()))
        .load()
        .await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    create_table(&dynamodb, &args.table).await.map_err(|e| format!("table {}: {e}", args.table))?;

    let secrets = SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(&config));
    secrets
        .put(&args.admin_token_secret, &SecretString::from(args.admin_token))
        .await
        .map_err(|e| format!("secret {}: {e}", args.admin_token_secret))?;
    if secrets.get(&args.pepper_secret).await.map_err(|e| e.to_string())?.is_none() {
        secrets
            .put(&args.pepper_secret, &random_token(32))
            .await
            .map_err(|e| format!("secret {}: {e}", args.pepper_secret))?;
    }

    let definition = std::fs::read_to_string(&args.definition).map_err(|e| format!("{}: {e}", args.definition))?;
    // The partition is the function ARN's own (`arn:<partition>:lambda:…`).
    let partition = args.function_arn.split(':').nth(1).unwrap_or("aws");
    let definition =
        substitute_definition(&definition, &[("KycApproveFunctionArn", &args.function_arn), ("Partition", partition)]);
    let sfn = aws_sdk_sfn::Client::new(&config);
    let role = "arn:aws:iam::123456789012:role/pivota-kyc-state-machine";
    let state_machine_arn = create_state_machine(&sfn, &args.state_machine, &definition, role)
        .await
        .map_err(|e| format!("state machine {}: {e}", args.state_machine))?;

    println!("PIVOTA_TABLE_NAME={}", args.table);
    println!("PIVOTA_ADMIN_TOKEN_SECRET_ID={}", args.admin_token_secret);
    println!("PIVOTA_API_KEY_PEPPER_SECRET_ID={}", args.pepper_secret);
    println!("PIVOTA_KYC_STATE_MACHINE_ARN={state_machine_arn}");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match provision(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pivota-provision: {e}");
            ExitCode::FAILURE
        }
    }
}
