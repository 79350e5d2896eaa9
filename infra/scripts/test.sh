#!/usr/bin/env bash
# Pivota's test command. Run from anywhere; it works from the repository root.
#
#   infra/scripts/test.sh
#
# Steps (each one counted in the final "N passed, M failed" line):
#   rustfmt, clippy, cfn-lint, [sam validate --lint], cargo test, Lambda runtime glue, the IAM check of
#   the AWS calls those two made, the README's run command with the OpenAPI contract (schemathesis).
# Setup (virtualenv, moto_server, Chromium + playwright-core for the console's browser test) is not a step: if it fails, nothing can be tested and the
# script stops at once. A failing step does not stop the others; the exit status is 1 if any
# step failed.
#
# Environment knobs:
#   PIVOTA_SAM_VALIDATE=1   also run `sam validate --lint` (installs aws-sam-cli into .venv-sam,
#                           about 40 s the first time). Off by default: cfn-lint is the gate.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=infra/scripts/lib.sh
source infra/scripts/lib.sh

passed=0
failed=0
failed_steps=()

# step NAME COMMAND...: run one counted check.
step() {
    local name=$1
    shift
    log "$name"
    local started=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        log "$name: ok ($((SECONDS - started)) s)"
    else
        failed=$((failed + 1))
        failed_steps+=("$name")
        log "$name: FAILED ($((SECONDS - started)) s)"
    fi
}

cleanup() {
    stop_moto
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- setup
command -v cargo >/dev/null || die "cargo not found (install Rust with rustup)"
command -v python3 >/dev/null || die "python3 not found"
ensure_jq
cargo fmt --version >/dev/null 2>&1 || die "rustfmt missing (rustup component add rustfmt)"
cargo clippy --version >/dev/null 2>&1 || die "clippy missing (rustup component add clippy)"

ensure_venv
activate_venv
ensure_browser
ensure_iam_simulator
# Half the size of target/ and no slower; Cargo.toml sets the same, this covers overrides.
export CARGO_PROFILE_DEV_DEBUG=0
mkdir -p "$PIVOTA_RUN_DIR"

# ---------------------------------------------------------------- static checks
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy -D warnings" cargo clippy --workspace --all-targets -- -D warnings

start_moto

step "cfn-lint template.yaml" cfn-lint template.yaml

sam_validate() {
    local sam_venv=.venv-sam
    # step() runs this with errexit suspended, hence the explicit returns.
    if [[ ! -x "$sam_venv/bin/sam" ]]; then
        python3 -m venv "$sam_venv" || return 1
        "$sam_venv/bin/python" -m pip install --quiet --disable-pip-version-check aws-sam-cli || return 1
    fi
    # sam lives in its own venv (its pins clash with moto's); our venv stays first on PATH.
    "$sam_venv/bin/sam" validate --lint --template-file template.yaml
}
if [[ "${PIVOTA_SAM_VALIDATE:-0}" == 1 ]]; then
    step "sam validate --lint" sam_validate
fi

# ---------------------------------------------------------------- tests
# Rust tests that need AWS wire behaviour read PIVOTA_TEST_AWS_ENDPOINT (moto, exported above).
# Includes the console's journey in headless Chromium (infra/local/tests/console_e2e.rs), whose
# screenshots land in target/console-screenshots.
# Both record every AWS call each function makes (shared/src/aws/call_log.rs) for the IAM check after them.
export PIVOTA_AWS_CALL_LOG="$PWD/$PIVOTA_RUN_DIR/aws-calls"
rm -rf "$PIVOTA_AWS_CALL_LOG"
step "cargo test --workspace" cargo test --workspace --no-fail-fast
step "lambda runtime glue (cargo lambda watch/invoke)" infra/scripts/lambda-glue-test.sh
unset PIVOTA_AWS_CALL_LOG

# The recorded calls against each function's policy in template.yaml (expanded by AWS SAM's translator,
# evaluated by an IAM policy simulator), and the grants no call used; first, the check's own tests (it
# fails when a grant is taken away). A few seconds.
iam_check() {
    python infra/iam/test_check.py &&
        python infra/iam/check.py --calls "$PIVOTA_RUN_DIR/aws-calls"
}
step "IAM: recorded AWS calls vs template.yaml policies" iam_check
# The README's run command, read from the README and run as written; then schemathesis against it.
step "README run command + OpenAPI contract (schemathesis)" infra/scripts/api-contract-test.sh

# ---------------------------------------------------------------- summary
if ((failed > 0)); then
    printf 'failed steps:\n' >&2
    printf '  - %s\n' "${failed_steps[@]}" >&2
fi
printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
