"""moto_server, with DynamoDB's transaction isolation.

DynamoDB runs each TransactWriteItems request in isolation: "the changes made by a transaction are isolated
from other operations", and transactions that touch the same item at once are cancelled, never both applied
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-isolation).
moto 5.2 does not. Its threaded server runs requests concurrently, and `transact_write_items` checks and
writes item by item; when a condition fails it restores a copy of the whole table taken when the
transaction began. Two transactions can both commit on conditions the other one broke (write skew), and a
cancelled transaction undoes every write that landed meanwhile, transactional or not. Pivota relies on the
isolation (the last usable API key, payment leases), so the conformance case
`concurrent_transactions_are_serializable` fails on a stock moto server.

This launcher runs moto's own server with one change: DynamoDB requests are handled one at a time. Each
single-item request is atomic in DynamoDB; serializing them all is stronger than AWS, never weaker. Every
other service (SQS long polls, Step Functions, Secrets Manager) stays concurrent.

Usage is moto_server's: `python infra/moto/serve.py -H 127.0.0.1 -p PORT`.
"""

import functools
import sys
import threading

from moto.dynamodb.responses import DynamoHandler
from moto.server import main

_DYNAMODB = threading.Lock()
_call_action = DynamoHandler.call_action


@functools.wraps(_call_action)
def _one_at_a_time(self):
    with _DYNAMODB:
        return _call_action(self)


DynamoHandler.call_action = _one_at_a_time

if __name__ == "__main__":
    sys.exit(main())
