//! Adyen Checkout API v71: credentials are checked with `/paymentMethods` (a read that needs the API key and the
//! merchant account), charges are `/payments` with a stored card token. Wire types in [`transformers`].
//!
//! Endpoints ("Live endpoints", https://docs.adyen.com/development-resources/live-endpoints): test
//! `https://checkout-test.adyen.com/{version}/{method}`, live
//! `https://{prefix}-checkout-live.adyenpayments.com/checkout/{version}/{method}`, where the prefix is the
//! company's, from the Customer Area (Developers > API URLs). `PIVOTA_ADYEN_CHECKOUT_BASE` overrides both.
//! Authentication is the `X-API-Key` header; idempotency is the `Idempotency-Key` header, at most 64 characters,
//! and a repeat with the same key gets the first attempt's response ("API idempotency",
//! https://docs.adyen.com/development-resources/api-idempotency).
//!
//! Classification. HTTP errors ("Error codes and messages", https://docs.adyen.com/development-resources/error-codes):
//! errorCode 901 (any status) → InvalidMerchantAccount; 401 (errorCode 000, `security`) and other 403s (e.g.
//! 010 "Not allowed") → Rejected; 400/422 (`validation`) and other 4xx → InvalidRequest; 429 → NotProcessed;
//! 5xx → NotProcessed for verify, Ambiguous for a charge; transport failures as in [`super::transport`].
//!
//! `/payments` answers 200 for refusals too; the outcome is `resultCode` (Checkout API "resultCode";
//! "Testing result codes and refusal reasons", https://docs.adyen.com/development-resources/testing/result-codes):
//! - `Authorised` → Succeeded with the `pspReference`.
//! - `Refused` → Declined: `decline_code` is the snake-cased `refusalReason` (`not_enough_balance`), the message
//!   carries the reason and its `refusalReasonCode`; except `refusalReasonCode` 38 "Authentication required"
//!   → RequiresAction `authentication_required` (the shopper must authenticate).
//! - `Error` → Declined `error`; `Cancelled` → Declined `cancelled`. Both are final without an authorisation.
//! - `Received` / `Pending` → Succeeded. Adyen has accepted the payment ("received by Adyen, and will be
//!   processed"; the final status arrives by webhook), so money may still move: Declined would let routing
//!   charge another PSP, and a retry with the same key only replays this answer. Same choice as Stripe's
//!   `processing`; a dedicated pending outcome in the domain would be better (see the report).
//! - `RedirectShopper`, `IdentifyShopper`, `ChallengeShopper`, `PresentToShopper` → RequiresAction with the
//!   response's `action` (its `type`, and `url` for a redirect): the shopper must act before anything is
//!   authorised, which the merchant's checkout does with Adyen's `/payments/details` ("Handle the action",
//!   https://docs.adyen.com/online-payments/build-your-integration/advanced-flow/#handle-the-action).
//!
//! The Management API (`management-test.adyen.com`) is not called: `/paymentMethods` already proves that
//! the key may use the merchant account (error 901 otherwise), so no setting names its base URL.
//! - Anything else (`PartiallyAuthorised`, which we never ask for, or an undocumented code) → Ambiguous.

mod currencies;
mod profile;
pub mod transformers;

pub use profile::Adyen;

use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde::Serialize;

use self::transformers::{ErrorBody, PaymentMethodsRequest, PaymentRequest, PaymentResponse, decline_code};
use super::PspMode;
use super::transport::{self, CallKind, header, read_body, retry_after, send_failure};
use super::{
    Charge, ChargeOutcome, ChargeRequest, ConnectorError, NextAction, PspConnector, PspCredentials, VerifiedAccount,
};

pub const API_VERSION: &str = "v71";
pub const TEST_CHECKOUT_BASE: &str = "https://checkout-test.adyen.com";

pub struct AdyenConnector {
    http: reqwest::Client,
    checkout_base: Option<String>,
}

impl AdyenConnector {
    /// A connector calling the Checkout API at `checkout_base` when given (a test's fake), else at the
    /// connection's own base.
    pub fn new(http: reqwest::Client, checkout_base: Option<&str>) -> Self {
        Self { http, checkout_base: checkout_base.map(|base| base.trim_end_matches('/').to_owned()) }
    }

    /// The Checkout API base for these credentials, or why there is none.
    fn checkout_base(&self, credentials: &PspCredentials) -> Result<String, String> {
        if let Some(base) = &self.checkout_base {
            return Ok(base.clone());
        }
        match credentials.mode {
            PspMode::Test => Ok(TEST_CHECKOUT_BASE.to_owned()),
            PspMode::Live => match credentials.live_url_prefix.as_deref() {
                Some(prefix) if is_host_label(prefix) => {
                    Ok(format!("https://{prefix}-checkout-live.adyenpayments.com/checkout"))
                }
                Some(_) => Err("the Adyen live URL prefix is not a valid host name label".into()),
                None => Err("live Adyen credentials need the live URL prefix".into()),
            },
        }
    }

    async fn post<T: Serialize + ?Sized>(
        &self,
        credentials: &PspCredentials,
        base: &str,
        endpoint: &str,
        body: &T,
        idempotency_key: Option<&str>,
        kind: CallKind,
    ) -> Result<Answer, ConnectorError> {
        let mut builder = self
            .http
            .post(format!("{base}/{API_VERSION}/{endpoint}"))
            .header("X-API-Key", credentials.api_key.expose_secret())
            .json(body);
        if let Some(key) = idempotency_key {
            builder = builder.header("Idempotency-Key", transport::idempotency_key(key, 64));
        }
        let response = builder.send().await.map_err(|error| send_failure("Adyen", kind, &error))?;
        let status = response.status().as_u16();
        let psp_reference = header(response.headers(), "pspreference");
        let retry_after = retry_after(response.headers());
        let body = read_body("Adyen", kind, response).await?;
        Ok(Answer { status, psp_reference, retry_after, body })
    }
}

/// Whether a live URL prefix can be part of a host name: letters, digits and hyphens only.
fn is_host_label(prefix: &str) -> bool {
    !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

struct Answer {
    status: u16,
    /// A `pspReference` response header, when Adyen sends one.
    psp_reference: Option<String>,
    retry_after: Option<std::time::Duration>,
    body: Vec<u8>,
}

fn merchant_account(credentials: &PspCredentials) -> Result<&str, String> {
    credentials
        .merchant_account
        .as_deref()
        .filter(|account| !account.trim().is_empty())
        .ok_or_else(|| "Adyen credentials need a merchant account".into())
}

#[async_trait]
impl PspConnector for AdyenConnector {
    async fn verify(&self, credentials: &PspCredentials) -> Result<VerifiedAccount, ConnectorError> {
        let unusable = |reason: String| ConnectorError::Rejected { reason };
        let base = self.checkout_base(credentials).map_err(unusable)?;
        let merchant_account = merchant_account(credentials).map_err(unusable)?;
        let request = PaymentMethodsRequest { merchant_account };
        let answer = self.post(credentials, &base, "paymentMethods", &request, None, CallKind::Read).await?;
        let key = credentials.api_key.expose_secret();
        let error = ErrorBody::parse(&answer.body);
        match answer.status {
            200 => Ok(VerifiedAccount { mode: credentials.mode }),
            _ if error.is_invalid_merchant_account() => {
                Err(ConnectorError::InvalidMerchantAccount { reason: error.describe(key) })
            }
            401 | 403 => Err(ConnectorError::Rejected { reason: error.describe(key) }),
            429 | 500..=599 => Err(ConnectorError::NotProcessed {
                reason: format!("Adyen answered {}: {}", answer.status, error.describe(key)),
                retry_after: answer.retry_after,
            }),
            status => Err(ConnectorError::InvalidRequest {
                reason: format!("Adyen answered {status}: {}", error.describe(key)),
            }),
        }
    }

    async fn charge(&self, credentials: &PspCredentials, request: &ChargeRequest) -> Result<Charge, ConnectorError> {
        let invalid = |reason: String| ConnectorError::InvalidRequest { reason };
        let base = self.checkout_base(credentials).map_err(invalid)?;
        let merchant_account = merchant_account(credentials).map_err(invalid)?;
        // Adyen has no test token we could default to: a stored card is always the shopper's own.
        let token = request
            .payment_method
            .as_deref()
            .ok_or_else(|| invalid("Adyen charges need a stored payment method id".into()))?;
        // A token is found by the pair (shopperReference, storedPaymentMethodId): nothing else will do.
        let shopper_reference = request.customer.as_deref().ok_or_else(|| {
            invalid("Adyen charges a stored payment method only with the shopperReference it was stored under".into())
        })?;
        // An amount Adyen cannot represent exactly is refused before anything is sent.
        let body =
            PaymentRequest::new(request, merchant_account, token, shopper_reference, request.amount.currency.code())
                .map_err(|refusal| ConnectorError::NotProcessed {
                    reason: format!("Adyen: {refusal}; nothing was sent"),
                    retry_after: None,
                })?;
        let answer =
            self.post(credentials, &base, "payments", &body, Some(&request.idempotency_key), CallKind::Charge).await?;
        let key = credentials.api_key.expose_secret();
        if answer.status == 200 {
            let payment: PaymentResponse =
                serde_json::from_slice(&answer.body).map_err(|_| ConnectorError::Ambiguous {
                    reason: "Adyen answered 200 with a body that is not a payment response".into(),
                })?;
            let psp_request_id = answer.psp_reference.or_else(|| payment.psp_reference.clone());
            return Ok(Charge { outcome: outcome_of(payment)?, psp_request_id });
        }
        let error = ErrorBody::parse(&answer.body);
        let reason = format!("Adyen answered {}: {}", answer.status, error.describe(key));
        Err(match answer.status {
            _ if error.is_invalid_merchant_account() => ConnectorError::InvalidMerchantAccount { reason },
            401 | 403 => ConnectorError::Rejected { reason: error.describe(key) },
            429 => ConnectorError::NotProcessed { reason, retry_after: answer.retry_after },
            400..=499 => ConnectorError::InvalidRequest { reason },
            _ => ConnectorError::Ambiguous { reason },
        })
    }
}

fn outcome_of(payment: PaymentResponse) -> Result<ChargeOutcome, ConnectorError> {
    let result_code = payment.result_code.as_deref().unwrap_or("");
    let psp_reference = payment.psp_reference.clone();
    let refusal = || {
        let reason = payment.refusal_reason.as_deref().unwrap_or("no reason given");
        match payment.refusal_reason_code.as_deref() {
            Some(code) => format!("{reason} (refusalReasonCode {code})"),
            None => reason.to_owned(),
        }
    };
    let declined = |decline_code: String, message: String| ChargeOutcome::Declined {
        psp_reference: psp_reference.clone(),
        decline_code,
        message,
    };
    Ok(match result_code {
        "Authorised" | "Received" | "Pending" => match payment.psp_reference {
            Some(psp_reference) => {
                if result_code != "Authorised" {
                    tracing::warn!(psp_reference, result_code, "Adyen payment not final yet; treated as succeeded");
                }
                ChargeOutcome::Succeeded { psp_reference }
            }
            None => {
                return Err(ConnectorError::Ambiguous {
                    reason: format!("Adyen answered {result_code} without a pspReference"),
                });
            }
        },
        // "Refusal reasons" (https://docs.adyen.com/development-resources/refusal-reasons): 38 "Authentication
        // required", the issuer's soft decline of a charge without the shopper. The remedy is the shopper
        // authenticating, not another card or PSP.
        "Refused" if payment.refusal_reason_code.as_deref() == Some("38") => ChargeOutcome::RequiresAction {
            psp_reference,
            next_action: NextAction {
                kind: "authentication_required".into(),
                url: None,
                description: "The card's issuer requires the shopper to authenticate this payment, which cannot \
                              happen without them. Ask the shopper to pay again on your checkout (on-session). \
                              Nothing was charged."
                    .into(),
            },
        },
        "Refused" => declined(
            payment
                .refusal_reason
                .as_deref()
                .map(decline_code)
                .filter(|code| !code.is_empty())
                .unwrap_or_else(|| "refused".into()),
            refusal(),
        ),
        "Error" => declined("error".into(), refusal()),
        "Cancelled" => declined("cancelled".into(), refusal()),
        "RedirectShopper" | "IdentifyShopper" | "ChallengeShopper" | "PresentToShopper" => {
            let action = payment.action.as_ref();
            ChargeOutcome::RequiresAction {
                psp_reference,
                next_action: NextAction {
                    kind: action.and_then(|action| action.kind.clone()).unwrap_or_else(|| result_code.to_owned()),
                    url: action.and_then(|action| action.url.clone()),
                    description: format!(
                        "Adyen asks for the shopper ({result_code}): hand the action to your checkout (Adyen's \
                         Drop-in or Components handle it, then /payments/details). Nothing was charged."
                    ),
                },
            }
        }
        other => {
            return Err(ConnectorError::Ambiguous { reason: format!("Adyen answered resultCode {other:?}") });
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use pivota_fakes::FakeAdyen;

    use super::*;
    use crate::kernel::money::{Currency, Money};

    fn connector(fake: &FakeAdyen) -> AdyenConnector {
        AdyenConnector::new(crate::kernel::http_client::builder().build().unwrap(), Some(&fake.uri()))
    }

    fn credentials() -> PspCredentials {
        PspCredentials {
            api_key: FakeAdyen::API_KEY.into(),
            merchant_account: Some(FakeAdyen::MERCHANT_ACCOUNT.into()),
            mode: PspMode::Test,
            live_url_prefix: None,
        }
    }

    fn request(amount_minor: i64, code: &str) -> ChargeRequest {
        ChargeRequest {
            amount: Money { amount_minor, currency: Currency::parse(code).unwrap() },
            payment_method: Some("8415718415172204".into()),
            order_id: "order-1".into(),
            payment_id: "pay_1".into(),
            idempotency_key: format!("{code}-{amount_minor}"),
            customer: Some("shopper-1".into()),
            off_session: true,
            return_url: "https://pivota.example/console".into(),
            metadata: BTreeMap::new(),
        }
    }

    #[tokio::test]
    async fn amounts_go_out_in_adyens_minor_units() {
        let fake = FakeAdyen::start().await;
        let adyen = connector(&fake);
        for (amount, code, wire) in
            [(5000, "CLP", 500_000), (1200, "CVE", 12), (10_000, "ISK", 1_000_000), (1999, "EUR", 1999)]
        {
            let charge = adyen.charge(&credentials(), &request(amount, code)).await.unwrap();
            assert!(matches!(charge.outcome, ChargeOutcome::Succeeded { .. }), "{charge:?}");
            let sent = fake.payment_requests().pop().unwrap();
            assert_eq!(sent["amount"], serde_json::json!({ "value": wire, "currency": code }));
        }
    }

    #[tokio::test]
    async fn an_amount_adyen_cannot_represent_is_refused_before_anything_is_sent() {
        let fake = FakeAdyen::start().await;
        for (amount, code) in [(1234, "CVE"), (1000, "BIF")] {
            let refused = connector(&fake).charge(&credentials(), &request(amount, code)).await;
            assert!(matches!(refused, Err(ConnectorError::NotProcessed { retry_after: None, .. })), "{refused:?}");
        }
        assert_eq!(fake.requests(), 0);
    }
}
