"""Reading template.yaml and turning SAM into plain CloudFormation, offline.

aws-sam-translator is the same code AWS runs for the `AWS::Serverless-2016-10-31` transform,
so using it (rather than re-implementing SAM's expansion) gives us AWS's own resource graph:
the roles, event source mappings, API bodies and permissions CloudFormation would see.
It wants S3 code locations and may look up managed policies in IAM; we hand it placeholder
S3 URIs for local code and an empty policy map so it never needs the network.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import intrinsics_multi_constructor

from localcloud.deploy.errors import DeployError

CODE_BUCKET = "localcloud-local-code"
_SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags; dates stay strings (`Version: 2012-10-17`)."""


_TemplateLoader.add_multi_constructor("!", intrinsics_multi_constructor)
_TemplateLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_template(path: Path) -> dict[str, Any]:
    try:
        document = yaml.load(path.read_text(), Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass
    except (OSError, yaml.YAMLError) as error:
        raise DeployError(f"cannot read template {path}: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise DeployError(f"{path} is not a CloudFormation template (no Resources mapping)")
    return document


@dataclass(frozen=True)
class Translated:
    """A CloudFormation template plus where each placeholder code location really lives."""

    template: dict[str, Any]
    code_dirs: dict[str, Path]  # S3 key under CODE_BUCKET -> absolute local directory


def is_sam(template: dict[str, Any]) -> bool:
    transform = template.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    return _SAM_TRANSFORM in transforms


def to_cloudformation(template: dict[str, Any], base_dir: Path, parameters: dict[str, Any], region: str) -> Translated:
    """Expand SAM resources (if the template uses the transform); local code paths survive as placeholders."""
    template = copy.deepcopy(template)
    code_dirs: dict[str, Path] = {}

    def placeholder(local: str, what: str) -> str:
        directory = (base_dir / local).resolve()
        if not directory.exists():
            raise DeployError(f"{what}: code path {local!r} does not exist ({directory})")
        key = str(len(code_dirs))
        code_dirs[key] = directory
        return f"s3://{CODE_BUCKET}/{key}"

    _replace_local_code(template, base_dir, placeholder)
    if not is_sam(template):
        return Translated(template, code_dirs)

    translator = Translator({}, Parser(), boto_session=boto3.session.Session(region_name=region))
    try:
        translated = translator.translate(template, parameter_values=dict(parameters), get_managed_policy_map=dict)
    except InvalidDocumentException as error:
        causes = "; ".join(cause.message for cause in error.causes)
        raise DeployError(f"SAM transform failed: {causes}") from error
    finally:
        translator.metrics.publish()  # to its dummy publisher: keeps it from warning about unpublished metrics
    return Translated(translated, code_dirs)


def _replace_local_code(template: dict[str, Any], base_dir: Path, placeholder: Any) -> None:
    """Swap local CodeUri/ContentUri/Code paths for placeholder S3 URIs, inline local API definitions."""
    function_globals = template.get("Globals", {}).get("Function", {})
    if _is_local(function_globals.get("CodeUri")):
        function_globals["CodeUri"] = placeholder(function_globals["CodeUri"], "Globals.Function.CodeUri")
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties") or {}
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function" and _is_local(properties.get("CodeUri")):
            properties["CodeUri"] = placeholder(properties["CodeUri"], f"{logical_id}.CodeUri")
        elif kind == "AWS::Serverless::LayerVersion" and _is_local(properties.get("ContentUri")):
            properties["ContentUri"] = placeholder(properties["ContentUri"], f"{logical_id}.ContentUri")
        elif kind == "AWS::Lambda::Function" and _is_local(properties.get("Code")):
            uri = placeholder(properties["Code"], f"{logical_id}.Code")
            properties["Code"] = {"S3Bucket": CODE_BUCKET, "S3Key": uri.rsplit("/", 1)[1]}
        elif kind in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi") and _is_local(properties.get("DefinitionUri")):
            definition = base_dir / properties.pop("DefinitionUri")
            properties["DefinitionBody"] = load_template_fragment(definition)


def load_template_fragment(path: Path) -> Any:
    """An OpenAPI document referenced by `DefinitionUri`, read as `sam build` would inline it."""
    try:
        return yaml.load(path.read_text(), Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass
    except (OSError, yaml.YAMLError) as error:
        raise DeployError(f"cannot read API definition {path}: {error}") from error


def _is_local(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith("s3://")
