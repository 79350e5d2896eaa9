//! Stripe's currency tables, from "Supported currencies" (https://docs.stripe.com/currencies, sections
//! "Supported presentment currencies", "Zero-decimal currencies", "Three-decimal currencies", "Special
//! cases"):
//! - Currencies are two-decimal unless listed otherwise. Supported: the presentment list (the widest render,
//!   plus BHD, JOD, KWD, OMR and TND, which the page lists for accounts that may present them, e.g. the UAE).
//! - Zero-decimal: BIF, CLP, DJF, GNF, JPY, KMF, KRW, MGA, PYG, RWF, UGX, VND, VUV, XAF, XOF, XPF ("to charge
//!   500 JPY, provide an `amount` value of `500`"). MGA is two-decimal in ISO, so only whole ariary can be sent.
//! - Three-decimal: BHD, JOD, KWD, OMR, TND; "these API calls require the least-significant (last) digit to be
//!   0" (5.124 KWD must be 5120 or 5130), so the wire value is a multiple of 10.
//! - Special cases: ISK and UGX "transitioned to a zero-decimal currency, but backward compatibility requires you
//!   to represent it as a two-decimal value, where the decimal amount is always `00`. For example, to charge 5
//!   ISK, provide an `amount` value of `500`" (and the same for UGX, which the page also lists as zero-decimal:
//!   the special case is the specific rule and wins). HUF and TWD: "Stripe treats HUF [TWD] as a zero-decimal
//!   currency for payouts, even though you can charge two-decimal amounts"; the divisible-by-100 rule is for
//!   manual payouts, which Pivota does not make, so charges are ordinary two-decimal amounts.
//! - The `amount` "supports up to eight digits" ("Create a PaymentIntent",
//!   https://docs.stripe.com/api/payment_intents/create), the bound [`crate::kernel::money::MAX_AMOUNT_MINOR`] is
//!   built on; it is checked on the converted value, which ISK and UGX make a hundred times larger.

use crate::kernel::money::Currency;
use crate::payments::connectors::PspCurrency;

/// Stripe's presentment currencies (see the module docs), sorted.
const STRIPE_SUPPORTED: [&str; 138] = [
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BRL", "BSD", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CVE",
    "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF",
    "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP",
    "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SEK", "SGD", "SHP", "SLE",
    "SOS", "SRD", "SZL", "THB", "TJS", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW",
];

/// Stripe's "Zero-decimal currencies" list, as published (UGX included; its special case wins).
const STRIPE_ZERO_DECIMAL: [&str; 16] =
    ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"];

/// Stripe's "Three-decimal currencies": the last digit must be 0.
const STRIPE_THREE_DECIMAL: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];

/// Stripe's special cases ISK and UGX: whole units only, written with two decimals that are always `00`.
const STRIPE_WHOLE_UNITS_AS_TWO_DECIMAL: [&str; 2] = ["ISK", "UGX"];

/// Stripe's `amount`: at most eight digits.
const STRIPE_MAX_AMOUNT: i64 = 99_999_999;

/// How Stripe writes amounts in `currency`; `None` when it does not take the currency.
pub fn currency(currency: Currency) -> Option<PspCurrency> {
    let code = currency.code();
    let listed = |list: &[&str]| list.binary_search(&code).is_ok();
    if !listed(&STRIPE_SUPPORTED) {
        return None;
    }
    let (exponent, step) = if STRIPE_WHOLE_UNITS_AS_TWO_DECIMAL.contains(&code) {
        (2, 100)
    } else if listed(&STRIPE_ZERO_DECIMAL) {
        (0, 1)
    } else if STRIPE_THREE_DECIMAL.contains(&code) {
        (3, 10)
    } else {
        (2, 1)
    };
    Some(PspCurrency { exponent, step, max: STRIPE_MAX_AMOUNT })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_use_active_iso_codes() {
        assert!(STRIPE_SUPPORTED.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(STRIPE_ZERO_DECIMAL.windows(2).all(|pair| pair[0] < pair[1]));
        let lists = STRIPE_SUPPORTED.iter().chain(&STRIPE_ZERO_DECIMAL).chain(&STRIPE_THREE_DECIMAL);
        for code in lists.chain(&STRIPE_WHOLE_UNITS_AS_TWO_DECIMAL) {
            assert!(Currency::parse(code).is_ok(), "{code}");
        }
        for code in STRIPE_ZERO_DECIMAL.iter().chain(&STRIPE_THREE_DECIMAL) {
            assert!(STRIPE_SUPPORTED.contains(code), "{code}");
        }
    }

    /// Where Stripe's exponent differs from ISO 4217: exactly the currencies its documentation names.
    #[test]
    fn exponents_differ_from_iso_only_where_documented() {
        let differing: Vec<_> = STRIPE_SUPPORTED
            .into_iter()
            .filter(|code| {
                let iso = Currency::parse(code).unwrap();
                currency(iso).unwrap().exponent != iso.minor_units()
            })
            .collect();
        assert_eq!(differing, ["ISK", "MGA", "UGX"]);
    }
}
