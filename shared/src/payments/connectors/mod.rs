//! PSP connectors: one module per PSP, and the wire format lives there and only there.
//!
//! Every connector answers the same two questions: are these credentials good ([`PspConnector::verify`]),
//! and charge this amount ([`PspConnector::charge`]). Their failures are classified by what they mean for
//! money, which is what routing and idempotency need to know:
//! - [`ConnectorError::NotProcessed`]: the PSP certainly did not act (nothing was sent, or a 429). Safe
//!   to try another PSP.
//! - [`ConnectorError::Ambiguous`]: the PSP may have charged (a timeout after sending, a 5xx). Only a
//!   retry at the same PSP with the same idempotency key may follow, which the PSP answers with the
//!   original result.

pub mod adyen;
pub mod metadata;
pub mod minor_units;
pub mod sandbox;
pub mod stripe;
/// Shared with the store platforms: capped body reads and `Retry-After`.
pub(crate) mod transport;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

pub use self::minor_units::{AmountRefusal, psp_amount};
use crate::kernel::money::Money;
use crate::payments::psp::{PspKind, PspMode};

/// A connection's credentials, as kept in the secret store (one JSON secret per connection).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PspCredentials {
    #[serde(with = "crate::kernel::secret::serde_secret")]
    pub api_key: SecretString,
    /// Adyen: the merchant account charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_account: Option<String>,
    /// Adyen: `test` or `live` (chooses the endpoints). Others: derived from the key.
    pub mode: PspMode,
    /// Adyen live: the prefix of the merchant's live endpoints (`{prefix}-checkout-live.adyenpayments.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_url_prefix: Option<String>,
}

/// What a successful verification learned about the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAccount {
    /// Test or live, as the PSP sees the credentials.
    pub mode: PspMode,
}

/// One charge.
#[derive(Clone, Debug)]
pub struct ChargeRequest {
    pub amount: Money,
    /// A PSP payment method reference (Stripe `pm_…`, an Adyen stored payment method id, a sandbox test
    /// card number). `None` uses the connector's test default where one exists (test mode only).
    pub payment_method: Option<String>,
    /// The PSP's customer the payment method is stored under: Stripe's `customer` (`cus_…`; a PaymentMethod
    /// attached to a Customer is refused without it), Adyen's `shopperReference` (a token works only under
    /// the reference it was stored with).
    pub customer: Option<String>,
    /// No shopper is present to authenticate (order payments from the queue): Stripe `off_session=true`,
    /// Adyen `shopperInteraction: ContAuth`. A card that needs authentication then comes back as
    /// [`ChargeOutcome::RequiresAction`] rather than a challenge nobody can answer.
    pub off_session: bool,
    /// The merchant's order id, sent to the PSP as metadata / reference.
    pub order_id: String,
    /// Pivota's payment id, sent as metadata / merchant reference.
    pub payment_id: String,
    /// Sent as the PSP's `Idempotency-Key`: a retry with the same key never charges twice.
    pub idempotency_key: String,
    pub metadata: BTreeMap<String, String>,
    /// Where a shopper would come back after a redirection: Adyen's `PaymentRequest` requires
    /// `returnUrl`. Pivota charges stored payment methods with no shopper present, so none happens.
    pub return_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ChargeOutcome {
    Succeeded {
        psp_reference: String,
    },
    Declined {
        psp_reference: Option<String>,
        decline_code: String,
        message: String,
    },
    /// Not charged: the shopper must act first (authenticate the card with 3-D Secure, or follow a
    /// redirect). Nothing moved; the merchant brings the shopper back with [`NextAction`].
    RequiresAction {
        psp_reference: Option<String>,
        next_action: NextAction,
    },
}

/// What must happen before a payment that requires action can complete, as the PSP said it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NextAction {
    /// The PSP's own name for the step: Stripe's `next_action.type` (`use_stripe_sdk`, `redirect_to_url`)
    /// or `authentication_required` (an off-session charge the issuer wants authenticated); Adyen's
    /// `action.type` (`threeDS2`, `redirect`) or its `resultCode`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where to send the shopper, when the PSP gave an address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// What the merchant does next, in words.
    pub description: String,
}

/// A completed call to the PSP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    pub outcome: ChargeOutcome,
    /// The PSP's own request id, for support (Stripe's `Request-Id` header; Adyen's `pspReference`).
    pub psp_request_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The PSP refused the credentials. `reason` is the PSP's, with any key material removed.
    #[error("the PSP refused the credentials: {reason}")]
    Rejected { reason: String },
    /// Adyen: the API key is fine but may not use this merchant account.
    #[error("invalid merchant account: {reason}")]
    InvalidMerchantAccount { reason: String },
    /// The PSP certainly did not act on the request. Another PSP may be tried.
    #[error("the PSP did not process the request: {reason}")]
    NotProcessed { reason: String, retry_after: Option<Duration> },
    /// The PSP may have acted. Retry only at the same PSP with the same idempotency key.
    #[error("the PSP's answer is unknown: {reason}")]
    Ambiguous { reason: String },
    /// The PSP refused the request itself (not the card): a bug or a bad payment method. Not retryable.
    #[error("the PSP refused the request: {reason}")]
    InvalidRequest { reason: String },
}

#[async_trait]
pub trait PspConnector: Send + Sync {
    fn kind(&self) -> PspKind;
    /// Checks the credentials live with the PSP, without moving money.
    async fn verify(&self, credentials: &PspCredentials) -> Result<VerifiedAccount, ConnectorError>;
    async fn charge(&self, credentials: &PspCredentials, request: &ChargeRequest) -> Result<Charge, ConnectorError>;
}

/// Where each PSP is reached. Every base URL is configurable so tests can point at local fakes.
#[derive(Clone, Debug)]
pub struct ConnectorSettings {
    /// `PIVOTA_STRIPE_API_BASE` (default `https://api.stripe.com`).
    pub stripe_api_base: String,
    /// `PIVOTA_ADYEN_CHECKOUT_BASE`: overrides the Checkout API base derived from the environment
    /// (`https://checkout-test.adyen.com` or `https://{prefix}-checkout-live.adyenpayments.com/checkout`).
    pub adyen_checkout_base: Option<String>,
    /// Total time one PSP call may take before it counts as ambiguous.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// How long `/payment/execute` may take in all, whatever the PSPs do: 25 s, inside API Gateway's 30 s.
    pub payment_budget: Duration,
}

impl ConnectorSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            stripe_api_base: lookup("PIVOTA_STRIPE_API_BASE").unwrap_or_else(|| "https://api.stripe.com".into()),
            adyen_checkout_base: lookup("PIVOTA_ADYEN_CHECKOUT_BASE"),
            request_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(3),
            payment_budget: Duration::from_secs(25),
        }
    }
}

impl Default for ConnectorSettings {
    fn default() -> Self {
        Self::from_lookup(|_| None)
    }
}

/// Every connector, built once per process (they share one HTTP client and its connection pool).
pub struct Connectors {
    stripe: stripe::StripeConnector,
    adyen: adyen::AdyenConnector,
    sandbox: sandbox::SandboxConnector,
}

impl Connectors {
    pub fn new(settings: &ConnectorSettings) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!("pivota/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client's TLS backend initialises");
        Self {
            stripe: stripe::StripeConnector::new(http.clone(), settings),
            adyen: adyen::AdyenConnector::new(http, settings),
            sandbox: sandbox::SandboxConnector::default(),
        }
    }

    pub fn get(&self, psp: PspKind) -> &dyn PspConnector {
        match psp {
            PspKind::Stripe => &self.stripe,
            PspKind::Adyen => &self.adyen,
            PspKind::Sandbox => &self.sandbox,
        }
    }
}

/// The PSP connectors (one HTTP connection pool for all) and how long a charge may take.
pub trait HasConnectors {
    fn connectors(&self) -> &Connectors;
    /// A charge's time budget: past it, a charge is left for the worker's retry or a replay.
    fn payment_budget(&self) -> Duration;
}
