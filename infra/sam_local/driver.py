"""`make sam-local`: the event files through `sam local invoke`, against a moto server, checked.

    python -m sam_local.driver build CASES    # outside the namespace: sam build (needs PyPI)
    python -m sam_local.driver invoke CASES   # inside it (in_netns.sh): moto, deploy, invoke, check
    python -m sam_local.driver bench CASES    # inside it: time sam against the local runtime (sam_local/bench.py)

The moto server listens on the Docker bridge address, which exists only inside the private
namespace that in_netns.sh runs in: the Lambda containers reach it there and nothing else can.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.deploy import deploy
from localcloud.emulator import EMULATOR_CREDENTIALS, EmbeddedMoto, Endpoints

from sam_local.cases import Case, CaseFile, load, problems
from sam_local.envvars import sam_env_vars

ROOT = Path(__file__).resolve().parents[2]
BRIDGE_IP = "172.17.0.1"
INVOKE_TIMEOUT_S = 180


def build_dir(template: Path) -> Path:
    """The root template shares `make gates`' build; a test template builds beside itself."""
    return template.parent / ".aws-sam" / "build"


def sam_command(*args: str) -> list[str]:
    return [os.environ.get("SAM", "sam"), *args]


def sam_env() -> dict[str, str]:
    return {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}


def build(case_file: CaseFile) -> None:
    subprocess.run(
        sam_command("build", "--template-file", str(case_file.template), "--build-dir", str(build_dir(case_file.template))),
        env=sam_env(),
        check=True,
    )


@dataclass(frozen=True)
class SamStack:
    """What every `sam local` command of a run shares: the built template, the stack in moto, its variables."""

    built: Path
    endpoints: Endpoints
    stack: Any
    env_file: Path
    overrides: list[str]

    def options(self) -> list[str]:
        """--template, --env-vars, --skip-pull-image and the parameter overrides, common to invoke and start-lambda."""
        return [
            "--template", str(self.built), "--env-vars", str(self.env_file), "--skip-pull-image",
            *(["--parameter-overrides", *self.overrides] if self.overrides else []),
        ]  # fmt: skip

    def env(self) -> dict[str, str]:
        # sam asks STS for the account id before every invoke; without an answer botocore retries with backoff
        # for ~10 s. moto answers at once, with the account id the stack was deployed under.
        return {**sam_env(), **EMULATOR_CREDENTIALS, "AWS_ENDPOINT_URL_STS": self.endpoints.url_for("sts") or ""}

    def invoke_command(self, case: Case) -> list[str]:
        return sam_command("local", "invoke", case.function, "--event", str(case.event), *self.options())


@contextmanager
def sam_stack(case_file: CaseFile) -> Iterator[SamStack]:
    """A moto server on the bridge with the template deployed, and the `--env-vars` file for it."""
    built = build_dir(case_file.template) / "template.yaml"
    if not built.is_file():
        raise SystemExit(f"sam-local: {built} missing: run the build step first")
    with EmbeddedMoto(host=BRIDGE_IP) as endpoints:
        parameters = case_file.parameters_for(endpoints.default or "")
        started = time.monotonic()
        stack = deploy(case_file.template, endpoints, parameters=parameters)
        print(f"sam-local: deployed {len(stack.resources)} resources into moto at {endpoints.default} "
              f"in {time.monotonic() - started:.1f}s")
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(sam_env_vars(stack, endpoints.default or ""), f)
        try:
            yield SamStack(built, endpoints, stack, Path(f.name), [f"{k}={v}" for k, v in parameters.items()])
        finally:
            os.unlink(f.name)


def invoke(case_file: CaseFile) -> int:
    with sam_stack(case_file) as sam:
        failed = sum(bool(_run_case(case, sam)) for case in case_file.cases)
    passed = len(case_file.cases) - failed
    print(f"sam-local: {passed} passed, {failed} failed")
    return 1 if failed else 0


def _run_case(case: Case, sam: SamStack) -> list[str]:
    endpoints, stack = sam.endpoints, sam.stack
    event = case.event.relative_to(ROOT) if case.event.is_relative_to(ROOT) else case.event
    label = f"{case.function} <- {event}"
    started = time.monotonic()
    proc = subprocess.run(sam.invoke_command(case), env=sam.env(), capture_output=True, text=True, timeout=INVOKE_TIMEOUT_S)
    elapsed = time.monotonic() - started
    failures = [f"sam exited {proc.returncode}"] if proc.returncode else []
    result = _printed_result(proc.stdout)
    failures += problems(result, case.expect)
    failures += [p for check in case.items if (p := _missing_item(check, endpoints, stack))]
    print(f"sam-local: {'ok  ' if not failures else 'FAIL'} {label} ({elapsed:.1f}s)")
    for failure in failures:
        print(f"    {failure}")
    if failures:
        print("    --- sam stderr (tail) ---\n" + "\n".join("    " + line for line in proc.stderr.splitlines()[-25:]))
    return failures


def _printed_result(stdout: str) -> Any:
    """sam prints the function's response as the last line of stdout."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        return json.loads(lines[-1])
    except ValueError:
        return lines[-1]


def _missing_item(check: Any, endpoints: Endpoints, stack: Any) -> str | None:
    table = stack.physical_id(check.table)
    key = {k: {"S": v} for k, v in check.key.items()}
    if "Item" in endpoints.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True):
        return None
    return f"no item {check.key} in {check.table} ({table}) after the invoke"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sam_local.driver")
    parser.add_argument("step", choices=("build", "invoke", "bench"))
    parser.add_argument("cases", type=Path)
    args = parser.parse_args(argv)
    case_file = load(args.cases, ROOT)
    if args.step == "build":
        build(case_file)
        return 0
    if args.step == "bench":
        from sam_local.bench import bench  # here, not at the top: sam_local.bench builds on this module

        return bench(case_file)
    return invoke(case_file)


if __name__ == "__main__":
    sys.exit(main())
