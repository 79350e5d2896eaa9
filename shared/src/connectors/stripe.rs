//! Stripe: placeholder until the connector lands (being written on another branch).

use async_trait::async_trait;

use super::{Charge, ChargeRequest, ConnectorError, ConnectorSettings, PspConnector, PspCredentials, VerifiedAccount};
use crate::psp::PspKind;

pub struct StripeConnector {
    _http: reqwest::Client,
}

impl StripeConnector {
    pub fn new(http: reqwest::Client, _settings: &ConnectorSettings) -> Self {
        Self { _http: http }
    }
}

#[async_trait]
impl PspConnector for StripeConnector {
    fn kind(&self) -> PspKind {
        PspKind::Stripe
    }

    async fn verify(&self, _credentials: &PspCredentials) -> Result<VerifiedAccount, ConnectorError> {
        Err(ConnectorError::NotProcessed { reason: "not implemented yet".into(), retry_after: None })
    }

    async fn charge(&self, _credentials: &PspCredentials, _request: &ChargeRequest) -> Result<Charge, ConnectorError> {
        Err(ConnectorError::NotProcessed { reason: "not implemented yet".into(), retry_after: None })
    }
}
