//! Payment routing: which connected PSP charges a payment, and which to fall back to.
//!
//! A merchant's document: `{"priority": ["stripe", "adyen"], "rules": [{"currency": "EUR", "psp":
//! "adyen"}, {"min_amount": 100000, "psp": "stripe"}]}`. The first rule that matches (on currency and an
//! amount range, both optional) picks the PSP; if none matches, `priority` does. The others follow in
//! `priority` order, as fallbacks for failures where the PSP certainly did not charge.
//!
//! An optional `test_payment_method` is what the payment worker charges in test mode for a store order
//! that carries none (without it, each connector's test default: `pm_card_visa`, the sandbox's success
//! card).
//!
//! | item    | pk              | sk        |
//! |---------|-----------------|-----------|
//! | routing | `MERCHANT#<id>` | `ROUTING` |

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::kernel::error::Error;
use crate::kernel::money::{Currency, Money};
use crate::kernel::validation::FieldErrors;
use crate::onboarding::merchant::MerchantId;
use crate::payments::psp::PspKind;
use crate::ports::{Condition, Item, ItemKey, StoreError, Table};
use crate::record::{from_item, to_attributes};

/// One rule: every condition present must hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoutingRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "EUR")]
    pub currency: Option<Currency>,
    /// Inclusive lower bound, in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_amount: Option<i64>,
    /// Inclusive upper bound, in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount: Option<i64>,
    pub psp: PspKind,
}

impl RoutingRule {
    fn matches(&self, amount: &Money) -> bool {
        self.currency.is_none_or(|c| c == amount.currency)
            && self.min_amount.is_none_or(|min| amount.amount_minor >= min)
            && self.max_amount.is_none_or(|max| amount.amount_minor <= max)
    }
}

/// A validated routing document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoutingDocument {
    pub priority: Vec<PspKind>,
    #[serde(default)]
    pub rules: Vec<RoutingRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_payment_method: Option<TestPaymentMethod>,
}

/// A payment method reference to charge in test mode: a Stripe `pm_…`, an Adyen stored payment method id,
/// or a sandbox test card. 1 to 255 printable characters without spaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "pm_card_visa")]
pub struct TestPaymentMethod(String);

impl TestPaymentMethod {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        // A card number is refused here as everywhere; a sandbox test card is kept (as its digits).
        if crate::payments::card::is_sandbox_test_card(raw) {
            return Ok(Self(raw.chars().filter(char::is_ascii_digit).collect()));
        }
        if crate::payments::card::is_card_number(raw) {
            return Err(crate::payments::card::REFUSAL);
        }
        let method = raw.trim();
        if method.is_empty() || method.len() > 255 || !method.bytes().all(|b| b.is_ascii_graphic()) {
            Err("must be a payment method reference (like pm_card_visa): 1 to 255 printable characters without spaces")
        } else {
            Ok(Self(method.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TestPaymentMethod {
    type Error = &'static str;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<TestPaymentMethod> for String {
    fn from(method: TestPaymentMethod) -> Self {
        method.0
    }
}

/// The document as sent, for field-by-field validation.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RoutingRequest {
    /// Connected PSPs, most preferred first.
    #[schema(value_type = Vec<crate::payments::psp::PspKind>, required = true, min_items = 1)]
    pub priority: Option<Vec<String>>,
    #[serde(default)]
    pub rules: Vec<RuleRequest>,
    /// Charged in test mode for store orders that carry no payment method (default: each PSP's test
    /// default, `pm_card_visa` or the sandbox's success card). A Stripe `pm_…`, an Adyen stored payment
    /// method id, or a sandbox test card.
    pub test_payment_method: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RuleRequest {
    pub currency: Option<String>,
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
    pub psp: Option<String>,
}

const MAX_RULES: usize = 50;

impl RoutingDocument {
    /// Parses and checks a document against the merchant's connected PSPs: every PSP it names must be
    /// connected, `priority` lists each at most once, and amount ranges are sane.
    pub fn parse(request: RoutingRequest, connected: &[PspKind]) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let connected_psp = |field: String, raw: &str, errors: &mut FieldErrors| match PspKind::parse(raw) {
            None => {
                errors.push(field, "must be one of stripe, adyen, sandbox");
                None
            }
            Some(psp) if !connected.contains(&psp) => {
                errors.push(field, format!("{psp} is not connected; connect it before routing to it"));
                None
            }
            Some(psp) => Some(psp),
        };
        let mut priority = Vec::new();
        match request.priority {
            None => errors.push("priority", "is required"),
            Some(list) if list.is_empty() => errors.push("priority", "must name at least one connected PSP"),
            Some(list) => {
                for (i, raw) in list.iter().enumerate() {
                    if let Some(psp) = connected_psp(format!("priority[{i}]"), raw, &mut errors) {
                        if priority.contains(&psp) {
                            errors.push(format!("priority[{i}]"), format!("{psp} is listed twice"));
                        } else {
                            priority.push(psp);
                        }
                    }
                }
            }
        }
        if request.rules.len() > MAX_RULES {
            errors.push("rules", format!("must have at most {MAX_RULES} rules"));
        }
        let mut rules = Vec::new();
        for (i, rule) in request.rules.into_iter().enumerate() {
            let currency = errors.optional(&format!("rules[{i}].currency"), rule.currency, Currency::parse);
            for (name, bound) in [("min_amount", rule.min_amount), ("max_amount", rule.max_amount)] {
                if bound.is_some_and(|b| b < 0) {
                    errors.push(format!("rules[{i}].{name}"), "must not be negative");
                }
            }
            if let (Some(min), Some(max)) = (rule.min_amount, rule.max_amount)
                && min > max
            {
                errors.push(format!("rules[{i}].max_amount"), "must not be below min_amount");
            }
            let psp = match rule.psp {
                None => {
                    errors.push(format!("rules[{i}].psp"), "is required");
                    None
                }
                Some(raw) => connected_psp(format!("rules[{i}].psp"), &raw, &mut errors),
            };
            if let Some(psp) = psp {
                rules.push(RoutingRule { currency, min_amount: rule.min_amount, max_amount: rule.max_amount, psp });
            }
        }
        let test_payment_method =
            errors.optional("test_payment_method", request.test_payment_method, TestPaymentMethod::parse);
        errors.into_result()?;
        Ok(Self { priority, rules, test_payment_method })
    }

    /// The PSPs to try for an amount, in order: the first matching rule's PSP (or the first of
    /// `priority`), then the rest of `priority`. Only PSPs in `available` are returned.
    pub fn candidates(&self, amount: &Money, available: &[PspKind]) -> Vec<PspKind> {
        let chosen = self.rules.iter().find(|rule| rule.matches(amount)).map(|rule| rule.psp);
        let mut order = Vec::new();
        for psp in chosen.into_iter().chain(self.priority.iter().copied()) {
            if available.contains(&psp) && !order.contains(&psp) {
                order.push(psp);
            }
        }
        order
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredRouting {
    #[serde(flatten)]
    document: RoutingDocument,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

fn routing_key(merchant_id: &MerchantId) -> ItemKey {
    ItemKey::new(format!("MERCHANT#{merchant_id}"), "ROUTING")
}

pub async fn get(
    table: &dyn Table,
    merchant_id: &MerchantId,
) -> Result<Option<(RoutingDocument, OffsetDateTime)>, Error> {
    let Some(item) = table.get(&routing_key(merchant_id)).await? else { return Ok(None) };
    let stored: StoredRouting = from_item(&item)?;
    Ok(Some((stored.document, stored.updated_at)))
}

/// Replaces the document (last writer wins: a PUT is a full replacement).
pub async fn put(
    table: &dyn Table,
    merchant_id: &MerchantId,
    document: RoutingDocument,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let stored = StoredRouting { document, updated_at: now };
    let item = Item::new(routing_key(merchant_id), to_attributes(&stored)?);
    table.put(item, Condition::None).await.map_err(|e: StoreError| e.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::parse("EUR").unwrap()).unwrap()
    }

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::parse("USD").unwrap()).unwrap()
    }

    fn issue_example(connected: &[PspKind]) -> Result<RoutingDocument, FieldErrors> {
        let request: RoutingRequest = serde_json::from_value(serde_json::json!({
            "priority": ["stripe", "adyen"],
            "rules": [{"currency": "EUR", "psp": "adyen"}, {"min_amount": 100000, "psp": "stripe"}]
        }))
        .unwrap();
        RoutingDocument::parse(request, connected)
    }

    #[test]
    fn first_matching_rule_wins_then_priority_supplies_fallbacks() {
        let both = [PspKind::Stripe, PspKind::Adyen];
        let doc = issue_example(&both).unwrap();
        assert_eq!(doc.candidates(&eur(500), &both), [PspKind::Adyen, PspKind::Stripe]);
        assert_eq!(doc.candidates(&eur(200_000), &both), [PspKind::Adyen, PspKind::Stripe], "EUR rule comes first");
        assert_eq!(doc.candidates(&usd(200_000), &both), [PspKind::Stripe, PspKind::Adyen]);
        assert_eq!(doc.candidates(&usd(500), &both), [PspKind::Stripe, PspKind::Adyen]);
        assert_eq!(doc.candidates(&eur(500), &[PspKind::Stripe]), [PspKind::Stripe], "only available PSPs");
    }

    #[test]
    fn a_rule_naming_an_unconnected_psp_is_refused_by_field() {
        let errors = issue_example(&[PspKind::Stripe]).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["priority[1]", "rules[0].psp"]);
    }

    #[test]
    fn malformed_documents_name_each_field() {
        let request: RoutingRequest = serde_json::from_value(serde_json::json!({
            "priority": ["stripe", "stripe", "paypal"],
            "rules": [{"currency": "EURO", "min_amount": 10, "max_amount": 5}, {"min_amount": -1, "psp": "stripe"}]
        }))
        .unwrap();
        let errors = RoutingDocument::parse(request, &[PspKind::Stripe]).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "priority[1]",
                "priority[2]",
                "rules[0].currency",
                "rules[0].max_amount",
                "rules[0].psp",
                "rules[1].min_amount"
            ]
        );
    }
}
