"""Checks requests Pivota sent to its PSP fakes against the vendors' own published definitions.

    python3 infra/contract/vendor_requests.py stripe  REQUESTS.json
    python3 infra/contract/vendor_requests.py adyen   REQUESTS.json  ADYEN_OPENAPI.json

Stripe: the `stripe` package on PyPI (pinned in infra/scripts/lib.sh) carries every endpoint's parameters as
TypedDicts "generated from our OpenAPI spec" (`stripe/params/`). Each sent form is nested by its bracket
keys (`metadata[order_id]`, `automatic_payment_methods[enabled]`) and checked against the endpoint's
TypedDict: no unknown parameter, every required one present, every value of its declared type (integers,
booleans as `true`/`false`, literals).

Adyen: each request body is validated against its schema in the Checkout v71 OpenAPI document
(`PaymentRequest`, `PaymentMethodsRequest`), required fields included, with openapi-schema-validator.

REQUESTS.json is a list of {"endpoint": "...", "stripe_version": "...", "form": [[key, value], ...]} (Stripe) or
{"endpoint": "...", "body": {...}} (Adyen). Exit status 0 when every request conforms; otherwise 1, with one
line per finding on stdout.
"""

import json
import re
import sys
import typing

import typing_extensions

STRIPE_ENDPOINTS = {"POST /v1/payment_intents": "PaymentIntentCreateParams"}
ADYEN_ENDPOINTS = {"payments": "PaymentRequest", "paymentMethods": "PaymentMethodsRequest"}


def nest_form(pairs):
    """`a[b][0]=x` pairs into nested dicts (list indices stay string keys, marked by digits)."""
    root = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        if not parts or "".join(f"[{p}]" for p in parts[1:]) != key[len(parts[0]):]:
            raise ValueError(f"malformed form key {key!r}")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"{key!r} nests under a scalar")
        node[parts[-1]] = value
    return root


class StripeChecker:
    def __init__(self):
        import stripe.params
        from stripe._request_options import RequestOptions

        self.params = stripe.params
        self.options = set(RequestOptions.__annotations__)

    def namespace(self, cls):
        return {**vars(typing), **vars(sys.modules[cls.__module__]), **vars(self.params)}

    def resolve(self, annotation, namespace):
        if isinstance(annotation, str):
            annotation = eval(annotation, namespace)  # the package's own annotation text
        if isinstance(annotation, typing.ForwardRef):
            annotation = eval(annotation.__forward_arg__, namespace)
        return annotation

    def check(self, annotation, value, where, namespace, findings):
        annotation = self.resolve(annotation, namespace)
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin in (typing.NotRequired, typing.Required):
            return self.check(args[0], value, where, namespace, findings)
        if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
            for member in args:
                found = []
                self.check(member, value, where, namespace, found)
                if not found:
                    return
            findings.append(f"{where}: {value!r} fits none of {annotation}")
            return
        if origin is typing.Literal:
            if value not in args:
                findings.append(f"{where}: {value!r} is not one of {args}")
            return
        if annotation is str:
            if not isinstance(value, str):
                findings.append(f"{where}: expected a string")
            return
        if annotation is int:
            if not (isinstance(value, str) and re.fullmatch(r"-?\d+", value)):
                findings.append(f"{where}: {value!r} is not an integer")
            return
        if annotation is bool:
            if value not in ("true", "false"):
                findings.append(f"{where}: {value!r} is not true or false")
            return
        if origin in (dict, typing.Dict) or getattr(origin, "__name__", "") == "UntypedStripeObject":
            if not isinstance(value, dict):
                findings.append(f"{where}: expected a hash")
                return
            value_type = args[-1] if args else str
            for key, item in value.items():
                self.check(value_type, item, f"{where}[{key}]", namespace, findings)
            return
        if origin in (list, typing.List):
            if not isinstance(value, dict) or not all(key.isdigit() for key in value):
                findings.append(f"{where}: expected a list")
                return
            for key, item in value.items():
                self.check(args[0], item, f"{where}[{key}]", namespace, findings)
            return
        if typing_extensions.is_typeddict(annotation):
            self.check_typeddict(annotation, value, where, findings)
            return
        findings.append(f"{where}: the checker does not know the type {annotation}")

    def check_typeddict(self, cls, value, where, findings):
        if not isinstance(value, dict):
            findings.append(f"{where}: expected a hash for {cls.__name__}")
            return
        namespace = self.namespace(cls)
        fields = {name: annotation for name, annotation in cls.__annotations__.items() if name not in self.options}
        required = set(cls.__required_keys__) - self.options
        def key(name):
            return f"{where}[{name}]" if where else name

        for name in sorted(required - set(value)):
            findings.append(f"{key(name)}: required by {cls.__name__}, not sent")
        for name, item in value.items():
            if name not in fields:
                findings.append(f"{key(name)}: not a parameter of {cls.__name__}")
                continue
            self.check(fields[name], item, key(name), namespace, findings)

    def findings(self, request):
        endpoint = request["endpoint"]
        from stripe._api_version import _ApiVersion

        # The parameters checked are those of the package's API version: the requests must pin that one.
        sent_version = request.get("stripe_version")
        if sent_version != _ApiVersion.CURRENT:
            return [f"{endpoint}: Stripe-Version {sent_version!r} is not the checked definitions' {_ApiVersion.CURRENT!r}"]
        if endpoint not in STRIPE_ENDPOINTS:
            return [f"{endpoint}: no parameter definition is mapped for this endpoint"]
        cls = getattr(self.params, STRIPE_ENDPOINTS[endpoint])
        try:
            form = nest_form(request["form"])
        except ValueError as error:
            return [f"{endpoint}: {error}"]
        findings = []
        self.check_typeddict(cls, form, "", findings)
        return [f"{endpoint} {finding}" for finding in findings]


def adyen_findings(requests, spec_path):
    from openapi_schema_validator import OAS31Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    with open(spec_path) as handle:
        spec = json.load(handle)
    # OpenAPI 3.1 schemas are JSON Schema 2020-12; the document's own `#/components/...` refs resolve in it.
    registry = Registry().with_resource("urn:adyen-checkout", Resource(contents=spec, specification=DRAFT202012))
    findings = []
    for request in requests:
        endpoint = request["endpoint"]
        if endpoint not in ADYEN_ENDPOINTS:
            findings.append(f"{endpoint}: no schema is mapped for this endpoint")
            continue
        schema = {"$ref": f"urn:adyen-checkout#/components/schemas/{ADYEN_ENDPOINTS[endpoint]}"}
        validator = OAS31Validator(schema, registry=registry)
        for error in validator.iter_errors(request["body"]):
            path = "/".join(str(part) for part in error.absolute_path) or "(body)"
            findings.append(f"{endpoint} {path}: {error.message}")
    return findings


def main(argv):
    if len(argv) < 3 or argv[1] not in ("stripe", "adyen"):
        print(__doc__)
        return 2
    with open(argv[2]) as handle:
        requests = json.load(handle)
    if not requests:
        print("no requests to check")
        return 1
    if argv[1] == "stripe":
        checker = StripeChecker()
        findings = [finding for request in requests for finding in checker.findings(request)]
    else:
        findings = adyen_findings(requests, argv[3])
    for finding in findings:
        print(finding)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
