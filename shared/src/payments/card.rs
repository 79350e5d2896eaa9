//! Card numbers (PANs) never enter Pivota: it charges PSP tokens (Stripe `pm_…`, Adyen stored payment
//! method ids), so it stays out of PCI DSS scope for cardholder data. A value is a card number when, after
//! spaces and dashes are removed, it is a known card network's number range and length with a valid Luhn
//! check digit.
//!
//! The networks' leading digits and lengths are those of the `card-validate` crate (2.4), checked in its
//! order: the first network whose leading digits match decides the lengths. That crate matches them with
//! thirteen regular expressions, which linked a regex engine and its Unicode tables into every HTTP
//! function (the problem renderer redacts card numbers) for what are prefix comparisons; `NETWORKS` is
//! its table as data, and a test checks this module against the crate itself over every four-digit
//! prefix, every length and every check digit.
//!
//! The one exception is the sandbox PSP's documented test cards (`connectors::sandbox`), which are
//! accepted in test mode for payments routed to the sandbox only (`payments`).

use std::ops::RangeInclusive;

use crate::payments::connectors::sandbox;

/// A card network: the leading digits of its numbers and their lengths.
struct Network {
    prefixes: &'static [&'static str],
    lengths: RangeInclusive<usize>,
}

/// `card-validate` 2.4's networks in its order (Visa Electron, Maestro, Forbrugsforeningen, Dankort,
/// Visa, MIR, Mastercard, American Express, Diners Club, Discover, UnionPay, JCB), its regular
/// expressions spelt out as prefixes.
const NETWORKS: &[Network] = &[
    Network { prefixes: &["4026", "417500", "4405", "4508", "4844", "4913", "4917"], lengths: 16..=16 },
    Network { prefixes: &["5018", "502", "503", "56", "58", "639", "67"], lengths: 12..=19 },
    Network { prefixes: &["600"], lengths: 16..=16 },
    Network { prefixes: &["5019"], lengths: 16..=16 },
    Network { prefixes: &["4"], lengths: 13..=16 },
    Network { prefixes: &["2200", "2201", "2202", "2203", "2204"], lengths: 16..=19 },
    Network { prefixes: &["51", "52", "53", "54", "55", "22", "23", "24", "25", "26", "27"], lengths: 16..=16 },
    Network { prefixes: &["34", "37"], lengths: 15..=15 },
    Network { prefixes: &["30", "36", "38", "39"], lengths: 14..=14 },
    Network { prefixes: &["60", "64", "65", "622"], lengths: 16..=16 },
    Network { prefixes: &["62", "88"], lengths: 16..=19 },
    Network { prefixes: &["35"], lengths: 16..=16 },
];

/// Whether `raw` is a card number (spaces and dashes allowed as separators).
pub fn is_card_number(raw: &str) -> bool {
    let digits: String = raw.trim().chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    digits.len() >= 12 && is_network_number(&digits)
}

/// Whether `digits` is a known network's number: ASCII digits only, the length the first network whose
/// leading digits match allows, and a valid Luhn check digit.
fn is_network_number(digits: &str) -> bool {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    NETWORKS
        .iter()
        .find(|network| network.prefixes.iter().any(|prefix| digits.starts_with(prefix)))
        .is_some_and(|network| network.lengths.contains(&digits.len()) && luhn_valid(digits))
}

/// The Luhn (mod 10) check of ISO/IEC 7812-1: from the right, every second digit doubled (less 9 when
/// over 9), and the sum a multiple of 10.
fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .map(|b| u32::from(b - b'0'))
        .enumerate()
        .map(|(i, d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether `raw` is one of the sandbox's documented test cards.
pub fn is_sandbox_test_card(raw: &str) -> bool {
    let digits: String = raw.trim().chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    sandbox::TEST_CARDS.contains(&digits.as_str())
}

/// What a payment method field says when it holds a card number.
pub const REFUSAL: &str = "is a card number; card numbers never enter Pivota: send the PSP's token instead (a Stripe pm_…, an Adyen stored payment method id)";

/// `text` with every card number in it (digits, possibly separated by single spaces or dashes) replaced:
/// PSP messages that echo a number are stored and shown only like this.
pub fn redact_card_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The longest run of digits with single separators between them, starting here.
        let mut end = i;
        let mut digits = String::new();
        let mut j = i;
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                digits.push(chars[j]);
                end = j + 1;
                j += 1;
            } else if matches!(chars[j], ' ' | '-') && j + 1 < chars.len() && chars[j + 1].is_ascii_digit() {
                j += 1;
            } else {
                break;
            }
        }
        if contains_card_number(&digits) {
            out.push_str("[card number removed]");
        } else {
            out.extend(&chars[i..end]);
        }
        i = end;
    }
    out
}

/// Whether some window of 12 to 19 consecutive digits in `digits` is a card number.
fn contains_card_number(digits: &str) -> bool {
    let len = digits.len();
    (12..=19.min(len)).rev().any(|width| (0..=len - width).any(|start| is_card_number(&digits[start..start + width])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_are_recognised_with_or_without_separators() {
        for number in [
            "4111111111111111",
            "4111-1111-1111-1111",
            "4111 1111 1111 1111",
            "5555555555554444",
            "378282246310005",
            "6011111111111117",
            "3530111333300000",
            " 4242424242424242 ",
        ] {
            assert!(is_card_number(number), "{number}");
        }
    }

    #[test]
    fn psp_tokens_and_non_cards_are_not_card_numbers() {
        for value in [
            "pm_card_visa",
            "pm_1NXj2eLkdIwHu7ix",
            // Adyen stored payment method ids: digits starting with 8, outside the card networks' ranges.
            "8415995487234100",
            "8315412345678901",
            // A Visa-shaped number failing Luhn.
            "4111111111111112",
            "12345",
            "",
        ] {
            assert!(!is_card_number(value), "{value}");
        }
    }

    /// The table against the crate it was taken from: every four-digit prefix (and the six-digit ones
    /// around Visa Electron's `417500`), every length from 12 to 19, with each of the ten check digits
    /// (one of which passes Luhn).
    #[test]
    fn the_network_table_answers_what_card_validate_answers() {
        let prefixes = (0..10_000).map(|p| format!("{p:04}")).chain((417_400..417_600).map(|p| p.to_string()));
        let mut checked = 0;
        let mut cards = 0;
        for prefix in prefixes {
            for length in 12..=19 {
                let body = format!("{prefix}{}", "7".repeat(length - prefix.len() - 1));
                for check in 0..=9 {
                    let number = format!("{body}{check}");
                    let expected = card_validate::Validate::from(&number).is_ok();
                    assert_eq!(is_card_number(&number), expected, "{number}");
                    checked += 1;
                    cards += usize::from(expected);
                }
            }
        }
        // A sweep that found no card (or only cards) would prove nothing.
        assert!(cards > 10_000 && cards < checked / 5, "{cards} cards of {checked}");
    }

    #[test]
    fn luhn_check_digits() {
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert!(luhn_valid("0"));
        assert!(!is_network_number(""));
        assert!(!is_network_number("4111１111111111111"));
    }

    #[test]
    fn sandbox_test_cards_are_known() {
        assert!(is_sandbox_test_card("4242 4242 4242 4242"));
        assert!(!is_sandbox_test_card("4111111111111111"));
    }

    #[test]
    fn psp_messages_lose_their_card_numbers() {
        let message = "Your card number 4111-1111-1111-1111 was declined (ref 12345, order 1001)";
        let redacted = redact_card_numbers(message);
        assert_eq!(redacted, "Your card number [card number removed] was declined (ref 12345, order 1001)");
        assert_eq!(redact_card_numbers("card=5555555555554444."), "card=[card number removed].");
        assert_eq!(redact_card_numbers("no numbers here"), "no numbers here");
        assert_eq!(redact_card_numbers("psp_ref 8415995487234100"), "psp_ref 8415995487234100");
    }
}
