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

/// Stripe's presentment currencies (see the module docs), sorted.
pub(super) const STRIPE_SUPPORTED: [&str; 138] = [
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
pub(super) const STRIPE_ZERO_DECIMAL: [&str; 16] =
    ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"];

/// Stripe's "Three-decimal currencies": the last digit must be 0.
pub(super) const STRIPE_THREE_DECIMAL: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];

/// Stripe's special cases ISK and UGX: whole units only, written with two decimals that are always `00`.
pub(super) const STRIPE_WHOLE_UNITS_AS_TWO_DECIMAL: [&str; 2] = ["ISK", "UGX"];

/// Stripe's `amount`: at most eight digits.
pub(super) const STRIPE_MAX_AMOUNT: i64 = 99_999_999;
