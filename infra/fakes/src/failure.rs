//! Failures a fake can inject in front of its normal behaviour.

use std::collections::VecDeque;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One injected failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FakeFailure {
    /// A 500 from the PSP's edge: nothing executed, nothing stored under the idempotency key, no charge.
    Http500,
    /// A 503 from the PSP's edge: nothing executed, nothing stored, no charge.
    Http503,
    /// A 429 from the rate limiter, which runs before the idempotency layer: nothing executed or stored.
    /// `retry_after` becomes a `Retry-After` header (whole seconds, rounded up).
    Http429 { retry_after: Option<Duration> },
    /// The request is processed normally (a charge is made and stored under its idempotency key) and the
    /// reply is held back this long: a client with a shorter timeout gives up after the money moved.
    Delay(Duration),
}

/// Which failures the next requests get.
#[derive(Debug, Default)]
pub(crate) struct FailurePlan {
    queued: VecDeque<FakeFailure>,
    random: Option<RandomFailures>,
}

#[derive(Debug)]
struct RandomFailures {
    percent: u8,
    failure: FakeFailure,
    rng: StdRng,
}

impl FailurePlan {
    pub(crate) fn queue(&mut self, n: usize, failure: FakeFailure) {
        self.queued.extend(std::iter::repeat_n(failure, n));
    }

    pub(crate) fn randomly(&mut self, percent: u8, seed: u64, failure: FakeFailure) {
        self.random = Some(RandomFailures { percent: percent.min(100), failure, rng: StdRng::seed_from_u64(seed) });
    }

    /// The failure for the request now arriving, if any. Queued failures come first.
    pub(crate) fn next(&mut self) -> Option<FakeFailure> {
        if let Some(failure) = self.queued.pop_front() {
            return Some(failure);
        }
        let random = self.random.as_mut()?;
        (random.rng.gen_range(0..100u8) < random.percent).then_some(random.failure)
    }
}

pub(crate) fn retry_after_header(retry_after: Duration) -> String {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    secs.to_string()
}
