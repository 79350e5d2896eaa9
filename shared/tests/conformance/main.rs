//! One conformance suite for the ports, run against both adapter sets.
//!
//! `cases` holds every case once, generic over a [`fixture::Fixture`]; `embedded` and `aws` each provide a
//! fixture and instantiate every case with `conformance_cases!`. The AWS side talks to a `moto_server`
//! whose endpoint is in `PIVOTA_TEST_AWS_ENDPOINT` (the test command starts it; see `infra/scripts/test.sh`).

mod fixture;
#[macro_use]
mod cases;
mod aws;
mod embedded;
mod moto;
