"""The functions as deployed: the release `bootstrap` binaries (built by infra/lambda-build.sh
with cargo-lambda) driven through the real Lambda Runtime API by the Runtime Interface Emulator,
against the local stack.

Every sample event in events/ runs through its function; then the main job end to end: a work
workflow and a care workflow created and activated through workflow-api, records written through
records-api, the table's stream fed to record-events, the trigger scan at the fire instant, and
every action job delivered twice to action-executor, each effect read back from the emulator
exactly once; after deactivation nothing fires."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra"))

from provision import client  # noqa: E402
from rie import Rie  # noqa: E402

FUNCTIONS = ["workflow-api", "records-api", "trigger-scan", "record-events", "action-executor",
             "mailbox-sync"]
FIGURES = ROOT / ".local" / "lambda-figures.json"


def bootstrap(name: str) -> Path:
    path = ROOT / "target" / "lambda" / name / "bootstrap"
    assert path.is_file(), f"{path} is missing: run infra/lambda-build.sh"
    return path


def stack_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for line in (ROOT / ".local" / "env").read_text().splitlines():
        for pair in line.removeprefix("export ").split():
            key, _, value = pair.partition("=")
            env[key] = value
    env["ALLOW_CLOCK_OVERRIDE"] = "true"
    env["RUST_LOG"] = "warn"
    return env


@pytest.fixture(scope="module")
def functions():
    env = stack_env()
    started = {name: Rie(bootstrap(name), env, function_name=name) for name in FUNCTIONS}
    try:
        for rie in started.values():
            rie.start()
        yield started
    finally:
        figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
        for name, rie in started.items():
            figures[name] = {"init_ms": rie.init_ms(), "bytes": bootstrap(name).stat().st_size}
            rie.stop()
        FIGURES.parent.mkdir(exist_ok=True)
        FIGURES.write_text(json.dumps(figures, indent=2))


def ok(invocation) -> Any:
    assert invocation.error is None, invocation.text
    return invocation.json()


def http_event(method: str, path: str, tenant: str, user: str = "u-admin", body: Any = None,
               query: str = "", headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API (v2) request with the JWT authorizer's claims."""
    all_headers = {"content-type": "application/json", "host": "api.local"}
    all_headers.update(headers or {})
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"ANY {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "authorizer": {"jwt": {"claims": {
                "sub": user, "custom:tenant_id": tenant, "cognito:groups": "[admin]",
                # Sets the new tenant up with this caller as its first administrator.
                "email": f"{user}@{tenant}.example.vn"},
                "scopes": []}},
            "domainName": "api.local",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "e2e"},
            "requestId": uuid.uuid4().hex,
            "routeKey": f"ANY {path}",
            "stage": "$default",
            "time": "22/Nov/2026:08:00:00 +0000",
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&"))
    if body is not None:
        event["body"] = json.dumps(body, ensure_ascii=False)
    return event


class Api:
    def __init__(self, rie: Rie, tenant: str):
        self.rie, self.tenant = rie, tenant

    def __call__(self, method: str, path: str, body: Any = None, expect: int = 200, **kw: Any) -> Any:
        answer = ok(self.rie.invoke(http_event(method, path, self.tenant, body=body, **kw)))
        status = answer["statusCode"]
        payload = json.loads(answer["body"]) if answer.get("body") else None
        assert status == expect, f"{method} {path}: {status} {payload}"
        return payload


def stream_records(since: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The records table's stream since a sequence number, as Lambda's event source delivers it."""
    env = stack_env()
    arn = client("dynamodb").describe_table(TableName=env["RECORDS_TABLE"])["Table"]["LatestStreamArn"]
    streams = client("dynamodbstreams")
    records, last = [], since
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"],
            ShardIteratorType="AFTER_SEQUENCE_NUMBER" if since else "TRIM_HORIZON",
            **({"SequenceNumber": since} if since else {}))["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            for r in page["Records"]:
                data = dict(r["dynamodb"])
                if "ApproximateCreationDateTime" in data:
                    data["ApproximateCreationDateTime"] = data["ApproximateCreationDateTime"].timestamp()
                records.append({"eventID": r["eventID"], "eventName": r["eventName"],
                                "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                                "awsRegion": env["AWS_REGION"], "eventSourceARN": arn,
                                "dynamodb": data})
                last = data["SequenceNumber"]
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return records, last


def latest_sequence() -> str | None:
    return stream_records(None)[1]


def drain_jobs() -> list[dict[str, Any]]:
    """Every action job waiting in the executor's queue, as SQS event records."""
    env = stack_env()
    sqs = client("sqs")
    queue = env["ACTION_JOBS_QUEUE_URL"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    records, empty = [], 0
    while empty < 2:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                  AttributeNames=["All"]).get("Messages", [])
        empty = 0 if got else empty + 1
        for m in got:
            records.append({"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
                            "body": m["Body"], "attributes": m.get("Attributes", {}),
                            "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                            "eventSource": "aws:sqs", "eventSourceARN": arn,
                            "awsRegion": env["AWS_REGION"]})
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    return records


def jobs_of(records: list[dict[str, Any]], tenant: str) -> list[dict[str, Any]]:
    return [r for r in records if tenant in r["body"]]


def execute_twice(executor: Rie, records: list[dict[str, Any]]) -> None:
    """Every job delivered twice (as SQS may), in batches of 10 like the event source mapping."""
    for batch_start in range(0, len(records), 10):
        batch = {"Records": records[batch_start:batch_start + 10]}
        for _ in range(2):
            answer = ok(executor.invoke(batch))
            assert answer.get("batchItemFailures", []) == [], answer


def sms_to(phone_e164: str) -> list[dict[str, Any]]:
    import urllib.request
    with urllib.request.urlopen(f"{stack_env()['AWS_ENDPOINT_URL']}/moto-api/data.json") as r:
        state = json.load(r)
    return [m for m in state.get("sns", {}).get("SMS", []) if m.get("phone_number") == phone_e164]


def test_every_sample_event_runs_through_its_function(functions):
    samples = {
        "workflow-api": ["workflow-api-list-workflows.json"],
        "records-api": ["records-api-list-customers.json"],
        "trigger-scan": ["trigger-scan.json"],
        "record-events": ["record-events.json"],
        "action-executor": ["action-executor.json"],
        "mailbox-sync": ["mailbox-sync.json"],
    }
    for name, files in samples.items():
        for file in files:
            event = json.loads((ROOT / "events" / file).read_text())
            answer = ok(functions[name].invoke(event))
            if name.endswith("-api"):
                assert answer["statusCode"] == 200, (file, answer)
    for name, rie in functions.items():
        assert rie.init_ms() is not None, f"{name}: no init reported"


def test_the_main_job_end_to_end_through_the_lambda_runtime_api(functions):
    tenant = f"t-e2e-{uuid.uuid4().hex[:12]}"
    api = Api(functions["workflow-api"], tenant)
    records = Api(functions["records-api"], tenant)
    # The first request sets the new tenant up with its caller (u-admin) as administrator.
    records("POST", "/users", {"id": "u-sales", "name": "Nhân viên", "email": "sales@example.vn",
                               "role": "salesperson"}, expect=201)
    api("POST", "/settings/sms-providers", {"id": "sns", "name": "SNS",
                                           "gateway": {"type": "sns", "sender_id": "CRMDEMO"}}, expect=201)
    api("POST", "/settings/sms-templates", {"id": "welcome", "name": "Chào", "module": "Customer",
                                           "body": "Chào mừng #Name!"}, expect=201)
    api("POST", "/settings/sms-templates", {"id": "birthday", "name": "Sinh nhật", "module": "Customer",
                                           "body": "Chúc mừng sinh nhật #Name!"}, expect=201)
    sms = lambda id_, tpl: {"kind": "sms", "id": id_, "name": id_, "provider": "sns",  # noqa: E731
                            "recipient_fields": [{"field": "Phone"}], "template": tpl}
    task = {"kind": "task", "id": "call", "name": "Gọi", "title": "Gọi cho #Name",
            "due": {"days_after": 1, "time_of_day": "17:00:00"}, "task_type": "Call",
            "priority": "High", "assignee": {"type": "record_owner"}}
    api("POST", "/workflows", {"id": "welcome", "module": "Customer", "name": "Chào khách mới",
                               "trigger": {"type": "record_event", "on": "created"},
                               "actions": [sms("sms", "welcome"), task]}, expect=201)
    api("POST", "/workflows", {"id": "birthday", "module": "Customer", "name": "Sinh nhật",
                               "trigger": {"type": "time", "date_field": "Birthday",
                                           "recurrence": "yearly", "time_of_day": "08:00:00"},
                               "actions": [sms("sms", "birthday")]}, expect=201)
    for wf in ["welcome", "birthday"]:
        api("POST", f"/workflows/{wf}/activate", {}, headers={"if-match": '"1"'})

    # Tomorrow in Ho Chi Minh City (UTC+7, no DST): the birthday, and the scan at 08:00 there.
    import datetime as dt
    day = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=7)).date() + dt.timedelta(days=1)
    if (day.month, day.day) == (2, 29):
        day += dt.timedelta(days=1)
    birthday = f"1991-{day.month:02}-{day.day:02}"
    fire = f"{day.isoformat()}T01:00:30Z"
    next_year = f"{day.year + 1}-{day.month:02}-{day.day:02}T01:00:30Z"
    since = latest_sequence()
    tail = uuid.uuid4().int % 10**6
    phone, e164 = f"0913{tail:06}", f"+84913{tail:06}"
    customer = records("POST", "/records/Customer",
                       {"Name": "Phạm Thu Hà", "Phone": phone, "Birthday": birthday}, expect=201)

    # The stream → record-events: the work workflow's jobs go to the bus and the queue.
    changes, since = stream_records(since)
    ok(functions["record-events"].invoke({"Records": changes}))
    # The scan at the birthday's fire instant (08:00 in Ho Chi Minh City = 01:00 UTC): the first
    # run does the activation's backfill, the second claims what is due.
    for _ in range(2):
        ok(functions["trigger-scan"].invoke({"version": "0", "id": uuid.uuid4().hex,
                                             "detail-type": "Scheduled Event", "source": "aws.events",
                                             "detail": {"scan_at": fire}}))
    jobs = jobs_of(drain_jobs(), tenant)
    assert len(jobs) == 3, [json.loads(j["body"]).get("detail", {}).get("action") for j in jobs]
    started = time.perf_counter()
    execute_twice(functions["action-executor"], jobs)
    elapsed = time.perf_counter() - started

    texts = sorted(m["message"] for m in sms_to(e164))
    assert texts == ["Chào mừng Phạm Thu Hà!", "Chúc mừng sinh nhật Phạm Thu Hà!"], texts
    related = records("GET", f"/customers/{customer['id']}/related")
    assert [t["fields"]["Title"] for t in related["tasks"]] == ["Gọi cho Phạm Thu Hà"]
    history = api("GET", f"/records/{customer['id']}/runs")
    assert sorted(r["status"] for r in history["items"]) == ["succeeded"] * 3, history

    # Deactivated: a new customer and the next scan fire nothing.
    for wf in ["welcome", "birthday"]:
        current = api("GET", f"/workflows/{wf}")
        api("POST", f"/workflows/{wf}/deactivate", {}, headers={"if-match": f'"{current["revision"]}"'})
    records("POST", "/records/Customer", {"Name": "Khách sau", "Phone": "0913000999",
                                          "Birthday": birthday}, expect=201)
    changes, since = stream_records(since)
    ok(functions["record-events"].invoke({"Records": changes}))
    ok(functions["trigger-scan"].invoke({"detail-type": "Scheduled Event", "source": "aws.events",
                                         "detail": {"scan_at": next_year}}))
    assert jobs_of(drain_jobs(), tenant) == []
    assert len(sms_to(e164)) == 2

    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures["e2e"] = {"actions": len(jobs), "deliveries": 2 * len(jobs),
                      "actions_per_second": round(len(jobs) / elapsed, 1)}
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2))
