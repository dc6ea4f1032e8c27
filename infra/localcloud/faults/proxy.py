"""A fault proxy on 127.0.0.1 in front of an emulator endpoint: forwards every request, and answers some
with the error the real service would send, as a `FaultInjector` decides.

Handlers reach it through their endpoint variable (the template's `EndpointUrl` parameter sets
`AWS_ENDPOINT_URL` in the functions' own environment, which wins over the runtime's), while the
deployer and the runtime's pollers keep talking to the emulator directly: faults hit what the
application calls, not the Lambda service's own polling.

Each error is in the service's real wire shape, so botocore parses it as it would AWS's answer
(and retries what it would retry):
- DynamoDB (JSON 1.0): 400 `{"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": ...}`,
  the same for ProvisionedThroughputExceededException; a conflict is TransactionConflictException on
  a single-item write and TransactionCanceledException with `TransactionConflict` reasons on TransactWriteItems;
- SNS (query protocol): `<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code>...`;
- SQS (JSON protocol, X-Amz-Target AmazonSQS.*): `{"__type": "com.amazonaws.sqs#InternalError"}` with the
  `x-amzn-query-error` header; SQS over query: the XML above;
- S3 (REST XML): `<Error><Code>InternalError</Code>...`;
- 500 InternalError / 503 ServiceUnavailable in each of these shapes.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from localcloud.faults.plan import Fault, FaultInjector, FaultKind

_CREDENTIAL = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/(?P<service>[^/]+)/")
_S3_OPERATIONS = {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject", "POST": "PostObject"}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}
_DDB_PREFIX = "com.amazonaws.dynamodb.v20120810#"
_MESSAGES = {
    FaultKind.DYNAMODB_THROTTLING: ("ThrottlingException", "Rate of requests exceeds the allowed throughput."),
    FaultKind.DYNAMODB_THROUGHPUT_EXCEEDED: (
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
    ),
    FaultKind.DYNAMODB_TRANSACTION_CONFLICT: ("TransactionConflictException", "Transaction is ongoing for the item"),
}


def identify(method: str, path: str, headers: Any, body: bytes) -> tuple[str, str]:
    """(service, operation) of a signed AWS request: the service from SigV4's credential scope."""
    match = _CREDENTIAL.search(headers.get("Authorization", ""))
    service = match["service"] if match else "unknown"
    target = headers.get("X-Amz-Target", "")
    if target:
        return service, target.rsplit(".", 1)[-1]
    if service == "s3":
        return service, _S3_OPERATIONS.get(method, method)
    query = parse_qs(body.decode(errors="replace")) if body else parse_qs(urlsplit(path).query)
    return service, (query.get("Action") or ["unknown"])[0]


def error_response(fault: Fault, service: str, operation: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of the error `fault` stands for, as `service` sends it."""
    request_id = str(uuid.uuid4())
    if fault.kind in _MESSAGES:
        code, message = _MESSAGES[fault.kind]
        document: dict[str, Any] = {"__type": _DDB_PREFIX + code, "message": message}
        if fault.kind is FaultKind.DYNAMODB_TRANSACTION_CONFLICT and operation == "TransactWriteItems":
            items = len(json.loads(body or b"{}").get("TransactItems") or [None])
            reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}] * items
            document = {
                "__type": _DDB_PREFIX + "TransactionCanceledException",
                "message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{', '.join(['TransactionConflict'] * items)}]",
                "CancellationReasons": reasons,
            }
        return 400, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": request_id}, json.dumps(document).encode()
    status, code, message = (503, "ServiceUnavailable", "Service is unavailable") if fault.kind is FaultKind.HTTP_503 else (
        500, "InternalError", "We encountered an internal error. Please try again."
    )
    if service == "dynamodb" or (service == "sqs" and headers.get("X-Amz-Target")):
        prefix = _DDB_PREFIX if service == "dynamodb" else "com.amazonaws.sqs#"
        extra = {"x-amzn-query-error": f"{code};Receiver"} if service == "sqs" else {}
        payload = json.dumps({"__type": prefix + code, "message": message}).encode()
        return status, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": request_id, **extra}, payload
    if service == "s3":
        xml = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>'
        return status, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, xml.encode()
    xml = (
        f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, xml.encode()


class FaultProxy:
    """`start()` returns the proxy's URL; every request is forwarded to `upstream` unless a fault answers it."""

    def __init__(self, upstream: str, injector: FaultInjector, host: str = "127.0.0.1", port: int = 0) -> None:
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.injector = injector
        self._address = (host, port)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._local = threading.local()

    def start(self) -> str:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = ThreadingHTTPServer(self._address, Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("fault proxy is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request to the upstream over this thread's kept-alive connection (a fresh one after an error)."""
        for attempt in (1, 2):
            connection = getattr(self._local, "connection", None)
            if connection is None:
                connection = self._local.connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                return response.status, response.getheaders(), response.read()
            except (http.client.HTTPException, OSError):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        """Quiet: the injector counts what fired."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        service, operation = identify(self.command, self.path, self.headers, body)
        fault = self.owner.injector.decide(service, operation)
        if fault is not None:
            status, headers, payload = error_response(fault, service, operation, self.headers, body)
            self._send(status, list(headers.items()), payload)
            return
        forwarded = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            status, response_headers, payload = self.owner.forward(self.command, self.path, forwarded, body)
        except (http.client.HTTPException, OSError) as error:
            self._send(502, [("Content-Type", "text/plain")], f"fault proxy: upstream unreachable: {error}".encode())
            return
        dropped = _HOP_BY_HOP if self.command == "HEAD" else _HOP_BY_HOP | {"content-length"}
        self._send(status, [(k, v) for k, v in response_headers if k.lower() not in dropped], payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle  # noqa: N815 - the stdlib's naming

    def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            if not any(name.lower() == "content-length" for name, _ in headers):
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
