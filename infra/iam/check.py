"""Permissions are tested, not assumed: every AWS call a function made in the tests is checked against
that function's policy in template.yaml, and every grant no call used is listed.

    python infra/iam/check.py --calls DIR [--template template.yaml]

DIR holds the call logs the AWS adapters write when PIVOTA_AWS_CALL_LOG names it
(shared/aws/src/call_log.rs): one JSON line per distinct IAM request, with the Lambda function that made
it (`shared/src/invocation.rs`: a route's handler runs as its `pivota_http::routes` function, the console, the
workers and the KYC task as themselves). infra/scripts/test.sh records during `cargo test --workspace`
(every test on the moto backend: the conformance suite, the HTTP API, stores and sync, order webhooks,
money safety, the state machine, the events/ files) and the Lambda glue test (the real binaries), then
runs this. Calls made by no function (test fixtures, provisioning, the harness playing SQS's event source)
are not checked.

How:
1. template.yaml is expanded by AWS SAM's own translator (aws-sam-translator), giving each function's
   IAM role with its policies, and its intrinsics (!Ref, !GetAtt, !Sub) are resolved to concrete ARNs of a
   test stack (account 111122223333, eu-central-1, stack `pivota-iam-check`) - not moto's, so nothing
   passes by accident of the emulator's names.
2. Each recorded call is mapped onto the template's resources: the table, its indexes, the queues (the
   index queue is FIFO: `…-index.fifo`), the search bucket and its objects (`arn:aws:s3:::<bucket>/<key>`;
   a GetObject is also checked as s3:ListBucket on the bucket, which S3 wants before it answers 404), the
   platform secrets, merchant secrets (`<namespace>/merchants/…` → `<stack>/merchants/…-XXXXXX`, with the
   6-character suffix Secrets Manager adds to every secret ARN, which a policy must allow for), the KYC
   state machine and its executions. A merchant secret is encrypted under MerchantSecretsKey, so its reads
   also need kms:Decrypt and its writes kms:GenerateDataKey, via Secrets Manager: those are checked
   against the key policy.
3. Every request is evaluated by a real IAM policy simulator (@cloud-copilot/iam-simulate, run by
   simulate.mjs): the function's role policies, with the key policy as the resource policy for KMS.
   Anything not Allowed fails the check, and so does an action or ARN the simulator does not recognise.
4. Every (action, resource) of every statement in a function's own policies is evaluated alone against
   that function's recorded requests (the console's: those of the API functions its pages call, see
   CONSOLE_CALLS); one that allows none of them is an unused grant and fails the
   check, unless UNREACHED_GRANTS says why the tests cannot reach its call.
5. NEVER_ALLOWED requests (order-webhook deleting or reading a PSP secret, …) must be denied.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from calls import PLATFORM_SECRET_SUFFIXES, QUEUE_PREFIXES, Request, merchant_secret_arn, read_calls, to_requests  # noqa: F401
from template_model import (  # noqa: F401
    ACCOUNT,
    MANAGED_POLICIES,
    PARTITION,
    REGION,
    ROOT,
    STACK,
    URL_SUFFIX,
    VIA_SECRETS_MANAGER,
    CheckError,
    Function,
    Model,
    Stack,
    expand_template,
    load_model,
    secret_arn,
)

# Grants whose calls exist but no test reaches, each with the reason: (function, action, logical resource
# or ARN pattern as written after resolution) -> why.
UNREACHED_GRANTS: dict[tuple[str, str], str] = {
    ("order-webhook", "dynamodb:BatchWriteItem"): "a product update for a product too large for one item writes "
    "its variant chunks (shared/src/catalog/products/items/); the tests' largest product arrives by sync",
    ("order-webhook", "dynamodb:DeleteItem"): "the same product update deletes the variant chunks its head no "
    "longer points at",
}

# The console is a client of the public API in process (shared/console/src/client.rs): each page action is
# an API request dispatched to the API functions in its `API` list, the only handlers its binary links, so
# it needs exactly what those functions need. Its grants are checked against the requests these functions
# made, besides its own (sessions: the pepper and the admin token). The list is read from the code, so the
# two cannot drift.
CONSOLE_CLIENT = ROOT / "shared/console/src/client.rs"


def console_calls(source: str) -> set[str]:
    """The function names in the console client's `API` list (`routes::STORE_SYNC` is `store-sync`)."""
    match = re.search(r"pub static API: &\[&\[Route\]\] = &\[(.*?)\];", source, re.S)
    if not match:
        raise SystemExit(f"{CONSOLE_CLIENT}: no `pub static API` list of routes")
    names = re.findall(r"routes::([A-Z0-9_]+)", match.group(1))
    if not names:
        raise SystemExit(f"{CONSOLE_CLIENT}: the `API` list names no functions")
    return {name.lower().replace("_", "-") for name in names}


CONSOLE_CALLS = console_calls(CONSOLE_CLIENT.read_text())

# (function, action, what) that must never be allowed, whatever the tests did.
NEVER_ALLOWED = [
    ("order-webhook", "secretsmanager:DeleteSecret", "psp"),
    ("order-webhook", "secretsmanager:GetSecretValue", "psp"),
    ("order-webhook", "kms:Decrypt", "key-direct"),
    ("webhooks-setup", "secretsmanager:GetSecretValue", "psp"),
    ("sync-worker", "secretsmanager:GetSecretValue", "psp"),
    ("payment-execute", "secretsmanager:GetSecretValue", "stores"),
    ("psp-connect", "secretsmanager:CreateSecret", "stores"),
    ("store-connect", "secretsmanager:CreateSecret", "psp"),
    ("merchant-get", "secretsmanager:GetSecretValue", "admin-token"),
    ("console", "kms:Decrypt", "key-direct"),
    ("mcp", "secretsmanager:GetSecretValue", "stores"),
    ("mcp", "secretsmanager:DeleteSecret", "psp"),
    ("mcp", "kms:Decrypt", "key-direct"),
]



# ---------------------------------------------------------------- evaluation
def simulator_input(model: Model, request: Request) -> dict:
    function = model.functions[request.function]
    return {
        "principal": function.role_arn,
        "action": request.action,
        "resource": request.resource,
        "account": ACCOUNT,
        "context": dict(request.context),
        "identityPolicies": function.identity_policies,
        "resourcePolicy": model.key_policy if request.action.startswith("kms:") else None,
    }


def grant_units(function: Function) -> list[tuple[str, str, dict]]:
    """Each (action, resource) of the function's own statements, as a policy of its own."""
    units = []
    for statement in function.statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            for resource in resources:
                alone = {k: v for k, v in statement.items() if k not in ("Action", "Resource", "Sid")}
                alone.update(Action=action, Resource=resource)
                units.append((action, resource, {"Version": "2012-10-17", "Statement": [alone]}))
    return units


def run_simulator(payload: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(payload, f)
        path = f.name
    try:
        out = subprocess.run(
            ["node", str(ROOT / "infra/iam/simulate.mjs"), path], capture_output=True, text=True, check=False
        )
    finally:
        os.unlink(path)
    if out.returncode != 0:
        raise CheckError(f"the IAM simulator failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def probe(model: Model, function: str, action: str, what: str) -> Request:
    """A request `function` must never be allowed to make."""
    resources = {
        "psp": (secret_arn(f"{STACK}/merchants/mer_probe/psp/stripe/live"), ()),
        "stores": (secret_arn(f"{STACK}/merchants/mer_probe/stores/sto_probe"), ()),
        "admin-token": (model.secrets["AdminTokenSecret"], ()),
        # Straight to KMS, not through Secrets Manager: the key policy allows neither reader nor writer that.
        "key-direct": (model.key_arn, ()),
    }
    resource, context = resources[what]
    return Request(function, action, resource, context, "never allowed")


@dataclass
class Report:
    checked: list[Request]
    denied: list[tuple[Request, str]]
    unused: list[tuple[str, str, str]]
    allowed_but_forbidden: list[Request]
    unattributed: int
    miswired: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.denied or self.unused or self.allowed_but_forbidden or self.miswired)


# A function's main.rs wires the AWS ports it uses (`AwsApp::from_env()?.table().secrets()…`,
# shared/lambda/src/wiring.rs); the others fail every call. Its role's grants are exactly what its recorded
# calls need (the checks above), so the ports it wires must be exactly the services its role grants.
PORT_OF_SERVICE = {
    "dynamodb": "table",
    "secretsmanager": "secrets",
    "kms": "secrets",
    "sqs": "queue",
    "states": "workflow",
    "s3": "search",
}


def wired_ports(main_source: str) -> set[str]:
    """The ports a function's main.rs wires: the calls chained on `AwsApp::from_env()?`."""
    match = re.search(r"AwsApp::from_env\(\)\?((?:\s*\.\w+\(\))*)", main_source)
    if not match:
        raise CheckError("a function's main.rs does not build its App with pivota_lambda::AwsApp::from_env()")
    return set(re.findall(r"\.(table|secrets|queue|workflow|search)\(\)", match.group(1)))


def granted_ports(function: Function) -> set[str]:
    ports = set()
    for statement in function.statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            service = action.split(":")[0]
            if service not in PORT_OF_SERVICE:
                raise CheckError(f"{function.logical_id} is granted {action}: no port of AwsApp covers {service}")
            ports.add(PORT_OF_SERVICE[service])
    return ports


def miswired(model: Model, functions_dir: Path) -> list[tuple[str, str]]:
    """(function, what is wrong) for each function whose main.rs wires other ports than its role grants."""
    problems = []
    for binary, function in sorted(model.functions.items()):
        main = functions_dir / binary / "src" / "main.rs"
        if not main.is_file():
            problems.append((binary, f"is declared in the template, but there is no {main.relative_to(functions_dir.parent)}"))
            continue
        wired, granted = wired_ports(main.read_text()), granted_ports(function)
        for port in sorted(granted - wired):
            problems.append((binary, f"uses the {port} port (its role grants it) but its main.rs does not wire it"))
        for port in sorted(wired - granted):
            problems.append((binary, f"wires the {port} port, which its role grants nothing for"))
    return problems


def check(model: Model, calls: list[dict], unattributed: int = 0) -> Report:
    unknown = sorted({c["function"] for c in calls} - set(model.functions))
    if unknown:
        raise CheckError(f"calls by functions the template does not declare: {unknown}")
    requests = sorted({r for call in calls for r in to_requests(model, call)}, key=lambda r: (r.function, r.action, r.resource))
    probes = [probe(model, *p) for p in NEVER_ALLOWED]
    grants = []
    for binary, function in sorted(model.functions.items()):
        serves = CONSOLE_CALLS | {binary} if binary == "console" else {binary}
        mine = [r for r in requests if r.function in serves]
        for action, resource, policy in grant_units(function):
            candidates = [simulator_input(model, r) for r in mine if r.action.split(":")[0] == action.split(":")[0]]
            grants.append(((binary, action, resource), {"principal": function.role_arn, "policy": policy, "candidates": candidates}))
    results = run_simulator(
        {"requests": [simulator_input(model, r) for r in requests + probes], "grants": [g for _, g in grants]}
    )
    denied = []
    for request, result in zip(requests, results["requests"]):
        if result["errors"]:
            denied.append((request, f"the simulator refused the request: {json.dumps(result['errors'])}"))
        elif result["result"] != "Allowed":
            denied.append((request, result["result"]))
    forbidden = [p for p, result in zip(probes, results["requests"][len(requests) :]) if result["result"] == "Allowed" or result["errors"]]
    unused = [
        (binary, action, resource)
        for ((binary, action, resource), _), used in zip(grants, results["grants"])
        if used is None and (binary, action) not in UNREACHED_GRANTS
    ]
    return Report(requests, denied, unused, forbidden, unattributed, miswired(model, ROOT / "functions"))


def print_report(report: Report, model: Model) -> None:
    by_function: dict[str, int] = {}
    for request in report.checked:
        by_function[request.function] = by_function.get(request.function, 0) + 1
    print(f"IAM check: {len(report.checked)} distinct requests by {len(by_function)} functions "
          f"({report.unattributed} calls by no function, e.g. test fixtures, not checked)")
    for binary in sorted(model.functions):
        print(f"  {binary:18} {by_function.get(binary, 0):5} requests")
    for request, why in report.denied:
        origin = "" if request.source == "recorded" else f" (needed by {request.source})"
        print(f"DENIED: {request.function} {request.action} on {request.resource}{origin}: {why}")
    for binary, action, resource in report.unused:
        print(f"UNUSED GRANT: {binary} ({model.functions[binary].logical_id}) {action} on {resource}: no recorded call needs it")
    for request in report.allowed_but_forbidden:
        print(f"MUST BE DENIED: {request.function} {request.action} on {request.resource} is allowed")
    for binary, why in report.miswired:
        print(f"MISWIRED: {binary} {why}")
    for (binary, action), why in sorted(UNREACHED_GRANTS.items()):
        print(f"  not reached by the tests, kept: {binary} {action}: {why}")
    print("IAM check: ok" if report.ok else "IAM check: FAILED")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=Path, required=True, help="the PIVOTA_AWS_CALL_LOG directory")
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    args = parser.parse_args()
    try:
        model = load_model(args.template)
        calls, unattributed = read_calls(args.calls)
        report = check(model, calls, unattributed)
    except CheckError as err:
        print(f"IAM check: FAILED: {err}", file=sys.stderr)
        return 1
    print_report(report, model)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
