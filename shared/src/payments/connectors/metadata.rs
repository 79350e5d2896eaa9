//! Each PSP's limits on a payment's metadata, checked before any call (422 naming the field) against
//! what Pivota sends: the merchant's pairs plus Pivota's own (`order_id`, `payment_id`).
//! Each PSP's limits are in its profile ([`PspProfile::metadata_limits`](super::PspProfile::metadata_limits)),
//! cited there.

use std::collections::BTreeMap;

use crate::kernel::validation::FieldError;

/// The keys Pivota adds to every payment's metadata.
pub const PIVOTA_KEYS: [&str; 2] = ["order_id", "payment_id"];

/// A PSP's limits on metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetadataLimits {
    /// Pairs in all, Pivota's own included.
    pub pairs: usize,
    pub key_chars: usize,
    pub value_chars: usize,
    /// Whether keys may contain `[` or `]`.
    pub brackets_allowed: bool,
}

/// Whether `psp` (a PSP's name, for the message) with these `limits` takes this metadata, with Pivota's own
/// keys added: the first offending field if not.
pub fn check(psp: &str, limits: Option<MetadataLimits>, metadata: &BTreeMap<String, String>) -> Result<(), FieldError> {
    let Some(limits) = limits else { return Ok(()) };
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
    use crate::payments::psp::PspKind;

    fn check(psp: PspKind, metadata: &BTreeMap<String, String>) -> Result<(), FieldError> {
        super::check(psp.as_str(), psp.profile().metadata_limits(), metadata)
    }

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
