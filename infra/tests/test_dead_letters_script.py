"""infra/dead-letters.py against the local stack: it lists what the dead-letter queue holds (a job
with the error its run records, and a message that is no job) and sends one tenant's jobs back to
the jobs queue, leaving the rest where they are.

Runs after `infra/stack.sh up`, with `.local/env` in the environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "infra" / "dead-letters.py"


def client(service: str):
    return boto3.client(
        service,
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
    )


@pytest.fixture()
def queues():
    """A dead-letter queue and a jobs queue of this test's own, so nothing else is touched."""
    sqs = client("sqs")
    tag = uuid.uuid4().hex[:8]
    dlq = sqs.create_queue(QueueName=f"test-dlq-{tag}")["QueueUrl"]
    jobs = sqs.create_queue(QueueName=f"test-jobs-{tag}")["QueueUrl"]
    yield sqs, dlq, jobs
    sqs.delete_queue(QueueUrl=dlq)
    sqs.delete_queue(QueueUrl=jobs)


def job(tenant: str, record: str) -> dict:
    return {"tenant": tenant, "workflow": "wf-dl", "version": 1, "record": record,
            "cause": "Y2027", "action": "sms", "due_at": "2027-05-17T01:00:00Z"}


def event(detail: dict) -> str:
    return json.dumps({"source": "crm.automation", "detail-type": "ActionJob", "detail": detail})


def run_script(*args: str, dlq: str, jobs: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ACTION_JOBS_DLQ_URL=dlq, ACTION_JOBS_QUEUE_URL=jobs)
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, text=True,
                          capture_output=True, check=True)


def test_an_operator_lists_the_dead_letters_and_redrives_one_tenants_jobs(queues):
    sqs, dlq, jobs = queues
    tenant, other = f"t-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    runs_table = os.environ["RUNS_TABLE"]
    failed = job(tenant, "c1")
    key = "{tenant}/{workflow}/{record}/{cause}/{action}".format(**failed)
    client("dynamodb").put_item(TableName=runs_table, Item={
        "pk": {"S": f"T#{tenant}#J#{key}"}, "sk": {"S": "RUN"},
        "run": {"M": {"status": {"S": "retrying"},
                      "error": {"S": "temporarily unavailable: HTTP 503"}}},
    })
    # A run an earlier release recorded under the key of that time, which named the version.
    earlier = job(tenant, "c2")
    earlier_key = "{tenant}/{workflow}/v{version}/{record}/{cause}/{action}".format(**earlier)
    client("dynamodb").put_item(TableName=runs_table, Item={
        "pk": {"S": f"T#{tenant}#J#{earlier_key}"}, "sk": {"S": "RUN"},
        "run": {"M": {"status": {"S": "retrying"}}},
    })
    for body in [event(failed), event(earlier), event(job(other, "c9")), "not a job at all"]:
        sqs.send_message(QueueUrl=dlq, MessageBody=body)

    listed = run_script("list", "--peek-seconds", "0", dlq=dlq, jobs=jobs)
    lines = listed.stdout.strip().splitlines()
    assert len(lines) == 4, listed.stdout
    mine = next(line for line in lines if key in line)
    assert "retrying: temporarily unavailable: HTTP 503" in mine
    assert any("earlier release" in line for line in lines), listed.stdout
    assert any("not an action job" in line for line in lines)
    assert "dead_letters_listed=4" in listed.stderr

    moved = run_script("redrive", "--tenant", tenant, dlq=dlq, jobs=jobs)
    assert "dead_letters_redriven=1" in moved.stderr, moved.stderr
    back = sqs.receive_message(QueueUrl=jobs, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["detail"]["record"] for m in back] == ["c1"]
    left = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10,
                               VisibilityTimeout=0).get("Messages", [])
    assert len(left) == 3, "the earlier release's job, the other tenant's and the non-job stay"
