//! `POST /v1/payment_intents`: parameter validation, idempotent replays, and how test PaymentMethods confirm.
//!
//! - Idempotency ("Idempotent requests", https://docs.stripe.com/api/idempotent_requests, and "Advanced error
//!   handling", https://docs.stripe.com/error-low-level): the status and body of the first request that began
//!   executing are saved and replayed for the same key (we mark replays with `Idempotent-Replayed: true`);
//!   the same key with different parameters is a 400 `idempotency_error` ("Keys for idempotent requests can
//!   only be used with the same parameters they were first used with…"); requests that fail validation, a
//!   401, or a 429 (the rate limiter runs before the idempotency layer) are not saved.
//! - Test PaymentMethods ("Testing", https://docs.stripe.com/testing): `pm_card_visa`, `pm_card_mastercard`
//!   succeed; `pm_card_visa_chargeDeclined` is a 402 `card_declined` / `generic_decline`;
//!   `pm_card_visa_chargeDeclinedInsufficientFunds` a 402 `card_declined` / `insufficient_funds`;
//!   `pm_card_chargeDeclinedExpiredCard` a 402 `expired_card`; `pm_card_threeDSecure2Required` and
//!   `pm_card_authenticationRequired` need authentication: on-session they leave the PaymentIntent in
//!   `requires_action` with `next_action.type` `use_stripe_sdk` (HTTP 200); with `off_session=true` they fail
//!   with a 402 `card_error` whose `code` and `decline_code` are `authentication_required`, the PaymentIntent
//!   left in `requires_payment_method` ("Charge the saved payment method later",
//!   https://docs.stripe.com/payments/save-during-payment; "Decline codes", https://docs.stripe.com/declines/codes).
//! - `off_session` "can only be used with `confirm=true`" (API reference, PaymentIntent create): 400 otherwise.
//! - Customers: [`FakeStripe::attach_payment_method`](super::FakeStripe::attach_payment_method) makes a `pm_…`
//!   attached to a `cus_…` that behaves like a test PaymentMethod. Confirming it without `customer` is a 400
//!   `parameter_missing` ("The `payment_method` parameter supplied pm_… belongs to the Customer cus_…. Please
//!   include the Customer in the `customer` parameter on the PaymentIntent.", as Stripe answers it: reported in
//!   https://github.com/202-ecommerce/stripe_official/issues/84); with another customer a 400 (Stripe's
//!   wording for that case is not published; the fake's is ours); an unknown `customer` is a 400
//!   `resource_missing` "No such customer: 'cus_…'".

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use wiremock::Request;

use super::wire::{Reply, authenticate, error_body, livemode, param_error};
use super::{RecordedRequest, Saved, State};
use crate::ids;

/// How a test PaymentMethod behaves when confirmed.
pub(super) enum TestCard {
    Succeeds,
    Declines { code: &'static str, decline_code: Option<&'static str>, message: &'static str },
    RequiresAction,
}

pub(super) fn test_card(payment_method: &str) -> Option<TestCard> {
    Some(match payment_method {
        "pm_card_visa" | "pm_card_mastercard" | "pm_card_amex" => TestCard::Succeeds,
        "pm_card_visa_chargeDeclined" => TestCard::Declines {
            code: "card_declined",
            decline_code: Some("generic_decline"),
            message: "Your card was declined.",
        },
        "pm_card_visa_chargeDeclinedInsufficientFunds" => TestCard::Declines {
            code: "card_declined",
            decline_code: Some("insufficient_funds"),
            message: "Your card has insufficient funds.",
        },
        "pm_card_chargeDeclinedExpiredCard" => {
            TestCard::Declines { code: "expired_card", decline_code: None, message: "Your card has expired." }
        }
        "pm_card_threeDSecure2Required" | "pm_card_authenticationRequired" => TestCard::RequiresAction,
        _ => return None,
    })
}

pub(super) fn create_payment_intent(state: &mut State, request: &Request) -> Reply {
    let mut params: Vec<(String, String)> = serde_urlencoded::from_bytes(&request.body).unwrap_or_default();
    let headers = request
        .headers
        .iter()
        .filter(|(name, _)| name.as_str() != "authorization")
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    state.payment_intent_requests.push(RecordedRequest { params: params.clone(), headers });
    let key = match authenticate(state, request) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let idempotency_key =
        request.headers.get("idempotency-key").and_then(|value| value.to_str().ok()).map(str::to_owned);
    // Stripe compares parameters, not their encoding order.
    params.sort();
    if let Some((idempotency_key, saved)) = idempotency_key.as_ref().and_then(|key| Some((key, state.saved.get(key)?)))
    {
        if saved.params == params {
            let mut reply = Reply::new(saved.status, saved.body.clone());
            reply.headers.push(("idempotent-replayed", "true".into()));
            return reply;
        }
        let message = format!(
            "Keys for idempotent requests can only be used with the same parameters they were first used with. \
             Try using a key other than '{idempotency_key}' if you meant to execute a different request."
        );
        return Reply::new(400, error_body("idempotency_error", None, &message));
    }
    let intent = match validate(state, &params) {
        Ok(intent) => intent,
        Err(reply) => return reply,
    };
    let reply = confirm(state, intent, livemode(&key));
    if let Some(idempotency_key) = idempotency_key {
        state.saved.insert(idempotency_key, Saved { params, status: reply.status, body: reply.body.clone() });
    }
    reply
}

struct NewIntent {
    amount: i64,
    currency: String,
    payment_method: String,
    customer: Option<String>,
    card: TestCard,
    confirm: bool,
    off_session: bool,
    metadata: BTreeMap<String, String>,
    automatic_payment_methods: Value,
}

/// Parameter validation: failures are 400s that Stripe does not save under the idempotency key.
fn validate(state: &State, params: &[(String, String)]) -> Result<NewIntent, Reply> {
    let get = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let amount =
        get("amount").ok_or_else(|| param_error("parameter_missing", "amount", "Missing required param: amount."))?;
    let amount: i64 = amount.parse().ok().filter(|amount| *amount >= 1).ok_or_else(|| {
        param_error("parameter_invalid_integer", "amount", "Invalid integer: amount must be a positive integer.")
    })?;
    let currency = get("currency")
        .ok_or_else(|| param_error("parameter_missing", "currency", "Missing required param: currency."))?;
    if currency.len() != 3 || !currency.bytes().all(|byte| byte.is_ascii_lowercase()) {
        return Err(param_error("parameter_invalid_string", "currency", &format!("Invalid currency: {currency}.")));
    }
    let payment_method = get("payment_method")
        .ok_or_else(|| param_error("parameter_missing", "payment_method", "Missing required param: payment_method."))?;
    let customer = get("customer");
    if let Some(customer) = customer
        && !state.customers.contains(customer)
    {
        return Err(param_error("resource_missing", "customer", &format!("No such customer: '{customer}'")));
    }
    let (behaves_like, owner) = match state.attached.get(payment_method) {
        Some((test_method, owner)) => (test_method.as_str(), Some(owner.as_str())),
        None => (payment_method, None),
    };
    match (owner, customer) {
        (Some(owner), None) => {
            return Err(param_error(
                "parameter_missing",
                "payment_method",
                &format!(
                    "The `payment_method` parameter supplied {payment_method} belongs to the Customer {owner}. \
                     Please include the Customer in the `customer` parameter on the PaymentIntent."
                ),
            ));
        }
        (Some(owner), Some(customer)) if owner != customer => {
            return Err(param_error(
                "invalid_request_error",
                "payment_method",
                &format!("The PaymentMethod {payment_method} does not belong to the Customer {customer}."),
            ));
        }
        _ => {}
    }
    let card = test_card(behaves_like).ok_or_else(|| {
        let mut reply =
            param_error("resource_missing", "payment_method", &format!("No such PaymentMethod: '{payment_method}'"));
        reply.body["error"]["doc_url"] = json!("https://stripe.com/docs/error-codes/resource-missing");
        reply
    })?;
    let confirm = get("confirm") == Some("true");
    let off_session = match get("off_session") {
        None | Some("false") => false,
        Some("true" | "one_off" | "recurring") if confirm => true,
        Some("true" | "one_off" | "recurring") => {
            return Err(param_error(
                "parameter_invalid_empty",
                "off_session",
                "You can only pass `off_session` when `confirm=true`.",
            ));
        }
        Some(other) => {
            return Err(param_error(
                "parameter_invalid_string",
                "off_session",
                &format!("Invalid off_session: {other}"),
            ));
        }
    };
    let apm_enabled = get("automatic_payment_methods[enabled]") == Some("true");
    let allow_redirects = get("automatic_payment_methods[allow_redirects]").unwrap_or("always");
    // Confirming with redirect-capable automatic payment methods needs somewhere to send the customer back to.
    if confirm && apm_enabled && allow_redirects != "never" && get("return_url").is_none() {
        return Err(param_error(
            "parameter_missing",
            "return_url",
            "This PaymentIntent is configured to accept payment methods enabled in your Dashboard, some of which \
             may require a full page redirect to succeed. If you do not want to accept redirect-based payment \
             methods, set `automatic_payment_methods[enabled]` to `true` and \
             `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment \
             Intents.",
        ));
    }
    let metadata = params
        .iter()
        .filter_map(|(key, value)| {
            let name = key.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((name.to_owned(), value.clone()))
        })
        .collect();
    Ok(NewIntent {
        amount,
        currency: currency.to_owned(),
        payment_method: payment_method.to_owned(),
        customer: customer.map(str::to_owned),
        card,
        confirm,
        off_session,
        metadata,
        automatic_payment_methods: if apm_enabled {
            json!({ "enabled": true, "allow_redirects": allow_redirects })
        } else {
            Value::Null
        },
    })
}

fn confirm(state: &mut State, intent: NewIntent, livemode: bool) -> Reply {
    let id = ids::stripe("pi", 24);
    let created = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
    let mut object = json!({
        "id": id,
        "object": "payment_intent",
        "amount": intent.amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "automatic_payment_methods": intent.automatic_payment_methods,
        "capture_method": "automatic_async",
        "client_secret": format!("{id}_secret_{}", ids::stripe("x", 24).trim_start_matches("x_")),
        "confirmation_method": "automatic",
        "created": created,
        "currency": intent.currency,
        "customer": intent.customer,
        "last_payment_error": null,
        "latest_charge": null,
        "livemode": livemode,
        "metadata": intent.metadata,
        "next_action": null,
        "payment_method": intent.payment_method,
        "payment_method_types": ["card"],
        "status": "requires_confirmation",
    });
    if !intent.confirm {
        return Reply::new(200, object);
    }
    match intent.card {
        TestCard::Succeeds => {
            state.charges += 1;
            object["status"] = json!("succeeded");
            object["amount_received"] = json!(intent.amount);
            object["latest_charge"] = json!(ids::stripe("ch", 24));
            Reply::new(200, object)
        }
        TestCard::RequiresAction if !intent.off_session => {
            object["status"] = json!("requires_action");
            object["next_action"] = json!({ "type": "use_stripe_sdk", "use_stripe_sdk": {} });
            Reply::new(200, object)
        }
        TestCard::RequiresAction => decline(
            object,
            "authentication_required",
            Some("authentication_required"),
            "Your card was declined. This transaction requires authentication.",
        ),
        TestCard::Declines { code, decline_code, message } => decline(object, code, decline_code, message),
    }
}

/// A 402 `card_error` whose `payment_intent` is left in `requires_payment_method`.
fn decline(mut object: Value, code: &str, decline_code: Option<&str>, message: &str) -> Reply {
    let charge = ids::stripe("ch", 24);
    let mut error = json!({
        "type": "card_error",
        "code": code,
        "message": message,
        "charge": charge,
        "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
    });
    if let Some(decline_code) = decline_code {
        error["decline_code"] = json!(decline_code);
    }
    object["status"] = json!("requires_payment_method");
    object["latest_charge"] = json!(charge);
    object["last_payment_error"] = error.clone();
    error["payment_intent"] = object;
    Reply::new(402, json!({ "error": error }))
}
