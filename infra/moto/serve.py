"""moto_server, with DynamoDB's transaction isolation and S3's atomic conditional writes, and without moto's
per-request overheads.

DynamoDB runs each TransactWriteItems request in isolation: "the changes made by a transaction are isolated
from other operations", and transactions that touch the same item at once are cancelled, never both applied
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-isolation).
moto 5.2 does not. Its threaded server runs requests concurrently, and `transact_write_items` checks and
writes item by item; when a condition fails it restores a copy of the whole table taken when the
transaction began. Two transactions can both commit on conditions the other one broke (write skew), and a
cancelled transaction undoes every write that landed meanwhile, transactional or not. Pivota relies on the
isolation (the last usable API key, payment leases), so the conformance case
`concurrent_transactions_are_serializable` fails on a stock moto server.

S3 checks a conditional PutObject's `If-Match` / `If-None-Match` and writes in one step: of two writers
that read the same ETag, one gets 412 (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
moto 5.2 honours both headers, but checks then writes, concurrently with other requests: two conditional
PUTs can both pass the check. The search index publishes commits that way (shared/aws/src/search_s3/).

This launcher runs moto's own server with four changes, none of which changes an answer:

1. DynamoDB requests are handled one at a time. Each single-item request is atomic in DynamoDB;
   serializing them all is stronger than AWS, never weaker. Every other service (SQS long polls, Step
   Functions, Secrets Manager) stays concurrent.
2. A transaction's rollback restores the items it names, not a deep copy of each table it touches, taken
   once per item. With (1), nothing else writes while a transaction runs, so putting back those items is
   the same rollback. moto's copy costs the table's size times the transaction's length: it was a third of
   the server's time in `cargo test`, and grew as tests filled their tables.
3. No access log line per request (werkzeug's), and moto's list of its own service modules is read from
   disk once, not on every request. Errors are still logged.
4. S3 PutObject requests are handled one at a time, so a conditional one checks and writes atomically.

`python infra/moto/serve.py --self-test` checks (2): a cancelled transaction leaves every table as it was.

Usage is moto_server's: `python infra/moto/serve.py -H 127.0.0.1 -p PORT`.
"""

import copy
import functools
import logging
import sys
import threading

import moto.backends
import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.responses import DynamoHandler
from moto.s3.responses import S3Response
from moto.server import main

_DYNAMODB = threading.Lock()
_call_action = DynamoHandler.call_action


@functools.wraps(_call_action)
def _one_at_a_time(self):
    with _DYNAMODB:
        return _call_action(self)


DynamoHandler.call_action = _one_at_a_time

_S3_PUT = threading.Lock()
_put_object = S3Response.put_object


@functools.wraps(_put_object)
def _put_one_at_a_time(self):
    with _S3_PUT:
        return _put_object(self)


S3Response.put_object = _put_one_at_a_time


class _NoTableCopy:
    """Stands in for the `copy` module inside moto's `transact_write_items`: its "backup" is the live
    table, so its own rollback (`self.tables[name] = backup`) changes nothing; `_item_rollback` does the
    rollback instead."""

    @staticmethod
    def deepcopy(value, memo=None):
        return value


def _named_items(backend, transact_items):
    """(table, hash key, range key) of each item a transaction names, where the table exists and the key
    is well-formed; moto reports the others itself."""
    for entry in transact_items:
        try:
            _, op = next(iter(entry.items()))
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue
            attrs = op["Item"] if "Item" in op else op["Key"]
            hash_key = DynamoType(attrs[table.hash_key_attr])
            range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
        except (AttributeError, KeyError, TypeError, StopIteration):
            continue
        yield table, hash_key, range_key


def _restore(table, hash_key, range_key, item):
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
        return
    if item is None:
        by_range = table.items.get(hash_key)
        if by_range is not None:
            by_range.pop(range_key, None)
            if not by_range:
                del table.items[hash_key]
    else:
        table.items[hash_key][range_key] = item


_transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items


@functools.wraps(_transact_write_items)
def _item_rollback(self, transact_items):
    # Runs under _DYNAMODB (every DynamoDB request does), so no other request sees the swapped module.
    before = [
        (table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key)))
        for table, hash_key, range_key in _named_items(self, transact_items)
    ]
    dynamodb_models.copy = _NoTableCopy
    try:
        return _transact_write_items(self, transact_items)
    except BaseException:
        for table, hash_key, range_key, item in reversed(before):
            _restore(table, hash_key, range_key, item)
        raise
    finally:
        dynamodb_models.copy = copy


dynamodb_models.DynamoDBBackend.transact_write_items = _item_rollback

_moto_modules = tuple(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: _moto_modules

logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _self_test():
    """A cancelled transaction, on a hash-key table and a hash+range table, leaves both as they were:
    the items it would have put are absent, the ones it would have changed or deleted unchanged."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        db.create_table(
            TableName="h", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        )
        db.create_table(
            TableName="hr", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
        )
        db.put_item(TableName="h", Item={"pk": {"S": "kept"}, "v": {"N": "1"}})
        db.put_item(TableName="hr", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "v": {"N": "1"}})

        def dump():
            return sorted(str(i) for t in ("h", "hr") for i in db.scan(TableName=t)["Items"])

        before = dump()
        try:
            db.transact_write_items(TransactItems=[
                {"Put": {"TableName": "h", "Item": {"pk": {"S": "new"}}}},
                {"Update": {"TableName": "h", "Key": {"pk": {"S": "kept"}}, "UpdateExpression": "SET v = :two",
                            "ExpressionAttributeValues": {":two": {"N": "2"}}}},
                {"Delete": {"TableName": "hr", "Key": {"pk": {"S": "a"}, "sk": {"S": "1"}}}},
                {"Put": {"TableName": "hr", "Item": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
                {"ConditionCheck": {"TableName": "h", "Key": {"pk": {"S": "absent"}},
                                    "ConditionExpression": "attribute_exists(pk)"}},
            ])
        except db.exceptions.TransactionCanceledException:
            pass
        else:
            sys.exit("self-test: the transaction was not cancelled")
        after = dump()
        if after != before:
            sys.exit(f"self-test: a cancelled transaction changed the tables\nbefore {before}\nafter  {after}")
        db.transact_write_items(TransactItems=[{"Put": {"TableName": "hr", "Item": {"pk": {"S": "b"}, "sk": {"S": "1"}}}}])
        if len(dump()) != len(before) + 1:
            sys.exit("self-test: a committed transaction did not write")
    print("serve.py self-test: ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        _self_test()
    else:
        sys.exit(main())
