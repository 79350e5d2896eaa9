//! Each PSP's limits on a payment's metadata, checked before any call (422 naming the field) against
//! what Pivota sends: the merchant's pairs plus Pivota's own (`order_id`, `payment_id`).
//! - Stripe, "Metadata" (API reference): at most 50 keys, keys of at most 40 characters that contain no
//!   square brackets, values of at most 500 characters.
//! - Adyen, Checkout API v71 `PaymentRequest.metadata`: at most 20 pairs, keys of at most 20 characters,
//!   values of at most 80 characters; beyond that the payment fails with error 177 "Metadata size exceeds
//!   limit". (Pivota shortens its own `order_id` value to 80 characters there.)

use std::collections::BTreeMap;

use crate::kernel::validation::FieldError;
use crate::payments::psp::PspKind;

/// The keys Pivota adds to every payment's metadata.
pub const PIVOTA_KEYS: [&str; 2] = ["order_id", "payment_id"];

struct Limits {
    pairs: usize,
    key_chars: usize,
    value_chars: usize,
    brackets_allowed: bool,
}

fn limits(psp: PspKind) -> Option<Limits> {
    match psp {
        PspKind::Stripe => Some(Limits { pairs: 50, key_chars: 40, value_chars: 500, brackets_allowed: false }),
        PspKind::Adyen => Some(Limits { pairs: 20, key_chars: 20, value_chars: 80, brackets_allowed: true }),
        PspKind::Sandbox => None,
    }
}

/// Whether `psp` takes this metadata, with Pivota's own keys added: the first offending field if not.
pub fn check(psp: PspKind, metadata: &BTreeMap<String, String>) -> Result<(), FieldError> {
    let Some(limits) = limits(psp) else { return Ok(()) };
    let pairs = metadata.keys().filter(|key| !PIVOTA_KEYS.contains(&key.as_str())).count() + PIVOTA_KEYS.len();
    if pairs > limits.pairs {
        return Err(FieldError::new(
            "metadata",
            format!(
                "{psp} takes at most {} pairs, {} of them Pivota's own ({}): at most {} of yours",
                limits.pairs,
                PIVOTA_KEYS.len(),
                PIVOTA_KEYS.join(", "),
                limits.pairs - PIVOTA_KEYS.len()
            ),
        ));
    }
    for (key, value) in metadata {
        if key.chars().count() > limits.key_chars
            || (!limits.brackets_allowed && (key.contains('[') || key.contains(']')))
        {
            let brackets = if limits.brackets_allowed { "" } else { ", without square brackets" };
            return Err(FieldError::new(
                format!("metadata.{key}"),
                format!("{psp} takes keys of at most {} characters{brackets}", limits.key_chars),
            ));
        }
        if value.chars().count() > limits.value_chars {
            return Err(FieldError::new(
                format!("metadata.{key}"),
                format!("{psp} takes values of at most {} characters", limits.value_chars),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(n: usize) -> BTreeMap<String, String> {
        (0..n).map(|i| (format!("k{i}"), "v".to_owned())).collect()
    }

    #[test]
    fn adyen_takes_eighteen_pairs_of_the_merchants_beside_pivotas_two() {
        assert!(check(PspKind::Adyen, &pairs(18)).is_ok());
        assert_eq!(check(PspKind::Adyen, &pairs(19)).unwrap_err().field, "metadata");
        assert!(check(PspKind::Stripe, &pairs(19)).is_ok());
    }

    #[test]
    fn keys_and_values_are_measured_per_psp() {
        let long_key = BTreeMap::from([("k".repeat(21), "v".to_owned())]);
        assert_eq!(check(PspKind::Adyen, &long_key).unwrap_err().field, format!("metadata.{}", "k".repeat(21)));
        assert!(check(PspKind::Stripe, &long_key).is_ok());
        let long_value = BTreeMap::from([("k".to_owned(), "v".repeat(81))]);
        assert!(check(PspKind::Adyen, &long_value).is_err());
        assert!(check(PspKind::Stripe, &long_value).is_ok());
        let brackets = BTreeMap::from([("a[b]".to_owned(), "v".to_owned())]);
        assert!(check(PspKind::Stripe, &brackets).is_err());
        assert!(check(PspKind::Adyen, &brackets).is_ok());
        assert!(check(PspKind::Sandbox, &pairs(100)).is_ok());
    }
}
