"""Reads template.yaml and resolves the intrinsic functions the local stack needs.

The template is the one source of truth for local resources: provision.py and the tests that
compare the emulator's state with the template both go through this module.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

ACCOUNT_ID = "123456789012"  # moto's account


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@dataclass
class Stack:
    """A template bound to a stack name and region, as CloudFormation would deploy it."""

    template: dict[str, Any]
    name: str
    region: str
    parameters: dict[str, Any] = field(default_factory=dict)
    physical: dict[str, str] = field(default_factory=dict)

    @classmethod
    def local(cls) -> "Stack":
        template = load_template()
        name = os.environ.get("CRM_STACK_NAME", "crm-local")
        region = os.environ.get("AWS_REGION", "us-east-1")
        params = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}
        return cls(template=template, name=name, region=region, parameters=params)

    def resources(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (logical, res.get("Properties", {}))
            for logical, res in self.template["Resources"].items()
            if res["Type"] == kind
        ]

    # -- intrinsic functions -------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::GetAtt":
                return self._get_att(*arg)
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(self.resolve(p)) for p in parts)
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::StackName": self.name,
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name]
        resource = self.template["Resources"][name]
        return self.physical_name(name, resource)

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token in extra:
                return str(self.resolve(extra[token]))
            if "." in token:
                return str(self._get_att(*token.split(".", 1)))
            return str(self._ref(token))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def _get_att(self, logical: str, attribute: str) -> str:
        resource = self.template["Resources"][logical]
        kind = resource["Type"]
        name = self.physical_name(logical, resource)
        arns = {
            "AWS::SQS::Queue": f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{name}",
            "AWS::Events::EventBus": f"arn:aws:events:{self.region}:{ACCOUNT_ID}:event-bus/{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{self.region}:{ACCOUNT_ID}:table/{name}",
            # Bucket ARNs name neither region nor account.
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
        }
        if kind == "AWS::Events::Rule":
            props = resource["Properties"]
            bus = self.resolve(props.get("EventBusName", "default"))
            prefix = "" if bus == "default" else f"{bus}/"
            arns[kind] = f"arn:aws:events:{self.region}:{ACCOUNT_ID}:rule/{prefix}{name}"
        if attribute in ("Arn", "QueueArn") and kind in arns:
            return arns[kind]
        if attribute == "QueueName" and kind == "AWS::SQS::Queue":
            return name
        raise KeyError(f"GetAtt {logical}.{attribute} is not resolvable locally")

    def physical_name(self, logical: str, resource: dict[str, Any]) -> str:
        """The name a resource gets: its explicit name property, else a stack-scoped one.

        A bucket without BucketName gets CloudFormation's lowercase <stack>-<logical id>-<random
        suffix>; locally the suffix is left off (crm-local-attachmentsbucket), so that the name
        is the same on every run.
        """
        props = resource.get("Properties", {})
        for key in ("TableName", "QueueName", "BucketName", "Name", "EmailIdentity"):
            if key in props:
                return str(self.resolve(props[key]))
        if resource.get("Type") == "AWS::S3::Bucket":
            return f"{self.name}-{logical}".lower()
        return f"{self.name}-{logical}"
