//! Money: integer minor units and an ISO 4217 currency. Never floating point.

use serde::{Deserialize, Serialize};

/// Active ISO 4217 currencies and their minor units (exponent), sorted by code for binary search.
const CURRENCIES: [(&str, u8); 155] = [
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("ANG", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYU", 2),
    ("UZS", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

/// An active ISO 4217 currency (an index into the table above).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an active ISO 4217 currency code such as EUR or USD")]
pub struct CurrencyError;

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, CurrencyError> {
        let code = raw.trim().to_ascii_uppercase();
        CURRENCIES
            .binary_search_by(|(known, _)| known.cmp(&code.as_str()))
            .map(|at| Self(at as u8))
            .map_err(|_| CurrencyError)
    }

    pub fn code(&self) -> &'static str {
        CURRENCIES[usize::from(self.0)].0
    }

    /// Digits after the decimal point (2 for EUR, 0 for JPY, 3 for KWD).
    pub fn minor_units(&self) -> u8 {
        CURRENCIES[usize::from(self.0)].1
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code().to_owned()
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The largest amount accepted: Stripe's limit of eight digits in minor units is 99,999,999; Adyen's
/// is higher. We keep one platform-wide bound that both PSPs accept.
pub const MAX_AMOUNT_MINOR: i64 = 99_999_999;

/// A positive amount in minor units of a currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("must be a positive integer number of minor units")]
    NotPositive,
    #[error("must be at most {MAX_AMOUNT_MINOR} minor units")]
    TooLarge,
}

impl Money {
    pub fn new(amount_minor: i64, currency: Currency) -> Result<Self, AmountError> {
        if amount_minor <= 0 {
            Err(AmountError::NotPositive)
        } else if amount_minor > MAX_AMOUNT_MINOR {
            Err(AmountError::TooLarge)
        } else {
            Ok(Self { amount_minor, currency })
        }
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} (minor units)", self.amount_minor, self.currency)
    }
}

impl Currency {
    /// `amount_minor` written in major units with this currency's digits: 1999 EUR → `19.99`, 500 JPY →
    /// `500`, -5 EUR → `-0.05`.
    pub fn format_minor(&self, amount_minor: i64) -> String {
        let digits = u32::from(self.minor_units());
        if digits == 0 {
            return amount_minor.to_string();
        }
        let scale = 10u64.pow(digits);
        let sign = if amount_minor < 0 { "-" } else { "" };
        let magnitude = amount_minor.unsigned_abs();
        format!("{sign}{}.{:0width$}", magnitude / scale, magnitude % scale, width = digits as usize)
    }

    /// Parses an amount typed in major units (`19.99`, `19.9`, `19`) into minor units, exactly: no floating
    /// point, and no more decimals than the currency has.
    pub fn parse_major(&self, text: &str) -> Result<i64, DecimalError> {
        let text = text.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = usize::from(self.minor_units());
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || text.ends_with('.') {
            return Err(DecimalError::NotANumber);
        }
        if fraction.len() > digits {
            return Err(DecimalError::TooManyDecimals(self.minor_units()));
        }
        let padded = format!("{whole}{fraction:0<digits$}");
        padded.parse::<i64>().ok().filter(|v| *v <= MAX_AMOUNT_MINOR).ok_or(DecimalError::TooLarge)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("must be a number such as 19.99")]
    NotANumber,
    #[error("must have at most {0} decimals in this currency")]
    TooManyDecimals(u8),
    #[error("is too large")]
    TooLarge,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_units_round_trip_without_floating_point() {
        let eur = Currency::parse("EUR").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(eur.format_minor(1999), "19.99");
        assert_eq!(eur.format_minor(5), "0.05");
        assert_eq!(eur.format_minor(-5), "-0.05");
        assert_eq!(jpy.format_minor(500), "500");
        assert_eq!(kwd.format_minor(1234), "1.234");
        assert_eq!(eur.parse_major("19.99"), Ok(1999));
        assert_eq!(eur.parse_major(" 19.9 "), Ok(1990));
        assert_eq!(eur.parse_major("19"), Ok(1900));
        assert_eq!(jpy.parse_major("500"), Ok(500));
        assert_eq!(kwd.parse_major("1.234"), Ok(1234));
        assert_eq!(eur.parse_major("19.999"), Err(DecimalError::TooManyDecimals(2)));
        assert_eq!(jpy.parse_major("5.5"), Err(DecimalError::TooManyDecimals(0)));
        for bad in ["", ".5", "5.", "1e3", "-1", "1,50", "NaN", "0x10"] {
            assert_eq!(eur.parse_major(bad), Err(DecimalError::NotANumber), "{bad}");
        }
        assert_eq!(eur.parse_major("999999999999999999999"), Err(DecimalError::TooLarge));
    }

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(CURRENCIES.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    #[test]
    fn parses_codes_with_their_minor_units() {
        assert_eq!(Currency::parse("eur").unwrap().code(), "EUR");
        assert_eq!(Currency::parse("JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().minor_units(), 3);
        for bad in ["", "EU", "EURO", "XXX", "ABC", "€"] {
            assert_eq!(Currency::parse(bad), Err(CurrencyError), "{bad:?}");
        }
    }

    #[test]
    fn amounts_are_positive_and_bounded() {
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(Money::new(0, eur), Err(AmountError::NotPositive));
        assert_eq!(Money::new(-5, eur), Err(AmountError::NotPositive));
        assert_eq!(Money::new(MAX_AMOUNT_MINOR + 1, eur), Err(AmountError::TooLarge));
        assert_eq!(Money::new(1999, eur).unwrap().amount_minor, 1999);
    }
}
