"""moto's server, with DynamoDB requests serialised.

moto runs each request on its own thread. Its TransactWriteItems snapshots the whole table,
applies the writes one by one and, when a condition fails, restores the snapshot: two concurrent
transactions can therefore see each other's partial writes, and a rollback can resurrect or erase
another request's writes (measured: 50 concurrent conditional activations left 17 heads written
where the counter allowed 10). DynamoDB itself runs transactions serialisably, so the local stack
serialises DynamoDB requests (one lock, held for the whole request) and leaves every other service
concurrent (SQS long polls must not block the emulator).

A second change, made possible by the first: moto's TransactWriteItems deep-copies every table
it touches before writing, so each transaction costs time in proportion to the table's size
(measured: about 0.7 s per claim with 10k schedule entries). Since DynamoDB requests no longer
interleave, a rollback only needs the items the transaction touches: they are copied instead,
and restored (with the stream records the failed writes added) when the transaction is cancelled.

Usage: python emulator.py HOST PORT
"""

from __future__ import annotations

import copy
import signal
import sys
import threading
from typing import Any, Callable, Iterable

from werkzeug.serving import run_simple

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import dynamo_type
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

_dynamodb_lock = threading.Lock()


class SerialisedDynamoDB:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB"):
            return self.app(environ, start_response)
        with _dynamodb_lock:
            # Drain the body inside the lock: the work happens while it is produced.
            return list(self.app(environ, start_response))


_real_deepcopy = copy.deepcopy
_in_transaction = threading.local()


def _deepcopy(value: Any, memo: Any = None) -> Any:
    # Inside a transaction moto copies whole tables for rollback; the patched transaction
    # keeps item-level copies instead, so the table copy can be the table itself.
    if getattr(_in_transaction, "active", False) and isinstance(value, Table):
        return value
    return _real_deepcopy(value, memo)


def _key_of(table: Table, op_type: str, op: dict[str, Any]) -> tuple[Any, Any]:
    source = op["Item"] if op_type == "Put" else op["Key"]
    hash_key = dynamo_type.DynamoType(source[table.hash_key_attr])
    range_key = dynamo_type.DynamoType(source[table.range_key_attr]) if table.range_key_attr else None
    return hash_key, range_key


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    backups = []
    streams = {}
    for entry in transact_items:
        op_type, op = next(iter(entry.items()))
        try:
            table = self.get_table(op["TableName"])
            hash_key, range_key = _key_of(table, op_type, op)
        except Exception:  # noqa: BLE001 - malformed requests fail inside moto with its own error
            continue
        backups.append((table, hash_key, range_key, _real_deepcopy(table.get_item(hash_key, range_key))))
        if table.stream_shard is not None:
            streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
    _in_transaction.active = True
    try:
        _original_transact_write_items(self, transact_items)
    except Exception:
        for table, hash_key, range_key, item in reversed(backups):
            if item is None:
                if range_key is not None:
                    table.items.get(hash_key, {}).pop(range_key, None)
                else:
                    table.items.pop(hash_key, None)
            elif range_key is not None:
                table.items[hash_key][range_key] = item
            else:
                table.items[hash_key] = item
        for shard, length in streams.values():
            del shard.items[length:]
        raise
    finally:
        _in_transaction.active = False


_original_transact_write_items = DynamoDBBackend.transact_write_items
DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
copy.deepcopy = _deepcopy  # type: ignore[assignment]


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        host,
        port,
        SerialisedDynamoDB(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
