"""template.yaml as IAM sees it: expanded by AWS SAM's own translator and resolved to the ARNs of a test
stack (account 111122223333, eu-central-1, stack `pivota-iam-check`), giving each function's role and
policies, and the merchant secrets' key policy. Part of the IAM check (check.py)."""

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

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "111122223333"
REGION = "eu-central-1"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
STACK = "pivota-iam-check"
VIA_SECRETS_MANAGER = f"secretsmanager.{REGION}.{URL_SUFFIX}"

# AWS-managed policies SAM attaches (their documents as AWS publishes them): the event source mappings
# poll SQS with the function's role.
MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}],
    },
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ],
    },
}


class CheckError(Exception):
    pass


# ---------------------------------------------------------------- the template, expanded and resolved
def expand_template(template_path: Path) -> tuple[dict, dict]:
    """(the SAM template as written, the CloudFormation template AWS SAM's translator makes of it)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    class NoManagedPolicyNames:
        # Named managed policies would be looked up in IAM; the template attaches none by name.
        def load(self) -> dict:
            return {}

    sam = yaml_parse(template_path.read_text())
    packaged = copy.deepcopy(sam)
    # What `sam package` does: code and definitions become S3 objects (the translator wants S3 URIs).
    for resource in packaged["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://pivota-iam-check/code.zip"
        if resource["Type"] == "AWS::Serverless::StateMachine":
            resource["Properties"]["DefinitionUri"] = "s3://pivota-iam-check/statemachine.json"
    return sam, transform(packaged, {}, NoManagedPolicyNames())


def _token(logical_id: str, length: int = 12) -> str:
    return hashlib.sha256(logical_id.encode()).hexdigest()[:length].upper()


def secret_arn(name: str) -> str:
    """A secret's ARN: its name, a hyphen and six characters Secrets Manager chooses."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    suffix = "".join(c if i % 2 else c.upper() for i, c in enumerate(digest[:6]))
    return f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-{suffix}"


@dataclass
class Stack:
    """The test stack's resources: what !Ref and !GetAtt of each logical id resolve to."""

    cfn: dict
    parameters: dict = field(default_factory=dict)

    def ref(self, logical_id: str) -> str:
        pseudo = {
            "AWS::Partition": PARTITION,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": STACK,
            "AWS::URLSuffix": URL_SUFFIX,
        }
        if logical_id in pseudo:
            return pseudo[logical_id]
        if logical_id in self.cfn.get("Parameters", {}):
            return str(self.parameters.get(logical_id, self.cfn["Parameters"][logical_id].get("Default", "")))
        kind = self._type(logical_id)
        if kind == "AWS::SecretsManager::Secret":
            return secret_arn(self.name(logical_id))
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.{URL_SUFFIX}/{ACCOUNT}/{self.name(logical_id)}"
        if kind == "AWS::KMS::Key":
            return self._key_id(logical_id)
        if kind in ("AWS::StepFunctions::StateMachine", "AWS::SNS::Topic"):
            return self.get_att(logical_id, "Arn")
        return self.name(logical_id)

    def get_att(self, logical_id: str, attribute: str) -> str:
        kind = self._type(logical_id)
        name = self.name(logical_id)
        arns = {
            "AWS::DynamoDB::Table": f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::StepFunctions::StateMachine": f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
            "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}",
            "AWS::KMS::Key": f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{self._key_id(logical_id)}",
            "AWS::SNS::Topic": f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name}",
            # S3 ARNs name neither region nor account: bucket names are global.
            "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{name}",
        }
        if attribute == "Arn" and kind in arns:
            return arns[kind]
        if attribute in ("QueueName", "Name"):
            return name
        raise CheckError(f"cannot resolve !GetAtt {logical_id}.{attribute} ({kind})")

    @staticmethod
    def _key_id(logical_id: str) -> str:
        return "0a1b2c3d-4e5f-4a6b-8c7d-" + _token(logical_id).lower()

    def name(self, logical_id: str) -> str:
        """The physical name CloudFormation would generate: stack, logical id, a random tail (in lower case
        for a bucket, whose names must be)."""
        name = f"{STACK}-{logical_id}-{_token(logical_id)}"
        return name.lower() if self._type(logical_id) == "AWS::S3::Bucket" else name

    def _type(self, logical_id: str) -> str:
        try:
            return self.cfn["Resources"][logical_id]["Type"]
        except KeyError:
            raise CheckError(f"no resource {logical_id} in the template") from None

    def resolve(self, value):
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return self._sub(text, variables)
            if key == "Fn::Join":
                separator, parts = arg
                return separator.join(self.resolve(parts))
            if key.startswith("Fn::") or key == "Condition":
                raise CheckError(f"cannot resolve {key} in a policy")
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, text: str, variables: dict) -> str:
        out, i = [], 0
        while i < len(text):
            start = text.find("${", i)
            if start < 0:
                out.append(text[i:])
                break
            out.append(text[i:start])
            end = text.index("}", start)
            name = text[start + 2 : end]
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
            elif name in variables:
                out.append(str(variables[name]))
            elif "." in name:
                out.append(self.get_att(*name.split(".", 1)))
            else:
                out.append(self.ref(name))
            i = end + 1
        return "".join(out)


@dataclass
class Function:
    binary: str
    logical_id: str
    role_arn: str
    # The template's own statements, resolved (each with the policy's name, for messages).
    statements: list[dict]
    managed: list[dict]

    @property
    def identity_policies(self) -> list[dict]:
        return [{"Version": "2012-10-17", "Statement": self.statements}, *self.managed]


@dataclass
class Model:
    stack: Stack
    functions: dict[str, Function]
    table_arn: str
    queues: dict[str, str]  # logical id -> ARN
    secrets: dict[str, str]  # logical id -> ARN
    buckets: dict[str, str]  # logical id -> bucket name
    state_machine_arn: str
    key_arn: str
    key_policy: dict


def load_model(template_path: Path) -> Model:
    sam, cfn = expand_template(template_path)
    stack = Stack(cfn)
    functions = {}
    for logical_id, resource in sam["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        role_ref = cfn["Resources"][logical_id]["Properties"]["Role"]
        role_id = role_ref["Fn::GetAtt"][0]
        role = cfn["Resources"][role_id]["Properties"]
        statements = []
        for policy in role.get("Policies", []):
            document = stack.resolve(policy["PolicyDocument"])
            statements.extend(document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]])
        managed = []
        for arn in role.get("ManagedPolicyArns", []):
            if arn not in MANAGED_POLICIES:
                raise CheckError(f"{logical_id}'s role attaches {arn}, whose document this check does not hold")
            managed.append(MANAGED_POLICIES[arn])
        functions[binary] = Function(binary, logical_id, stack.resolve(role_ref), statements, managed)

    def of_type(kind):
        return [k for k, v in cfn["Resources"].items() if v["Type"] == kind]

    tables = of_type("AWS::DynamoDB::Table")
    machines = of_type("AWS::StepFunctions::StateMachine")
    keys = of_type("AWS::KMS::Key")
    if len(tables) != 1 or len(machines) != 1 or len(keys) != 1:
        raise CheckError(f"expected one table, state machine and KMS key; found {tables}, {machines}, {keys}")
    return Model(
        stack=stack,
        functions=functions,
        table_arn=stack.get_att(tables[0], "Arn"),
        queues={q: stack.get_att(q, "Arn") for q in of_type("AWS::SQS::Queue")},
        secrets={s: stack.ref(s) for s in of_type("AWS::SecretsManager::Secret")},
        buckets={b: stack.ref(b) for b in of_type("AWS::S3::Bucket")},
        state_machine_arn=stack.ref(machines[0]),
        key_arn=stack.get_att(keys[0], "Arn"),
        key_policy=stack.resolve(cfn["Resources"][keys[0]]["Properties"]["KeyPolicy"]),
    )

