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
    steady: Option<SteadyFailures>,
    random: Option<RandomFailures>,
    injected: usize,
}

/// Every `nth` request fails: a host that throttles steadily.
#[derive(Debug)]
struct SteadyFailures {
    nth: usize,
    failure: FakeFailure,
    seen: usize,
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

    /// Every `nth` request from now on gets `failure` (the `nth`, the `2 × nth`, …); 0 stops it.
    pub(crate) fn every(&mut self, nth: usize, failure: FakeFailure) {
        self.steady = (nth > 0).then_some(SteadyFailures { nth, failure, seen: 0 });
    }

    pub(crate) fn randomly(&mut self, percent: u8, seed: u64, failure: FakeFailure) {
        self.random = Some(RandomFailures { percent: percent.min(100), failure, rng: StdRng::seed_from_u64(seed) });
    }

    /// The failure for the request now arriving, if any. Queued failures come first, then the steady ones.
    pub(crate) fn next(&mut self) -> Option<FakeFailure> {
        let failure = self.pick();
        self.injected += usize::from(failure.is_some());
        failure
    }

    /// How many failures were injected so far.
    pub(crate) fn injected(&self) -> usize {
        self.injected
    }

    fn pick(&mut self) -> Option<FakeFailure> {
        if let Some(failure) = self.queued.pop_front() {
            return Some(failure);
        }
        if let Some(steady) = self.steady.as_mut() {
            steady.seen += 1;
            if steady.seen % steady.nth == 0 {
                return Some(steady.failure);
            }
        }
        let random = self.random.as_mut()?;
        (random.rng.gen_range(0..100u8) < random.percent).then_some(random.failure)
    }
}

pub(crate) fn retry_after_header(retry_after: Duration) -> String {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    secs.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_plan_fails_every_nth_request_after_the_queued_ones() {
        let throttled = FakeFailure::Http429 { retry_after: Some(Duration::from_secs(1)) };
        let mut plan = FailurePlan::default();
        plan.queue(1, FakeFailure::Http500);
        plan.every(4, throttled);
        let answers: Vec<Option<FakeFailure>> = (0..9).map(|_| plan.next()).collect();
        let expected =
            [Some(FakeFailure::Http500), None, None, None, Some(throttled), None, None, None, Some(throttled)];
        assert_eq!(answers, expected);
        assert_eq!(plan.injected(), 3);
        plan.every(0, throttled);
        assert!((0..8).all(|_| plan.next().is_none()));
    }
}
