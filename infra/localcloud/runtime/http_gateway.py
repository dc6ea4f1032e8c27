"""The HTTP gateway: one loopback server for the stack's API routes, Lambda's Invoke API and status.

- API routes (HTTP API payload 2.0, REST API payload 1.0), like `sam local start-api`.
- `POST /2015-03-31/functions/{name}/invocations`: Lambda's Invoke API, so pointing
  `AWS_ENDPOINT_URL_LAMBDA` here makes boto3's `lambda.invoke` reach the local functions.
- `GET /_localcloud/status`: the runtime's statistics as JSON.

HTTP/1.0 (one request per connection) keeps `stop()` prompt: no idle keep-alive connection
holds a server thread open.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from localcloud.model import DeployedStack
from localcloud.runtime.apigw import (
    Request,
    Response,
    RouteTable,
    error_response,
    http_api_event,
    http_api_response,
    rest_api_event,
    rest_api_response,
)
from localcloud.runtime.jwt_authorizer import Denied, JwtVerifier
from localcloud.runtime.results import InvokeResult

INVOKE_PREFIX = "/2015-03-31/functions/"
STATUS_PATH = "/_localcloud/status"

# (name, event, invocation_type, source) -> result; raises KeyError for an unknown function.
InvokeFn = Callable[[str, Any, str, str], InvokeResult]


class HttpGateway:
    def __init__(self, stack: DeployedStack, invoke: InvokeFn, stats: Callable[[], dict[str, Any]]) -> None:
        self._stack = stack
        self._invoke = invoke
        self._stats = stats
        self._routes = RouteTable(
            [(spec.logical_id, route) for spec in stack.functions.values() for route in spec.http_routes]
        )
        self._verifiers = {
            route.authorizer: JwtVerifier(route.authorizer)
            for spec in stack.functions.values()
            for route in spec.http_routes
            if route.authorizer is not None
        }
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def serve(self, host: str, port: int) -> str:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 30
            server_version = "localcloud"

            def do_request(self) -> None:
                gateway._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_request

            def __getattr__(self, name: str) -> Any:
                """Any other method (TRACE, QUERY...) reaches routing too: no route matches it, so the answer is
                API Gateway's 404, not the stdlib's 501 (found by API fuzzing, tests/reliability/test_api_fuzz.py)."""
                if name.startswith("do_"):
                    return self.do_request
                raise AttributeError(name)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                pass

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = False  # so server_close() joins the request threads
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="http-gateway", daemon=True)
        self._thread.start()
        return f"http://{host}:{server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(2)
            self._server = None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        split = urlsplit(handler.path)
        path = split.path
        try:
            if handler.command == "GET" and path == STATUS_PATH:
                response = Response(200, [("Content-Type", "application/json")], json.dumps(self._stats()).encode())
            elif handler.command == "POST" and path.startswith(INVOKE_PREFIX) and path.endswith("/invocations"):
                name = unquote(path[len(INVOKE_PREFIX) : -len("/invocations")])
                response = self._lambda_invoke(name, handler.headers.get("X-Amz-Invocation-Type", "RequestResponse"), body)
            else:
                request = Request(
                    method=handler.command,
                    path=path,
                    raw_query=split.query,
                    headers=list(handler.headers.items()),
                    body=body,
                    source_ip=handler.client_address[0],
                    host=handler.headers.get("Host", ""),
                )
                response = self._api(request)
        except Exception:  # noqa: BLE001 - never leave a client without an answer
            response = error_response(500, "Internal Server Error")
        handler.send_response(response.status)
        for name, value in response.headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(response.body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(response.body)

    def _api(self, request: Request) -> Response:
        match = self._routes.match(request.method, request.path)
        if match is None:
            return error_response(404, "Not Found")
        api_id = self._api_id(match.route.api_logical_id)
        rest = match.route.payload_format == "1.0"
        if match.route.authorizer is not None:
            decision = self._verifiers[match.route.authorizer].authorize(
                {name.lower(): value for name, value in request.headers}, match.route.scopes
            )
            if isinstance(decision, Denied):
                return error_response(decision.status, decision.message, [("www-authenticate", decision.www_authenticate)])
            event = http_api_event(request, match, api_id, self._stack.account_id, decision.context())
        else:
            build = rest_api_event if rest else http_api_event
            event = build(request, match, api_id, self._stack.account_id)
        result = self._invoke(match.function, event, "RequestResponse", "http")
        if result.error is not None:
            if rest:
                return error_response(502, "Internal server error")
            if result.timed_out:
                return error_response(503, "Service Unavailable")
            return error_response(500, "Internal Server Error")
        return rest_api_response(result.payload) if rest else http_api_response(result.payload)

    def _api_id(self, api_logical_id: str) -> str:
        resource = self._stack.resources.get(api_logical_id)
        return resource.physical_id if resource is not None else api_logical_id.lower()[:10]

    def _lambda_invoke(self, name: str, invocation_type: str, body: bytes) -> Response:
        """Lambda's Invoke API on the wire (the subset boto3's `invoke` uses)."""
        try:
            event = json.loads(body) if body.strip() else {}
        except ValueError:
            return _lambda_error(400, "InvalidRequestContentException", "Could not parse request body into json")
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            return _lambda_error(400, "InvalidParameterValueException", f"Unsupported invocation type {invocation_type}")
        try:
            result = self._invoke(name, event, invocation_type, "direct")
        except KeyError:
            return _lambda_error(404, "ResourceNotFoundException", f"Function not found: {name}")
        headers = [("X-Amzn-RequestId", result.request_id), ("X-Amz-Executed-Version", "$LATEST")]
        if invocation_type == "Event":
            return Response(202, headers, b"")
        if invocation_type == "DryRun":
            return Response(204, headers, b"")
        if result.throttled:
            return _lambda_error(429, "TooManyRequestsException", "Rate Exceeded.")
        headers.append(("Content-Type", "application/json"))
        if result.error is not None:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
            return Response(200, headers, json.dumps(result.error).encode())
        return Response(200, headers, json.dumps(result.payload).encode())


def _lambda_error(status: int, error_type: str, message: str) -> Response:
    body = json.dumps({"Type": "User", "message": message}).encode()
    return Response(status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)], body)

