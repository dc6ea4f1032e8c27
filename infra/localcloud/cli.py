"""`orderflow`: run the application locally (`up`), invoke one function, see its state, deploy only.

    orderflow up --port 3000                     # deploy + run until Ctrl-C / SIGTERM
    orderflow invoke CreateOrder --event events/create_order.json
    orderflow status
    orderflow deploy --endpoint-url http://127.0.0.1:4566

`up` writes `.orderflow/state.json` (beside the template) so that `invoke`, `status` and the
order-flow tools (`replay`, `record`, `dlq`, `demo`) find the running cloud: its pid, endpoints,
API URL and the deployed stack. App-specific commands register themselves through
`EXTENSIONS` (each module exposes `register(subparsers)`; its parsers set `handler`).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import signal
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from localcloud.cloud import CloudConfig, LocalCloud, LocalCloudError, choose_endpoints
from localcloud.deploy import DeployError, deploy
from localcloud.deploy.report import format_stack
from localcloud.emulator import EmbeddedMoto, Endpoints
from localcloud.model import DeployedStack, FunctionSpec

# Modules adding subcommands: each exposes `register(subparsers)`. A listed module that cannot be
# imported is an error for every command: a broken tool must not silently vanish from the CLI.
EXTENSIONS: tuple[str, ...] = ("ordertools.demo", "ordertools.replay", "ordertools.record", "ordertools.dlq", "ordertools.bench", "ordertools.check", "ordertools.chaos")
# Observers `up` installs in the runtime, as "module:factory" called with the state file path.
UP_OBSERVERS: tuple[str, ...] = ("ordertools.record:RecordingObserver.beside",)

STATE_DIR = ".orderflow"
STATE_FILE = "state.json"


class CliError(Exception):
    """A command that cannot proceed; its message is printed without a traceback."""


# -- argument parsing ---------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--template", type=Path, default=Path("template.yaml"), help="SAM template (default template.yaml)")
    parser.add_argument("--stack-name", default="orderflow", help="stack name: prefix of physical names (default orderflow)")
    parser.add_argument(
        "--endpoint-url", help="AWS endpoint for every service (default: AWS_ENDPOINT_URL(_<SERVICE>) or embedded moto)"
    )
    parser.add_argument(
        "--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE", help="template parameters, as `sam deploy` takes them"
    )
    parser.add_argument("--config", type=Path, help="local cloud config (default infra/localcloud.toml beside the template)")
    parser.add_argument("--state-file", type=Path, help=f"state of a running `up` (default {STATE_DIR}/{STATE_FILE} beside the template)")


def build_parser(extensions: Sequence[str] = EXTENSIONS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orderflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="deploy and run everything locally until Ctrl-C or SIGTERM")
    _common(up)
    up.add_argument("--port", type=int, default=3000, help="HTTP port on 127.0.0.1 (0 = any free port; default 3000)")
    up.set_defaults(handler=cmd_up)

    invoke = commands.add_parser("invoke", help="invoke one function once (like `sam local invoke -e`)")
    _common(invoke)
    invoke.add_argument("function", help="logical id (or physical name) of the function")
    invoke.add_argument("--event", "-e", type=Path, required=True, help="event JSON file ('-' for stdin)")
    invoke.set_defaults(handler=cmd_invoke)

    status = commands.add_parser("status", help="queue depths, in-flight invocations, table and bucket counts of the running `up`")
    _common(status)
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(handler=cmd_status)

    deploy_cmd = commands.add_parser("deploy", help="deploy the template to the endpoints and print the report")
    _common(deploy_cmd)
    deploy_cmd.set_defaults(handler=cmd_deploy)

    for module_name in extensions:
        _load(module_name, "register")(commands)
    return parser


def _load(module_name: str, attribute_path: str) -> Any:
    try:
        value: Any = importlib.import_module(module_name)
        for attribute in attribute_path.split("."):
            value = getattr(value, attribute)
    except (ImportError, AttributeError) as error:
        raise CliError(f"orderflow extension {module_name}:{attribute_path} cannot be loaded: {error}") from error
    return value


def _parameters(pairs: Sequence[str]) -> dict[str, str]:
    parameters = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--parameter-overrides takes KEY=VALUE pairs, got {pair!r}")
        parameters[key] = value
    return parameters


def _state_file(args: argparse.Namespace) -> Path:
    return args.state_file if args.state_file else args.template.resolve().parent / STATE_DIR / STATE_FILE


def _cloud(args: argparse.Namespace, **options: Any) -> LocalCloud:
    return LocalCloud(
        template=args.template,
        stack_name=args.stack_name,
        endpoint_url=args.endpoint_url,
        parameters=_parameters(args.parameter_overrides),
        config=args.config,
        **options,
    )


# -- state of a running `up` --------------------------------------------------------------------


def stack_to_json(stack: DeployedStack) -> dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(stack), default=str))


def read_running_state(path: Path) -> dict[str, Any] | None:
    """The state of a live `up`, or None when there is none (no file, or its process is gone)."""
    try:
        state = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(int(state["pid"]), 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return state


def _endpoints_from_state(state: dict[str, Any]) -> Endpoints:
    e = state["endpoints"]
    return Endpoints(default=e.get("default"), per_service=dict(e.get("per_service") or {}), region=e.get("region") or "us-east-1")


# -- commands -----------------------------------------------------------------------------------


def cmd_up(args: argparse.Namespace) -> int:
    state_file = _state_file(args)
    running = read_running_state(state_file)
    if running is not None:
        raise CliError(f"a local cloud is already running (pid {running['pid']}, {running['api_url']}); state in {state_file}")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    observers = tuple(_load(*spec.split(":", 1))(state_file) for spec in UP_OBSERVERS)
    cloud = _cloud(args, port=args.port, log_dir=state_file.parent / "logs", observers=observers)
    try:
        cloud.start()
        state_file.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "pid": os.getpid(),
            "api_url": cloud.api_url,
            "stack_name": cloud.stack.stack_name,
            "template": str(cloud.template),
            "log_dir": str(cloud.log_dir),
            "endpoints": {
                "default": cloud.endpoints.default,
                "per_service": dict(cloud.endpoints.per_service),
                "region": cloud.endpoints.region,
            },
            "stack": stack_to_json(cloud.stack),
        }
        tmp = state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(state_file)
        for spec in cloud.stack.functions.values():
            for line in describe_function(spec):
                print(line)
        print(f"endpoints {cloud.endpoints.default}" + "".join(f" {k}={v}" for k, v in cloud.endpoints.per_service.items()))
        print(f"ready {cloud.api_url}", flush=True)
        stop.wait()
    finally:
        cloud.stop()
        state_file.unlink(missing_ok=True)
    print("stopped", flush=True)
    return 0


def describe_function(spec: FunctionSpec) -> list[str]:
    lines = [f"function {spec.logical_id} ({spec.function_name}, {spec.handler})"]
    lines += [f"  sqs {s.queue_url} batch={s.batch_size}" for s in spec.sqs_sources]
    lines += [f"  stream {s.stream_arn} batch={s.batch_size}" for s in spec.stream_sources]
    lines += [f"  http {r.method} {r.path}" for r in spec.http_routes]
    lines += [f"  schedule {s.expression}" for s in spec.schedules]
    return lines


def cmd_invoke(args: argparse.Namespace) -> int:
    event = _read_event(args.event)
    state = read_running_state(_state_file(args))
    if state is not None:
        print(f"invoking through the running local cloud at {state['api_url']}", file=sys.stderr)
        payload, failed = _invoke_running(state, args.function, event)
    else:
        payload, failed = _invoke_fresh(args, event)
    print(json.dumps(payload))
    return 1 if failed else 0


def _read_event(path: Path) -> Any:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
        return json.loads(text) if text.strip() else {}
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read event {path}: {error}") from error


def _invoke_running(state: dict[str, Any], function: str, event: Any) -> tuple[Any, bool]:
    request = urllib.request.Request(
        f"{state['api_url']}/2015-03-31/functions/{function}/invocations",
        data=json.dumps(event).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=960) as response:  # noqa: S310 - the loopback gateway
            body = response.read()
            failed = response.headers.get("X-Amz-Function-Error") is not None
    except urllib.error.HTTPError as error:
        raise CliError(f"invoke {function}: {error.code} {error.read().decode(errors='replace')}") from error
    return (json.loads(body) if body else None), failed


def _invoke_fresh(args: argparse.Namespace, event: Any) -> tuple[Any, bool]:
    with tempfile.TemporaryDirectory(prefix="orderflow-invoke-") as log_dir:
        with _cloud(args, serve_http=False, log_dir=Path(log_dir)) as cloud:
            try:
                spec = cloud.stack.function(args.function)
            except KeyError:
                known = ", ".join(sorted(cloud.stack.functions)) or "none"
                raise CliError(f"no function {args.function!r} in the template (known: {known})") from None
            result = cloud.runtime.invoke(spec.logical_id, event)
        log = Path(log_dir) / f"{spec.logical_id}.log"
        if log.exists():
            sys.stderr.write(log.read_text(errors="replace"))
    if result.error is not None:
        return result.error, True
    return result.payload, False


def cmd_status(args: argparse.Namespace) -> int:
    state_file = _state_file(args)
    state = read_running_state(state_file)
    if state is None:
        print(f"no local cloud is running ({state_file} not found or its process is gone): start one with `orderflow up`")
        return 1
    status = collect_status(state)
    if args.json:
        print(json.dumps(status, indent=1))
    else:
        print(format_status(status))
    return 0


def collect_status(state: dict[str, Any]) -> dict[str, Any]:
    """Queue depths (with each DLQ's), invocations in flight, item and object counts of a running `up`."""
    endpoints = _endpoints_from_state(state)
    resources = state["stack"]["resources"]
    sqs, ddb, s3 = endpoints.client("sqs"), endpoints.client("dynamodb"), endpoints.client("s3")
    queues: dict[str, Any] = {}
    by_arn = {r["attributes"].get("Arn"): lid for lid, r in resources.items() if r["type"] == "AWS::SQS::Queue"}
    for logical_id, resource in resources.items():
        if resource["type"] != "AWS::SQS::Queue":
            continue
        attributes = sqs.get_queue_attributes(QueueUrl=resource["physical_id"], AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
        queues[logical_id] = {
            "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
            "dlq": by_arn.get(redrive.get("deadLetterTargetArn")),
        }
    for queue in queues.values():
        queue["dlq_depth"] = queues[queue["dlq"]]["visible"] if queue["dlq"] in queues else None
    tables = {}
    for logical_id, resource in resources.items():
        if resource["type"] == "AWS::DynamoDB::Table":
            pages = ddb.get_paginator("scan").paginate(TableName=resource["physical_id"], Select="COUNT")
            tables[logical_id] = sum(page["Count"] for page in pages)
    buckets = {}
    for logical_id, resource in resources.items():
        if resource["type"] == "AWS::S3::Bucket":
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=resource["physical_id"])
            buckets[logical_id] = sum(page.get("KeyCount", 0) for page in pages)
    with urllib.request.urlopen(f"{state['api_url']}/_localcloud/status", timeout=10) as response:  # noqa: S310 - loopback
        functions = json.loads(response.read())
    return {"api_url": state["api_url"], "queues": queues, "functions": functions, "tables": tables, "buckets": buckets}


def format_status(status: dict[str, Any]) -> str:
    lines = [f"local cloud at {status['api_url']}", "queues (visible / in flight / delayed, dlq):"]
    for name, q in status["queues"].items():
        dlq = f"  dlq {q['dlq']}={q['dlq_depth']}" if q["dlq"] else ""
        lines.append(f"  {name:<28} {q['visible']:>5} / {q['in_flight']:>5} / {q['delayed']:>5}{dlq}")
    lines.append("functions (in flight, invocations, errors):")
    for name, f in status["functions"].items():
        lines.append(f"  {name:<28} {f.get('in_flight', 0):>5} {f.get('invocations', 0):>7} {f.get('errors', 0):>7}")
    lines.append("tables (items):")
    lines += [f"  {name:<28} {count:>7}" for name, count in status["tables"].items()]
    lines.append("buckets (objects):")
    lines += [f"  {name:<28} {count:>7}" for name, count in status["buckets"].items()]
    return "\n".join(lines)


def cmd_deploy(args: argparse.Namespace) -> int:
    """Deploy only: the config's [parameters] apply (sidecars do not run, so their parameters keep defaults)."""
    cloud = _cloud(args, serve_http=False)
    config = CloudConfig.load(cloud.config_path) if cloud.config_path is not None else CloudConfig()
    endpoints, needs_moto = choose_endpoints(args.endpoint_url, os.environ)
    moto = EmbeddedMoto(region=endpoints.region) if needs_moto else None
    try:
        if moto is not None:
            endpoints = dataclasses.replace(endpoints, default=moto.start().default)
            print(f"no endpoint given: deploying to an embedded moto at {endpoints.default} (gone when this exits)")
        parameters = {**config.parameters, **_parameters(args.parameter_overrides)}
        stack = deploy(args.template, endpoints, stack_name=args.stack_name, parameters=parameters)
        print(format_stack(stack))
    finally:
        if moto is not None:
            moto.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; `argv` None means the console script, which exits the process itself.

    By then every command has stopped what it started (runtime, sidecars, moto, state file), so
    the script skips interpreter teardown: freeing moto's, botocore's and the SAM translator's
    heap takes seconds of CPU on a busy machine and would delay the exit a SIGTERM asked for.
    """
    code = _run(argv)
    if argv is None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _run(argv: Sequence[str] | None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.handler(args) or 0)
    except (CliError, DeployError, LocalCloudError) as error:
        print(f"orderflow: {error}", file=sys.stderr)
        return 2 if isinstance(error, CliError) else 1


if __name__ == "__main__":
    sys.exit(main())
