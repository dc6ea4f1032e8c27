"""API Gateway's side of a Lambda proxy integration: routes, request events, responses.

Pure functions over plain data (no sockets), so the shapes can be tested on their own:
`RouteTable` picks the route the way API Gateway does (exact paths over templates over
greedy `{proxy+}`, a method over ANY, `$default` last), `http_api_event`/`rest_api_event`
build payload format 2.0 and 1.0, and `http_api_response`/`rest_api_response` turn a
handler's return value into status, headers and body by each format's rules.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from localcloud.model import HttpRoute

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded", "application/javascript")
_PARAM = re.compile(r"\{([^}/]+?)(\+?)\}")


@dataclass(frozen=True)
class Request:
    """An HTTP request as the gateway received it."""

    method: str
    path: str
    raw_query: str
    headers: list[tuple[str, str]]  # in arrival order, original case, repeated names kept
    body: bytes
    source_ip: str
    host: str


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Match:
    function: str  # logical id
    route: HttpRoute
    path_parameters: dict[str, str]

    @property
    def route_key(self) -> str:
        return "$default" if self.route.path == "$default" else f"{self.route.method} {self.route.path}"


class RouteTable:
    def __init__(self, routes: list[tuple[str, HttpRoute]]) -> None:
        compiled = [(self._priority(route), function, route, self._compile(route.path)) for function, route in routes]
        self._routes = sorted(compiled, key=lambda entry: entry[0])

    @staticmethod
    def _compile(path: str) -> re.Pattern[str] | None:
        if path == "$default":
            return None
        pattern, last = "", 0
        for param in _PARAM.finditer(path):
            pattern += re.escape(path[last : param.start()])
            name, greedy = param.group(1), param.group(2)
            pattern += f"(?P<{_group(name)}>.+)" if greedy else f"(?P<{_group(name)}>[^/]+)"
            last = param.end()
        return re.compile(pattern + re.escape(path[last:]) + "/?" if path != "/" else "/")

    @staticmethod
    def _priority(route: HttpRoute) -> tuple[int, ...]:
        """Lower sorts first: API Gateway prefers the most specific route."""
        if route.path == "$default":
            return (3, 0, 0, 0)
        params = _PARAM.findall(route.path)
        greedy = any(plus for _, plus in params)
        literal_segments = sum(1 for seg in route.path.split("/") if seg and not _PARAM.search(seg))
        return (2 if greedy else 1 if params else 0, -literal_segments, len(params), route.method == "ANY")

    def match(self, method: str, path: str) -> Match | None:
        for _, function, route, regex in self._routes:
            if route.method not in ("ANY", method):
                continue
            if regex is None:
                return Match(function, route, {})
            found = regex.fullmatch(path)
            if found:
                names = {_group(name): name for name, _ in _PARAM.findall(route.path)}
                return Match(function, route, {names[key]: value for key, value in found.groupdict().items()})
        return None


def _group(name: str) -> str:
    return "p_" + re.sub(r"\W", "_", name)


def _is_text(headers: dict[str, str]) -> bool:
    content_type = headers.get("content-type", "")
    return not content_type or content_type.startswith(_TEXT_TYPES)


def _body(request: Request, lower_headers: dict[str, str]) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if _is_text(lower_headers):
        try:
            return request.body.decode(), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode(), True


def _joined_headers(request: Request) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in request.headers:
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _context_common(request: Request, api_id: str, stage: str, request_id: str) -> dict[str, Any]:
    return {
        "apiId": api_id,
        "domainName": request.host,
        "domainPrefix": request.host.split(".")[0].split(":")[0],
        "requestId": request_id,
        "stage": stage,
    }


def http_api_event(
    request: Request, match: Match, api_id: str, account_id: str, authorizer: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Payload format 2.0, as an HTTP API sends it; `authorizer` is what a JWT authorizer found (claims, scopes)."""
    now = time.time()
    request_id = str(uuid.uuid4())
    headers = _joined_headers(request)
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    body, is_base64 = _body(request, headers)
    context = _context_common(request, api_id, match.route.stage, request_id)
    context.update(
        {
            "accountId": account_id,
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "routeKey": match.route_key,
            "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000),
        }
    )
    if authorizer is not None:
        context["authorizer"] = authorizer
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.route_key,
        "rawPath": request.path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    if query:
        event["queryStringParameters"] = query
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    event["requestContext"] = context
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = is_base64
    return event


def rest_api_event(request: Request, match: Match, api_id: str, account_id: str) -> dict[str, Any]:
    """Payload format 1.0, as a REST API (`Api` event) sends it."""
    now = time.time()
    request_id = str(uuid.uuid4())
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    body, is_base64 = _body(request, {k.lower(): v for k, v in headers.items()})
    stage = "Prod" if match.route.stage == "$default" else match.route.stage
    context = _context_common(request, api_id, stage, request_id)
    context.update(
        {
            "accountId": account_id,
            "extendedRequestId": request_id,
            "httpMethod": request.method,
            "identity": {"sourceIp": request.source_ip, "userAgent": headers.get("User-Agent", headers.get("user-agent"))},
            "path": f"/{stage}{request.path}",
            "protocol": "HTTP/1.1",
            "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, match.route.path).hex[:6],
            "resourcePath": match.route.path,
        }
    )
    return {
        "resource": match.route.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": match.path_parameters or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _encode_body(body: Any, is_base64: bool) -> bytes:
    if body is None:
        return b""
    text = body if isinstance(body, str) else json.dumps(body)
    return base64.b64decode(text) if is_base64 else text.encode()


def http_api_response(payload: Any) -> Response:
    """Format 2.0: a dict with statusCode is the response; anything else is a 200 JSON body."""
    if isinstance(payload, dict) and "statusCode" in payload:
        headers = [(str(k), str(v)) for k, v in (payload.get("headers") or {}).items()]
        headers += [("Set-Cookie", str(cookie)) for cookie in payload.get("cookies") or []]
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
        body = _encode_body(payload.get("body"), bool(payload.get("isBase64Encoded")))
        return Response(int(payload["statusCode"]), headers, body)
    return Response(200, [("Content-Type", "application/json")], json.dumps(payload).encode())


def rest_api_response(payload: Any) -> Response:
    """Format 1.0: the response must be an object with statusCode, else API Gateway answers 502."""
    if not isinstance(payload, dict) or not isinstance(payload.get("statusCode"), int):
        return error_response(502, "Internal server error")
    headers = [(str(k), str(v)) for k, v in (payload.get("headers") or {}).items()]
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers += [(str(name), str(value)) for value in values]
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        return error_response(502, "Internal server error")
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return Response(payload["statusCode"], headers, _encode_body(body, bool(payload.get("isBase64Encoded"))))


def error_response(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, [("Content-Type", "application/json"), *(headers or [])], json.dumps({"message": message}).encode())
