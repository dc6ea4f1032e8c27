"""`make sam-local`: the event files through `sam local invoke`, against a moto server, checked.

    python -m sam_local.driver build CASES    # outside the namespace: sam build (needs PyPI)
    python -m sam_local.driver invoke CASES   # inside it (in_netns.sh): moto, deploy, invoke, check

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


def invoke(case_file: CaseFile) -> int:
    built = build_dir(case_file.template) / "template.yaml"
    if not built.is_file():
        raise SystemExit(f"sam-local: {built} missing: run the build step first")
    with EmbeddedMoto(host=BRIDGE_IP) as endpoints:
        parameters = case_file.parameters_for(endpoints.default or "")
        started = time.monotonic()
        stack = deploy(case_file.template, endpoints, parameters=parameters)
        print(f"sam-local: deployed {len(stack.resources)} resources into moto at {endpoints.default} "
              f"in {time.monotonic() - started:.1f}s")
        env_vars = sam_env_vars(stack, endpoints.default or "")
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(env_vars, f)
        overrides = [f"{k}={v}" for k, v in parameters.items()]
        failed = 0
        for case in case_file.cases:
            failures = _run_case(case, built, Path(f.name), overrides, endpoints, stack)
            failed += bool(failures)
        os.unlink(f.name)
    passed = len(case_file.cases) - failed
    print(f"sam-local: {passed} passed, {failed} failed")
    return 1 if failed else 0


def _run_case(case: Case, built: Path, env_file: Path, overrides: list[str], endpoints: Endpoints, stack: Any) -> list[str]:
    event = case.event.relative_to(ROOT) if case.event.is_relative_to(ROOT) else case.event
    label = f"{case.function} <- {event}"
    cmd = sam_command(
        "local", "invoke", case.function, "--template", str(built), "--event", str(case.event),
        "--env-vars", str(env_file), "--skip-pull-image", *(["--parameter-overrides", *overrides] if overrides else []),
    )
    started = time.monotonic()
    # sam asks STS for the account id before every invoke; without an answer botocore retries with backoff
    # for ~10 s. moto answers at once, with the account id the stack was deployed under.
    env = {**sam_env(), **EMULATOR_CREDENTIALS, "AWS_ENDPOINT_URL_STS": endpoints.url_for("sts") or ""}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=INVOKE_TIMEOUT_S)
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
    parser.add_argument("step", choices=("build", "invoke"))
    parser.add_argument("cases", type=Path)
    args = parser.parse_args(argv)
    case_file = load(args.cases, ROOT)
    if args.step == "build":
        build(case_file)
        return 0
    return invoke(case_file)


if __name__ == "__main__":
    sys.exit(main())
