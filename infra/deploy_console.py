#!/usr/bin/env python3
"""Deploys the web console of a stack: builds it (console/), uploads the build to the stack's
console bucket, writes the config.json that tells the console its API and login (the stack's
outputs, read at deploy time: the API URL is never built into the files), and asks CloudFront
to serve the new index.html and config.json.

    infra/deploy_console.py --stack crm            # after `sam deploy --stack-name crm`

The console signs in through the stack's own Cognito hosted UI (the LoginDomain and
LoginClientId outputs). A stack deployed with JwtIssuer naming another provider has neither: pass
--login-domain and --client-id of a Cognito hosted UI client of that pool.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "console" / "dist"

# Hashed build files never change under their name; the entry points must be read afresh.
IMMUTABLE = "public, max-age=31536000, immutable"
FRESH = "no-cache"


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def console_config(
    outputs: dict[str, str], login_domain: str | None = None, client_id: str | None = None
) -> dict[str, Any]:
    domain = login_domain or outputs.get("LoginDomain")
    client = client_id or outputs.get("LoginClientId")
    if not domain or not client:
        raise SystemExit(
            "the stack has no login of its own (JwtIssuer was set): "
            "pass --login-domain and --client-id"
        )
    return {
        "api_base": outputs["ApiUrl"],
        "login": {"type": "cognito", "domain": domain, "client_id": client},
    }


def upload(s3: Any, bucket: str, dist: Path, config: dict[str, Any]) -> list[str]:
    """Every file of the build, then config.json; returns the keys written."""
    if not (dist / "index.html").is_file():
        raise SystemExit(f"no console build in {dist}: (cd console && npm ci && npm run build)")
    written = []
    # Assets first, then index.html and config.json: a browser reading the new index.html finds
    # its files.
    files = sorted(
        (p for p in dist.rglob("*") if p.is_file() and p.suffix != ".map"),
        key=lambda p: p.name == "index.html",
    )
    for path in files:
        key = path.relative_to(dist).as_posix()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        cache = IMMUTABLE if key.startswith("assets/") else FRESH
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=content_type,
            CacheControl=cache,
        )
        written.append(key)
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=json.dumps(config).encode(),
        ContentType="application/json",
        CacheControl=FRESH,
    )
    written.append("config.json")
    return written


def invalidate(cloudfront: Any, distribution: str) -> str:
    answer = cloudfront.create_invalidation(
        DistributionId=distribution,
        InvalidationBatch={
            "Paths": {"Quantity": 3, "Items": ["/", "/index.html", "/config.json"]},
            "CallerReference": f"console-{time.time_ns()}",
        },
    )
    return answer["Invalidation"]["Id"]


def main() -> None:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--region")
    parser.add_argument("--login-domain")
    parser.add_argument("--client-id")
    parser.add_argument("--no-build", action="store_true", help="upload console/dist as it is")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT / "console", check=True)
        subprocess.run(["npm", "run", "build"], cwd=ROOT / "console", check=True)
    session = boto3.Session(region_name=args.region)
    outputs = stack_outputs(session.client("cloudformation"), args.stack)
    config = console_config(outputs, args.login_domain, args.client_id)
    written = upload(session.client("s3"), outputs["ConsoleBucketName"], DIST, config)
    invalidation = invalidate(session.client("cloudfront"), outputs["ConsoleDistributionId"])
    print(f"uploaded {len(written)} files; invalidation {invalidation}", file=sys.stderr)
    print(outputs["ConsoleUrl"])


if __name__ == "__main__":
    main()
