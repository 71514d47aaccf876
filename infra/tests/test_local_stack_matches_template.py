"""The emulator's resources are the template's resources: names, keys, indexes, streams, TTL,
buckets and their settings, queues and their redrive, buses, rules and targets, SES identities.

Runs after `infra/stack.sh up`; reads the state back from the emulator's own APIs.
"""

from __future__ import annotations

import json
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cfn import Stack  # noqa: E402
from provision import bucket_configuration, client, table_request  # noqa: E402


@pytest.fixture(scope="module")
def stack() -> Stack:
    return Stack.local()


def function_env(stack: Stack, name: str) -> str:
    """A variable the template's Globals give every function, resolved for this stack."""
    return stack.resolve(stack.template["Globals"]["Function"]["Environment"]["Variables"][name])


def _key_schema(schema):
    return sorted((k["AttributeName"], k["KeyType"]) for k in schema)


def test_every_table_has_the_templates_keys_indexes_stream_and_ttl(stack: Stack):
    dynamodb = client("dynamodb")
    tables = stack.resources("AWS::DynamoDB::Table")
    assert tables, "the template declares tables"
    for _, props in tables:
        want = table_request(stack, props)
        got = dynamodb.describe_table(TableName=want["TableName"])["Table"]
        assert _key_schema(got["KeySchema"]) == _key_schema(want["KeySchema"])
        assert sorted(map(tuple, (d.values() for d in got["AttributeDefinitions"]))) == sorted(
            map(tuple, (d.values() for d in want["AttributeDefinitions"]))
        )
        got_indexes = {
            i["IndexName"]: (_key_schema(i["KeySchema"]), i["Projection"]["ProjectionType"])
            for i in got.get("GlobalSecondaryIndexes", [])
        }
        want_indexes = {
            i["IndexName"]: (_key_schema(i["KeySchema"]), i["Projection"]["ProjectionType"])
            for i in want.get("GlobalSecondaryIndexes", [])
        }
        assert got_indexes == want_indexes, want["TableName"]
        want_stream = want.get("StreamSpecification", {}).get("StreamViewType")
        got_stream = got.get("StreamSpecification", {}).get("StreamViewType")
        assert got_stream == want_stream, want["TableName"]
        want_ttl = stack.resolve(props.get("TimeToLiveSpecification"))
        ttl = dynamodb.describe_time_to_live(TableName=want["TableName"])["TimeToLiveDescription"]
        if want_ttl:
            assert ttl["TimeToLiveStatus"] == "ENABLED"
            assert ttl["AttributeName"] == want_ttl["AttributeName"]
        else:
            assert ttl.get("TimeToLiveStatus", "DISABLED") == "DISABLED"


def test_every_bucket_has_the_templates_encryption_access_block_ownership_and_lifecycle(stack: Stack):
    s3 = client("s3")
    buckets = stack.resources("AWS::S3::Bucket")
    assert buckets, "the template declares buckets"
    for logical, props in buckets:
        name = stack.physical_name(logical, stack.template["Resources"][logical])
        assert name == name.lower() and 3 <= len(name) <= 63, name
        want = bucket_configuration(stack.resolve(props))
        got = {
            "put_bucket_encryption": lambda: {"ServerSideEncryptionConfiguration": {
                "Rules": s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]}},
            "put_public_access_block": lambda: {"PublicAccessBlockConfiguration":
                s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]},
            "put_bucket_ownership_controls": lambda: {"OwnershipControls":
                s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]},
            "put_bucket_versioning": lambda: {"VersioningConfiguration":
                {"Status": s3.get_bucket_versioning(Bucket=name)["Status"]}},
            "put_bucket_lifecycle_configuration": lambda: {"LifecycleConfiguration": {
                "Rules": s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]}},
        }
        for method, request in want.items():
            assert got[method]() == request, (name, method)
    attachments = stack.template["Resources"]["AttachmentsBucket"]
    assert function_env(stack, "ATTACHMENTS_BUCKET") == stack.physical_name("AttachmentsBucket", attachments)


def test_an_attachment_written_to_the_bucket_is_served_by_a_pre_signed_link(stack: Stack):
    """What the executor and the records API depend on: PutObject, then a pre-signed GET."""
    s3 = client("s3")
    bucket = function_env(stack, "ATTACHMENTS_BUCKET")
    key = f"parity-probe/{uuid.uuid4().hex}/Phiếu.pdf"
    written = s3.put_object(Bucket=bucket, Key=key, Body=b"%PDF-1.7 probe",
                            ContentType="application/pdf")
    try:
        url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                        ExpiresIn=60)
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - the emulator
            assert answer.read() == b"%PDF-1.7 probe"
            assert answer.headers["Content-Type"] == "application/pdf"
    finally:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=written["VersionId"])


def test_every_queue_exists_with_the_templates_redrive_and_timeouts(stack: Stack):
    sqs = client("sqs")
    queues = stack.resources("AWS::SQS::Queue")
    assert queues
    for _, props in queues:
        props = stack.resolve(props)
        url = sqs.get_queue_url(QueueName=props["QueueName"])["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for key in ("VisibilityTimeout", "MessageRetentionPeriod"):
            if key in props:
                assert attrs[key] == str(props[key]), (props["QueueName"], key)
        if "RedrivePolicy" in props:
            redrive = json.loads(attrs["RedrivePolicy"])
            assert redrive["deadLetterTargetArn"] == props["RedrivePolicy"]["deadLetterTargetArn"]
            assert int(redrive["maxReceiveCount"]) == int(props["RedrivePolicy"]["maxReceiveCount"])
        else:
            assert "RedrivePolicy" not in attrs


def test_every_bus_and_rule_exists_with_its_pattern_and_queue_targets(stack: Stack):
    events = client("events")
    for _, props in stack.resources("AWS::Events::EventBus"):
        events.describe_event_bus(Name=stack.resolve(props["Name"]))
    rules = stack.resources("AWS::Events::Rule")
    assert rules
    for _, template_props in rules:
        props = stack.resolve(template_props)
        bus = props.get("EventBusName", "default")
        rule = events.describe_rule(Name=props["Name"], EventBusName=bus)
        if "EventPattern" in props:
            assert json.loads(rule["EventPattern"]) == props["EventPattern"]
        if "ScheduleExpression" in props:
            assert rule["ScheduleExpression"] == props["ScheduleExpression"]
        targets = events.list_targets_by_rule(Rule=props["Name"], EventBusName=bus)["Targets"]
        want = {t["Id"]: t["Arn"] for t in props.get("Targets", []) if ":sqs:" in t["Arn"]}
        assert {t["Id"]: t["Arn"] for t in targets} == want


def test_every_ses_identity_exists(stack: Stack):
    sesv2 = client("sesv2")
    identities = stack.resources("AWS::SES::EmailIdentity")
    assert identities
    for _, props in identities:
        sesv2.get_email_identity(EmailIdentity=stack.resolve(props["EmailIdentity"]))


def test_an_event_on_the_bus_reaches_the_action_jobs_queue(stack: Stack):
    """The routing the executor depends on: PutEvents on the custom bus -> rule -> SQS."""
    events, sqs = client("events"), client("sqs")
    bus = stack.resolve(stack.template["Resources"]["AutomationBus"]["Properties"]["Name"])
    queue_name = stack.resolve(stack.template["Resources"]["ActionJobsQueue"]["Properties"]["QueueName"])
    probe_queue = sqs.create_queue(QueueName=f"{queue_name}-probe")["QueueUrl"]
    try:
        # A probe rule with a unique source keeps this test off the real queue's messages.
        events.put_rule(Name="parity-probe", EventBusName=bus,
                        EventPattern=json.dumps({"source": ["crm.parity-probe"]}))
        arn = sqs.get_queue_attributes(QueueUrl=probe_queue, AttributeNames=["QueueArn"])
        events.put_targets(Rule="parity-probe", EventBusName=bus,
                           Targets=[{"Id": "probe", "Arn": arn["Attributes"]["QueueArn"]}])
        answer = events.put_events(Entries=[{
            "Source": "crm.parity-probe", "DetailType": "Probe",
            "Detail": json.dumps({"hello": "xin chào"}), "EventBusName": bus,
        }])
        assert answer["FailedEntryCount"] == 0
        messages = sqs.receive_message(QueueUrl=probe_queue, WaitTimeSeconds=1)["Messages"]
        assert json.loads(messages[0]["Body"])["detail"] == {"hello": "xin chào"}
    finally:
        events.remove_targets(Rule="parity-probe", EventBusName=bus, Ids=["probe"])
        events.delete_rule(Name="parity-probe", EventBusName=bus)
        sqs.delete_queue(QueueUrl=probe_queue)


def test_provisioning_twice_changes_nothing(stack: Stack):
    from provision import environment, provision

    first = Stack.local()
    provision(first)
    second = Stack.local()
    provision(second)
    assert environment(first) == environment(second)
