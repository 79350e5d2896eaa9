//! The sandbox PSP: built in, deterministic, no account needed (like hyperswitch's dummy connector).
//!
//! Its test cards (the `payment_method` of a payment; `pm_card_visa` or none also succeed):
//!
//! | card               | result                                                        |
//! |--------------------|---------------------------------------------------------------|
//! | `4242424242424242` | succeeds                                                      |
//! | `4000000000000002` | declined, `card_declined`                                     |
//! | `4000000000009995` | declined, `insufficient_funds`                                |
//! | `4000000000000069` | declined, `expired_card`                                      |
//! | `4000000000000119` | fails transiently: not processed, so routing may fall back    |
//!
//! Like a real PSP it honours idempotency keys: a repeated key returns the first result. Its memory of
//! keys is per process and bounded: the oldest of more than [`REMEMBERED_KEYS`] are forgotten (Stripe
//! forgets keys after 24 hours).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Charge, ChargeOutcome, ChargeRequest, ConnectorError, PspConnector, PspCredentials, VerifiedAccount};
use super::{CredentialFields, MetadataLimits, PspCurrency, PspMode, PspProfile};
use crate::kernel::connect_form::ConnectForm;
use crate::kernel::money::Currency;
use crate::kernel::validation::FieldErrors;

pub const SUCCESS_CARD: &str = "4242424242424242";
pub const DECLINED_CARD: &str = "4000000000000002";
pub const INSUFFICIENT_FUNDS_CARD: &str = "4000000000009995";
pub const EXPIRED_CARD: &str = "4000000000000069";
pub const TRANSIENT_FAILURE_CARD: &str = "4000000000000119";
/// Every documented test card: the only card numbers Pivota accepts (test mode, routed to the sandbox).
pub const TEST_CARDS: [&str; 5] =
    [SUCCESS_CARD, DECLINED_CARD, INSUFFICIENT_FUNDS_CARD, EXPIRED_CARD, TRANSIENT_FAILURE_CARD];

/// The sandbox, as registered in `payments/psp.rs`: test mode only, no account, ISO minor units in every
/// currency, no metadata limits, and the only PSP that takes the test cards above.
pub struct Sandbox;

impl PspProfile for Sandbox {
    fn display_name(&self) -> &'static str {
        "the sandbox PSP"
    }

    fn api_base_setting(&self) -> Option<&'static str> {
        None
    }

    fn connector(&self, _http: reqwest::Client, _api_base: Option<&str>) -> Box<dyn super::PspConnector> {
        Box::<SandboxConnector>::default()
    }

    fn currency(&self, currency: Currency) -> Option<PspCurrency> {
        Some(super::minor_units::iso(currency))
    }

    fn metadata_limits(&self) -> Option<MetadataLimits> {
        None
    }

    fn connect_form(&self) -> ConnectForm {
        const FORM: ConnectForm = ConnectForm {
            title: "Sandbox",
            intro: Some("Pivota's built-in test provider: no account needed. Card `pm_card_visa` succeeds."),
            fields: &[],
            submit: "Connect the sandbox",
        };
        FORM
    }

    fn credentials(&self, _fields: CredentialFields, _errors: &mut FieldErrors) -> Option<PspCredentials> {
        Some(PspCredentials {
            api_key: format!("sbx_test_{}", ulid::Ulid::new()).into(),
            merchant_account: None,
            mode: PspMode::Test,
            live_url_prefix: None,
        })
    }

    fn takes_test_cards(&self) -> bool {
        true
    }
}

/// How many idempotency keys the sandbox remembers.
pub const REMEMBERED_KEYS: usize = 100_000;

#[derive(Default)]
pub struct SandboxConnector {
    replies: Mutex<Replies>,
}

/// Idempotency key → the first result for it, oldest first.
#[derive(Default)]
struct Replies {
    by_key: HashMap<String, Result<Charge, ConnectorError>>,
    order: VecDeque<String>,
}

impl Replies {
    fn remember(&mut self, key: String, result: Result<Charge, ConnectorError>) {
        if self.order.len() >= REMEMBERED_KEYS
            && let Some(oldest) = self.order.pop_front()
        {
            self.by_key.remove(&oldest);
        }
        self.order.push_back(key.clone());
        self.by_key.insert(key, result);
    }
}

fn declined(code: &str, message: &str) -> ChargeOutcome {
    ChargeOutcome::Declined {
        psp_reference: Some(format!("sbx_{}", ulid::Ulid::new())),
        decline_code: code.to_owned(),
        message: message.to_owned(),
    }
}

#[async_trait]
impl PspConnector for SandboxConnector {
    async fn verify(&self, _credentials: &PspCredentials) -> Result<VerifiedAccount, ConnectorError> {
        Ok(VerifiedAccount { mode: PspMode::Test })
    }

    async fn charge(&self, _credentials: &PspCredentials, request: &ChargeRequest) -> Result<Charge, ConnectorError> {
        let mut replies = self.replies.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(first) = replies.by_key.get(&request.idempotency_key) {
            return first.clone();
        }
        let outcome = match request.payment_method.as_deref().unwrap_or(SUCCESS_CARD) {
            SUCCESS_CARD | "pm_card_visa" => {
                Ok(ChargeOutcome::Succeeded { psp_reference: format!("sbx_{}", ulid::Ulid::new()) })
            }
            DECLINED_CARD => Ok(declined("card_declined", "Your card was declined.")),
            INSUFFICIENT_FUNDS_CARD => Ok(declined("insufficient_funds", "Your card has insufficient funds.")),
            EXPIRED_CARD => Ok(declined("expired_card", "Your card has expired.")),
            // A transient failure is not remembered: the next try with the same key is a new attempt.
            TRANSIENT_FAILURE_CARD => {
                return Err(ConnectorError::NotProcessed {
                    reason: "sandbox: simulated transient processing failure".into(),
                    retry_after: None,
                });
            }
            _ => Err(ConnectorError::InvalidRequest {
                reason: "sandbox: unknown test card; see the sandbox's documented test cards".into(),
            }),
        };
        let result =
            outcome.map(|outcome| Charge { outcome, psp_request_id: Some(format!("req_sbx_{}", ulid::Ulid::new())) });
        replies.remember(request.idempotency_key.clone(), result.clone());
        result
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::kernel::money::{Currency, Money};

    fn request(card: Option<&str>, key: &str) -> ChargeRequest {
        ChargeRequest {
            amount: Money::new(1000, Currency::parse("EUR").unwrap()).unwrap(),
            payment_method: card.map(str::to_owned),
            order_id: "order-1".into(),
            payment_id: "pay_1".into(),
            idempotency_key: key.into(),
            customer: None,
            off_session: false,
            return_url: "https://pivota.example/console".into(),
            metadata: BTreeMap::new(),
        }
    }

    fn credentials() -> PspCredentials {
        PspCredentials { api_key: "unused".into(), merchant_account: None, mode: PspMode::Test, live_url_prefix: None }
    }

    #[tokio::test]
    async fn test_cards_behave_as_documented() {
        let sandbox = SandboxConnector::default();
        let ok = sandbox.charge(&credentials(), &request(Some(SUCCESS_CARD), "a")).await.unwrap();
        assert!(matches!(ok.outcome, ChargeOutcome::Succeeded { .. }));
        let declined = sandbox.charge(&credentials(), &request(Some(INSUFFICIENT_FUNDS_CARD), "b")).await.unwrap();
        assert!(
            matches!(declined.outcome, ChargeOutcome::Declined { ref decline_code, .. } if decline_code == "insufficient_funds")
        );
        let transient = sandbox.charge(&credentials(), &request(Some(TRANSIENT_FAILURE_CARD), "c")).await;
        assert!(matches!(transient, Err(ConnectorError::NotProcessed { .. })));
        let unknown = sandbox.charge(&credentials(), &request(Some("4111"), "d")).await;
        assert!(matches!(unknown, Err(ConnectorError::InvalidRequest { .. })));
    }

    #[tokio::test]
    async fn a_repeated_idempotency_key_replays_the_first_result() {
        let sandbox = SandboxConnector::default();
        let first = sandbox.charge(&credentials(), &request(None, "same")).await.unwrap();
        let again = sandbox.charge(&credentials(), &request(Some(DECLINED_CARD), "same")).await.unwrap();
        assert_eq!(first, again);
    }
}
