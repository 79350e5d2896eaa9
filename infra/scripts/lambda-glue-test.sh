#!/usr/bin/env bash
# Runtime-glue test: the real function binaries, run by `cargo lambda watch` (the Lambda
# Runtime API emulator), invoked with the events/ files through `cargo lambda invoke`.
# It proves what unit tests cannot: main.rs wiring, env-var config, the lambda_http event
# parsing and the response shape API Gateway expects.
#
# Called by infra/scripts/test.sh, which exports PIVOTA_TEST_AWS_ENDPOINT (moto). Run alone,
# it starts its own moto_server.
#
# Environment knobs:
#   PIVOTA_GLUE_INVOKE_TIMEOUT  seconds one invoke may take (default 300; the first one may
#                               still be compiling).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=infra/scripts/lib.sh
source infra/scripts/lib.sh

ensure_venv
activate_venv
ensure_jq
mkdir -p "$PIVOTA_RUN_DIR"

WATCH_PID=
WATCH_GROUP=0
cleanup() {
    if [[ -n "$WATCH_PID" ]] && kill -0 "$WATCH_PID" 2>/dev/null; then
        # watch runs the function binaries as its children: end its whole process group.
        if ((WATCH_GROUP)); then
            kill -- "-$WATCH_PID" 2>/dev/null || true
        else
            kill "$WATCH_PID" 2>/dev/null || true
        fi
        wait "$WATCH_PID" 2>/dev/null || true
    fi
    stop_moto
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z "${PIVOTA_TEST_AWS_ENDPOINT:-}" ]]; then
    start_moto
fi

checks=0

# check NAME JQ_FILTER JSON: the filter must yield true for the invoke output.
check() {
    local name=$1 filter=$2 json=$3
    if jq -e "$filter" >/dev/null <<<"$json"; then
        checks=$((checks + 1))
        log "ok: $name"
    else
        printf 'FAILED: %s\n  filter: %s\n  response: %s\n' "$name" "$filter" "$json" >&2
        printf '  last lines of %s:\n' "$PIVOTA_RUN_DIR/watch.log" >&2
        tail -n 30 "$PIVOTA_RUN_DIR/watch.log" >&2 || true
        exit 1
    fi
}

has_binary() {
    cargo metadata --no-deps --format-version 1 |
        jq -e --arg bin "$1" '[.packages[].targets[] | select(.kind | index("bin")) | .name] | index($bin) != null' \
            >/dev/null
}

# ---------------------------------------------------------------- AWS resources on moto
# Unique names per run, so parallel runs against one moto do not collide.
run_id="glue-$$-$RANDOM"
export PIVOTA_BACKEND=aws
export AWS_ENDPOINT_URL="$PIVOTA_TEST_AWS_ENDPOINT"
export PIVOTA_TABLE_NAME="pivota-$run_id"
export PIVOTA_ADMIN_TOKEN_SECRET_ID="pivota/$run_id/admin-token"
export PIVOTA_API_KEY_PEPPER_SECRET_ID="pivota/$run_id/api-key-pepper"
export PIVOTA_KYC_STATE_MACHINE_ARN="arn:aws:states:us-east-1:123456789012:stateMachine:pivota-kyc-$run_id"
export PIVOTA_KYC_WAIT_SECONDS=1
export PIVOTA_KYC_RESTRICTED_COUNTRIES="CU,IR,KP,SY"
export PIVOTA_KYC_BLOCKED_EMAIL_DOMAINS=""
export AWS_LAMBDA_LOG_FORMAT=JSON

has_binary pivota-provision || die "pivota-provision binary not found in the workspace (crate pivota-local)"
log "provisioning table, secrets and state machine on moto"
admin_token="admin-token-$run_id"
cargo run -q -p pivota-local --bin pivota-provision -- \
    --endpoint "$PIVOTA_TEST_AWS_ENDPOINT" \
    --region "$AWS_REGION" \
    --table "$PIVOTA_TABLE_NAME" \
    --admin-token-secret "$PIVOTA_ADMIN_TOKEN_SECRET_ID" \
    --admin-token "$admin_token" \
    --api-key-pepper-secret "$PIVOTA_API_KEY_PEPPER_SECRET_ID" \
    --kyc-state-machine "pivota-kyc-$run_id" \
    --kyc-definition infra/statemachine/kyc.asl.json \
    >"$PIVOTA_RUN_DIR/provision.env"
while IFS='=' read -r key value; do
    case "$key" in
        PIVOTA_TABLE_NAME | PIVOTA_ADMIN_TOKEN_SECRET_ID | PIVOTA_API_KEY_PEPPER_SECRET_ID | PIVOTA_KYC_STATE_MACHINE_ARN)
            export "$key=$value"
            ;;
        '') ;;
        *) die "pivota-provision printed an unexpected line: $key=$value" ;;
    esac
done <"$PIVOTA_RUN_DIR/provision.env"

# ---------------------------------------------------------------- cargo lambda watch
functions=(openapi register merchant-get kyc-approve admin-merchants admin-review psp-connect payment-execute payments-list console mcp)

# watch starts a function with `cargo run --bin <fn>` at the workspace root, and cargo looks
# for that binary only in the default members: a function outside them never starts and its
# invoke hangs. (`sam build` has the same need.) Say so plainly instead.
for fn in "${functions[@]}"; do
    cargo metadata --no-deps --format-version 1 |
        jq -e --arg fn "$fn" '
            [.workspace_default_members[] as $id | .packages[] | select(.id == $id) | .name]
            | index($fn) != null' >/dev/null ||
        die "package $fn is not a workspace default member; add \"functions/*\" to [workspace] default-members"
done

# Compile up front so a build error shows here, plainly, and the first invoke does not
# have to wait for a cold build inside watch (it reuses these dev-profile binaries).
build_args=()
for fn in "${functions[@]}"; do build_args+=(-p "$fn"); done
log "building ${functions[*]}"
cargo build -q "${build_args[@]}"

port=$(free_port)
log "starting cargo lambda watch on 127.0.0.1:$port"
if command -v setsid >/dev/null; then
    setsid cargo lambda watch --ignore-changes -A 127.0.0.1 -P "$port" >"$PIVOTA_RUN_DIR/watch.log" 2>&1 &
    WATCH_GROUP=1
else
    cargo lambda watch --ignore-changes -A 127.0.0.1 -P "$port" >"$PIVOTA_RUN_DIR/watch.log" 2>&1 &
fi
WATCH_PID=$!
if ! wait_for_tcp "$port" "$WATCH_PID" 120; then
    tail -n 30 "$PIVOTA_RUN_DIR/watch.log" >&2 || true
    die "cargo lambda watch did not start listening on port $port"
fi

# invoke FUNCTION EVENT_FILE: prints the function's response JSON. The long --invoke-address
# flag matters: for invoke, -A is --data-ascii, and the default address is ::1.
# A function that crashes at start-up leaves invoke waiting forever, hence the timeout.
invoke() {
    if ! timeout "${PIVOTA_GLUE_INVOKE_TIMEOUT:-300}" \
        cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$port" \
        --output-format json --data-file "$2" "$1"; then
        printf 'invoke %s with %s failed or timed out; last lines of %s:\n' "$1" "$2" \
            "$PIVOTA_RUN_DIR/watch.log" >&2
        tail -n 30 "$PIVOTA_RUN_DIR/watch.log" >&2 || true
        return 1
    fi
}

# ---------------------------------------------------------------- checks
response=$(invoke openapi events/openapi.json)
check "openapi: 200" '.statusCode == 200' "$response"
check "openapi: JSON content type" '.headers["content-type"] | test("json")' "$response"
check "openapi: document lists POST /merchant/register" \
    '.body | fromjson | .paths["/merchant/register"].post != null' "$response"
response=$(invoke openapi events/openapi-gzip.json)
check "openapi, accepting gzip: gzip content encoding, base64 body" \
    '.headers["content-encoding"] == "gzip" and .isBase64Encoded == true' "$response"
document=$(jq -r .body <<<"$response" | base64 -d | gunzip || true)
check "openapi, accepting gzip: the body gunzips to the document" \
    '.paths["/merchant/register"].post != null' "${document:-null}"

response=$(invoke register events/register.json)
check "register: 201" '.statusCode == 201' "$response"
check "register: returns a merchant id" '.body | fromjson | .merchant_id | startswith("mer_")' "$response"
merchant_id=$(jq -r '.body | fromjson | .merchant_id' <<<"$response")
api_key=$(jq -r '.body | fromjson | .api_key' <<<"$response")

# event FILE: the events/ file with its placeholders replaced by this run's merchant, key and token.
event() {
    local out="$PIVOTA_RUN_DIR/$(basename "$1")"
    sed -e "s/mer_01EXAMPLE00000000000000000/$merchant_id/g" \
        -e "s/pvk_test_EXAMPLE000000000000000000000000/$api_key/g" \
        -e "s/admin-token-EXAMPLE/$admin_token/g" "$1" >"$out"
    printf '%s' "$out"
}

response=$(invoke merchant-get "$(event events/merchant-get.json)")
check "merchant-get: 200 pending_kyc" '.statusCode == 200 and (.body | fromjson | .status == "pending_kyc")' "$response"
check "merchant-get: request id header" '.headers["x-request-id"] | length > 0' "$response"

response=$(invoke admin-merchants "$(event events/admin-merchants.json)")
check "admin-merchants: lists the pending merchant" \
    ".statusCode == 200 and (.body | fromjson | [.items[].merchant_id] | index(\"$merchant_id\") != null)" "$response"

response=$(invoke kyc-approve "$(event events/kyc-approve.json)")
check "kyc-approve: decides approved" '.outcome == "decided" and .status == "approved"' "$response"

response=$(invoke merchant-get "$(event events/merchant-get.json)")
check "merchant-get: approved after kyc-approve" '.body | fromjson | .status == "approved"' "$response"

response=$(invoke admin-review "$(event events/admin-review-approve.json)")
check "admin-review: approving a decided merchant is 409" '.statusCode == 409' "$response"

response=$(invoke psp-connect "$(event events/psp-connect.json)")
check "psp-connect: sandbox connected" '.statusCode == 201 and (.body | fromjson | .psp == "sandbox")' "$response"

response=$(invoke payment-execute "$(event events/payment-execute.json)")
check "payment-execute: succeeded through the sandbox" \
    '.statusCode == 200 and (.body | fromjson | .status == "succeeded" and .psp == "sandbox")' "$response"
payment_id=$(jq -r '.body | fromjson | .payment_id' <<<"$response")

response=$(invoke payment-execute "$(event events/payment-execute.json)")
check "payment-execute: the same Idempotency-Key replays the payment" \
    ".statusCode == 200 and (.body | fromjson | .payment_id == \"$payment_id\")" "$response"

response=$(invoke payments-list "$(event events/payments-list.json)")
check "payments-list: one succeeded payment" \
    ".statusCode == 200 and (.body | fromjson | [.items[].payment_id] == [\"$payment_id\"])" "$response"

# The console: lambda_http turns Set-Cookie into the v2 response's `cookies` (API Gateway's way).
response=$(invoke console events/console.json)
check "console: a visitor is sent to sign in, and back after" \
    '.statusCode == 303 and (.headers.location | startswith("/console/sign-in?next=%2Fconsole%2Fproducts"))' "$response"
response=$(invoke console events/console-sign-in.json)
check "console: the sign-in page, in HTML" \
    '.statusCode == 200 and (.headers["content-type"] | startswith("text/html")) and (.body | test("Sign in"))' "$response"
check "console: a sealed session cookie, HttpOnly, SameSite=Strict, Secure" \
    '[.cookies[] | select(startswith("pivota_session=") and test("HttpOnly; SameSite=Strict; Secure"))] | length == 1' \
    "$response"

# The MCP server: Streamable HTTP in one API Gateway event each, stateless (no session header), JSON.
response=$(invoke mcp "$(event events/mcp-initialize.json)")
check "mcp: initialize names pivota, JSON, no session" \
    '.statusCode == 200 and (.headers["content-type"] | startswith("application/json")) and (.headers["mcp-session-id"] == null) and (.body | fromjson | .result.serverInfo.name == "pivota")' \
    "$response"
response=$(invoke mcp "$(event events/mcp-tools-call.json)")
check "mcp: list_orders through tools/call, structured" \
    '.statusCode == 200 and (.body | fromjson | .result.isError != true and (.result.structuredContent.items | type == "array"))' \
    "$response"
jq 'del(.headers.authorization)' "$(event events/mcp-tools-call.json)" >"$PIVOTA_RUN_DIR/mcp-no-key.json"
response=$(invoke mcp "$PIVOTA_RUN_DIR/mcp-no-key.json")
check "mcp: no key is 401 with the protected-resource challenge" \
    '.statusCode == 401 and (.headers["www-authenticate"] | test("resource_metadata="))' "$response"

printf 'lambda glue: %d checks passed\n' "$checks"
