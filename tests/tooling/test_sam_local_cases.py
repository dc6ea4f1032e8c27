"""The checks behind `make sam-local`, without Docker: case files, result checks, the --env-vars file.

`sam local invoke` exits 0 when the handler raises, so these checks are the only thing that
turns a broken function red in CI; they must fail on errorType and on any expected value.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.model import DeployedStack, FunctionSpec
from sam_local.cases import load, problems
from sam_local.envvars import UndeclaredEndpoint, sam_env_vars

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT = "http://172.17.0.1:5000"


def stack_with(**environments: dict[str, str]) -> DeployedStack:
    functions = {
        name: FunctionSpec(logical_id=name, function_name=f"s-{name}", arn=f"arn:aws:lambda:us-east-1:123456789012:function:s-{name}",
                           handler="h.handler", runtime="python3.13", code_dir=ROOT, environment=env)
        for name, env in environments.items()
    }
    return DeployedStack(stack_name="s", region="us-east-1", account_id="123456789012", parameters={},
                         resources={}, functions=functions, outputs={})


@pytest.mark.parametrize("cases_file", ["infra/sam_local/cases.toml", "infra/sam_local/bench_cases.toml", "tests/tooling/sam_app/cases.toml"])
def test_the_case_files_ci_uses_load_with_their_event_files(cases_file: str) -> None:
    case_file = load(ROOT / cases_file, ROOT)
    assert case_file.template.is_file()
    assert all(case.event.is_file() for case in case_file.cases)
    assert case_file.parameters_for(ENDPOINT)["EndpointUrl"] == ENDPOINT


def test_a_case_naming_a_missing_event_file_is_refused(tmp_path: Path) -> None:
    cases = tmp_path / "cases.toml"
    cases.write_text('template = "template.yaml"\n[[case]]\nfunction = "F"\nevent = "events/nope.json"\n')
    with pytest.raises(ValueError, match="events/nope.json"):
        load(cases, tmp_path)


def test_a_handler_error_fails_even_without_expectations() -> None:
    result = {"errorType": "KeyError", "errorMessage": "'Records'", "stackTrace": []}
    assert problems(result, {}) == ["handler raised KeyError: 'Records'"]


def test_expectations_are_a_subset_of_the_result() -> None:
    result = {"statusCode": 202, "headers": {"content-type": "application/json"}, "body": "{}"}
    assert problems(result, {"statusCode": 202, "headers": {"content-type": "application/json"}}) == []
    assert problems(result, {"statusCode": 200}) == [".statusCode: expected 200, got 202"]
    assert problems(result, {"headers": {"location": "/x"}}) == [".headers.location: missing"]
    assert problems({"batchItemFailures": [{"itemIdentifier": "m1"}]}, {"batchItemFailures": []}) == [
        ".batchItemFailures: expected [], got [{'itemIdentifier': 'm1'}]"
    ]


def test_a_result_that_is_not_json_fails() -> None:
    assert problems("Traceback (most recent call last)", {}) == [
        "result is not a JSON object: 'Traceback (most recent call last)'"
    ]
    assert problems(None, {}) == ["result is not a JSON object: None"]


def test_env_vars_carry_each_functions_physical_values() -> None:
    stack = stack_with(Api={"AWS_ENDPOINT_URL": ENDPOINT, "ORDERS_TABLE": "s-OrdersTable"},
                       Relay={"AWS_ENDPOINT_URL": ENDPOINT, "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:s-T"})
    assert sam_env_vars(stack, ENDPOINT) == {
        "Api": {"AWS_ENDPOINT_URL": ENDPOINT, "ORDERS_TABLE": "s-OrdersTable"},
        "Relay": {"AWS_ENDPOINT_URL": ENDPOINT, "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:s-T"},
    }


def test_a_function_that_does_not_declare_the_endpoint_is_named() -> None:
    stack = stack_with(Api={"AWS_ENDPOINT_URL": ENDPOINT}, Relay={"ORDERS_TABLE": "t"}, Email={"AWS_ENDPOINT_URL": ""})
    with pytest.raises(UndeclaredEndpoint, match=r"^Email, Relay: the template does not set AWS_ENDPOINT_URL"):
        sam_env_vars(stack, ENDPOINT)

