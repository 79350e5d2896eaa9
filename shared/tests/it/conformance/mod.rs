//! One conformance suite for the ports, run against both adapter sets.
//!
//! `cases` holds every case once, generic over a [`Fixture`](crate::fixtures::ports::Fixture); `embedded`
//! and `aws` instantiate every case with `conformance_cases!` on the fixtures of `fixtures::ports`. The AWS
//! side talks to a `moto_server` whose endpoint is in `PIVOTA_TEST_AWS_ENDPOINT` (the test command starts
//! it; see `infra/scripts/test.sh`), else to one this process starts (`fixtures/moto.rs`).

#[macro_use]
mod cases;

mod embedded {
    conformance_cases!(crate::fixtures::ports::EmbeddedFixture);
}

mod aws {
    conformance_cases!(crate::fixtures::ports::MotoFixture);
}
