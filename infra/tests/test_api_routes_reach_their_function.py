"""Every route the two OpenAPI documents list (exactly the routers' route tables, which the Rust
tests check) is routed by API Gateway to the function that serves it: the template's HttpApi
events, `{proxy+}` matching any rest of the path, the most specific route winning as API
Gateway chooses. A route missing here answers 404 on AWS before any function runs.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cfn import load_template  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
APIS = {
    "WorkflowApiFunction": ROOT / "docs" / "openapi" / "workflow-api.json",
    "RecordsApiFunction": ROOT / "docs" / "openapi" / "records-api.json",
}


def routes() -> list[tuple[str, str, str]]:
    """(function, method, path) of every HttpApi event in the template."""
    found = []
    for name, resource in load_template()["Resources"].items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") == "HttpApi":
                props = event["Properties"]
                found.append((name, props["Method"].upper(), props["Path"]))
    return found


def matches(template_path: str, path: str) -> bool:
    pattern = re.escape(template_path)
    pattern = pattern.replace(re.escape("{proxy+}"), ".+")
    pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
    return re.fullmatch(pattern, path) is not None


def specificity(template_path: str) -> tuple[int, int]:
    # API Gateway prefers literal segments, then parameters, then greedy paths.
    greedy = "{proxy+}" in template_path
    return (0 if greedy else 1, template_path.count("/") - template_path.count("{"))


def test_every_documented_route_reaches_the_function_that_serves_it():
    table = routes()
    missing = []
    for function, document in APIS.items():
        for path, operations in json.loads(document.read_text())["paths"].items():
            concrete = re.sub(r"\{[^}]+\}", "x", path)
            for method in operations:
                if method not in {"get", "post", "put", "patch", "delete"}:
                    continue
                candidates = [
                    (specificity(p), f)
                    for f, m, p in table
                    if m in {method.upper(), "ANY"} and matches(p, concrete)
                ]
                if not candidates:
                    missing.append(f"{method.upper()} {path}: no route")
                    continue
                winner = max(candidates)[1]
                if winner != function:
                    missing.append(f"{method.upper()} {path}: routed to {winner}, not {function}")
    assert not missing, "\n".join(missing)
