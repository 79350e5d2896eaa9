"""The IAM check fails when it should: each case takes the real template.yaml, changes one thing (a grant
removed, a call added) and runs the same evaluation as `check.py`.

    python infra/iam/test_check.py
"""

import copy
import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import check  # noqa: E402

MODEL = check.load_model(check.ROOT / "template.yaml")


def call(function, action, kind, resource):
    return {"function": function, "action": action, "kind": kind, "resource": resource, "kms_key": None}


STORE_SECRET = "01run/merchants/mer_1/stores/sto_1"
PSP_SECRET = "01run/merchants/mer_1/psp/stripe/test"


def without(model, function, action, resource_contains):
    """The model with `action` on resources containing `resource_contains` taken out of `function`'s
    statements."""
    model = copy.deepcopy(model)
    statements = model.functions[function].statements
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if action in actions and any(resource_contains in r for r in resources):
            statement["Action"] = [a for a in actions if a != action] or ["sqs:GetQueueUrl"]
    return model


def denied(report):
    return {(r.function, r.action) for r, _ in report.denied}


class CallsAgainstPolicies(unittest.TestCase):
    def test_the_template_allows_what_the_order_webhook_does(self):
        calls = [
            call("order-webhook", "secretsmanager:GetSecretValue", "secret", STORE_SECRET),
            call("order-webhook", "dynamodb:PutItem", "table", "pivota-01run"),
            call("order-webhook", "sqs:SendMessage", "queue", "http://127.0.0.1:5000/123456789012/pay-01run"),
        ]
        report = check.check(MODEL, calls)
        self.assertEqual(report.denied, [])

    def test_a_removed_grant_fails_the_call_that_needed_it(self):
        model = without(MODEL, "order-webhook", "secretsmanager:GetSecretValue", "/stores/")
        report = check.check(model, [call("order-webhook", "secretsmanager:GetSecretValue", "secret", STORE_SECRET)])
        self.assertIn(("order-webhook", "secretsmanager:GetSecretValue"), denied(report))
        self.assertFalse(report.ok)

    def test_the_order_webhook_cannot_touch_psp_secrets(self):
        calls = [
            call("order-webhook", "secretsmanager:DeleteSecret", "secret", PSP_SECRET),
            call("order-webhook", "secretsmanager:GetSecretValue", "secret", PSP_SECRET),
        ]
        report = check.check(MODEL, calls)
        self.assertEqual(
            denied(report),
            {("order-webhook", "secretsmanager:DeleteSecret"), ("order-webhook", "secretsmanager:GetSecretValue")},
        )

    def test_an_index_query_needs_the_index_grant(self):
        model = copy.deepcopy(MODEL)
        model.functions["admin-merchants"].statements = [
            s for s in model.functions["admin-merchants"].statements if "/index/" not in json.dumps(s["Resource"])
        ]
        report = check.check(model, [call("admin-merchants", "dynamodb:Query", "index", "pivota-01run/index/gsi1")])
        self.assertIn(("admin-merchants", "dynamodb:Query"), denied(report))

    def test_a_secret_arn_has_a_suffix_the_policy_must_allow_for(self):
        # A policy naming the secret exactly, without `-*` or `*`, does not match its ARN.
        model = copy.deepcopy(MODEL)
        exact = f"arn:aws:secretsmanager:{check.REGION}:{check.ACCOUNT}:secret:{check.STACK}/merchants/mer_1/stores/sto_1"
        model.functions["order-webhook"].statements = [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": exact}
        ]
        report = check.check(model, [call("order-webhook", "secretsmanager:GetSecretValue", "secret", STORE_SECRET)])
        self.assertIn(("order-webhook", "secretsmanager:GetSecretValue"), denied(report))


INDEX_KEY = "search-01run/indexes/mer_1/0a1b2c3d4e5f.idx"


class SearchIndexes(unittest.TestCase):
    def test_the_indexer_writes_and_tags_index_objects_and_readers_only_read(self):
        calls = [
            call("search-indexer", "s3:PutObject", "object", INDEX_KEY),
            call("search-indexer", "s3:PutObjectTagging", "object", INDEX_KEY),
            call("search-indexer", "s3:GetObject", "object", INDEX_KEY),
            call("search-indexer", "s3:ListBucket", "bucket", "search-01run"),
            call("products", "s3:GetObject", "object", INDEX_KEY),
            call("products", "s3:ListBucket", "bucket", "search-01run"),
            call("console", "s3:GetObject", "object", INDEX_KEY),
            call("products", "s3:PutObject", "object", INDEX_KEY),
            call("console", "s3:PutObjectTagging", "object", INDEX_KEY),
        ]
        report = check.check(MODEL, calls)
        self.assertEqual(denied(report), {("products", "s3:PutObject"), ("console", "s3:PutObjectTagging")})

    def test_objects_outside_the_indexes_prefix_are_denied(self):
        calls = [
            call("search-indexer", "s3:PutObject", "object", "search-01run/other/mer_1/meta.json"),
            call("products", "s3:GetObject", "object", "search-01run/meta.json"),
        ]
        report = check.check(MODEL, calls)
        self.assertEqual(denied(report), {("search-indexer", "s3:PutObject"), ("products", "s3:GetObject")})

    def test_a_missing_key_reads_as_404_only_with_list_bucket(self):
        # S3 answers 403 for a missing key to a caller without s3:ListBucket on the bucket: the call log records
        # each GetObject as both, and the check wants both allowed.
        model = without(MODEL, "products", "s3:ListBucket", "search")
        report = check.check(model, [call("products", "s3:ListBucket", "bucket", "search-01run")])
        self.assertIn(("products", "s3:ListBucket"), denied(report))

    def test_objects_map_onto_the_template_bucket_key_by_key(self):
        (request,) = check.to_requests(MODEL, call("products", "s3:GetObject", "object", INDEX_KEY))
        bucket = MODEL.buckets["SearchIndexBucket"]
        self.assertEqual(request.resource, f"arn:aws:s3:::{bucket}/indexes/mer_1/0a1b2c3d4e5f.idx")
        self.assertEqual(bucket, bucket.lower())
        (request,) = check.to_requests(MODEL, call("products", "s3:ListBucket", "bucket", "search-01run"))
        self.assertEqual(request.resource, f"arn:aws:s3:::{bucket}")

    def test_a_bucket_no_template_bucket_stands_for_is_an_error(self):
        with self.assertRaises(check.CheckError):
            check.check(MODEL, [call("products", "s3:GetObject", "object", "other-01run/indexes/mer_1/meta.json")])

    def test_fifo_queues_map_onto_the_index_queue_and_its_dead_letter_queue(self):
        base = "http://127.0.0.1:5000/123456789012"
        (work,) = check.to_requests(MODEL, call("products", "sqs:SendMessage", "queue", f"{base}/index-01run.fifo"))
        (dead,) = check.to_requests(MODEL, call("products", "sqs:SendMessage", "queue", f"{base}/index-01run-dlq.fifo"))
        self.assertEqual((work.resource, dead.resource), (MODEL.queues["IndexQueue"], MODEL.queues["IndexDeadLetterQueue"]))

    def test_only_product_writers_may_queue_index_changes(self):
        queue = "http://127.0.0.1:5000/123456789012/index-01run.fifo"
        writers = ["products", "sync-worker", "order-webhook", "admin-review", "console"]
        calls = [call(function, "sqs:SendMessage", "queue", queue) for function in [*writers, "store-sync", "search-indexer"]]
        report = check.check(MODEL, calls)
        self.assertEqual(denied(report), {("store-sync", "sqs:SendMessage"), ("search-indexer", "sqs:SendMessage")})


class MerchantSecretsKey(unittest.TestCase):
    def test_reading_a_merchant_secret_needs_the_key_policy(self):
        model = copy.deepcopy(MODEL)
        readers = next(s for s in model.key_policy["Statement"] if s.get("Sid") == "ReadersThroughSecretsManager")
        role = model.functions["sync-worker"].role_arn
        readers["Principal"]["AWS"] = [p for p in readers["Principal"]["AWS"] if p != role]
        report = check.check(model, [call("sync-worker", "secretsmanager:GetSecretValue", "secret", STORE_SECRET)])
        self.assertEqual(denied(report), {("sync-worker", "kms:Decrypt")})

    def test_writing_a_merchant_secret_needs_generate_data_key(self):
        model = copy.deepcopy(MODEL)
        writers = next(s for s in model.key_policy["Statement"] if s.get("Sid") == "WritersThroughSecretsManager")
        writers["Action"] = ["kms:Decrypt"]
        report = check.check(model, [call("psp-connect", "secretsmanager:CreateSecret", "secret", PSP_SECRET)])
        self.assertEqual(denied(report), {("psp-connect", "kms:GenerateDataKey")})


class UnusedGrants(unittest.TestCase):
    def test_a_grant_no_call_uses_is_listed(self):
        calls = [call("register", "dynamodb:PutItem", "table", "pivota-01run")]
        report = check.check(MODEL, calls)
        unused = {(f, a) for f, a, _ in report.unused}
        self.assertIn(("register", "states:StartExecution"), unused)
        self.assertNotIn(("register", "dynamodb:PutItem"), unused)
        self.assertFalse(report.ok)

    def test_the_consoles_grants_are_used_by_the_api_functions_its_pages_call(self):
        # The console's PutItem is used when a function its pages call (register) needed it; its
        # StartExecution is not, when only the payment worker (which the console never calls) started one.
        calls = [
            call("register", "dynamodb:PutItem", "table", "pivota-01run"),
            call("payment-worker", "states:StartExecution", "state-machine", "kyc-01run"),
        ]
        report = check.check(MODEL, calls)
        unused = {(f, a) for f, a, _ in report.unused}
        self.assertNotIn(("console", "dynamodb:PutItem"), unused)
        self.assertIn(("console", "states:StartExecution"), unused)


class NeverAllowed(unittest.TestCase):
    def test_a_psp_grant_on_the_order_webhook_fails_the_check(self):
        model = copy.deepcopy(MODEL)
        model.functions["order-webhook"].statements.append(
            {
                "Effect": "Allow",
                "Action": "secretsmanager:DeleteSecret",
                "Resource": f"arn:aws:secretsmanager:{check.REGION}:{check.ACCOUNT}:secret:{check.STACK}/merchants/*",
            }
        )
        report = check.check(model, [])
        self.assertIn(("order-webhook", "secretsmanager:DeleteSecret"), {(r.function, r.action) for r in report.allowed_but_forbidden})


class Mapping(unittest.TestCase):
    def test_a_queue_no_template_queue_stands_for_is_an_error(self):
        with self.assertRaises(check.CheckError):
            check.check(MODEL, [call("store-sync", "sqs:SendMessage", "queue", "http://127.0.0.1:5000/123456789012/other")])

    def test_a_call_without_a_named_resource_is_an_error(self):
        with self.assertRaises(check.CheckError):
            check.check(MODEL, [call("register", "dynamodb:Scan", "unknown", None)])

    def test_calls_map_to_the_test_account_not_motos(self):
        (request,) = check.to_requests(MODEL, call("register", "states:StartExecution", "state-machine", "arn:aws:states:us-east-1:123456789012:stateMachine:kyc-01run"))
        self.assertEqual(request.resource, MODEL.state_machine_arn)
        self.assertIn(f":{check.ACCOUNT}:", request.resource)


class ConsoleCalls(unittest.TestCase):
    def test_the_console_calls_are_read_from_its_api_list(self):
        source = "pub static API: &[&[Route]] = &[\n    routes::STORE_SYNC,\n    routes::REGISTER,\n];"
        self.assertEqual(check.console_calls(source), {"store-sync", "register"})
        self.assertIn("admin-review", check.CONSOLE_CALLS)
        self.assertNotIn("payment-execute", check.CONSOLE_CALLS)

    def test_a_console_without_an_api_list_stops_the_check(self):
        with self.assertRaises(SystemExit):
            check.console_calls("pub static OTHER: &[&[Route]] = &[routes::REGISTER];")


class Wiring(unittest.TestCase):
    def test_every_function_wires_the_ports_its_role_grants(self):
        self.assertEqual(check.miswired(MODEL, check.ROOT / "functions"), [])

    def test_a_port_used_but_not_wired_is_reported(self):
        with tempfile.TemporaryDirectory() as functions:
            for binary in MODEL.functions:
                source = (check.ROOT / "functions" / binary / "src" / "main.rs").read_text()
                if binary == "register":
                    source = source.replace(".workflow()", "")
                if binary == "openapi":
                    source = source.replace("from_env()?", "from_env()?.queue()")
                main = Path(functions) / binary / "src" / "main.rs"
                main.parent.mkdir(parents=True)
                main.write_text(source)
            problems = check.miswired(MODEL, Path(functions))
        self.assertEqual(
            problems,
            [
                ("openapi", "wires the queue port, which its role grants nothing for"),
                ("register", "uses the workflow port (its role grants it) but its main.rs does not wire it"),
            ],
        )

    def test_a_main_that_wires_less_than_its_role_fails(self):
        granted = check.granted_ports(MODEL.functions["order-webhook"])
        wired = check.wired_ports("let app = pivota_lambda::AwsApp::from_env()?.table().build();")
        self.assertEqual(granted - wired, {"secrets", "queue"})


if __name__ == "__main__":
    unittest.main(verbosity=2)
