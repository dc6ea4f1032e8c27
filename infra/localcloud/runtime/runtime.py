"""`Runtime`: a deployed stack's functions, run with Lambda's semantics on this machine.

It wires the parts together and owns their lifecycle; each part knows one thing:
the invoker (environments, concurrency), the SQS and stream mappings (one per event source
mapping), the async invoker (internal queue, retries, destinations), schedules, and the HTTP
gateway. `stop()` stops them in the order that lets in-flight work end cleanly, then kills
every environment process.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from localcloud.emulator import Endpoints, env_var_for
from localcloud.model import DeployedStack
from localcloud.runtime.async_invoke import DEFAULT_RETRY_DELAYS_S, AsyncInvoker
from localcloud.runtime.event_sources.destinations import Destinations
from localcloud.runtime.event_sources.dynamodb_stream import StreamMapping
from localcloud.runtime.event_sources.schedule import ScheduleRunner
from localcloud.runtime.event_sources.sqs import SqsMapping
from localcloud.runtime.http_gateway import HttpGateway
from localcloud.runtime.invoker import Invoker
from localcloud.runtime.results import InvokeResult, Observer

log = logging.getLogger(__name__)

InvocationType = Literal["RequestResponse", "Event", "DryRun"]
_STOP_GRACE_S = 3.0


class Runtime:
    """Runs a `DeployedStack`'s functions and event sources.

    >>> rt = Runtime(stack, endpoints, log_dir=Path(".orderflow/logs"))
    >>> rt.start()                                  # pollers, schedules, async workers
    >>> url = rt.serve_http(port=0)                 # "http://127.0.0.1:PORT"
    >>> rt.invoke("CreateOrder", {"body": "{}"}).payload
    >>> rt.stop()

    `max_environments` (processes over all functions) and `max_concurrent_inits` (cold starts
    initialising at once) default to what the machine holds (`capacity.py`).
    `async_retry_delays_s` scales AWS's async retry back-off (1 min, 2 min) down;
    `schedule_scale` multiplies every `rate(...)` period (0.01 runs a 1-minute rate every 0.6 s).
    """

    def __init__(
        self,
        stack: DeployedStack,
        endpoints: Endpoints,
        *,
        observers: Sequence[Observer] = (),
        log_dir: Path | None = None,
        max_environments: int | None = None,
        max_concurrent_inits: int | None = None,
        async_retry_delays_s: tuple[float, ...] = DEFAULT_RETRY_DELAYS_S,
        schedule_scale: float = 1.0,
    ) -> None:
        self.stack = stack
        self.endpoints = endpoints
        self.log_dir = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="localcloud-logs-"))
        # Shared with every execution environment the invoker starts: `start()` adds the Lambda endpoint.
        self._process_env = endpoints.process_env()
        self._invoker = Invoker(
            stack,
            self._process_env,
            self.log_dir,
            max_environments=max_environments,
            max_concurrent_inits=max_concurrent_inits,
            observers=observers,
        )
        self._destinations = Destinations(endpoints, self._invoke_async_by_arn)
        self._async = AsyncInvoker(self._invoker, stack, self._destinations, async_retry_delays_s)
        self._sqs = [
            SqsMapping(self._invoker, endpoints, spec, source)
            for spec in stack.functions.values()
            for source in spec.sqs_sources
            if source.enabled
        ]
        self._streams = [
            StreamMapping(self._invoker, endpoints, self._destinations, spec, source)
            for spec in stack.functions.values()
            for source in spec.stream_sources
            if source.enabled
        ]
        self._schedules = ScheduleRunner(
            list(stack.functions.values()),
            lambda name, event: self._async.submit(name, event, source="schedule"),
            region=stack.region,
            account_id=stack.account_id,
            stack_name=stack.stack_name,
            scale=schedule_scale,
        )
        self._gateways: list[HttpGateway] = []
        self._started = False
        self._stopped = False

    def start(self) -> None:
        """Start every enabled event source; idempotent."""
        if self._started:
            return
        self._started = True
        # A function calling lambda:Invoke (the checkout invoking PaymentSandboxFunction) reaches this
        # runtime's functions, as on AWS it reaches the stack's: before any event source can invoke one.
        self._process_env[env_var_for("lambda")] = self.serve_http(host="127.0.0.1", port=0)
        self._async.start()
        for mapping in [*self._sqs, *self._streams]:
            mapping.start()
        self._schedules.start()

    def invoke(self, name: str, event: Any, invocation_type: InvocationType = "RequestResponse", *, source: str = "direct") -> InvokeResult:
        """Invoke a function by logical id, name or ARN, as `lambda:Invoke` would.

        "Event" queues the event and returns at once (payload None), "DryRun" only checks the
        function exists. A RequestResponse call at the function's reserved concurrency is
        throttled (error TooManyRequestsException), as on AWS.
        """
        spec = self.stack.function(name)
        if invocation_type == "Event":
            self._async.start()
            return InvokeResult(request_id=self._async.submit(spec.logical_id, event, source="async"))
        if invocation_type == "DryRun":
            return InvokeResult(request_id="")
        return self._invoker.invoke(spec.logical_id, event, source=source, block=False)

    def serve_http(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve the API routes, Lambda's Invoke API and `/_localcloud/status`; returns the base URL."""
        gateway = HttpGateway(self.stack, self._invoke_for_gateway, self.stats)
        self._gateways.append(gateway)
        return gateway.serve(host, port)

    def _invoke_for_gateway(self, name: str, event: Any, invocation_type: str, source: str) -> InvokeResult:
        return self.invoke(name, event, invocation_type, source=source)  # type: ignore[arg-type]

    def _invoke_async_by_arn(self, arn: str, event: Any) -> None:
        self._async.submit(arn.removesuffix(":$LATEST"), event, source="async")

    def environment_processes(self) -> dict[int, tuple[str, float | None]]:
        """pid -> (function name, final CPU seconds once ended) of every execution environment started:
        environments are the fork server's children, so only it can say what one used in all."""
        return self._invoker.environment_processes()

    def stats(self) -> dict[str, Any]:
        """Per function: in_flight, invocations, errors, throttles, timeouts, cold_starts, environments
        (and peak_in_flight, async_pending)."""
        stats: dict[str, Any] = self._invoker.stats()
        for logical_id, pending in self._async.pending().items():
            stats[logical_id]["async_pending"] = pending
        return stats

    def stop(self) -> None:
        """Stop pollers, workers and servers, then kill every environment; returns within seconds."""
        if self._stopped:
            return
        self._stopped = True
        started = time.monotonic()
        self._schedules.stop()
        for mapping in [*self._sqs, *self._streams]:
            mapping.stop()
        self._async.stop()
        self._invoker.close()  # busy environments die, so request threads and workers return at once
        for gateway in self._gateways:
            gateway.stop()
        for mapping in [*self._sqs, *self._streams]:
            mapping.join(max(_STOP_GRACE_S - (time.monotonic() - started), 0.1))
        self._async.join(max(_STOP_GRACE_S - (time.monotonic() - started), 0.1))
        self._schedules.join(0.5)
        self._invoker.close_logs()

    def __enter__(self) -> Runtime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
