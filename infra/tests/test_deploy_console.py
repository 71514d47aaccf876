"""infra/deploy_console.py against the local stack's console bucket: the build is uploaded with
the right media types and caching, config.json carries the stack's API URL and login, and a stack
without a login of its own is refused rather than deployed with a console that cannot sign in.

Runs after `infra/stack.sh up`, with `.local/env` in the environment.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import boto3
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import deploy_console  # noqa: E402
from cfn import Stack  # noqa: E402


def s3():
    return boto3.client(
        "s3",
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
    )


OUTPUTS = {
    "ApiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com",
    "LoginDomain": "crm-1234.auth.eu-west-1.amazoncognito.com",
    "LoginClientId": "client-1",
}


def test_the_build_and_its_configuration_are_uploaded(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<div id=root></div>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    (tmp_path / "assets" / "index-abc.css").write_text("body{}")
    (tmp_path / "assets" / "index-abc.js.map").write_text("{}")
    bucket = Stack.local().physical_name("ConsoleBucket", {"Type": "AWS::S3::Bucket"})
    client = s3()
    config = deploy_console.console_config(OUTPUTS)
    written = deploy_console.upload(client, bucket, tmp_path, config)
    assert written[-2:] == ["index.html", "config.json"], "the entry points go last"
    assert "assets/index-abc.js.map" not in written, "source maps stay out"
    js = client.head_object(Bucket=bucket, Key="assets/index-abc.js")
    assert js["ContentType"] == "text/javascript"
    assert js["CacheControl"] == deploy_console.IMMUTABLE
    index = client.head_object(Bucket=bucket, Key="index.html")
    assert (index["ContentType"], index["CacheControl"]) == ("text/html", "no-cache")
    body = client.get_object(Bucket=bucket, Key="config.json")["Body"].read()
    assert json.loads(body) == {
        "api_base": OUTPUTS["ApiUrl"],
        "login": {"type": "cognito", "domain": OUTPUTS["LoginDomain"], "client_id": "client-1"},
    }


def test_a_stack_without_a_login_of_its_own_needs_one_named() -> None:
    outputs = {"ApiUrl": OUTPUTS["ApiUrl"]}
    with pytest.raises(SystemExit, match="--login-domain"):
        deploy_console.console_config(outputs)
    named = deploy_console.console_config(outputs, "login.example.com", "c-9")
    assert named["login"] == {"type": "cognito", "domain": "login.example.com", "client_id": "c-9"}


def test_no_build_no_upload(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="npm run build"):
        deploy_console.upload(s3(), "any", tmp_path, {})
