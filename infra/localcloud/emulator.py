"""Where the AWS APIs are: an embedded moto server, or endpoints someone else runs.

Everything in the local cloud, and every handler it runs, reaches AWS through boto3 with
the standard endpoint settings (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`). This
module is the one place that decides those URLs, so pointing the whole stack at moto
server, LocalStack or a mix is a matter of environment, never of code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from localcloud.model import ACCOUNT_ID, DEFAULT_REGION

# Service ids as boto3 spells them in AWS_ENDPOINT_URL_<SERVICE> (upper case, "_" for " " and "-").
SERVICES: tuple[str, ...] = (
    "sqs",
    "sns",
    "s3",
    "dynamodb",
    "dynamodbstreams",
    "iam",
    "sts",
    "ssm",
    "logs",
    "cloudwatch",
    "application-autoscaling",
    "lambda",
    "cloudformation",
    "events",
    "kms",
)

_ENV_SUFFIX = {
    "dynamodbstreams": "DYNAMODB_STREAMS",
    "application-autoscaling": "APPLICATION_AUTO_SCALING",
    "cloudwatch": "CLOUDWATCH",
    "events": "EVENTBRIDGE",
    "logs": "CLOUDWATCH_LOGS",
}

# Credentials for emulators, which accept any; real AWS uses the standard credential chain.
# A 12-digit access key id is the account id to LocalStack (moto's default is the same), so ARNs match on both.
EMULATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": ACCOUNT_ID,
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def env_var_for(service: str) -> str:
    """The boto3 per-service endpoint variable for a service, e.g. `AWS_ENDPOINT_URL_SQS`."""
    return "AWS_ENDPOINT_URL_" + _ENV_SUFFIX.get(service, service.upper().replace("-", "_"))


@dataclass(frozen=True)
class Endpoints:
    """The endpoint of each AWS service the stack uses; `None` everywhere means real AWS."""

    default: str | None = None
    per_service: Mapping[str, str] = field(default_factory=dict)
    region: str = DEFAULT_REGION

    @classmethod
    def from_environment(cls, endpoint_url: str | None = None, environ: Mapping[str, str] | None = None) -> Endpoints:
        """Read boto3's standard endpoint variables; an explicit `endpoint_url` wins over `AWS_ENDPOINT_URL`."""
        env = os.environ if environ is None else environ
        per_service = {svc: env[env_var_for(svc)] for svc in SERVICES if env.get(env_var_for(svc))}
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        return cls(default=endpoint_url or env.get("AWS_ENDPOINT_URL"), per_service=per_service, region=region)

    @property
    def is_emulated(self) -> bool:
        return bool(self.default or self.per_service)

    def url_for(self, service: str) -> str | None:
        return self.per_service.get(service, self.default)

    def client(self, service: str, **config: Any) -> Any:
        """A boto3 client for `service` at its endpoint, with emulator credentials when emulated."""
        kwargs: dict[str, Any] = {"region_name": self.region, "config": Config(**config) if config else None}
        url = self.url_for(service)
        if url:
            kwargs["endpoint_url"] = url
        if self.is_emulated:
            kwargs["aws_access_key_id"] = EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"]
            kwargs["aws_secret_access_key"] = EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
            kwargs["aws_session_token"] = EMULATOR_CREDENTIALS["AWS_SESSION_TOKEN"]
        return boto3.session.Session().client(service, **{k: v for k, v in kwargs.items() if v is not None})

    def process_env(self) -> dict[str, str]:
        """The variables a handler process needs to reach these endpoints through plain boto3."""
        env = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
        if self.default:
            env["AWS_ENDPOINT_URL"] = self.default
        for service, url in self.per_service.items():
            env[env_var_for(service)] = url
        if self.is_emulated:
            env.update(EMULATOR_CREDENTIALS)
        return env


class EmbeddedMoto:
    """moto's server on a free loopback port, in a thread of this process.

    A server rather than moto's in-process mock, because handlers run in their own
    processes (one per execution environment) and must reach the same state over HTTP.
    """

    def __init__(self, region: str = DEFAULT_REGION, host: str = "127.0.0.1", port: int = 0) -> None:
        self._region = region
        self._host = host
        self._port = port
        self._server: Any = None

    def start(self) -> Endpoints:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address=self._host, port=self._port, verbose=False)
        self._server.start()
        return self.endpoints

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("embedded moto is not running")
        return f"http://{self._host}:{self._server._server.server_port}"

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(default=self.url, region=self._region)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Endpoints:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
