#!/usr/bin/env bash
# The front door, checked from outside the codebase:
#   1. runs the README's "run Pivota locally" command, read from README.md and run exactly as written
#      (only the environment differs: a free port, a fresh data directory, a known admin token);
#   2. checks that /openapi.json answers and validates it as OpenAPI 3.1 (openapi-spec-validator);
#   3. runs schemathesis against that running platform, as a merchant and as an admin, with every check
#      and all four phases (examples, coverage, fuzzing, stateful). The checks' settings and the written
#      reason for each one that is configured are in infra/contract/{merchant,admin}.toml.
#
# Called by infra/scripts/test.sh; runs alone as well. Prints the generated-case count per role.
#
# Environment knobs:
#   PIVOTA_CONTRACT_MAX_EXAMPLES  schemathesis examples per operation (default 40)
#   PIVOTA_CONTRACT_START_TIMEOUT seconds the README command may take to answer (default 900: on a
#                                 fresh clone it compiles first)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=infra/scripts/lib.sh
source infra/scripts/lib.sh

# Schemathesis and the OpenAPI validator live in a virtualenv of their own (their pins are not moto's).
PIVOTA_ST_VENV=.venv-st
PIVOTA_ST_REQUIREMENTS=("schemathesis==4.32.5" "openapi-spec-validator==0.7.2")
ensure_st_venv() {
    if [[ ! -x "$PIVOTA_ST_VENV/bin/python" ]]; then
        python3 -m venv "$PIVOTA_ST_VENV" || die "python3 -m venv failed"
    fi
    if ! "$PIVOTA_ST_VENV/bin/python" - "${PIVOTA_ST_REQUIREMENTS[@]}" <<'PY'; then
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    sys.exit(0 if all(version(r.split("==")[0]) == r.split("==")[1] for r in sys.argv[1:]) else 1)
except PackageNotFoundError:
    sys.exit(1)
PY
        log "installing ${PIVOTA_ST_REQUIREMENTS[*]} into $PIVOTA_ST_VENV"
        "$PIVOTA_ST_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PIVOTA_ST_REQUIREMENTS[@]}" ||
            die "pip install schemathesis failed"
    fi
}

ensure_st_venv
mkdir -p "$PIVOTA_RUN_DIR"

# ---------------------------------------------------------------- 1. the README's command
readme_command=$(sed -n 's/^\(cargo run[^#]*\)# run Pivota locally.*/\1/p' README.md | sed 's/[[:space:]]*$//')
[[ -n "$readme_command" ]] || die "README.md has no line '<command>  # run Pivota locally'"
log "README's run command: $readme_command"

RUNNER_PID=
DATA_DIR=$(mktemp -d)
cleanup() {
    if [[ -n "$RUNNER_PID" ]] && kill -0 "$RUNNER_PID" 2>/dev/null; then
        # cargo run starts the runner as its child: end the whole process group.
        kill -- "-$RUNNER_PID" 2>/dev/null || true
        wait "$RUNNER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(free_port)
base="http://127.0.0.1:$port"
admin_token="adm_contract_$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
PIVOTA_LISTEN="127.0.0.1:$port" PIVOTA_DATA_DIR="$DATA_DIR" PIVOTA_ADMIN_TOKEN="$admin_token" \
    PIVOTA_KYC_WAIT_SECONDS=1 RUST_LOG="${PIVOTA_CONTRACT_RUST_LOG:-warn}" \
    setsid bash -c "$readme_command" >"$PIVOTA_RUN_DIR/readme-run.log" 2>&1 &
RUNNER_PID=$!
if ! wait_for_http "$base/openapi.json" "$RUNNER_PID" "${PIVOTA_CONTRACT_START_TIMEOUT:-900}"; then
    tail -n 30 "$PIVOTA_RUN_DIR/readme-run.log" >&2 || true
    die "'$readme_command' did not serve $base/openapi.json"
fi
log "'$readme_command' serves $base/openapi.json"

# ---------------------------------------------------------------- 2. the document itself
"$PIVOTA_ST_VENV/bin/python" - "$base/openapi.json" <<'PY' || die "/openapi.json is not a valid OpenAPI 3.1 document"
import json, sys, urllib.request
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator
with urllib.request.urlopen(sys.argv[1]) as response:
    assert response.status == 200, response.status
    document = json.load(response)
assert document["openapi"].startswith("3.1"), document["openapi"]
# Resolves every $ref: a dangling reference fails here.
validate(document, cls=OpenAPIV31SpecValidator)
print(f"/openapi.json: valid OpenAPI {document['openapi']}, {sum(len(v) for v in document['paths'].values())} operations")
PY

# ---------------------------------------------------------------- 3. schemathesis
# A merchant to test as: registered, approved after the (1 s) KYC wait, with the sandbox PSP connected so
# payments can succeed.
merchant=$(curl -sf -X POST "$base/merchant/register" -H 'content-type: application/json' \
    -d '{"business_name":"Contract Test GmbH","email":"contract@pivota.example","country":"DE","website":"https://contract.example"}')
merchant_id=$(jq -r .merchant_id <<<"$merchant")
merchant_key=$(jq -r .api_key <<<"$merchant")
for _ in $(seq 1 80); do
    status=$(curl -sf "$base/merchant/$merchant_id" -H "authorization: Bearer $merchant_key" | jq -r .status)
    [[ "$status" == approved ]] && break
    sleep 0.25
done
[[ "$status" == approved ]] || die "the contract merchant was not approved (status $status)"
curl -sf -X POST "$base/merchant/$merchant_id/psp/connect" -H "authorization: Bearer $merchant_key" \
    -H 'content-type: application/json' -d '{"psp":"sandbox"}' >/dev/null || die "could not connect the sandbox PSP"

# One worker: with two, CPython 3.11 intermittently failed compiling schemathesis' generated code in
# threads ("AST constructor recursion depth mismatch"), an error of the tool, not of Pivota.
run_schemathesis() {
    local role=$1 token=$2
    log "schemathesis as $role"
    PIVOTA_CONTRACT_MERCHANT_ID="$merchant_id" PIVOTA_CONTRACT_TOKEN="$token" \
        "$PIVOTA_ST_VENV/bin/st" --config-file "infra/contract/$role.toml" run "$base/openapi.json" \
        --checks all --phases examples,coverage,fuzzing,stateful \
        --max-examples "${PIVOTA_CONTRACT_MAX_EXAMPLES:-40}" --seed 20261130 --workers 1 \
        --include-tag-regex "$3" --no-color \
        --report junit --report-junit-path "$PWD/$PIVOTA_RUN_DIR/schemathesis-$role.xml" \
        >"$PIVOTA_RUN_DIR/schemathesis-$role.log" 2>&1
    local status=$?
    tail -n 25 "$PIVOTA_RUN_DIR/schemathesis-$role.log" >&2
    return $status
}

failed=0
run_schemathesis merchant "$merchant_key" '^(onboarding|psp|api-keys|routing|payments|stores|products|orders|meta)$' || failed=1
run_schemathesis admin "$admin_token" '^(admin|onboarding|meta)$' || failed=1
((failed == 0)) || die "schemathesis found failures (logs in $PIVOTA_RUN_DIR/schemathesis-*.log)"
log "schemathesis: 0 failures as merchant and admin"
