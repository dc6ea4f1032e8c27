"""API fuzzing from docs/openapi.yaml with schemathesis: no 5xx, no stack trace in any body, nothing written on any 4xx.

The API runs on template.yaml deployed on embedded moto, served by the runtime's HTTP gateway
with its event sources off (the events corpus stack): then the only writes are the API's own, so
the whole state (every table's items, every bucket's objects, every queue's depth) before and
after a request that answered 4xx must be identical. `FUZZ_EXAMPLES` sets the examples per
operation (5 operations, plus schemathesis's explicit and negative cases; default 4: ~270 requests, ~2 min).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from events.harness import CorpusStack  # tests/events: template.yaml on moto, event sources off
from ordertools.seed import seed

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
FIGURES = ROOT / ".orderflow" / "fuzz.json"
TRACE_MARKERS = ("Traceback (most recent call last)", 'File "/', "stackTrace")

schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.yaml")
pytestmark = pytest.mark.integration


class Api:
    def __init__(self, stack: CorpusStack) -> None:
        self.stack = stack
        self.url = stack.runtime.serve_http(host="127.0.0.1", port=0)
        self.http = requests.Session()
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.last_state = ""  # the state after the previous request: the next request's "before"

    def state(self) -> str:
        """A digest of everything stored: items of every table, objects of every bucket, every queue's depth."""
        parts: list[Any] = []
        ddb, s3, sqs = self.stack.client("dynamodb"), self.stack.client("s3"), self.stack.client("sqs")
        for logical_id, resource in sorted(self.stack.stack.resources.items()):
            if resource.type == "AWS::DynamoDB::Table":
                items = [i for page in ddb.get_paginator("scan").paginate(TableName=resource.physical_id) for i in page.get("Items", [])]
                parts.append((logical_id, sorted(json.dumps(i, sort_keys=True) for i in items)))
            elif resource.type == "AWS::S3::Bucket":
                pages = s3.get_paginator("list_objects_v2").paginate(Bucket=resource.physical_id)
                parts.append((logical_id, sorted((o["Key"], o["ETag"]) for p in pages for o in p.get("Contents", []))))
            elif resource.type == "AWS::SQS::Queue":
                attributes = sqs.get_queue_attributes(QueueUrl=resource.physical_id, AttributeNames=["ApproximateNumberOfMessages"])
                parts.append((logical_id, attributes["Attributes"]["ApproximateNumberOfMessages"]))
        return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    stack = CorpusStack(tmp_path_factory.mktemp("fuzz-logs")).start()
    try:
        seed(stack.client("dynamodb"), stack.physical("CatalogTable"))
        api = Api(stack)
        yield api
        # The figures of the run (requests by status), for docs/reliability.md.
        FIGURES.parent.mkdir(exist_ok=True)
        FIGURES.write_text(json.dumps({"examples_per_operation": EXAMPLES, "requests": api.requests, "by_status": api.by_status}, indent=1))
    finally:
        stack.stop()


@pytest.mark.timeout(900)  # ~300 requests, each between two full-state digests
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_error_no_trace_no_write_on_4xx(case: Any, api: Api) -> None:
    before = api.last_state or api.state()
    response = case.call(base_url=api.url, session=api.http, timeout=30)
    api.requests += 1
    api.by_status[response.status_code] = api.by_status.get(response.status_code, 0) + 1
    body = response.text
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {body[:300]}\n{case.as_curl_command()}"
    assert not any(marker in body for marker in TRACE_MARKERS), f"stack trace in the body: {body[:500]}"
    api.last_state = api.state()
    if 400 <= response.status_code < 500:
        assert api.last_state == before, f"{case.method} {case.formatted_path} answered {response.status_code} but wrote something\n{case.as_curl_command()}"
