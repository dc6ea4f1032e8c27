"""`orderflow invoke` without a running cloud, `orderflow deploy`, and the CLI's errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localcloud import cli

TEMPLATES = Path(__file__).parent / "templates"


@pytest.fixture(autouse=True)
def no_endpoint_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def common(tmp_path: Path, template: str = "deploy_api.yaml", stack: str = "clicmd") -> list[str]:
    return ["--template", str(TEMPLATES / template), "--stack-name", stack, "--state-file", str(tmp_path / "none.json")]


def test_invoke_without_up_deploys_invokes_and_prints_the_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pathParameters": {"name": "fresh"}}))
    code, out, _ = run(
        capsys, "invoke", "Describe", "--event", str(event), *common(tmp_path), "--parameter-overrides", "Stage=cli"
    )
    assert code == 0
    response = json.loads(out)
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["name"] == "fresh" and body["stage"] == "cli"
    assert body["queue_url"].startswith("http://127.0.0.1:") and body["queue_url"].endswith("/clicmd-WorkQueue")


def test_invoke_of_a_failing_function_prints_lambdas_error_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"n": 1}')
    code, out, _ = run(capsys, "invoke", "Fail", "--event", str(event), *common(tmp_path))
    assert code == 1
    error = json.loads(out)
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "refused {'n': 1}"


def test_invoke_of_an_unknown_function_names_the_known_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    event = tmp_path / "event.json"
    event.write_text("{}")
    code, _, err = run(capsys, "invoke", "Nope", "--event", str(event), *common(tmp_path))
    assert code == 2
    assert "no function 'Nope'" in err and "Describe, Fail, Worker" in err


def test_deploy_prints_the_report_and_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # moto's state is per process, shared by every embedded server: a stack name of its own keeps this "created"
    code, out, _ = run(capsys, "deploy", *common(tmp_path, stack="clideploy"))
    assert code == 0
    assert "created     WorkQueue" in out
    assert "recorded    Describe" in out
    assert "WorkQueueUrl = http://127.0.0.1:" in out


def test_deploy_of_an_unsupported_template_fails_naming_the_resources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "deploy", *common(tmp_path, "deploy_unsupported.yaml"))
    assert code == 2  # a refused template is bad input
    assert "Machine (AWS::StepFunctions::StateMachine)" in err


def test_bad_parameter_override_syntax_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "deploy", *common(tmp_path), "--parameter-overrides", "Stage")
    assert code == 2
    assert "KEY=VALUE" in err


def test_the_order_flow_commands_are_registered() -> None:
    commands = cli.build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"up", "invoke", "status", "deploy", "demo", "replay", "record", "dlq"} <= set(commands)


def test_an_extension_that_cannot_be_loaded_fails_loudly() -> None:
    with pytest.raises(cli.CliError, match="ordertools.nonexistent:register"):
        cli.build_parser(extensions=("ordertools.nonexistent",))
