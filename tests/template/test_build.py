"""What `sam build` ships: each function's dependencies once, without a second botocore, with bytecode.

functions/Makefile installs functions/requirements.txt with `--no-deps` (pip would otherwise pull
botocore through aws-xray-sdk, though the python3.13 runtime has it), so requirements.txt must name
every package the functions import beyond what the runtime provides; this holds it to that, reading
each pinned package's declared dependencies from the project venv (where the same pins are installed).
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, distribution

import pytest
from packaging.requirements import Requirement

from . import stack

REQUIREMENTS = stack.ROOT / "functions" / "requirements.txt"
# What the Lambda python3.13 runtime has: the SDK and its dependencies
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html, "runtime-included SDK").
RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _pinned() -> dict[str, Requirement]:
    lines = [line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text().splitlines()]
    return {_name(r.name): r for r in (Requirement(line) for line in lines if line)}


def test_requirements_are_pinned_and_bring_no_second_sdk() -> None:
    pinned = _pinned()
    assert all(str(r.specifier).startswith("==") for r in pinned.values()), pinned
    assert not {"boto3", "botocore", "s3transfer"} & set(pinned), "the runtime has the SDK: a bundled one is 30 MB per function"


def test_requirements_name_every_dependency_of_what_they_pin() -> None:
    pinned = _pinned()
    missing = []
    for name, requirement in pinned.items():
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            pytest.fail(f"{name} is not installed in .venv: make venv")
        assert dist.version == str(requirement.specifier).removeprefix("=="), f"{name}: .venv has {dist.version}"
        for dependency in map(Requirement, dist.requires or []):
            wanted = dependency.marker is None or any(
                dependency.marker.evaluate({"extra": extra}) for extra in (requirement.extras or {""})
            )
            if wanted and _name(dependency.name) not in pinned and _name(dependency.name) not in RUNTIME:
                missing.append(f"{name} needs {dependency}")
    assert missing == []


def test_every_function_is_built_by_the_functions_makefile() -> None:
    template = stack.load()
    functions = {i: r for i, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert functions
    assert {i for i, r in functions.items() if (r.get("Metadata") or {}).get("BuildMethod") != "makefile"} == set()
    makefile = (stack.ROOT / "functions" / "Makefile").read_text()
    assert "--no-deps" in makefile and "compileall" in makefile
