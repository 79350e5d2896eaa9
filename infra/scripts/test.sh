#!/usr/bin/env bash
# Pivota's test command. Run from anywhere; it works from the repository root.
#
#   infra/scripts/test.sh
#
# Steps (each one counted in the final "N passed, M failed" line):
#   rustfmt, clippy, no Rust file over 400 lines, no import cycles (cargo-modules), cfn-lint, sam validate
#   --lint + sam build, cargo test,
#   Lambda runtime glue, the IAM check of the AWS calls those two made, the README's run command with the
#   OpenAPI contract (schemathesis).
# Setup (virtualenv, moto_server, Chromium + playwright-core for the console's browser test) is not a step: if it fails, nothing can be tested and the
# script stops at once. A failing step does not stop the others; the exit status is 1 if any
# step failed.
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
# Every locked crate, for every platform: `cargo build` fetches only this host's, and the contract test's
# `cargo metadata --locked --offline` reads them all (windows-only ones too).
cargo fetch --locked --quiet || die "cargo fetch failed (the crates.io registry must be reachable)"
# Half the size of target/ and no slower; Cargo.toml sets the same, this covers overrides.
export CARGO_PROFILE_DEV_DEBUG=0
mkdir -p "$PIVOTA_RUN_DIR"

# ---------------------------------------------------------------- static checks
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy -D warnings" cargo clippy --workspace --all-targets -- -D warnings

# Files stay readable: no Rust source file of ours over 400 lines (git's list, files not yet committed
# included, so target/ is out; without git, every .rs outside target/).
short_files() {
    local long
    long=$(if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z --cached --others --exclude-standard '*.rs'
    else
        find . -name '*.rs' -not -path './target/*' -not -path '*/node_modules/*' -print0
    fi | xargs -0 -r wc -l 2>/dev/null | awk '$2 != "total" && $1 > 400')
    [[ -z $long ]] || { printf 'over 400 lines:\n%s\n' "$long"; return 1; }
    echo "ok: no Rust source over 400 lines"
}
step "no Rust source file over 400 lines" short_files

# No import cycle between the modules, nor between the top-level modules (pivota-shared's bounded contexts),
# of any library crate: cargo-modules' graph, tsort's verdict (infra/scripts/module-cycles.sh). About 20 s a
# crate. The script runs cargo-modules in the workspace's target dir (`cargo metadata`'s, the one clippy has
# just used), so its `cargo check --compile-time-deps` builds nothing new. cargo-modules is built once.
module_cycles() {
    ensure_cargo_modules || return 1
    infra/scripts/module-cycles.sh
}
step "no import cycles (cargo-modules + tsort)" module_cycles

start_moto

step "cfn-lint template.yaml" cfn-lint template.yaml

# aws-sam-cli lives in its own venv (its pins clash with moto's); our venv stays first on PATH, so
# cargo-lambda and zig are found.
ensure_sam() {
    [[ -x .venv-sam/bin/sam ]] && .venv-sam/bin/sam --version 2>/dev/null | grep -q "$PIVOTA_SAM_VERSION\$" && return 0
    python3 -m venv .venv-sam || return 1
    .venv-sam/bin/python -m pip install --quiet --disable-pip-version-check "aws-sam-cli==$PIVOTA_SAM_VERSION"
}

# The deploy path as the README writes it: `sam validate --lint`, then `sam build`, which runs
# `cargo lambda build --bin <fn>` for every function in template.yaml (BuildMethod rust-cargolambda) and
# lays the artifacts out for `sam deploy`. SAM_BUILD_MODE=debug (SAM's documented switch for Rust) drops
# `--release`: the same template metadata, cross-link with zig and artifact layout, without an optimised
# link per function. Every function must come out as an x86-64 ELF `bootstrap`.
sam_deploy_path() {
    # step() runs this with errexit suspended, hence the explicit returns.
    ensure_sam || return 1
    export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
    .venv-sam/bin/sam validate --lint --template-file template.yaml || return 1
    local out=$PIVOTA_RUN_DIR/sam-build
    rm -rf "$out"
    SAM_BUILD_MODE=debug .venv-sam/bin/sam build --template-file template.yaml --build-dir "$out" || return 1
    python3 - "$out" <<'PY' || return 1
import re, sys
out = sys.argv[1]
functions = re.findall(r"^  (\w+):\n    Type: AWS::Serverless::Function", open("template.yaml").read(), re.M)
missing = []
for fn in functions:
    try:
        with open(f"{out}/{fn}/bootstrap", "rb") as f:
            head = f.read(20)
    except OSError:
        head = b""
    # ELF, 64-bit, little-endian, e_machine EM_X86_64 (62) at offset 18.
    if not (head[:6] == b"\x7fELF\x02\x01" and head[18:20] == b"\x3e\x00"):
        missing.append(fn)
if not functions or missing:
    sys.exit(f"sam build: no x86-64 bootstrap for {missing or 'any function'}")
print(f"==> sam build: {len(functions)} functions, each an x86-64 ELF bootstrap", file=sys.stderr)
PY
    rm -rf "$out"
}
step "sam validate --lint + sam build" sam_deploy_path

# ---------------------------------------------------------------- tests
# Rust tests that need AWS wire behaviour read PIVOTA_TEST_AWS_ENDPOINT (moto, exported above).
# Includes the console's journey in headless Chromium (infra/local/tests/it/console_e2e.rs), whose
# screenshots land in target/console-screenshots.
# Both record every AWS call each function makes (shared/aws/src/call_log.rs) for the IAM check after them.
export PIVOTA_AWS_CALL_LOG="$PWD/$PIVOTA_RUN_DIR/aws-calls"
rm -rf "$PIVOTA_AWS_CALL_LOG"
# Two test threads a core (libtest's default is one): most tests spend their time waiting, on Step
# Functions' real waits, queue delays, vendors' Retry-After and invocation deadlines, not computing, and moto
# stays below a core (README, "`cargo test` in the test command"). RUST_TEST_THREADS, if set, wins.
test_threads=${RUST_TEST_THREADS:-$((2 * $(nproc)))}
log "cargo test: $test_threads test threads"
step "cargo test --workspace" cargo test --workspace --no-fail-fast -- --test-threads "$test_threads"
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
