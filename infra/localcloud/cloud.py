"""The whole local cloud behind one object: endpoints, sidecars, deploy, runtime, HTTP gateway.

    with LocalCloud(template=Path("template.yaml"), parameters={"Stage": "local"}) as cloud:
        requests.post(cloud.api_url + "/orders", json=...)
        cloud.client("dynamodb").scan(TableName=cloud.stack.physical_id("OrdersTable"))

Tests, the CLI and the demo all start the application this one way, so what they exercise is
what `orderflow up` runs. What the project adds around template.yaml locally (parameter
overrides, sidecar servers such as the payment sandbox) lives in `infra/localcloud.toml`.
"""

from __future__ import annotations

import importlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from localcloud.deploy import deploy
from localcloud.emulator import DynamoDBLocal, EmbeddedMoto, Endpoints
from localcloud.model import DeployedStack
from localcloud.runtime import Observer, Runtime
from localcloud.stack_record import record_stack

CONFIG_PATH = Path("infra") / "localcloud.toml"  # relative to the template's directory
# Which emulator serves DynamoDB (and its streams) when no endpoint variable names one: the embedded moto
# with everything else, or AWS's DynamoDB Local beside it (docs/emulators.md: why the default is what it is).
DYNAMODB_EMULATORS = ("moto", "local")
DEFAULT_DYNAMODB = "moto"
DYNAMODB_VARIABLE = "ORDERFLOW_DYNAMODB"  # the same choice for every entry point (up, demo, bench, tests)


class LocalCloudError(Exception):
    """A local cloud that cannot start as configured (bad config, a sidecar that fails)."""


class Sidecar(Protocol):
    """A local stand-in for something outside AWS (a payment provider): its URL becomes a template parameter."""

    def start(self) -> str: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class SidecarConfig:
    name: str
    factory: str  # "module:Class"
    parameter: str  # the template parameter that receives the sidecar's URL


@dataclass(frozen=True)
class CloudConfig:
    """`infra/localcloud.toml`: `[parameters]` overrides and `[[sidecars]]`."""

    parameters: dict[str, str] = field(default_factory=dict)
    sidecars: tuple[SidecarConfig, ...] = ()

    @classmethod
    def load(cls, path: Path) -> CloudConfig:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise LocalCloudError(f"cannot read local cloud config {path}: {error}") from error
        unknown = set(data) - {"parameters", "sidecars"}
        if unknown:
            raise LocalCloudError(f"{path}: unknown sections {sorted(unknown)} (expected [parameters], [[sidecars]])")
        sidecars = []
        for entry in data.get("sidecars", []):
            missing = {"name", "factory", "parameter"} - set(entry)
            if missing:
                raise LocalCloudError(f"{path}: sidecar {entry.get('name', '?')!r} lacks {sorted(missing)}")
            sidecars.append(SidecarConfig(str(entry["name"]), str(entry["factory"]), str(entry["parameter"])))
        return cls({str(k): str(v) for k, v in data.get("parameters", {}).items()}, tuple(sidecars))


def load_sidecar(config: SidecarConfig) -> Sidecar:
    """Instantiate `module:Class`; a sidecar that cannot be imported is an error naming it."""
    module_name, _, attribute = config.factory.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise LocalCloudError(f"sidecar {config.name!r}: cannot load {config.factory!r}: {error}") from error
    return factory()  # type: ignore[no-any-return]


def choose_endpoints(endpoint_url: str | None, environ: Mapping[str, str]) -> tuple[Endpoints, bool]:
    """(endpoints, whether an embedded moto must provide the default endpoint).

    An explicit URL or `AWS_ENDPOINT_URL` is used as is; otherwise embedded moto serves every
    service that no `AWS_ENDPOINT_URL_<SERVICE>` variable points elsewhere (a mix).
    """
    endpoints = Endpoints.from_environment(endpoint_url, environ)
    return endpoints, endpoints.default is None


class LocalCloud:
    """Endpoints + sidecars + deployed stack + running runtime, started and stopped together."""

    def __init__(
        self,
        template: Path = Path("template.yaml"),
        stack_name: str = "orderflow",
        endpoint_url: str | None = None,
        parameters: Mapping[str, str] | None = None,
        config: Path | None = None,
        *,
        port: int = 0,
        log_dir: Path | None = None,
        observers: tuple[Observer, ...] = (),
        serve_http: bool = True,
        runtime_options: Mapping[str, Any] | None = None,
        dynamodb: str | None = None,
    ) -> None:
        self.template = Path(template).resolve()
        self.stack_name = stack_name
        self.endpoint_url = endpoint_url
        self.parameters = dict(parameters or {})
        default_config = self.template.parent / CONFIG_PATH
        self.config_path = Path(config) if config is not None else (default_config if default_config.exists() else None)
        self.port = port
        # One folder per stack: stacks started side by side (tests, bench) would otherwise interleave their logs.
        self.log_dir = Path(log_dir) if log_dir is not None else self.template.parent / ".orderflow" / "logs" / stack_name
        self.observers = observers
        self.serve_http = serve_http
        self.runtime_options = dict(runtime_options or {})
        self.dynamodb = dynamodb  # None: $ORDERFLOW_DYNAMODB when the cloud starts, else DEFAULT_DYNAMODB
        self._moto: EmbeddedMoto | None = None
        self._dynamodb_local: DynamoDBLocal | None = None
        self.sidecars: dict[str, Sidecar] = {}  # by config name, e.g. to inspect the payment sandbox
        self._endpoints: Endpoints | None = None
        self._stack: DeployedStack | None = None
        self._runtime: Runtime | None = None
        self._api_url: str | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> LocalCloud:
        """Endpoints, then sidecars, then deploy, then runtime and gateway; undone in full on failure."""
        try:
            config = CloudConfig.load(self.config_path) if self.config_path is not None else CloudConfig()
            self._endpoints = self._start_endpoints()
            sidecar_parameters = self._start_sidecars(config)
            parameters = {**config.parameters, **sidecar_parameters, **self.parameters}
            self._stack = deploy(self.template, self._endpoints, stack_name=self.stack_name, parameters=parameters)
            self._runtime = Runtime(
                self._stack, self._endpoints, observers=self.observers, log_dir=self.log_dir, **self.runtime_options
            )
            self._runtime.start()
            if self.serve_http:
                self._api_url = self._runtime.serve_http(host="127.0.0.1", port=self.port)
            outputs = dict(self._stack.outputs)
            if self._api_url is not None and "ApiUrl" in outputs:
                outputs["ApiUrl"] = self._api_url + "/"
            record_stack(self._endpoints, self.stack_name, outputs)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_endpoints(self) -> Endpoints:
        """The endpoint variables first; then DynamoDB Local if chosen and no variable names a DynamoDB; moto for the rest."""
        endpoints, needs_moto = choose_endpoints(self.endpoint_url, os.environ)
        dynamodb = self.dynamodb or os.environ.get(DYNAMODB_VARIABLE) or DEFAULT_DYNAMODB
        if dynamodb not in DYNAMODB_EMULATORS:
            raise LocalCloudError(f"DynamoDB emulator {dynamodb!r} is not one of {', '.join(DYNAMODB_EMULATORS)} (--dynamodb or ${DYNAMODB_VARIABLE})")
        per_service = dict(endpoints.per_service)
        if dynamodb == "local" and not per_service.keys() & set(DynamoDBLocal.SERVICES):
            self._dynamodb_local = DynamoDBLocal(region=endpoints.region)
            per_service.update(self._dynamodb_local.start().per_service)
        default = endpoints.default
        if needs_moto:
            self._moto = EmbeddedMoto(region=endpoints.region)
            default = self._moto.start().default
        return Endpoints(default=default, per_service=per_service, region=endpoints.region)

    def _start_sidecars(self, config: CloudConfig) -> dict[str, str]:
        parameters = {}
        for sidecar_config in config.sidecars:
            sidecar = load_sidecar(sidecar_config)
            try:
                url = sidecar.start()
            except Exception as error:
                raise LocalCloudError(f"sidecar {sidecar_config.name!r} failed to start: {error}") from error
            self.sidecars[sidecar_config.name] = sidecar
            parameters[sidecar_config.parameter] = url
        return parameters

    def stop(self) -> None:
        """Stop everything that started, in reverse order; safe to call twice. `stack` stays readable."""
        self._api_url = None
        if self._runtime is not None:
            self._runtime.stop()
            self._runtime = None
        for name in reversed(list(self.sidecars)):
            self.sidecars.pop(name).stop()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if self._dynamodb_local is not None:
            self._dynamodb_local.stop()
            self._dynamodb_local = None
        self._endpoints = None

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what callers use -------------------------------------------------------------------

    @property
    def endpoints(self) -> Endpoints:
        return self._require(self._endpoints, "endpoints")

    @property
    def stack(self) -> DeployedStack:
        return self._require(self._stack, "stack")

    @property
    def runtime(self) -> Runtime:
        return self._require(self._runtime, "runtime")

    @property
    def api_url(self) -> str:
        return self._require(self._api_url, "api_url")

    def client(self, service: str, **config: Any) -> Any:
        """A boto3 client for `service` at this cloud's endpoint."""
        return self.endpoints.client(service, **config)

    @staticmethod
    def _require(value: Any, what: str) -> Any:
        if value is None:
            raise LocalCloudError(f"LocalCloud.{what} is only available while the cloud is running (use `with LocalCloud(...)`)")
        return value


__all__ = ["CloudConfig", "LocalCloud", "LocalCloudError", "Sidecar", "SidecarConfig"]
