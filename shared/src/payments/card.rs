//! Card numbers (PANs) never enter Pivota: it charges PSP tokens (Stripe `pm_…`, Adyen stored payment
//! method ids), so it stays out of PCI DSS scope for cardholder data. A value is a card number when, after
//! spaces and dashes are removed, it is a known card network's number range and length with a valid Luhn
//! check digit; the network ranges and lengths are the `card-validate` crate's.
//!
//! The one exception is the sandbox PSP's documented test cards (`connectors::sandbox`), which are
//! accepted in test mode for payments routed to the sandbox only (`payments`).

use crate::payments::connectors::sandbox;

/// Whether `raw` is a card number (spaces and dashes allowed as separators).
pub fn is_card_number(raw: &str) -> bool {
    let digits: String = raw.trim().chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    digits.len() >= 12 && card_validate::Validate::from(&digits).is_ok()
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
