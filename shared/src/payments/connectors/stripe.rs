//! Stripe: credentials are checked with a balance read, charges are PaymentIntents created and confirmed in one
//! call. The wire types live in [`transformers`].
//!
//! How Stripe's answers are classified (Stripe API reference "Errors", https://docs.stripe.com/api/errors;
//! "Advanced error handling", https://docs.stripe.com/error-low-level; "Rate limits",
//! https://docs.stripe.com/rate-limits; "Idempotent requests", https://docs.stripe.com/api/idempotent_requests):
//!
//! | answer                                      | verify         | charge                                  |
//! |---------------------------------------------|----------------|-----------------------------------------|
//! | 200                                         | ok             | by PaymentIntent `status`, below        |
//! | 400 (`invalid_request_error`, `idempotency_error`), 404 | InvalidRequest | InvalidRequest          |
//! | 401 (no valid key), 403 (restricted key)    | Rejected       | Rejected                                |
//! | 402 `card_error`                            | —              | Declined (`decline_code`, else `code`)  |
//! | 409 (a request with this key is in flight), 424 | NotProcessed | Ambiguous                             |
//! | 429 (the rate limiter runs before anything executes) | NotProcessed | NotProcessed, with `Retry-After` |
//! | 5xx (Stripe: the result may or may not have been processed) | NotProcessed | Ambiguous              |
//! | failure to connect (nothing sent)           | NotProcessed   | NotProcessed                            |
//! | timeout or reset after sending              | NotProcessed   | Ambiguous                               |
//!
//! PaymentIntent statuses on a 200: `succeeded` → Succeeded. `processing` → Succeeded as well: Stripe has
//! accepted the payment and it is in flight at the network, so the money will move unless the network fails it
//! later, which Stripe reports asynchronously (a webhook), like a dispute. Declined would let routing charge
//! another PSP (a double charge); Ambiguous would have us retry with the same key, which only replays the
//! same `processing` answer. (The domain has no "pending" outcome yet; see the report.) `requires_capture`
//! (authorised, not expected with automatic capture) → Succeeded. `requires_action` → RequiresAction with
//! Stripe's `next_action` (the shopper must authenticate, e.g. 3-D Secure through Stripe.js
//! `handleNextAction`); no money moves. `requires_payment_method`, `requires_confirmation`, `canceled` →
//! Declined. Any other status is not in Stripe's documented set → Ambiguous.
//!
//! Off-session charges (`off_session=true`) that the issuer wants authenticated fail with a 402
//! `card_error` whose code is `authentication_required` and leave the PaymentIntent in
//! `requires_payment_method` ("Charge the saved payment method later",
//! https://docs.stripe.com/payments/save-during-payment; "Decline codes",
//! https://docs.stripe.com/declines/codes): → RequiresAction `authentication_required`, since the remedy is
//! the shopper authenticating on-session, not another card.
//!
//! The API key travels only in the `Authorization` header. Stripe's messages are passed through
//! [`transformers::redact_keys`] before they reach an error.

mod currencies;
mod profile;
pub mod transformers;

pub use profile::{API_BASE, Stripe};

use async_trait::async_trait;
use secrecy::ExposeSecret;

use self::transformers::{Balance, ErrorObject, PaymentIntent};
use super::PspMode;
use super::transport::{CallKind, header, idempotency_key, read_body, retry_after, send_failure};
use super::{
    Charge, ChargeOutcome, ChargeRequest, ConnectorError, NextAction, PspConnector, PspCredentials, VerifiedAccount,
};

/// The API version every request pins (`Stripe-Version`), so an account's default version cannot change the
/// shapes we parse ("API versioning", https://docs.stripe.com/api-versions). It is the version of the
/// `stripe` package (16.1.0, pinned in `infra/scripts/lib.sh`) whose parameter definitions our requests are
/// checked against (`infra/contract/vendor_requests.py`).
pub const API_VERSION: &str = "2026-10-28.endive";

/// The next step after an off-session `authentication_required`.
const AUTHENTICATION_REQUIRED: &str = "The card's issuer requires the shopper to authenticate this payment, \
     which cannot happen without them. Ask the shopper to pay again on your checkout (on-session), where they \
     can authenticate. Nothing was charged.";

pub struct StripeConnector {
    http: reqwest::Client,
    base: String,
}

impl StripeConnector {
    /// A connector calling Stripe's API at `base` ([`API_BASE`], or a test's fake).
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        Self { http, base: base.trim_end_matches('/').to_owned() }
    }
}

/// Test or live from the key itself (`sk_live_…`, `rk_live_…`), for when the balance does not say.
fn mode_of_key(key: &str) -> PspMode {
    if key.starts_with("sk_live_") || key.starts_with("rk_live_") { PspMode::Live } else { PspMode::Test }
}

#[async_trait]
impl PspConnector for StripeConnector {
    async fn verify(&self, credentials: &PspCredentials) -> Result<VerifiedAccount, ConnectorError> {
        let key = credentials.api_key.expose_secret();
        let response = self
            .http
            .get(format!("{}/v1/balance", self.base))
            .bearer_auth(key)
            .header("Stripe-Version", API_VERSION)
            .send()
            .await
            .map_err(|error| send_failure("Stripe", CallKind::Read, &error))?;
        let status = response.status().as_u16();
        let retry = retry_after(response.headers());
        let body = read_body("Stripe", CallKind::Read, response).await?;
        match status {
            200 => {
                let livemode = serde_json::from_slice::<Balance>(&body).ok().map(|balance| balance.livemode);
                let mode = match livemode {
                    Some(true) => PspMode::Live,
                    Some(false) => PspMode::Test,
                    None => mode_of_key(key),
                };
                Ok(VerifiedAccount { mode })
            }
            401 | 403 => Err(ConnectorError::Rejected { reason: ErrorObject::parse(&body).describe(key) }),
            429 => Err(ConnectorError::NotProcessed {
                reason: format!("Stripe rate limited the request: {}", ErrorObject::parse(&body).describe(key)),
                retry_after: retry,
            }),
            409 | 424 | 500..=599 => Err(ConnectorError::NotProcessed {
                reason: format!("Stripe answered {status}: {}", ErrorObject::parse(&body).describe(key)),
                retry_after: retry,
            }),
            _ => Err(ConnectorError::InvalidRequest {
                reason: format!("Stripe answered {status}: {}", ErrorObject::parse(&body).describe(key)),
            }),
        }
    }

    async fn charge(&self, credentials: &PspCredentials, request: &ChargeRequest) -> Result<Charge, ConnectorError> {
        let key = credentials.api_key.expose_secret();
        // An amount Stripe cannot represent exactly is refused before anything is sent.
        let form = transformers::payment_intent_form(request).map_err(|refusal| ConnectorError::NotProcessed {
            reason: format!("Stripe: {refusal}; nothing was sent"),
            retry_after: None,
        })?;
        let response = self
            .http
            .post(format!("{}/v1/payment_intents", self.base))
            .bearer_auth(key)
            .header("Stripe-Version", API_VERSION)
            .header("Idempotency-Key", idempotency_key(&request.idempotency_key, 255))
            .form(&form)
            .send()
            .await
            .map_err(|error| send_failure("Stripe", CallKind::Charge, &error))?;
        let status = response.status().as_u16();
        let request_id = header(response.headers(), "request-id");
        let retry = retry_after(response.headers());
        let body = read_body("Stripe", CallKind::Charge, response).await?;
        let charge = |outcome| Ok(Charge { outcome, psp_request_id: request_id.clone() });
        let error = || ErrorObject::parse(&body);
        match status {
            200 => {
                let intent: PaymentIntent = serde_json::from_slice(&body).map_err(|_| ConnectorError::Ambiguous {
                    reason: "Stripe answered 200 with a body that is not a PaymentIntent".into(),
                })?;
                charge(outcome_of(intent, key)?)
            }
            402 if error().code.as_deref() == Some("authentication_required") => {
                let error = error();
                charge(ChargeOutcome::RequiresAction {
                    psp_reference: error.payment_intent.as_ref().map(|intent| intent.id.clone()),
                    next_action: NextAction {
                        kind: "authentication_required".into(),
                        url: None,
                        description: AUTHENTICATION_REQUIRED.into(),
                    },
                })
            }
            402 => {
                let error = error();
                let decline_code =
                    error.decline_code.clone().or_else(|| error.code.clone()).unwrap_or_else(|| "card_declined".into());
                charge(ChargeOutcome::Declined {
                    psp_reference: error.payment_intent.as_ref().map(|intent| intent.id.clone()),
                    decline_code,
                    message: transformers::redact_keys(error.message.as_deref().unwrap_or("declined"), key),
                })
            }
            401 | 403 => Err(ConnectorError::Rejected { reason: error().describe(key) }),
            429 => Err(ConnectorError::NotProcessed {
                reason: format!("Stripe rate limited the request: {}", error().describe(key)),
                retry_after: retry,
            }),
            409 | 424 | 500..=599 => Err(ConnectorError::Ambiguous {
                reason: format!("Stripe answered {status}: {}", error().describe(key)),
            }),
            400..=499 => Err(ConnectorError::InvalidRequest {
                reason: format!("Stripe answered {status}: {}", error().describe(key)),
            }),
            _ => Err(ConnectorError::Ambiguous { reason: format!("Stripe answered an unexpected {status}") }),
        }
    }
}

/// A confirmed PaymentIntent's status, as an outcome (see the module docs for why each).
fn outcome_of(intent: PaymentIntent, key: &str) -> Result<ChargeOutcome, ConnectorError> {
    let declined = |code: &str, message: &str| ChargeOutcome::Declined {
        psp_reference: Some(intent.id.clone()),
        decline_code: code.to_owned(),
        message: message.to_owned(),
    };
    Ok(match intent.status.as_str() {
        "succeeded" | "requires_capture" => ChargeOutcome::Succeeded { psp_reference: intent.id },
        "processing" => {
            tracing::warn!(payment_intent = %intent.id, "Stripe PaymentIntent is processing; treated as succeeded");
            ChargeOutcome::Succeeded { psp_reference: intent.id }
        }
        "requires_action" => {
            let action = intent.next_action.as_ref();
            ChargeOutcome::RequiresAction {
                next_action: NextAction {
                    kind: action.map_or_else(|| "requires_action".to_owned(), |action| action.kind.clone()),
                    url: action.and_then(|action| action.redirect_to_url.as_ref()?.url.clone()),
                    description: format!(
                        "The shopper must authenticate this payment: complete PaymentIntent {} on your checkout \
                         with Stripe.js handleNextAction (its client secret comes from Stripe with your key). \
                         Nothing was charged.",
                        intent.id
                    ),
                },
                psp_reference: Some(intent.id),
            }
        }
        "requires_payment_method" => {
            let error = intent.last_payment_error.as_ref();
            let code = error.and_then(|error| error.decline_code.clone().or_else(|| error.code.clone()));
            let message =
                error.and_then(|error| error.message.as_deref()).unwrap_or("the payment method was not accepted");
            declined(code.as_deref().unwrap_or("requires_payment_method"), &transformers::redact_keys(message, key))
        }
        "requires_confirmation" => declined("requires_confirmation", "Stripe did not confirm the PaymentIntent"),
        "canceled" => declined("canceled", "the PaymentIntent was canceled"),
        other => {
            return Err(ConnectorError::Ambiguous {
                reason: format!("Stripe PaymentIntent {} has an undocumented status {other:?}", intent.id),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use pivota_fakes::FakeStripe;

    use super::*;
    use crate::kernel::money::{Currency, Money};

    fn connector(fake: &FakeStripe) -> StripeConnector {
        StripeConnector::new(crate::kernel::http_client::builder().build().unwrap(), &fake.uri())
    }

    fn credentials() -> PspCredentials {
        PspCredentials {
            api_key: "sk_test_minor_units".into(),
            merchant_account: None,
            mode: PspMode::Test,
            live_url_prefix: None,
        }
    }

    fn request(amount_minor: i64, code: &str) -> ChargeRequest {
        ChargeRequest {
            amount: Money { amount_minor, currency: Currency::parse(code).unwrap() },
            payment_method: None,
            order_id: "order-1".into(),
            payment_id: "pay_1".into(),
            idempotency_key: format!("{code}-{amount_minor}"),
            customer: None,
            off_session: false,
            return_url: "https://pivota.example/console".into(),
            metadata: BTreeMap::new(),
        }
    }

    #[tokio::test]
    async fn amounts_go_out_in_stripes_minor_units() {
        let fake = FakeStripe::start().await;
        let stripe = connector(&fake);
        for (amount, code, wire) in [(10_000, "ISK", "1000000"), (500, "JPY", "500"), (1250, "KWD", "1250")] {
            let charge = stripe.charge(&credentials(), &request(amount, code)).await.unwrap();
            assert!(matches!(charge.outcome, ChargeOutcome::Succeeded { .. }), "{charge:?}");
            let sent = fake.payment_intent_requests().pop().unwrap();
            let param = |name: &str| sent.params.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
            assert_eq!(param("amount").as_deref(), Some(wire), "{code}");
            assert_eq!(param("currency"), Some(code.to_ascii_lowercase()));
        }
    }

    #[tokio::test]
    async fn an_amount_stripe_cannot_represent_is_refused_before_anything_is_sent() {
        let fake = FakeStripe::start().await;
        for (amount, code) in [(1255, "KWD"), (1000, "STN")] {
            let refused = connector(&fake).charge(&credentials(), &request(amount, code)).await;
            assert!(matches!(refused, Err(ConnectorError::NotProcessed { retry_after: None, .. })), "{refused:?}");
        }
        assert_eq!(fake.requests(), 0);
    }
}
