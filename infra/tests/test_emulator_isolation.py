"""The local emulator runs DynamoDB transactions as DynamoDB does: serialisably.

Without infra/emulator.py's serialisation, moto lets concurrent failed transactions leave
partial writes behind (see emulator.py)."""

from __future__ import annotations

import concurrent.futures
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cfn import Stack  # noqa: E402
from provision import client  # noqa: E402


def test_concurrent_conditional_transactions_leave_no_partial_writes():
    stack = Stack.local()
    table = stack.resolve(stack.template["Resources"]["SettingsTable"]["Properties"]["TableName"])
    dynamodb = client("dynamodb")
    pk = f"isolation-{uuid.uuid4().hex}"

    def attempt(i: int) -> bool:
        try:
            dynamodb.transact_write_items(TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": pk}, "sk": {"S": f"HEAD#{i:02}"}}}},
                {"Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": pk}, "sk": {"S": "COUNTER"}},
                    "UpdateExpression": "SET n = if_not_exists(n, :zero) + :one",
                    "ConditionExpression": "attribute_not_exists(n) OR n < :limit",
                    "ExpressionAttributeValues": {":zero": {"N": "0"}, ":one": {"N": "1"},
                                                  ":limit": {"N": "10"}},
                }},
            ])
            return True
        except dynamodb.exceptions.TransactionCanceledException:
            return False

    with concurrent.futures.ThreadPoolExecutor(max_workers=25) as pool:
        succeeded = sum(pool.map(attempt, range(50)))
    items = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )["Items"]
    heads = [i for i in items if i["sk"]["S"].startswith("HEAD#")]
    counter = next(i for i in items if i["sk"]["S"] == "COUNTER")
    assert succeeded == 10
    assert len(heads) == 10
    assert counter["n"]["N"] == "10"
