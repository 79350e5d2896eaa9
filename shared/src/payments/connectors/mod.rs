//! PSP connectors: one module per PSP, and the wire format lives there and only there.
//!
//! Each PSP's module declares what Pivota must know about the PSP in a [`PspProfile`] (its name for people,
//! its currencies and metadata limits, how a connect request becomes credentials, its connector) and is
//! registered with one line in `payments/psp.rs`. Nothing outside the module names the PSP.
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

pub use self::metadata::MetadataLimits;
pub use self::minor_units::{AmountRefusal, PspCurrency, psp_amount};
use crate::kernel::connect_form::ConnectForm;
use crate::kernel::money::{Currency, Money};
use crate::kernel::validation::FieldErrors;
use crate::onboarding::api_key::ApiKeyMode;

/// What one PSP's module declares about it. Everything outside the module asks this, never the PSP's name:
/// each module has one implementation (a unit struct), registered with one line in `payments/psp.rs`.
pub trait PspProfile: Sync {
    /// Its name for people, in messages: `Stripe`.
    fn display_name(&self) -> &'static str;
    /// The setting that points it at another API base (tests: a local fake), like `PIVOTA_STRIPE_API_BASE`.
    fn api_base_setting(&self) -> Option<&'static str>;
    /// Its connector, on the process's one HTTP client; `api_base` is the setting's value, when set.
    fn connector(&self, http: reqwest::Client, api_base: Option<&str>) -> Box<dyn PspConnector>;
    /// How it writes amounts in `currency`; `None` when it does not take the currency.
    fn currency(&self, currency: Currency) -> Option<PspCurrency>;
    /// Its limits on a payment's metadata; `None`: it has none Pivota can reach.
    fn metadata_limits(&self) -> Option<MetadataLimits>;
    /// The credentials a connect request gives, or `None` with each refusal recorded against its field.
    fn credentials(&self, fields: CredentialFields, errors: &mut FieldErrors) -> Option<PspCredentials>;
    /// What a person is asked for to connect it: the fields [`credentials`](Self::credentials) reads.
    fn connect_form(&self) -> ConnectForm;
    /// Why a payment without `customer` cannot be charged here, when it cannot: `None` when it can.
    fn customer_required(&self) -> Option<&'static str> {
        None
    }
    /// Whether it charges the sandbox's test card numbers (the only card numbers Pivota accepts).
    fn takes_test_cards(&self) -> bool {
        false
    }
}

/// The credential fields of a connect request (`POST /merchant/{merchant_id}/psp/connect`), as sent: each
/// PSP reads the ones it uses ([`PspProfile::credentials`]).
#[derive(Debug, Default)]
pub struct CredentialFields {
    pub api_key: Option<String>,
    pub merchant_account: Option<String>,
    pub environment: Option<String>,
    pub live_url_prefix: Option<String>,
}

/// Whether a PSP connection moves real money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PspMode {
    Test,
    Live,
}

impl From<ApiKeyMode> for PspMode {
    fn from(mode: ApiKeyMode) -> Self {
        match mode {
            ApiKeyMode::Test => PspMode::Test,
            ApiKeyMode::Live => PspMode::Live,
        }
    }
}

impl PspMode {
    /// The API-key mode that may act on a connection (or store) of this mode.
    pub fn key_mode(self) -> ApiKeyMode {
        match self {
            PspMode::Test => ApiKeyMode::Test,
            PspMode::Live => ApiKeyMode::Live,
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [PspMode::Test, PspMode::Live].into_iter().find(|mode| mode.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PspMode::Test => "test",
            PspMode::Live => "live",
        }
    }
}

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
    /// Checks the credentials live with the PSP, without moving money.
    async fn verify(&self, credentials: &PspCredentials) -> Result<VerifiedAccount, ConnectorError>;
    async fn charge(&self, credentials: &PspCredentials, request: &ChargeRequest) -> Result<Charge, ConnectorError>;
}
