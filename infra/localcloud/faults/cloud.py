"""A local cloud whose handlers meet faults: embedded moto, the fault proxy in front of it, the payment sandbox's faults.

The deployer and the runtime's pollers reach moto directly; the functions reach it through the
proxy, because the template's `EndpointUrl` parameter sets `AWS_ENDPOINT_URL` in their own
environment (which wins over the runtime's). So faults hit the application's calls, not the
Lambda service's polling. Needs moto for every service: a per-service endpoint variable
(`AWS_ENDPOINT_URL_SQS` for LocalStack) would take precedence over the proxy in the handlers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from localcloud.cloud import LocalCloud
from localcloud.emulator import EmbeddedMoto
from localcloud.faults.plan import FaultInjector
from localcloud.faults.proxy import FaultProxy


@contextmanager
def faulty_cloud(injector: FaultInjector, *, parameters: Mapping[str, str] | None = None, **options: Any) -> Iterator[LocalCloud]:
    """The running cloud, its handlers behind the proxy; the injector is left disarmed (arm it when the load starts)."""
    with EmbeddedMoto() as moto, FaultProxy(moto.default or "", injector) as proxy:
        cloud = LocalCloud(endpoint_url=moto.default, parameters={**(parameters or {}), "EndpointUrl": proxy.url}, **options)
        with cloud:
            sandbox = cloud.sidecars.get("payments")
            if sandbox is not None:
                sandbox.set_faults(injector.payment_fault)  # type: ignore[attr-defined]
            yield cloud
