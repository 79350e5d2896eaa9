"""The recorded AWS calls (PIVOTA_AWS_CALL_LOG) as IAM requests on the template's resources. Part of the IAM
check (check.py)."""

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

from template_model import ACCOUNT, PARTITION, REGION, STACK, URL_SUFFIX, VIA_SECRETS_MANAGER, CheckError, Model, secret_arn  # noqa: F401

# ---------------------------------------------------------------- recorded calls → IAM requests
# How the tests and the glue test name things (shared/tests/it/fixtures/backends.rs, infra/scripts/lambda-glue-test.sh)
# and which template resource each stands for.
QUEUE_PREFIXES = {"sync-": "SyncQueue", "pay-": "PaymentQueue", "index-": "IndexQueue"}
BUCKET_PREFIXES = {"search-": "SearchIndexBucket"}
PLATFORM_SECRET_SUFFIXES = {"/admin-token": "AdminTokenSecret", "/pepper": "ApiKeyPepperSecret", "/api-key-pepper": "ApiKeyPepperSecret"}


@dataclass(frozen=True)
class Request:
    function: str
    action: str
    resource: str
    context: tuple = ()
    # Why it is checked: "recorded", or what it derives from.
    source: str = "recorded"


def merchant_secret_arn(secret_id: str) -> str | None:
    marker = "/merchants/"
    if marker not in secret_id:
        return None
    return secret_arn(f"{STACK}{marker}{secret_id.split(marker, 1)[1]}")


def to_requests(model: Model, call: dict) -> list[Request]:
    function, action, kind, resource = call["function"], call["action"], call.get("kind"), call.get("resource")
    if resource is None:
        raise CheckError(f"{function} called {action} on a resource the call log could not name ({kind})")
    if kind == "table":
        return [Request(function, action, model.table_arn)]
    if kind == "index":
        return [Request(function, action, f"{model.table_arn}/index/{resource.split('/index/', 1)[1]}")]
    if kind == "queue":
        # A FIFO queue's name ends in `.fifo` (its dead-letter queue's in `-dlq.fifo`).
        name = resource.rstrip("/").rsplit("/", 1)[-1].removesuffix(".fifo")
        for prefix, logical_id in QUEUE_PREFIXES.items():
            if name.startswith(prefix):
                dead_letter = logical_id.replace("Queue", "DeadLetterQueue")
                return [Request(function, action, model.queues[dead_letter if name.endswith("-dlq") else logical_id])]
        raise CheckError(f"{function} called {action} on queue {resource}, which no template queue stands for")
    if kind == "secret":
        for suffix, logical_id in PLATFORM_SECRET_SUFFIXES.items():
            if resource.endswith(suffix):
                return [Request(function, action, model.secrets[logical_id])]
        arn = merchant_secret_arn(resource)
        if arn is None:
            raise CheckError(f"{function} called {action} on secret {resource}, which no template secret stands for")
        requests = [Request(function, action, arn)]
        # Merchant secrets are encrypted under the stack's key: Secrets Manager uses it as the caller.
        via = (("kms:ViaService", VIA_SECRETS_MANAGER),)
        if action == "secretsmanager:GetSecretValue":
            requests.append(Request(function, "kms:Decrypt", model.key_arn, via, f"{action} {arn}"))
        if action in ("secretsmanager:CreateSecret", "secretsmanager:PutSecretValue"):
            requests.append(Request(function, "kms:GenerateDataKey", model.key_arn, via, f"{action} {arn}"))
        return requests
    if kind in ("object", "bucket"):
        # `bucket/key` or `bucket`: the key stays as the program named it, under the template's bucket.
        bucket, _, key = resource.partition("/")
        logical_id = next((b for prefix, b in BUCKET_PREFIXES.items() if bucket.startswith(prefix)), None)
        if logical_id is None or logical_id not in model.buckets:
            raise CheckError(f"{function} called {action} on bucket {bucket}, which no template bucket stands for")
        arn = f"arn:{PARTITION}:s3:::{model.buckets[logical_id]}"
        if kind == "bucket":
            return [Request(function, action, arn)]
        if not key:
            raise CheckError(f"{function} called {action} on {resource}, which names no object")
        return [Request(function, action, f"{arn}/{key}")]
    if kind == "state-machine":
        return [Request(function, action, model.state_machine_arn)]
    if kind == "execution":
        name = resource.rsplit(":", 1)[1]
        machine = model.state_machine_arn.replace(":stateMachine:", ":execution:")
        return [Request(function, action, f"{machine}:{name}")]
    raise CheckError(f"{function} called {action}, which the call log could not attribute a resource to ({kind})")


def read_calls(calls_dir: Path) -> tuple[list[dict], int]:
    """(the calls functions made, how many calls no function made)."""
    files = sorted(calls_dir.glob("calls-*.jsonl"))
    if not files:
        raise CheckError(f"no call logs in {calls_dir}: run the tests with PIVOTA_AWS_CALL_LOG={calls_dir}")
    calls, unattributed = [], 0
    for path in files:
        for line in path.read_text().splitlines():
            call = json.loads(line)
            if call["function"] is None:
                unattributed += 1
            else:
                calls.append(call)
    return calls, unattributed

