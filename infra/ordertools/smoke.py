"""`orderflow smoke --stack-name S`: one order through a deployed stack, end to end, and nothing left behind.

The stack is found the way any AWS tool finds it: the standard credential chain (and
`AWS_ENDPOINT_URL` / `--endpoint-url` for an emulator) and CloudFormation's DescribeStacks, whose
Outputs name the API URL, the catalog table, the receipts bucket and every dead-letter queue.
The local cloud records its stacks in the emulator's CloudFormation, so the same command checks
`orderflow up` or a test's LocalCloud.

    1. put a product of its own in the catalog (SMOKE-<run>, stock 1)
    2. place an order for it (POST /orders, SigV4-signed when ApiAuth=IAM) and follow it to CONFIRMED
    3. find its receipt in the receipts bucket
    4. check every dead-letter queue is empty
    then always: cancel the order (the saga refunds the payment and releases the stock), delete its
    receipts and the product. The order row stays: orders are history, never deleted.

Exit 0 when every check passed, 1 when one failed, 2 when the stack cannot be found or used.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from localcloud.cli import CliError
from localcloud.emulator import Endpoints

T = TypeVar("T")
REQUIRED_OUTPUTS = ("ApiUrl", "CatalogTableName", "ReceiptsBucketName")
ADDRESS = {"name": "Smoke Test", "line1": "1 Probe Street", "city": "Springfield", "postal_code": "12345", "country": "US"}
POLL_S = 0.5


@dataclass(frozen=True)
class SmokeTarget:
    """What the smoke test needs from a stack, all read from its Outputs."""

    stack_name: str
    api_url: str
    catalog_table: str
    receipts_bucket: str
    dead_letter_queues: dict[str, str]  # output name -> queue URL

    @classmethod
    def from_outputs(cls, stack_name: str, outputs: dict[str, str]) -> SmokeTarget:
        missing = [name for name in REQUIRED_OUTPUTS if not outputs.get(name)]
        dlqs = {name: url for name, url in outputs.items() if name.endswith("DLQUrl")}
        if missing or not dlqs:
            raise CliError(f"stack {stack_name!r} lacks the outputs {missing or ['*DLQUrl']}: deploy the current template.yaml")
        return cls(stack_name, outputs["ApiUrl"].rstrip("/"), outputs["CatalogTableName"], outputs["ReceiptsBucketName"], dlqs)


def find_stack(endpoints: Endpoints, stack_name: str) -> SmokeTarget:
    cfn = endpoints.client("cloudformation")
    try:
        (stack,) = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except cfn.exceptions.ClientError as exc:
        raise CliError(f"stack {stack_name!r} not found: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return SmokeTarget.from_outputs(stack_name, outputs)


class Api:
    """The stack's HTTP API; requests are SigV4-signed (execute-api) whenever credentials are found."""

    def __init__(self, base_url: str, region: str, credentials: Any) -> None:
        self._base = base_url
        self._region = region
        self._credentials = credentials
        self._http = requests.Session()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> requests.Response:
        data = json.dumps(body).encode() if body is not None else None
        request = AWSRequest(method=method, url=self._base + path, data=data, headers={"Content-Type": "application/json", **(headers or {})})
        if self._credentials is not None:
            SigV4Auth(self._credentials, "execute-api", self._region).add_auth(request)
        return self._http.request(method, request.url, data=data, headers=dict(request.headers.items()), timeout=30)


@dataclass
class Smoke:
    target: SmokeTarget
    endpoints: Endpoints
    api: Api
    timeout_s: float
    say: Callable[[str], None] = print
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    failures: list[str] = field(default_factory=list)

    @property
    def sku(self) -> str:
        return f"SMOKE-{self.run_id}"

    def run(self) -> bool:
        with self._product():
            order_id = self._place()
            try:
                order = self._wait(lambda: self._order(order_id), lambda o: o.get("status") not in ("PENDING", "REJECTING"))
                self._check(order.get("status") == "CONFIRMED", f"order {order_id} {order.get('status')} {order.get('reason') or ''}".strip())
                receipts = self._wait(lambda: self._receipts(order_id), bool)
                self._check(bool(receipts), f"receipt for {order_id} in {self.target.receipts_bucket}")
                for name, url in sorted(self.target.dead_letter_queues.items()):
                    depth = self._depth(url)
                    self._check(depth == 0, f"{name.removesuffix('Url')} holds {depth} messages")
            finally:
                self._clean_up(order_id)
        return not self.failures

    # --- the steps ------------------------------------------------------------------------------

    @contextmanager
    def _product(self) -> Iterator[None]:
        dynamodb = self.endpoints.client("dynamodb")
        item = {"sku": {"S": self.sku}, "name": {"S": "orderflow smoke test"}, "price_cents": {"N": "100"}, "currency": {"S": "EUR"}, "stock": {"N": "1"}}
        dynamodb.put_item(TableName=self.target.catalog_table, Item=item)
        self.say(f"product {self.sku} put in {self.target.catalog_table}")
        try:
            yield
        finally:
            dynamodb.delete_item(TableName=self.target.catalog_table, Key={"sku": {"S": self.sku}})
            self.say(f"product {self.sku} deleted")

    def _place(self) -> str:
        body = {
            "customer_id": f"smoke-{self.run_id}",
            "items": [{"sku": self.sku, "quantity": 1}],
            "payment_token": "tok_visa",
            "shipping_address": ADDRESS,
        }
        response = self.api.call("POST", "/orders", body, {"Idempotency-Key": f"smoke-{self.run_id}"})
        if response.status_code != 202:
            raise CliError(f"POST /orders answered {response.status_code}: {response.text[:300]}")
        order_id = str(response.json()["order_id"])
        self.say(f"order {order_id} placed")
        return order_id

    def _order(self, order_id: str) -> dict[str, Any]:
        response = self.api.call("GET", f"/orders/{order_id}")
        return dict(response.json()) if response.status_code == 200 else {"status": f"HTTP {response.status_code}"}

    def _receipts(self, order_id: str) -> list[str]:
        listed = self.endpoints.client("s3").list_objects_v2(Bucket=self.target.receipts_bucket, Prefix=f"receipts/{order_id}/")
        return [o["Key"] for o in listed.get("Contents", [])]

    def _depth(self, queue_url: str) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.endpoints.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in names)

    def _clean_up(self, order_id: str) -> None:
        """Cancel (refund, stock back), then delete every receipt the order got, the cancellation's included."""
        response = self.api.call("POST", f"/orders/{order_id}/cancel")
        if response.status_code in (200, 202):
            order = self._wait(lambda: self._order(order_id), lambda o: o.get("status") in ("CANCELLED", "REJECTED"))
            self.say(f"order {order_id} {order.get('status')} (cancelled by the smoke test)")
            self._wait(lambda: self._receipts(order_id), lambda keys: any("Cancelled" in k for k in keys))
        else:
            self.say(f"order {order_id} not cancelled: {response.status_code} {response.text[:200]}")
        s3 = self.endpoints.client("s3")
        for key in self._receipts(order_id):
            s3.delete_object(Bucket=self.target.receipts_bucket, Key=key)
            self.say(f"receipt {key} deleted")

    # --- helpers --------------------------------------------------------------------------------

    def _wait(self, probe: Callable[[], T], done: Callable[[T], bool]) -> T:
        deadline = time.monotonic() + self.timeout_s
        seen = probe()
        while not done(seen) and time.monotonic() < deadline:
            time.sleep(POLL_S)
            seen = probe()
        return seen

    def _check(self, ok: bool, what: str) -> None:
        self.say(f"{'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            self.failures.append(what)


def run(stack_name: str, endpoint_url: str | None, timeout_s: float, say: Callable[[str], None] = print) -> int:
    endpoints = Endpoints.from_environment(endpoint_url)
    target = find_stack(endpoints, stack_name)
    credentials = boto3.session.Session().get_credentials()
    smoke = Smoke(target, endpoints, Api(target.api_url, endpoints.region, credentials), timeout_s, say)
    say(f"smoke {stack_name}: {target.api_url}")
    passed = smoke.run()
    say(f"smoke {stack_name}: {'passed' if passed else 'FAILED: ' + '; '.join(smoke.failures)}")
    return 0 if passed else 1


def _cmd_smoke(args: argparse.Namespace) -> int:
    return run(args.stack_name, args.endpoint_url, args.timeout)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("smoke", help="place one order on a deployed stack, follow it to CONFIRMED, check receipt and DLQs, clean up")
    parser.add_argument("--stack-name", required=True, help="the stack (found with DescribeStacks through the standard credential chain)")
    parser.add_argument("--endpoint-url", help="AWS endpoint (default: AWS_ENDPOINT_URL or real AWS)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds each wait may take (default 120)")
    parser.set_defaults(handler=_cmd_smoke)
