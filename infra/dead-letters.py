#!/usr/bin/env python3
"""The action jobs the queue gave up on, for an operator: list them with the reason their run
records, and send them back to the jobs queue.

    infra/dead-letters.py list   [--tenant T] [--limit N]
    infra/dead-letters.py redrive [--tenant T]

The queues come from ACTION_JOBS_DLQ_URL and ACTION_JOBS_QUEUE_URL (the local stack's
.local/env sets both; on AWS, the stack outputs ActionJobsDeadLetterQueueUrl and
ActionJobsQueueUrl), the runs table from RUNS_TABLE. Tenant administrators see their own dead
letters in the console (GET /dead-letters) and retry them one by one; this is the operator's
view across tenants, including messages that are not jobs at all (listed, never redriven).

A redriven job goes back under its idempotency key: the executor's ledger sends nothing twice,
and a send goes only to the recipients its run has not reached. A job whose run an earlier
release recorded under the key of that time (which named the workflow version) is listed but not
redriven: the executor would run it under today's key, beside that run, and could send again. `list` looks at the messages
without taking them: each one it shows is hidden from other readers for 30 seconds
(--peek-seconds).
"""

import argparse
import json
import os
import sys
from typing import Any, Iterator

import boto3

PEEK_SECONDS = 30


def client(service: str):
    return boto3.client(
        service,
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
    )


def job_of(body: str) -> dict[str, Any] | None:
    """The action job an EventBridge event carries as its detail, if the body is one."""
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return None
    keys = {"tenant", "workflow", "version", "record", "cause", "action"}
    return detail if isinstance(detail, dict) and keys <= detail.keys() else None


def key_of(job: dict[str, Any]) -> str:
    return "{tenant}/{workflow}/{record}/{cause}/{action}".format(**job)


def messages(sqs, queue: str, visibility: int) -> Iterator[dict[str, Any]]:
    """Every message of the queue once, each hidden for `visibility` seconds once seen (with 0,
    reading stops at the first batch holding only messages already seen)."""
    seen: set[str] = set()
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            # A long poll: a short one samples only some of the queue's servers.
            WaitTimeSeconds=1,
            AttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return
        seen.update(m["MessageId"] for m in fresh)
        yield from fresh


def earlier_key_of(job: dict[str, Any]) -> str:
    """The key an earlier release recorded the job's run under."""
    return "{tenant}/{workflow}/v{version}/{record}/{cause}/{action}".format(**job)


def stored_run(dynamodb, table: str, job: dict[str, Any], key: str) -> dict[str, Any] | None:
    return dynamodb.get_item(
        TableName=table, Key={"pk": {"S": f"T#{job['tenant']}#J#{key}"}, "sk": {"S": "RUN"}}
    ).get("Item")


def recorded_earlier(dynamodb, table: str, job: dict[str, Any]) -> bool:
    """Whether only an earlier release's key holds the job's run."""
    return (stored_run(dynamodb, table, job, key_of(job)) is None
            and stored_run(dynamodb, table, job, earlier_key_of(job)) is not None)


def run_error(dynamodb, table: str, job: dict[str, Any]) -> str:
    item = stored_run(dynamodb, table, job, key_of(job))
    if not item:
        if recorded_earlier(dynamodb, table, job):
            return "recorded by an earlier release under another key: not redriven"
        return "no run recorded (the job failed before it could be claimed)"
    run = item.get("run", {}).get("M", {})
    status = run.get("status", {}).get("S", "?")
    error = run.get("error", {}).get("S", "")
    return f"{status}: {error}" if error else status


def release(sqs, queue: str, kept: list[dict[str, Any]]) -> None:
    """Makes messages looked at but left alone visible again at once."""
    for message in kept:
        sqs.change_message_visibility(
            QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )


def list_dead_letters(args) -> int:
    sqs, dynamodb = client("sqs"), client("dynamodb")
    table = os.environ.get("RUNS_TABLE", "")
    shown, others = 0, []
    for message in list(messages(sqs, args.dlq, args.peek_seconds)):
        job = job_of(message.get("Body", ""))
        if shown >= args.limit or (args.tenant and (job is None or job["tenant"] != args.tenant)):
            others.append(message)
            continue
        deliveries = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
        if job is None:
            preview = message.get("Body", "")[:200]
            print(f"{message['MessageId']}\tnot an action job\t{preview!r}")
        else:
            reason = run_error(dynamodb, table, job) if table else "RUNS_TABLE not set"
            print(f"{message['MessageId']}\t{key_of(job)}\tdeliveries={deliveries}\t{reason}")
        shown += 1
    release(sqs, args.dlq, others)
    print(f"dead_letters_listed={shown}", file=sys.stderr)
    return 0


def redrive(args) -> int:
    sqs, dynamodb = client("sqs"), client("dynamodb")
    table = os.environ.get("RUNS_TABLE", "")
    moved, kept = 0, []
    for message in list(messages(sqs, args.dlq, PEEK_SECONDS)):
        job = job_of(message.get("Body", ""))
        if job is None or (args.tenant and job["tenant"] != args.tenant):
            # Not a job (nothing could carry it out), or another tenant's: left where it is.
            kept.append(message)
            continue
        if table and recorded_earlier(dynamodb, table, job):
            # Its run is under an earlier release's key: run again, it could send twice.
            kept.append(message)
            continue
        sqs.send_message(QueueUrl=args.queue, MessageBody=message["Body"])
        sqs.delete_message(QueueUrl=args.dlq, ReceiptHandle=message["ReceiptHandle"])
        moved += 1
    release(sqs, args.dlq, kept)
    print(f"dead_letters_redriven={moved} dead_letters_kept={len(kept)}", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["list", "redrive"])
    parser.add_argument("--tenant", help="only this tenant's jobs")
    parser.add_argument("--limit", type=int, default=100, help="list at most this many")
    parser.add_argument(
        "--peek-seconds",
        type=int,
        default=PEEK_SECONDS,
        help="how long `list` hides each message it shows from other readers",
    )
    parser.add_argument("--dlq", default=os.environ.get("ACTION_JOBS_DLQ_URL"))
    parser.add_argument("--queue", default=os.environ.get("ACTION_JOBS_QUEUE_URL"))
    args = parser.parse_args()
    if not args.dlq or (args.command == "redrive" and not args.queue):
        parser.error("set ACTION_JOBS_DLQ_URL and ACTION_JOBS_QUEUE_URL (or --dlq, --queue)")
    return list_dead_letters(args) if args.command == "list" else redrive(args)


if __name__ == "__main__":
    sys.exit(main())
