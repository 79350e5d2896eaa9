# shellcheck shell=bash
# Helpers shared by infra/scripts/test.sh and infra/scripts/lambda-glue-test.sh.
# Source it from the repository root; it defines functions and constants only.

# Tool versions the test command relies on (see /work/shared/TOOLING.md).
# stripe and openapi-schema-validator: the vendor contract checks (infra/contract/vendor_requests.py); the
# stripe pin is the parameter definitions Pivota's requests are checked against (and its API version).
# aws-sam-translator: the IAM check (infra/iam/check.py) expands template.yaml with AWS SAM's own translator.
PIVOTA_PIP_REQUIREMENTS=("cargo-lambda==1.9.2" "ziglang" "moto[server]==5.2.5" "cfn-lint" "stripe==16.1.0"
    "openapi-schema-validator==0.9.0" "aws-sam-translator==1.115.0")
# aws-sam-cli, in its own virtualenv .venv-sam (its pins clash with moto's).
PIVOTA_SAM_VERSION=1.170.0
# cargo-modules, the module graph behind infra/scripts/module-cycles.sh (0.27.0 needs rustc 1.95; 0.28 needs 1.98).
PIVOTA_CARGO_MODULES_VERSION=0.27.0
PIVOTA_VENV=.venv
PIVOTA_RUN_DIR=.test-run

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The git-ignored virtualenv with cargo-lambda, zig, moto and cfn-lint. Reruns skip pip
# when every pinned version is already installed, so they cost well under a second.
ensure_venv() {
    if [[ ! -x "$PIVOTA_VENV/bin/python" ]]; then
        log "creating $PIVOTA_VENV"
        python3 -m venv "$PIVOTA_VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    fi
    if ! venv_is_current; then
        log "installing ${PIVOTA_PIP_REQUIREMENTS[*]} into $PIVOTA_VENV"
        "$PIVOTA_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            "${PIVOTA_PIP_REQUIREMENTS[@]}"
        venv_is_current || die "$PIVOTA_VENV still lacks a required package after pip install"
    fi
}

# True when the venv holds every requirement at its pinned version (moto's server extra
# included: it is what provides flask).
venv_is_current() {
    "$PIVOTA_VENV/bin/python" - <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
wanted = {"cargo-lambda": "1.9.2", "moto": "5.2.5", "ziglang": None, "cfn-lint": None,
          "flask": None, "flask-cors": None, "stripe": "16.1.0", "openapi-schema-validator": "0.9.0",
          "aws-sam-translator": "1.115.0"}
try:
    for name, pinned in wanted.items():
        if pinned is not None and version(name) != pinned:
            sys.exit(1)
        version(name)
except PackageNotFoundError:
    sys.exit(1)
PY
}

# The venv's bin/ must come first: cargo-lambda finds zig through `python3 -m ziglang`.
activate_venv() {
    PATH="$PWD/$PIVOTA_VENV/bin:$PATH"
    export PATH
    export SAM_CLI_TELEMETRY=0
    export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
    # Nothing in the test run may reach real AWS: static dummy credentials, no IMDS.
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
    export AWS_EC2_METADATA_DISABLED=true
    unset AWS_PROFILE AWS_SESSION_TOKEN
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_http URL PID SECONDS: poll until URL answers (any HTTP status) or PID dies.
wait_for_http() {
    local url=$1 pid=$2 seconds=$3 i
    for ((i = 0; i < seconds * 4; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        if python3 -c 'import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass
' "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.25
    done
    return 1
}

# wait_for_tcp PORT PID SECONDS: poll until 127.0.0.1:PORT accepts connections or PID dies.
wait_for_tcp() {
    local port=$1 pid=$2 seconds=$3 i
    for ((i = 0; i < seconds * 4; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
            "$port" 2>/dev/null; then
            return 0
        fi
        sleep 0.25
    done
    return 1
}

# start_moto: starts moto's server on a free loopback port, waits for it, and exports
# PIVOTA_TEST_AWS_ENDPOINT and MOTO_PID. The caller must call stop_moto from its EXIT trap.
start_moto() {
    local port
    port=$(free_port)
    mkdir -p "$PIVOTA_RUN_DIR"
    # infra/moto/serve.py is moto_server with DynamoDB's transaction isolation and an item-level rollback
    # (see its docstring); its self-test checks that rollback on moto in process first.
    python infra/moto/serve.py --self-test >&2 || die "infra/moto/serve.py's rollback self-test failed"
    MOTO_PORT=$port python infra/moto/serve.py -H 127.0.0.1 -p "$port" >"$PIVOTA_RUN_DIR/moto.log" 2>&1 &
    MOTO_PID=$!
    export MOTO_PID
    if ! wait_for_http "http://127.0.0.1:$port/moto-api/" "$MOTO_PID" 60; then
        tail -n 20 "$PIVOTA_RUN_DIR/moto.log" >&2 || true
        die "moto_server did not answer on port $port"
    fi
    export PIVOTA_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
    log "moto_server (pid $MOTO_PID) at $PIVOTA_TEST_AWS_ENDPOINT"
}

stop_moto() {
    if [[ -n "${MOTO_PID:-}" ]] && kill -0 "$MOTO_PID" 2>/dev/null; then
        # SIGKILL: moto keeps nothing worth flushing, and its SIGTERM path (the interpreter's shutdown
        # over everything the tests stored) was seen spinning a core for over ten minutes.
        kill -9 "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
    MOTO_PID=
}

# jq is in the machine image; on a machine without it, install it from Debian's packages.
ensure_jq() {
    command -v jq >/dev/null && return 0
    if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
        log "installing jq"
        apt-get update -qq && apt-get install -y -qq jq >/dev/null
    fi
    command -v jq >/dev/null || die "jq not found (Debian: apt-get update && apt-get install -y jq)"
}

# The console's browser tests: Debian's Chromium (tools cannot download browsers here), playwright-core
# and axe-core from npm; and the MCP test's client, the official TypeScript SDK (@modelcontextprotocol/sdk);
# all pinned by infra/e2e/package-lock.json.
ensure_browser() {
    if [[ ! -x /usr/bin/chromium ]]; then
        command -v apt-get >/dev/null && [[ $(id -u) == 0 ]] ||
            die "/usr/bin/chromium not found (Debian: apt-get install -y chromium)"
        log "installing chromium (Debian)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ||
            die "could not install chromium"
    fi
    command -v npm >/dev/null || die "npm not found (the console's browser tests need Node.js 20 and npm)"
    if [[ ! -d infra/e2e/node_modules/playwright-core || ! -d infra/e2e/node_modules/axe-core ||
        ! -d infra/e2e/node_modules/@modelcontextprotocol/sdk ]]; then
        log "installing playwright-core, axe-core and the MCP SDK (npm ci in infra/e2e)"
        (cd infra/e2e && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in infra/e2e"
    fi
}

# The IAM check's policy simulator (@cloud-copilot/iam-simulate), pinned by infra/iam/package-lock.json.
ensure_iam_simulator() {
    command -v node >/dev/null || die "node not found (the IAM check needs Node.js 20)"
    if [[ ! -d infra/iam/node_modules/@cloud-copilot/iam-simulate ]]; then
        log "installing the IAM policy simulator (npm ci in infra/iam)"
        (cd infra/iam && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in infra/iam"
    fi
}

# cargo-modules at its pinned version, from crates.io with `cargo install --locked`, in a root of its own
# under ~/.cargo (not ~/.cargo/bin, so no other cargo-modules is replaced). The first build takes 10 to 20
# minutes on two cores; later runs find it. Exports CARGO_MODULES; one already set to the pinned version is
# kept. Returns non-zero on failure (called from a step).
ensure_cargo_modules() {
    cargo_modules_is_pinned "${CARGO_MODULES:-}" && return 0
    local root=${CARGO_HOME:-$HOME/.cargo}/pivota-tools/cargo-modules-$PIVOTA_CARGO_MODULES_VERSION
    export CARGO_MODULES=$root/bin/cargo-modules
    cargo_modules_is_pinned "$CARGO_MODULES" && return 0
    log "installing cargo-modules $PIVOTA_CARGO_MODULES_VERSION into $root (cargo install --locked, 10-20 min)"
    cargo install --quiet --locked --version "$PIVOTA_CARGO_MODULES_VERSION" --root "$root" cargo-modules ||
        { log "cargo install cargo-modules $PIVOTA_CARGO_MODULES_VERSION failed"; return 1; }
    cargo_modules_is_pinned "$CARGO_MODULES"
}

cargo_modules_is_pinned() {
    [[ -x $1 && $("$1" --version 2>/dev/null) == "cargo-modules $PIVOTA_CARGO_MODULES_VERSION" ]]
}
