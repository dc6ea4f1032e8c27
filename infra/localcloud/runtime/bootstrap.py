"""The runtime interface inside one execution environment: Lambda's Python runtime, locally.

The fork server (`forkserver.py`) imports this module by file name, not as part of the
`localcloud` package, so nothing else of the local cloud is in the handler's interpreter; each
forked child has already become its function's environment when it calls `main`. `main` imports
the handler module once (the cold start), then serves invocations one at a time over a private
pair of pipes, because the handler owns stdout and stderr (they go to the function's log file).

Frames are a 4-byte big-endian length followed by UTF-8 JSON; `read_frame`/`write_frame`
are shared with the parent side (`environment.py`) so there is one definition of the wire.
"""

from __future__ import annotations

import decimal
import importlib
import json
import os
import sys
import time
import traceback
from collections import Counter
from types import ModuleType
from typing import Any

_HEADER = 4


def write_frame(fd: int, message: dict[str, Any]) -> None:
    data = json.dumps(message, separators=(",", ":")).encode()
    view = memoryview(len(data).to_bytes(_HEADER, "big") + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exactly(fd: int, size: int) -> bytes | None:
    """Read `size` bytes, or None on end of file (the other side is gone)."""
    chunks = bytearray()
    while len(chunks) < size:
        chunk = os.read(fd, size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def read_frame(fd: int) -> dict[str, Any] | None:
    header = read_exactly(fd, _HEADER)
    if header is None:
        return None
    body = read_exactly(fd, int.from_bytes(header, "big"))
    return None if body is None else json.loads(body)


# --- AWS call counting -------------------------------------------------------------------

_aws_calls: Counter[str] = Counter()


def _count_call(event_name: str, **_: Any) -> None:
    """`before-call.<service>.<Operation>` fires once per API call (not per retry)."""
    _, service, operation = event_name.split(".", 2)
    _aws_calls[f"{service}.{operation}"] += 1


def _patch_botocore_session(module: ModuleType) -> None:
    original_init = module.Session.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.register("before-call", _count_call)

    module.Session.__init__ = init


def count_aws_calls() -> None:
    """Make every botocore session created from now on count its calls, those made at import too.

    The fork server calls this once, before any fork and before any session exists (it creates
    none), so every environment inherits the patched class and boto3's sessions are born counting.
    """
    try:
        import botocore.session
    except ImportError:
        return  # without botocore no handler can call AWS
    _patch_botocore_session(botocore.session)


# --- Lambda's context and error shapes ---------------------------------------------------


class LambdaContext:
    """The context object of Lambda's Python runtime (same attribute names)."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.aws_request_id: str = request["request_id"]
        self.invoked_function_arn: str = request["invoked_function_arn"]
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms: int = request["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)


class FaultError(Exception):
    """A runtime fault with Lambda's own errorType (Runtime.ImportModuleError, ...)."""

    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.stack = stack or []


def error_shape(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, FaultError):
        return {"errorMessage": str(exc), "errorType": exc.error_type, "requestId": "", "stackTrace": exc.stack}
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if not _is_runtime_frame(frame.filename)]
    stack = traceback.format_list(frames)
    return {"errorMessage": str(exc), "errorType": type(exc).__name__, "requestId": "", "stackTrace": stack}


def _is_runtime_frame(filename: str) -> bool:
    """The runtime's own frames and the import machinery are not the user's stack trace."""
    return filename == __file__ or filename.startswith("<frozen importlib") or filename == importlib.__file__


def _json_default(value: Any) -> Any:
    """Lambda's marshaller turns Decimals (what DynamoDB returns) into numbers."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def load_handler(handler: str) -> Any:
    """Mirror awslambdaric's `_get_handler`: same fault types and messages."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise FaultError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}") from None
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise FaultError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise FaultError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace) from None
    function = getattr(module, function_name, None)
    if function is None:
        raise FaultError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return function


def _install_lambda_logging() -> None:
    """The root handler Lambda's runtime installs: level, timestamp and request id per line."""
    import logging

    class _RequestIdFilter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.aws_request_id = _current_request_id
            return True

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


_current_request_id = ""


def _invoke(function: Any, request: dict[str, Any]) -> dict[str, Any]:
    global _current_request_id
    _current_request_id = request["request_id"]
    os.environ["_X_AMZN_TRACE_ID"] = request["trace_id"]
    _aws_calls.clear()
    print(f"START RequestId: {_current_request_id} Version: $LATEST", flush=True)
    started = time.perf_counter()
    response: dict[str, Any]
    try:
        result = function(request["event"], LambdaContext(request))
        try:
            payload = json.dumps(result, default=_json_default)
            response = {"type": "result", "payload": payload}
        except (TypeError, ValueError) as exc:
            fault = FaultError("Runtime.MarshalError", f"Unable to marshal response: {exc}")
            response = {"type": "result", "error": error_shape(fault)}
    except Exception as exc:  # noqa: BLE001 - every handler exception is the invocation's error
        error = error_shape(exc)
        error["requestId"] = _current_request_id
        print(f"[ERROR] {error['errorType']}: {error['errorMessage']}", file=sys.stderr)
        traceback.print_exc()
        response = {"type": "result", "error": error}
    duration_ms = (time.perf_counter() - started) * 1000
    sys.stderr.flush()
    print(f"END RequestId: {_current_request_id}", flush=True)
    print(
        f"REPORT RequestId: {_current_request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Memory Size: {os.environ['AWS_LAMBDA_FUNCTION_MEMORY_SIZE']} MB",
        flush=True,
    )
    response["aws_calls"] = dict(_aws_calls)
    return response


def _init(fd_out: int) -> Any | None:
    """Import the handler module (the init); report "ready" with its duration, or the init error."""
    started = time.perf_counter()
    try:
        function = load_handler(os.environ["_HANDLER"])
    except Exception as exc:  # noqa: BLE001 - an exception at import is the init error
        error = error_shape(exc)
        print(f"[ERROR] {error['errorType']}: {error['errorMessage']}", file=sys.stderr, flush=True)
        write_frame(fd_out, {"type": "init_error", "error": error, "aws_calls": dict(_aws_calls)})
        return None
    write_frame(fd_out, {"type": "ready", "init_ms": (time.perf_counter() - started) * 1000, "aws_calls": dict(_aws_calls)})
    return function


def _serve(function: Any, fd_in: int, fd_out: int) -> None:
    """One invocation per request frame, until the runtime closes the pipe."""
    while (request := read_frame(fd_in)) is not None:
        write_frame(fd_out, _invoke(function, request))


def main(fd_in: int, fd_out: int) -> None:
    """Run the environment on its request pipe `fd_in` and reply pipe `fd_out`."""
    _install_lambda_logging()
    function = _init(fd_out)
    if function is not None:
        _serve(function, fd_in, fd_out)
