//! Idempotency of `/payment/execute`, after Stripe's and Powertools' designs.
//!
//! | item               | pk                           | sk               | TTL (`expires_at`) |
//! |--------------------|------------------------------|------------------|--------------------|
//! | idempotency record | `IDEMPOTENCY#<merchant_id>`  | `KEY#<key>`      | 24 h after claim   |
//!
//! A request claims its key with a conditional write (`in_progress`, with a lease). Finishing stores the
//! payment's final state together with the key's (`completed`); later requests with the same key and the
//! same body get that payment again, and the HTTP layer renders it as the first answer was rendered. A request
//! whose outcome at the PSP is unknown releases the key (`retryable`) pinned to the PSP it was at, so the
//! retry asks that PSP again with the same PSP idempotency key and gets the original result instead of a
//! second charge. A lease that ran out (the worker died mid-call) is taken over the same way.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::payments::psp::PspKind;
use crate::ports::ItemKey;
use crate::record::Record;

/// How long a claim outlives its request's own deadline before another request may take it over: the
/// lease is the time the request has left plus this (a request past its deadline has stopped calling PSPs).
pub const LEASE_SLACK: Duration = Duration::seconds(5);
/// How long a key is remembered.
pub const RETENTION: Duration = Duration::hours(24);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    InProgress,
    /// Released after a failure: the next request with the key continues the same payment.
    Retryable,
    Completed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub state: KeyState,
    /// SHA-256 of the canonical request: the same key with another body is refused.
    pub fingerprint: String,
    pub payment_id: String,
    /// The PSPs to try, fixed at the first claim so a retry follows the same order.
    pub candidates: Vec<PspKind>,
    /// The candidate being (or last) tried. Earlier candidates certainly did not charge.
    pub attempt_index: usize,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub lease_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The record's key ([`record_key`]): made of the request's merchant, mode and Idempotency-Key, none of
    /// which the stored attributes hold, so it is kept beside them and taken from the item read.
    #[serde(skip)]
    pub key: ItemKey,
    #[serde(skip)]
    pub version: u64,
}

/// The record of `key` for payments of `mode`: a test request is never answered with a live payment's
/// record, nor the other way round, even with the same key and body.
pub fn record_key(merchant_id: &MerchantId, mode: crate::payments::connectors::PspMode, key: &str) -> ItemKey {
    ItemKey::new(format!("IDEMPOTENCY#{merchant_id}"), format!("KEY#{}#{key}", mode.as_str()))
}

impl Record for IdempotencyRecord {
    crate::record::key_field!();

    /// Remembered for [`RETENTION`] after the first claim.
    fn expires_at(&self) -> Option<i64> {
        Some((self.created_at + RETENTION).unix_timestamp())
    }

    crate::record::version_field!();
}

/// What a request may do with its key.
#[derive(Debug)]
pub enum Claim {
    /// The caller owns the key and continues the payment of an earlier request (released, or abandoned
    /// by a worker whose lease ran out).
    Resume(IdempotencyRecord),
    /// Already completed: answer with this payment again. (A completed payment never changes, so its item is
    /// the answer the first request gave.)
    Replay { payment_id: String },
}

/// Decides what a request may do with an existing record.
pub fn on_existing(record: IdempotencyRecord, fingerprint: &str, now: OffsetDateTime) -> Result<Claim, Error> {
    if record.fingerprint != fingerprint {
        return Err(Error::Validation(
            crate::kernel::validation::FieldError::new(
                "Idempotency-Key",
                "was already used with a different request body; use a new key for a new payment",
            )
            .into(),
        ));
    }
    match record.state {
        KeyState::Completed => Ok(Claim::Replay { payment_id: record.payment_id }),
        KeyState::InProgress if record.lease_until.is_some_and(|lease| lease > now) => Err(Error::Conflict(
            "a request with this Idempotency-Key is still in progress; retry after it completes".into(),
        )),
        KeyState::InProgress | KeyState::Retryable => Ok(Claim::Resume(record)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(state: KeyState, lease_until: Option<OffsetDateTime>) -> IdempotencyRecord {
        IdempotencyRecord {
            state,
            fingerprint: "fp-1".into(),
            payment_id: "pay_1".into(),
            candidates: vec![PspKind::Stripe, PspKind::Adyen],
            attempt_index: 1,
            lease_until,
            created_at: OffsetDateTime::UNIX_EPOCH,
            key: ItemKey::new("IDEMPOTENCY#m-1", "KEY#test#k-1"),
            version: 3,
        }
    }

    #[test]
    fn a_key_is_replayed_resumed_or_refused_by_its_state_and_lease() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::minutes(10);

        let completed = on_existing(record(KeyState::Completed, None), "fp-1", now).unwrap();
        assert!(matches!(completed, Claim::Replay { ref payment_id } if payment_id == "pay_1"), "{completed:?}");

        // A live lease: another request holds the key.
        let held = on_existing(record(KeyState::InProgress, Some(now + Duration::seconds(1))), "fp-1", now);
        assert!(matches!(held, Err(Error::Conflict(_))), "{held:?}");

        // A lease that ran out (its request died mid-call) and a released key are taken over where they
        // stopped: same payment, same PSP order, same attempt.
        for (state, lease) in
            [(KeyState::InProgress, Some(now)), (KeyState::InProgress, None), (KeyState::Retryable, None)]
        {
            let resumed = on_existing(record(state, lease), "fp-1", now).unwrap();
            let Claim::Resume(taken) = resumed else { panic!("{state:?} {lease:?}: {resumed:?}") };
            assert_eq!((taken.payment_id.as_str(), taken.attempt_index, taken.version), ("pay_1", 1, 3));
        }

        // Another body under the same key is refused whatever the key's state, naming the header.
        for state in [KeyState::Completed, KeyState::InProgress, KeyState::Retryable] {
            let refused = on_existing(record(state, None), "fp-2", now);
            assert!(
                matches!(&refused, Err(e @ Error::Validation(_)) if format!("{e:?}").contains("Idempotency-Key")),
                "{refused:?}"
            );
        }
    }
}
