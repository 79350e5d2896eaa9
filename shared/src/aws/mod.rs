//! AWS adapters: DynamoDB, SQS, Secrets Manager and Step Functions behind the ports.
