#!/usr/bin/env bash
# Cold-start benchmark of every Lambda binary against hello-world. Run from anywhere.
#
#   infra/scripts/bench-cold-start.sh [cold_start options…]
#
# Builds every function and infra/bench/hello-lambda with `cargo lambda build --release` (x86_64
# only: --arm64 would download a Rust target from outside the package registries), then runs
# `cold_start`, which prints binary sizes and spawn-to-first-answer times against a local Runtime API.
# Extra arguments go to cold_start, e.g. `--runs 50`, `--trace-connects` (needs strace) or a list of
# functions. The exit status is cold_start's: non-zero if a function answered the wrong way.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=infra/scripts/lib.sh
source infra/scripts/lib.sh

# Every function, and the baseline.
mapfile -t FUNCTIONS < <(ls functions)
FUNCTIONS+=(hello-lambda)

ensure_venv
activate_venv

packages=()
for function in "${FUNCTIONS[@]}"; do
    packages+=(-p "$function")
done

log "cargo lambda build --release --x86-64 ${FUNCTIONS[*]}"
started=$SECONDS
cargo lambda build --release --x86-64 "${packages[@]}"
log "built in $((SECONDS - started)) s"

# cargo-lambda writes to <target dir>/lambda/<function>/bootstrap, and honours CARGO_TARGET_DIR.
lambda_dir="${CARGO_TARGET_DIR:-target}/lambda"
log "cold_start --lambda-dir $lambda_dir $*"
exec cargo run --release -p pivota-bench --bin cold_start -- --lambda-dir "$lambda_dir" "$@"
