"""The HTTP gateway: API routes in payload 2.0 and 1.0, Lambda's Invoke API, status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from runtime_handlers.stack_kit import function, stack

from localcloud.emulator import Endpoints
from localcloud.model import HttpRoute
from localcloud.runtime import Runtime


def route(method: str, path: str, payload_format: str = "2.0") -> HttpRoute:
    return HttpRoute(api_logical_id="Api", method=method, path=path, payload_format=payload_format)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def gateway(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, str]]:
    functions = (
        function("Respond", "http_handlers.respond", http_routes=(route("GET", "/orders/{order_id}"),)),
        function("Plain", "http_handlers.plain", http_routes=(route("GET", "/orders/special"), route("ANY", "/{proxy+}"))),
        function("Binary", "http_handlers.binary", http_routes=(route("GET", "/logo.png"),)),
        function("Rest", "http_handlers.rest", http_routes=(route("POST", "/rest/{id}", "1.0"),)),
        function("RestMalformed", "http_handlers.rest_malformed", http_routes=(route("GET", "/rest-bad", "1.0"),)),
        function("Crash", "http_handlers.crash", http_routes=(route("GET", "/crash"),)),
        function("Slow", "http_handlers.sleepy", timeout_s=1, http_routes=(route("POST", "/slow"),)),
    )
    rt = Runtime(stack(*functions), endpoints, log_dir=tmp_path_factory.mktemp("logs"))
    rt.start()
    url = rt.serve_http(port=0)
    yield rt, url
    rt.stop()


def test_route_returns_handlers_status_headers_cookies_and_body(gateway: tuple[Runtime, str]) -> None:
    _, url = gateway
    response = requests.get(f"{url}/orders/o-42?x=1&x=2&y=", headers={"Cookie": "a=1; b=2", "X-Custom": "v"}, timeout=10)
    assert response.status_code == 201
    assert response.headers["X-Order-Id"] == "o-42"
    assert response.headers["Set-Cookie"] == "session=abc; Path=/"
    body = response.json()
    assert body["order_id"] == "o-42"
    event = body["event"]
    assert event["version"] == "2.0" and event["routeKey"] == "GET /orders/{order_id}"
    assert event["rawPath"] == "/orders/o-42" and event["rawQueryString"] == "x=1&x=2&y="
    assert event["pathParameters"] == {"order_id": "o-42"}
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"]["x-custom"] == "v" and "cookie" not in event["headers"]
    assert event["isBase64Encoded"] is False and "body" not in event
    ctx = event["requestContext"]
    assert ctx["http"]["method"] == "GET" and ctx["http"]["path"] == "/orders/o-42" and ctx["http"]["sourceIp"] == "127.0.0.1"
    assert ctx["routeKey"] == "GET /orders/{order_id}" and ctx["stage"] == "$default" and ctx["accountId"] == "123456789012"
    assert {"apiId", "domainName", "domainPrefix", "requestId", "time", "timeEpoch"} <= set(ctx)


def test_most_specific_route_wins_and_greedy_catches_the_rest(gateway: tuple[Runtime, str]) -> None:
    _, url = gateway
    assert requests.get(f"{url}/orders/special", timeout=10).json()["route"] == "GET /orders/special"
    assert requests.get(f"{url}/orders/o-1", timeout=10).status_code == 201
    caught = requests.delete(f"{url}/anything/deep/path?q=1", timeout=10)
    assert caught.status_code == 200 and caught.headers["Content-Type"] == "application/json"
    assert caught.json() == {"route": "ANY /{proxy+}", "query": {"q": "1"}}


def test_unknown_route_is_404_not_found(endpoints: Endpoints, tmp_path: Any) -> None:
    with Runtime(stack(function("Only", "http_handlers.plain", http_routes=(route("GET", "/only"),))), endpoints, log_dir=tmp_path) as rt:
        url = rt.serve_http()
        response = requests.post(f"{url}/only", timeout=10)
    assert response.status_code == 404 and response.json() == {"message": "Not Found"}


def test_binary_response_is_decoded(gateway: tuple[Runtime, str]) -> None:
    _, url = gateway
    response = requests.get(f"{url}/logo.png", timeout=10)
    assert response.content == b"\x89PNG" and response.headers["Content-Type"] == "image/png"


def test_rest_api_payload_1_0(gateway: tuple[Runtime, str]) -> None:
    _, url = gateway
    response = requests.post(f"{url}/rest/7?a=1&a=2", data=b'{"k": 1}', headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 200 and response.headers["X-Multi"] == "a, b"
    event = response.json()
    assert event["resource"] == "/rest/{id}" and event["path"] == "/rest/7" and event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"id": "7"}
    assert event["queryStringParameters"] == {"a": "2"} and event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["body"] == '{"k": 1}' and event["isBase64Encoded"] is False
    assert event["requestContext"]["resourcePath"] == "/rest/{id}" and event["requestContext"]["httpMethod"] == "POST"
    assert requests.get(f"{url}/rest-bad", timeout=10).status_code == 502


def test_handler_error_and_timeout_answer_like_api_gateway(gateway: tuple[Runtime, str]) -> None:
    _, url = gateway
    crashed = requests.get(f"{url}/crash", timeout=10)
    assert crashed.status_code == 500 and crashed.json() == {"message": "Internal Server Error"}
    slow = requests.post(f"{url}/slow", json={"sleep_s": 5}, timeout=10)
    assert slow.status_code == 503


def test_lambda_invoke_api_serves_boto3(gateway: tuple[Runtime, str]) -> None:
    rt, url = gateway
    client = boto3.client(
        "lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}),
    )
    ok = client.invoke(FunctionName="Plain", Payload=json.dumps({"routeKey": "direct"}))
    assert ok["StatusCode"] == 200 and json.loads(ok["Payload"].read()) == {"route": "direct", "query": None}
    failed = client.invoke(FunctionName=rt.stack.functions["Crash"].arn, Payload=b"{}")
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorMessage"] == "boom"
    queued = client.invoke(FunctionName="Plain", InvocationType="Event", Payload=b'{"routeKey": "async"}')
    assert queued["StatusCode"] == 202
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="Nope", Payload=b"{}")


def test_status_endpoint_returns_runtime_stats(gateway: tuple[Runtime, str]) -> None:
    rt, url = gateway
    requests.get(f"{url}/orders/s-1", timeout=10)
    status = requests.get(f"{url}/_localcloud/status", timeout=10).json()
    assert status["Respond"]["invocations"] >= 1
    assert set(status) == set(rt.stack.functions)
