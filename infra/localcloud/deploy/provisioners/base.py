"""What every provisioner shares: the deploy context, its outcome, and how state is compared.

A provisioner makes one resource exist as declared through its service's own API and says
whether it had to create it, change it, or found it already so. Comparing against the
service's actual state (rather than remembering what we did last time) keeps redeploys
correct even when the emulator was restarted or someone changed a resource by hand.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.emulator import Endpoints
from localcloud.model import ReportAction, Resource


@dataclass(frozen=True)
class Outcome:
    physical_id: str
    attributes: dict[str, Any]
    action: ReportAction
    detail: str = ""


@dataclass
class Context:
    """What a provisioner may use: clients at the endpoints, naming rules, resources so far."""

    endpoints: Endpoints
    stack_name: str
    region: str
    account_id: str
    resources: Mapping[str, Resource]
    partition: str = "aws"
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.endpoints.client(service, retries={"max_attempts": 2, "mode": "standard"})
        return self._clients[service]

    def name(self, logical_id: str, explicit: Any = None, *, max_len: int = 64, suffix: str = "") -> str:
        """The physical name: the template's own, else `{stack}-{LogicalId}` cut to the service's limit.

        Deterministic (no random suffix as CloudFormation adds) so that a redeploy finds what the
        previous deploy created; a cut name keeps a short hash so two long ids cannot collide.
        """
        if explicit:
            return str(explicit)
        base = f"{self.stack_name}-{logical_id}"
        limit = max_len - len(suffix)
        if len(base) > limit:
            digest = hashlib.sha1(base.encode()).hexdigest()[:8]
            base = f"{base[: limit - 9]}-{digest}"
        return base + suffix

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account_id if account else ''}:{resource}"

    def resource_by_attribute(self, attribute: str, value: str) -> Resource | None:
        """The deployed resource whose attribute equals `value` (e.g. a queue by its Arn)."""
        return next((r for r in self.resources.values() if r.attributes.get(attribute) == value), None)


Apply = Callable[[Context, str, dict[str, Any]], Outcome]


@dataclass(frozen=True)
class Provisioner:
    """How one CloudFormation type is deployed: the properties it honours and the call that applies them.

    `service` is the boto3 service it talks to; `None` means the resource is only recorded
    (its behaviour is the local runtime's job, not the emulator's). `properties` is `None` for
    recorded types: what they declare is read by the function builder, which checks it there.
    """

    type: str
    properties: frozenset[str] | None
    apply: Apply
    service: str | None


def provisioner(type_: str, service: str | None, properties: str | None) -> Callable[[Apply], Provisioner]:
    """Declare a provisioner; `properties` is a space-separated list of the property names it supports."""

    def wrap(apply: Apply) -> Provisioner:
        return Provisioner(type_, None if properties is None else frozenset(properties.split()), apply, service)

    return wrap


def matches(desired: Any, actual: Any) -> bool:
    """Whether `actual` holds everything `desired` says (services add fields and echo numbers as strings)."""
    if isinstance(desired, Mapping):
        return isinstance(actual, Mapping) and all(matches(v, actual.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        return (
            isinstance(actual, list)
            and len(desired) == len(actual)
            and all(any(matches(d, a) for a in actual) for d in desired)
        )
    if isinstance(desired, bool) or isinstance(actual, bool):
        return str(desired).lower() == str(actual).lower()
    return str(desired) == str(actual) if desired is not None else actual is None


def as_json(value: Any) -> str:
    """Policy-like properties: CloudFormation accepts objects or JSON strings; APIs want strings."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def parse_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def tag_list(tags: Any) -> list[dict[str, str]]:
    """CloudFormation writes Tags as a list of Key/Value (or, for a few types, a map); APIs want the list."""
    if isinstance(tags, Mapping):
        return [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]
    return [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in tags or []]


def tag_map(tags: Any) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tag_list(tags)}


def bool_str(value: Any) -> str:
    return "true" if str(value).lower() == "true" else "false"
