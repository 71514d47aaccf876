"""Creates the template's resources on the local AWS emulator, idempotently.

Every table, index, stream, TTL, bucket (with its encryption, public access block, ownership,
versioning and lifecycle), queue, dead-letter queue, event bus, rule, target and SES identity is
read from template.yaml (see cfn.py); nothing here lists resources by hand. Lambda
functions, their log groups and the HTTP API (with its access log group) are not created: locally
they run as binaries under the Lambda Runtime Interface Emulator, logging to the console. Rule
targets that are Lambda functions are skipped too: the emulator cannot deliver to them, and a
scheduled rule is fired by invoking the function with a scheduled event.

Prints the environment the functions and tests need (`export NAME=value` lines) on stdout.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import boto3
from botocore.exceptions import ClientError

from cfn import Stack

SKIPPED_KINDS = {
    "AWS::Serverless::Function",
    "AWS::Serverless::HttpApi",
    "AWS::Lambda::Permission",
    "AWS::SQS::QueuePolicy",  # moto accepts but does not enforce queue policies
    "AWS::Logs::LogGroup",  # the functions' and the API's logs; locally they log to the console
    "AWS::CloudWatch::Alarm",  # the dead-letter alarms; locally the queues are read directly
    # The console's CDN and login: locally the local API serves the console at / and its dev
    # login stands in for Cognito's hosted UI (the console bucket itself is created).
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::ResponseHeadersPolicy",
    "AWS::S3::BucketPolicy",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolGroup",
    "AWS::Cognito::UserPoolDomain",
    "AWS::Cognito::UserPoolClient",
}


def client(service: str):
    return boto3.client(
        service,
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def log(message: str) -> None:
    print(message, file=sys.stderr)


def table_request(stack: Stack, props: dict[str, Any]) -> dict[str, Any]:
    props = stack.resolve(props)
    request: dict[str, Any] = {
        "TableName": props["TableName"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if props.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return request


def create_table(stack: Stack, logical: str, props: dict[str, Any]) -> str:
    dynamodb = client("dynamodb")
    request = table_request(stack, props)
    name = request["TableName"]
    try:
        dynamodb.create_table(**request)
        dynamodb.get_waiter("table_exists").wait(TableName=name)
        log(f"created table {name}")
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
        log(f"table {name} exists")
    ttl = stack.resolve(props.get("TimeToLiveSpecification"))
    if ttl and ttl.get("Enabled"):
        current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") != "ENABLED":
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    stack.physical[logical] = name
    return name


# Bucket properties as CloudFormation names them, and the S3 call that sets each one.
BUCKET_PROPERTIES = {
    "BucketName", "BucketEncryption", "PublicAccessBlockConfiguration", "OwnershipControls",
    "VersioningConfiguration", "LifecycleConfiguration",
}
LIFECYCLE_RULE_PROPERTIES = {
    "Id", "Status", "Prefix", "ExpirationInDays", "NoncurrentVersionExpiration",
    "AbortIncompleteMultipartUpload",
}


def bucket_configuration(props: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's bucket properties as S3 API requests (minus the bucket name), by method.

    A property this does not translate stops provisioning, rather than leave the local bucket
    quietly different from the template's.
    """
    unknown = set(props) - BUCKET_PROPERTIES
    if unknown:
        raise SystemExit(f"provision.py does not know how to set bucket properties {sorted(unknown)}")
    requests: dict[str, dict[str, Any]] = {}
    if "BucketEncryption" in props:
        rules = [
            {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
             **({"BucketKeyEnabled": rule["BucketKeyEnabled"]} if "BucketKeyEnabled" in rule else {})}
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        requests["put_bucket_encryption"] = {"ServerSideEncryptionConfiguration": {"Rules": rules}}
    if "PublicAccessBlockConfiguration" in props:
        requests["put_public_access_block"] = {
            "PublicAccessBlockConfiguration": props["PublicAccessBlockConfiguration"]}
    if "OwnershipControls" in props:
        requests["put_bucket_ownership_controls"] = {"OwnershipControls": props["OwnershipControls"]}
    if "VersioningConfiguration" in props:
        requests["put_bucket_versioning"] = {"VersioningConfiguration": props["VersioningConfiguration"]}
    if "LifecycleConfiguration" in props:
        rules = []
        for rule in props["LifecycleConfiguration"]["Rules"]:
            unknown = set(rule) - LIFECYCLE_RULE_PROPERTIES
            if unknown:
                raise SystemExit(f"provision.py does not know lifecycle rule properties {sorted(unknown)}")
            api: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
            if "Id" in rule:
                api["ID"] = rule["Id"]
            if "ExpirationInDays" in rule:
                api["Expiration"] = {"Days": rule["ExpirationInDays"]}
            for key in ("NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload"):
                if key in rule:
                    api[key] = rule[key]
            rules.append(api)
        requests["put_bucket_lifecycle_configuration"] = {"LifecycleConfiguration": {"Rules": rules}}
    return requests


def create_bucket(stack: Stack, logical: str, props: dict[str, Any]) -> str:
    resource = stack.template["Resources"][logical]
    name = stack.physical_name(logical, resource)
    props = stack.resolve(props)
    s3 = client("s3")
    try:
        s3.head_bucket(Bucket=name)
        log(f"bucket {name} exists")
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise
        request: dict[str, Any] = {"Bucket": name}
        if stack.region != "us-east-1":
            request["CreateBucketConfiguration"] = {"LocationConstraint": stack.region}
        s3.create_bucket(**request)
        log(f"created bucket {name}")
    for method, request in bucket_configuration(props).items():
        getattr(s3, method)(Bucket=name, **request)
    stack.physical[logical] = name
    return name


def create_queue(stack: Stack, logical: str, props: dict[str, Any]) -> str:
    props = stack.resolve(props)
    attributes = {}
    for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds",
                "ReceiveMessageWaitTimeSeconds", "SqsManagedSseEnabled", "FifoQueue"):
        if key in props:
            value = props[key]
            attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    url = client("sqs").create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]
    log(f"queue {props['QueueName']} ready")
    stack.physical[logical] = url
    return url


def create_event_bus(stack: Stack, logical: str, props: dict[str, Any]) -> str:
    name = stack.resolve(props["Name"])
    events = client("events")
    try:
        events.create_event_bus(Name=name)
        log(f"created event bus {name}")
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
        log(f"event bus {name} exists")
    stack.physical[logical] = name
    return name


def create_rule(stack: Stack, logical: str, props: dict[str, Any]) -> str:
    template_props = props
    props = stack.resolve(props)
    events = client("events")
    request: dict[str, Any] = {
        "Name": props["Name"],
        "EventBusName": props.get("EventBusName", "default"),
        "State": props.get("State", "ENABLED"),
    }
    if "Description" in props:
        request["Description"] = props["Description"]
    if "EventPattern" in props:
        request["EventPattern"] = json.dumps(props["EventPattern"])
    if "ScheduleExpression" in props:
        request["ScheduleExpression"] = props["ScheduleExpression"]
    events.put_rule(**request)
    targets = [
        {"Id": t["Id"], "Arn": stack.resolve(t["Arn"])}
        for t in template_props.get("Targets", [])
        if not _is_function_target(stack, t)
    ]
    if targets:
        events.put_targets(Rule=request["Name"], EventBusName=request["EventBusName"], Targets=targets)
    log(f"rule {request['Name']} on {request['EventBusName']} with {len(targets)} target(s)")
    stack.physical[logical] = request["Name"]
    return request["Name"]


def _is_function_target(stack: Stack, target: dict[str, Any]) -> bool:
    arn = target.get("Arn")
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        logical = arn["Fn::GetAtt"][0]
        return stack.template["Resources"][logical]["Type"] == "AWS::Serverless::Function"
    return False


def create_email_identity(stack: Stack, logical: str, props: dict[str, Any]) -> str:
    identity = stack.resolve(props["EmailIdentity"])
    sesv2 = client("sesv2")
    try:
        sesv2.create_email_identity(EmailIdentity=identity)
        log(f"created SES identity {identity}")
    except ClientError as error:
        if error.response["Error"]["Code"] != "AlreadyExistsException":
            raise
        log(f"SES identity {identity} exists")
    stack.physical[logical] = identity
    return identity


CREATORS = {
    "AWS::DynamoDB::Table": create_table,
    "AWS::S3::Bucket": create_bucket,
    "AWS::SQS::Queue": create_queue,
    "AWS::Events::EventBus": create_event_bus,
    "AWS::SES::EmailIdentity": create_email_identity,
    "AWS::Events::Rule": create_rule,  # after buses and queues, whose ARNs its targets name
}


def provision(stack: Stack) -> None:
    kinds = {res["Type"] for res in stack.template["Resources"].values()}
    unknown = kinds - set(CREATORS) - SKIPPED_KINDS
    if unknown:
        raise SystemExit(f"provision.py does not know how to create: {sorted(unknown)}")
    for kind, create in CREATORS.items():
        for logical, props in stack.resources(kind):
            create(stack, logical, props)


def environment(stack: Stack) -> dict[str, str]:
    """The variables the template's Globals give every function, resolved for this stack."""
    variables = stack.template["Globals"]["Function"]["Environment"]["Variables"]
    # Conditional variables (AWS_ENDPOINT_URL) are set by the local scripts themselves.
    env = {
        name: str(stack.resolve(value))
        for name, value in variables.items()
        if not (isinstance(value, dict) and "Fn::If" in value)
    }
    env["ACTION_JOBS_QUEUE_URL"] = stack.physical["ActionJobsQueue"]
    env["ACTION_JOBS_DLQ_URL"] = stack.physical["ActionJobsDeadLetterQueue"]
    env["SENDER_EMAIL_IDENTITY"] = stack.physical["SenderIdentity"]
    return env


def main() -> None:
    stack = Stack.local()
    provision(stack)
    for name, value in sorted(environment(stack).items()):
        print(f"export {name}={value}")


if __name__ == "__main__":
    main()
