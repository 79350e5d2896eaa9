//! Amounts as each PSP writes them. Pivota keeps money in ISO 4217 minor units ([`Money`]); Stripe and Adyen
//! each have their own idea of a currency's minor unit, so the integer on the wire is converted here, exactly or
//! not at all: to more digits by multiplying, to fewer only when nothing is lost, and never by rounding.
//!
//! Each PSP says how it writes a currency ([`PspProfile::currency`]), from its own published tables:
//! - **Stripe**: its "Supported currencies" page, in `stripe/currencies.rs` (which cites it): two decimals
//!   unless listed otherwise, zero- and three-decimal lists, the special cases ISK and UGX, and an eight-digit
//!   `amount`;
//! - **Adyen**: its "Currency codes and minor units" table, in `adyen/currencies.rs` (which cites it);
//! - **Sandbox**: ISO minor units unchanged, in every currency ([`iso`]).

use crate::kernel::money::{Currency, Money};
use crate::payments::connectors::PspProfile;

/// Why an amount cannot be sent to a PSP. `field` is the request field at fault: `currency` (the PSP does not
/// take this currency) or `amount` (it cannot represent this amount exactly, or it is too large).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AmountRefusal {
    pub field: &'static str,
    pub message: String,
}

/// How a PSP writes amounts in one currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PspCurrency {
    /// Digits after the decimal point in the PSP's integer amount (2: 1999 means 19.99).
    pub exponent: u8,
    /// The wire value must be a multiple of this (Stripe's three-decimal currencies: 10).
    pub step: i64,
    /// The largest wire value the PSP takes.
    pub max: i64,
}

/// ISO 4217's own minor units, in every currency, without a limit: the sandbox's way.
pub fn iso(currency: Currency) -> PspCurrency {
    PspCurrency { exponent: currency.minor_units(), step: 1, max: i64::MAX }
}

/// `money` as the integer `psp` expects on the wire, or why it cannot be sent: 10000 ISK is `1000000` at Stripe,
/// 500 JPY is `500`, 1.250 KWD is `1250`; 1.255 KWD is refused at Stripe (field `amount`), as is 12.34 CVE at
/// Adyen (whole escudos only), and a currency the PSP does not take (field `currency`).
pub fn psp_amount(psp: &dyn PspProfile, money: &Money) -> Result<i64, AmountRefusal> {
    let currency = money.currency;
    let name = psp.display_name();
    let wire = psp.currency(currency).ok_or_else(|| AmountRefusal {
        field: "currency",
        message: format!("{name} does not accept payments in {currency}"),
    })?;
    let iso = u32::from(currency.minor_units());
    let exponent = u32::from(wire.exponent);
    let amount = money.amount_minor;
    let written = |minor: i64| format!("{} {currency}", currency.format_minor(minor));
    let too_large = || AmountRefusal {
        field: "amount",
        message: format!("{} is more than {name} accepts in one payment", written(amount)),
    };
    let not_exact = || {
        // The PSP's smallest amount, in ISO minor units (at least one: a larger exponent refuses nothing).
        let step = match iso.checked_sub(exponent) {
            Some(fewer) => wire.step.saturating_mul(10i64.saturating_pow(fewer)),
            None => (wire.step / 10i64.saturating_pow(exponent - iso)).max(1),
        };
        AmountRefusal {
            field: "amount",
            message: format!(
                "{name} takes {currency} amounts only in steps of {}; {} is not a multiple of it",
                written(step),
                written(amount)
            ),
        }
    };
    let value = if exponent >= iso {
        10i64.checked_pow(exponent - iso).and_then(|factor| amount.checked_mul(factor)).ok_or_else(too_large)?
    } else {
        let divisor = 10i64.pow(iso - exponent);
        if amount % divisor != 0 {
            return Err(not_exact());
        }
        amount / divisor
    };
    if value % wire.step != 0 {
        return Err(not_exact());
    }
    if value > wire.max {
        return Err(too_large());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::psp::PspKind;

    fn money(amount_minor: i64, code: &str) -> Money {
        Money { amount_minor, currency: Currency::parse(code).unwrap() }
    }

    fn at(psp: PspKind, amount_minor: i64, code: &str) -> Result<i64, AmountRefusal> {
        psp_amount(psp.profile(), &money(amount_minor, code))
    }

    fn refused(psp: PspKind, amount_minor: i64, code: &str) -> &'static str {
        match at(psp, amount_minor, code) {
            Ok(value) => panic!("{psp} took {amount_minor} {code} as {value}"),
            Err(refusal) => refusal.field,
        }
    }

    #[test]
    fn stripe_amounts() {
        use PspKind::Stripe;
        // The documented examples.
        assert_eq!(at(Stripe, 10_000, "ISK"), Ok(1_000_000));
        assert_eq!(at(Stripe, 500, "JPY"), Ok(500));
        assert_eq!(at(Stripe, 1250, "KWD"), Ok(1250));
        assert_eq!(refused(Stripe, 1255, "KWD"), "amount");
        // Zero-decimal in ISO and at Stripe.
        assert_eq!(at(Stripe, 50_000, "KRW"), Ok(50_000));
        assert_eq!(at(Stripe, 5000, "CLP"), Ok(5000));
        // UGX: zero-decimal in ISO, written with two decimals (5 UGX is 500).
        assert_eq!(at(Stripe, 5, "UGX"), Ok(500));
        // HUF and TWD charge as ordinary two-decimal amounts (the whole-unit rule is for payouts).
        assert_eq!(at(Stripe, 1045, "HUF"), Ok(1045));
        assert_eq!(at(Stripe, 80_045, "TWD"), Ok(80_045));
        // MGA: two-decimal in ISO, zero-decimal at Stripe.
        assert_eq!(at(Stripe, 1200, "MGA"), Ok(12));
        assert_eq!(refused(Stripe, 1250, "MGA"), "amount");
        // Three-decimal: the last digit must be 0.
        assert_eq!(at(Stripe, 5120, "BHD"), Ok(5120));
        assert_eq!(refused(Stripe, 5124, "BHD"), "amount");
        // Two-decimal, unchanged.
        assert_eq!(at(Stripe, 1999, "EUR"), Ok(1999));
        assert_eq!(at(Stripe, 1234, "CVE"), Ok(1234));
    }

    #[test]
    fn adyen_amounts() {
        use PspKind::Adyen;
        assert_eq!(at(Adyen, 500, "JPY"), Ok(500));
        assert_eq!(at(Adyen, 50_000, "KRW"), Ok(50_000));
        // ISK and CLP: zero-decimal in ISO, two decimals at Adyen.
        assert_eq!(at(Adyen, 10_000, "ISK"), Ok(1_000_000));
        assert_eq!(at(Adyen, 5000, "CLP"), Ok(500_000));
        // CVE and IDR: two-decimal in ISO, zero at Adyen: whole units only.
        assert_eq!(at(Adyen, 1200, "CVE"), Ok(12));
        assert_eq!(refused(Adyen, 1234, "CVE"), "amount");
        assert_eq!(at(Adyen, 1_500_000, "IDR"), Ok(15_000));
        assert_eq!(refused(Adyen, 1_500_050, "IDR"), "amount");
        // Same as ISO.
        assert_eq!(at(Adyen, 1045, "HUF"), Ok(1045));
        assert_eq!(at(Adyen, 80_045, "TWD"), Ok(80_045));
        assert_eq!(at(Adyen, 5, "UGX"), Ok(5));
        assert_eq!(at(Adyen, 1255, "KWD"), Ok(1255));
        assert_eq!(at(Adyen, 5124, "BHD"), Ok(5124));
        assert_eq!(at(Adyen, 1999, "EUR"), Ok(1999));
    }

    #[test]
    fn the_sandbox_takes_iso_minor_units_unchanged() {
        for (amount, code) in [(10_000, "ISK"), (1255, "KWD"), (1234, "CVE"), (1999, "EUR"), (1250, "MGA")] {
            assert_eq!(at(PspKind::Sandbox, amount, code), Ok(amount), "{code}");
        }
    }

    #[test]
    fn unsupported_currencies_are_refused_naming_the_currency() {
        // Stripe lists no STN (only the retired STD), Adyen no BIF or MGA.
        assert_eq!(refused(PspKind::Stripe, 1000, "STN"), "currency");
        assert_eq!(refused(PspKind::Adyen, 1000, "BIF"), "currency");
        assert_eq!(refused(PspKind::Adyen, 1000, "MGA"), "currency");
        assert_eq!(refused(PspKind::Stripe, 1000, "IQD"), "currency");
        let refusal = at(PspKind::Stripe, 1000, "STN").unwrap_err();
        assert_eq!(refusal.to_string(), "Stripe does not accept payments in STN");
    }

    #[test]
    fn refusals_say_what_would_fit() {
        let kwd = at(PspKind::Stripe, 1255, "KWD").unwrap_err();
        assert_eq!(
            kwd.message,
            "Stripe takes KWD amounts only in steps of 0.010 KWD; 1.255 KWD is not a multiple of it"
        );
        let cve = at(PspKind::Adyen, 1234, "CVE").unwrap_err();
        assert_eq!(cve.message, "Adyen takes CVE amounts only in steps of 1.00 CVE; 12.34 CVE is not a multiple of it");
    }

    #[test]
    fn too_large_and_overflowing_amounts_are_refused() {
        // Within Pivota's bound in ISO units, but nine digits once ISK is written with two decimals.
        assert_eq!(at(PspKind::Stripe, 999_999, "ISK"), Ok(99_999_900));
        assert_eq!(refused(PspKind::Stripe, 1_000_000, "ISK"), "amount");
        assert_eq!(refused(PspKind::Adyen, i64::MAX, "ISK"), "amount");
        assert_eq!(at(PspKind::Adyen, i64::MAX / 100, "CLP"), Ok(i64::MAX / 100 * 100));
    }
}
