//! `pivota-local`'s integration tests: one binary, one module per area (`cargo test -p pivota-local --test it`,
//! or one area with a filter, `… --test it blackbox::`). `fixtures` starts the runner binary and registers
//! merchants through it.

mod fixtures;

mod blackbox;
mod console_e2e;
mod mcp_client;
