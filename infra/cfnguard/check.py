"""`make gates`' cfn-guard step: AWS Control Tower's guard rules against the template, every failure justified.

The template is SAM-transformed first (the SAM translator of `.venv-sam`, offline), so the rules for
Lambda functions, versions and aliases see what CloudFormation deploys. Control Tower's rules do
not read a resource's Metadata, so the suppressions live in `suppressions.toml`: per control, the
resources it may fail on and the reason. The step fails on any failure not listed there, and on a
listed one that no longer fails (a stale suppression hides the next real finding).

    python infra/cfnguard/check.py --guard BIN --rules DIR [--template template.yaml] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import boto3
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

HERE = Path(__file__).resolve().parent
REGION = "us-east-1"  # samconfig.toml's; only ARNs the transform writes depend on it
_EVALUATING = re.compile(r"^Evaluating data \S+ against rules (?P<file>\S+)$")
_RESOURCE = re.compile(r"^Resource = (?P<name>\S+) \{$")
_CONTROL = re.compile(r"^ct-(?P<service>[a-z0-9]+)-pr-(?P<number>\d+)\.guard$")


def translate(template: Path) -> dict[str, Any]:
    """Plain CloudFormation, intrinsics kept; local code paths become placeholder S3 URIs (nothing is uploaded)."""
    document = yaml_parse(template.read_text())
    function_globals = document.get("Globals", {}).get("Function", {})
    if isinstance(function_globals.get("CodeUri"), str):
        function_globals["CodeUri"] = "s3://cfn-guard-placeholder/code.zip"
    for resource in document["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(resource.get("Properties", {}).get("CodeUri"), str):
            resource["Properties"]["CodeUri"] = "s3://cfn-guard-placeholder/code.zip"
    translator = Translator({}, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    return translator.translate(document, parameter_values={}, get_managed_policy_map=dict)


def failures(guard: Path, rules: Path, data: Path) -> set[tuple[str, str]]:
    """(control id, logical id) of every non-compliant resource, read from cfn-guard's summary output."""
    run = subprocess.run(
        [str(guard), "validate", "--rules", str(rules), "--data", str(data), "--show-summary", "fail", "--output-format", "single-line-summary"],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode not in (0, 19):  # 19: some rule failed
        raise SystemExit(f"cfn-guard failed to run (exit {run.returncode}): {run.stderr.strip()}")
    found: set[tuple[str, str]] = set()
    control = ""
    for line in run.stdout.splitlines():
        if match := _EVALUATING.match(line):
            control = control_id(match.group("file"))
        elif (match := _RESOURCE.match(line)) and control:
            found.add((control, match.group("name")))
    return found


def control_id(rule_file: str) -> str:
    """`ct-s3-pr-2.guard` -> `CT.S3.PR.2`, the control's name in the Control Tower guide."""
    match = _CONTROL.match(rule_file)
    return f"CT.{match.group('service').upper()}.PR.{match.group('number')}" if match else rule_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guard", type=Path, required=True, help="the cfn-guard binary")
    parser.add_argument("--rules", type=Path, required=True, help="the Control Tower rules directory")
    parser.add_argument("--template", type=Path, default=Path("template.yaml"))
    parser.add_argument("--suppressions", type=Path, default=HERE / "suppressions.toml")
    parser.add_argument("--out", type=Path, default=Path(".aws-sam/guard"))
    args = parser.parse_args()

    try:
        translated = translate(args.template)
    except InvalidDocumentException as error:
        print(f"cfn-guard: SAM transform failed: {'; '.join(c.message for c in error.causes)}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.out / "template.json"
    data.write_text(json.dumps(translated, indent=1))

    suppressions = tomllib.loads(args.suppressions.read_text())
    allowed: set[tuple[str, str]] = set()
    for control, entry in suppressions.items():
        if not str(entry.get("reason", "")).strip():
            print(f"cfn-guard: {args.suppressions}: {control} has no reason", file=sys.stderr)
            return 2
        allowed |= {(control, resource) for resource in entry["resources"]}

    found = failures(args.guard, args.rules, data)
    unsuppressed = sorted(found - allowed)
    stale = sorted(allowed - found)
    for control, resource in unsuppressed:
        print(f"cfn-guard: FAIL {control} {resource} (fix it, or add it to {args.suppressions} with the reason)")
    for control, resource in stale:
        print(f"cfn-guard: STALE suppression {control} {resource}: it passes now, remove it from {args.suppressions}")
    print(f"cfn-guard: {len(found)} failures on {data}, {len(found & allowed)} suppressed with a reason, "
          f"{len(unsuppressed)} not suppressed, {len(stale)} stale suppressions")
    return 1 if unsuppressed or stale else 0


if __name__ == "__main__":
    sys.exit(main())
