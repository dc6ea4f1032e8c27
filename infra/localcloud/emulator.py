"""Where the AWS APIs are: an embedded moto server, or endpoints someone else runs.

Everything in the local cloud, and every handler it runs, reaches AWS through boto3 with
the standard endpoint settings (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`). This
module is the one place that decides those URLs, so pointing the whole stack at moto
server, LocalStack or a mix is a matter of environment, never of code.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
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


_START_TIMEOUT_S = 30  # importing moto takes 1-2 s, DynamoDB Local's JVM 3-4 s; a loaded machine, much longer
_STOP_TIMEOUT_S = 5
_PROJECT = Path(__file__).resolve().parents[2]  # infra/localcloud/emulator.py


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


class _PipedServer:
    """An emulator in a child process that prints its port, then serves until its standard input closes.

    The parent holds the other end of that pipe, so the child ends with its parent however the
    parent ends, a SIGKILL included: no emulator is ever left behind.
    """

    name = "emulator"

    def __init__(self, region: str, host: str, port: int) -> None:
        self._region = region
        self._host = host
        self._port = port
        self._process: subprocess.Popen[str] | None = None
        self._bound_port: int | None = None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _port_from(self, line: str) -> int | None:
        """The port a line of the child's output names, or None for any other line."""
        raise NotImplementedError

    def _serves(self, endpoints: Endpoints) -> Endpoints:
        """The endpoints this emulator serves, given its URL."""
        raise NotImplementedError

    def start(self) -> Endpoints:
        # A session of its own: a terminal's Ctrl-C reaches the whole process group, and the emulator must
        # go only when its owner says (a JVM exits on SIGINT), after the owner's pollers stopped calling it.
        self._process = subprocess.Popen(
            self._command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        assert self._process.stdout is not None
        deadline = time.monotonic() + _START_TIMEOUT_S
        while self._bound_port is None:
            ready, _, _ = select.select([self._process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            line = self._process.stdout.readline() if ready else ""
            if not line:  # the child closed its output (it exited) or said nothing in time
                code = self._process.poll()
                self.stop()
                why = f"exited with code {code}" if code is not None else f"named no port within {_START_TIMEOUT_S}s"
                raise RuntimeError(f"{self.name} on {self._host}:{self._port} did not start: it {why} (its stderr says why)")
            self._bound_port = self._port_from(line)
        return self.endpoints

    @property
    def url(self) -> str:
        if self._bound_port is None:
            raise RuntimeError(f"{self.name} is not running")
        return f"http://{self._host}:{self._bound_port}"

    @property
    def endpoints(self) -> Endpoints:
        return self._serves(Endpoints(default=self.url, region=self._region))

    def stop(self) -> None:
        """Close the child's stdin (it stops serving and exits); kill it if it does not."""
        process, self._process, self._bound_port = self._process, None, None
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        process.stdin.close()
        try:
            process.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()

    def __enter__(self) -> Endpoints:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EmbeddedMoto(_PipedServer):
    """moto's server on a free loopback port, in a child process of its own.

    A server rather than moto's in-process mock, because handlers run in their own processes
    (one per execution environment) and must reach the same state over HTTP. A process rather
    than a thread of this one, for two reasons: moto keeps its state per Python process, so two
    clouds started in one process (a test session) would share every resource of a stack name;
    and moto's request handling would compete for this process's GIL with the runtime's pollers
    and gateway (`orderflow bench`, 150 orders: 1.96 settled/s against 1.49 in a thread).
    """

    name = "embedded moto"

    def __init__(self, region: str = DEFAULT_REGION, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(region, host, port)

    def _command(self) -> list[str]:
        return [sys.executable, str(Path(__file__).with_name("moto_process.py")), self._host, str(self._port)]

    def _port_from(self, line: str) -> int | None:
        return int(line) if line.strip().isdigit() else None

    def _serves(self, endpoints: Endpoints) -> Endpoints:
        return endpoints  # every service


class DynamoDBLocal(_PipedServer):
    """AWS's DynamoDB Local (DynamoDB and DynamoDB Streams, in memory) on a free loopback port.

    Installed by `make dynamodb-local-install` into `.dynamodb-local/` (DYNAMODB_LOCAL_HOME to
    point elsewhere); the JVM is the machine's. `dynamodb_local.sh run` says loudly what is missing
    (the install, java) on stderr, and `start` then fails naming the emulator. Its cost per call does not grow with the tables
    (docs/emulators.md has the figures). It serves only DynamoDB and its streams: `endpoints` names
    those two services, for a cloud that puts everything else on embedded moto or LocalStack.
    """

    name = "DynamoDB Local"
    SERVICES = ("dynamodb", "dynamodbstreams")

    def __init__(self, region: str = DEFAULT_REGION, host: str = "127.0.0.1", port: int = 0, home: Path | None = None) -> None:
        super().__init__(region, host, port)
        self._home = home or Path(os.environ.get("DYNAMODB_LOCAL_HOME") or _PROJECT / ".dynamodb-local")

    def _command(self) -> list[str]:
        script = _PROJECT / "infra" / "dynamodb_local" / "dynamodb_local.sh"  # the one command line that runs it
        return [str(script), "run", str(self._home), self._host, str(self._port), "--until-stdin-closes"]

    def _port_from(self, line: str) -> int | None:
        word, _, port = line.strip().partition(" ")
        return int(port) if word == "LISTENING" and port.isdigit() else None

    def _serves(self, endpoints: Endpoints) -> Endpoints:
        assert endpoints.default is not None
        return Endpoints(per_service=dict.fromkeys(self.SERVICES, endpoints.default), region=endpoints.region)
