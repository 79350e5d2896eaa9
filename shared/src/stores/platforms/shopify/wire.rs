//! Shopify's Admin GraphQL response shapes, its money strings, and the cost-bucket arithmetic.
//!
//! Every response carries `extensions.cost` ("GraphQL Admin API rate limits",
//! https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits):
//! `{"requestedQueryCost": 954, "actualQueryCost": 210, "throttleStatus": {"maximumAvailable": 1000.0,
//! "currentlyAvailable": 790, "restoreRate": 50.0}}`. Before a query runs the bucket must hold its requested
//! cost; afterwards the difference to the actual cost is refunded. A refused query is an HTTP 200 with
//! `{"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", …}}], "extensions": {"cost":
//! {… "actualQueryCost": null …}}}` (the shape community.shopify.com/t/8456 and Shopify's own examples show:
//! `extensions` is top level, next to `errors`).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::kernel::money::Currency;

/// `{ data, errors, extensions }`. `errors` is an array on a 200 and a bare string on some 4xx
/// (`{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`).
#[derive(Debug, Deserialize)]
pub(super) struct Response<T> {
    pub data: Option<T>,
    #[serde(default)]
    pub errors: Option<Value>,
    #[serde(default)]
    pub extensions: Option<Extensions>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Extensions {
    pub cost: Option<QueryCost>,
}

#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct QueryCost {
    pub requested_query_cost: f64,
    /// `null` when the query was throttled (it never ran).
    pub actual_query_cost: Option<f64>,
    pub throttle_status: ThrottleStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ThrottleStatus {
    pub maximum_available: f64,
    pub currently_available: f64,
    /// Points per second.
    pub restore_rate: f64,
}

/// How long until the bucket holds `next_cost` points again, reading the bucket from `status`. The restore
/// rate and the bucket size are the shop's (they depend on its plan), so they are always read, never
/// assumed. Rounded up to the millisecond so the wait is never a hair too short.
pub(crate) fn wait_for(next_cost: f64, status: &ThrottleStatus) -> Duration {
    let deficit = next_cost.min(status.maximum_available) - status.currently_available;
    if deficit <= 0.0 || status.restore_rate <= 0.0 {
        return Duration::ZERO;
    }
    Duration::from_millis((deficit / status.restore_rate * 1000.0).ceil() as u64)
}

/// The wait after a page: the next page is assumed to request what this one did.
pub(crate) fn wait_before_next(cost: &QueryCost) -> Duration {
    wait_for(cost.requested_query_cost, &cost.throttle_status)
}

/// The wait after a `THROTTLED` refusal: until the refused query's requested cost fits. At least a second
/// when the answer carries no cost (nothing better to go on) or the bucket already has room (a race with
/// the app's other calls on this shop).
pub(crate) fn retry_after_throttled(cost: Option<&QueryCost>) -> Duration {
    cost.map(wait_before_next).filter(|wait| !wait.is_zero()).unwrap_or(Duration::from_secs(1))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not a decimal amount")]
    NotDecimal(String),
    #[error("`{amount}` has more precision than {currency} allows")]
    TooPrecise { amount: String, currency: Currency },
    #[error("`{0}` is too large")]
    TooLarge(String),
}

/// A Shopify money string (`"19.99"`, the GraphQL `Money`/`Decimal` scalars and the REST webhook prices) in
/// integer minor units of `currency`, exactly: digits are shifted as text, never through a float. Trailing
/// zeros past the currency's precision are accepted (`"1000.0"` JPY → 1000, `"19.990"` EUR → 1999); any
/// other digit there is refused rather than rounded (`"0.005"` EUR). Negative amounts are refused: a price
/// or an order total is never below zero.
pub fn parse_money(raw: &str, currency: Currency) -> Result<i64, MoneyError> {
    let text = raw.trim();
    let not_decimal = || MoneyError::NotDecimal(raw.to_owned());
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits_only = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) || (text.contains('.') && fraction.is_empty())
    {
        return Err(not_decimal());
    }
    let places = usize::from(currency.minor_units());
    let (kept, excess) = fraction.split_at(fraction.len().min(places));
    if excess.bytes().any(|byte| byte != b'0') {
        return Err(MoneyError::TooPrecise { amount: raw.to_owned(), currency });
    }
    let minor = format!("{whole}{kept:0<places$}");
    minor.parse::<i64>().map_err(|_| MoneyError::TooLarge(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn money_strings_become_exact_minor_units() {
        assert_eq!(parse_money("19.99", currency("EUR")), Ok(1999));
        assert_eq!(parse_money("1000", currency("JPY")), Ok(1000));
        assert_eq!(parse_money("1000.0", currency("JPY")), Ok(1000));
        assert_eq!(parse_money("1.5", currency("EUR")), Ok(150));
        assert_eq!(parse_money("19.990", currency("EUR")), Ok(1999));
        assert_eq!(parse_money("0", currency("USD")), Ok(0));
        assert_eq!(parse_money("1.234", currency("KWD")), Ok(1234));
        assert_eq!(parse_money(" 7.10 ", currency("GBP")), Ok(710));
    }

    #[test]
    fn money_strings_that_would_need_rounding_or_are_not_decimals_are_refused() {
        assert!(matches!(parse_money("0.005", currency("EUR")), Err(MoneyError::TooPrecise { .. })));
        assert!(matches!(parse_money("10.5", currency("JPY")), Err(MoneyError::TooPrecise { .. })));
        for bad in ["", ".5", "5.", "-1.00", "1e3", "1,00", "abc", "1.2.3", "+1"] {
            assert!(matches!(parse_money(bad, currency("EUR")), Err(MoneyError::NotDecimal(_))), "{bad}");
        }
        assert!(matches!(parse_money("99999999999999999999", currency("EUR")), Err(MoneyError::TooLarge(_))));
    }

    fn status(available: f64, restore: f64) -> ThrottleStatus {
        ThrottleStatus { maximum_available: 1000.0, currently_available: available, restore_rate: restore }
    }

    #[test]
    fn the_next_page_waits_until_the_bucket_holds_its_requested_cost() {
        let cost = |available| QueryCost {
            requested_query_cost: 954.0,
            actual_query_cost: Some(204.0),
            throttle_status: status(available, 50.0),
        };
        // 954 requested, 796 left: (954 - 796) / 50 = 3.16 s.
        assert_eq!(wait_before_next(&cost(796.0)), Duration::from_millis(3160));
        assert_eq!(wait_before_next(&cost(954.0)), Duration::ZERO);
        assert_eq!(wait_before_next(&cost(1000.0)), Duration::ZERO);
        // Rounded up, never down: (954 - 0) / 70 = 13.628571… s.
        assert_eq!(wait_for(954.0, &status(0.0, 70.0)), Duration::from_millis(13_629));
        // A cost above the bucket size can only wait for a full bucket.
        assert_eq!(wait_for(1500.0, &status(900.0, 100.0)), Duration::from_secs(1));
        // No restore rate: nothing to compute a wait from.
        assert_eq!(wait_for(954.0, &status(0.0, 0.0)), Duration::ZERO);
    }

    #[test]
    fn a_throttled_query_retries_once_its_cost_fits() {
        let refused =
            QueryCost { requested_query_cost: 70.0, actual_query_cost: None, throttle_status: status(66.0, 50.0) };
        assert_eq!(retry_after_throttled(Some(&refused)), Duration::from_millis(80));
        assert_eq!(retry_after_throttled(None), Duration::from_secs(1));
    }
}
