"""The crash-after-side-effect hook (to be wired into the handler bootstrap): the write lands, then the process ends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from localcloud.emulator import EmbeddedMoto
from localcloud.faults import crash
from localcloud.faults.plan import Fault, FaultKind, FaultPlan

ROOT = Path(__file__).resolve().parents[2]


class Crashed(Exception):
    pass


def _exit(code: int) -> None:
    raise Crashed(code)


def test_the_process_ends_right_after_the_chosen_write_and_not_after_a_read() -> None:
    with EmbeddedMoto() as moto:
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=moto.region)
        plan = FaultPlan((Fault(FaultKind.CRASH_AFTER_SIDE_EFFECT, 1.0, service="dynamodb", operations=frozenset({"PutItem"})),))
        crash.install(session.events, plan, exit_process=_exit)
        ddb = session.client("dynamodb", endpoint_url=moto.default)
        ddb.create_table(TableName="crash", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
        with pytest.raises(Crashed) as crashed:
            ddb.put_item(TableName="crash", Item={"k": {"S": "1"}})
        assert crashed.value.args == (crash.CRASH_EXIT_CODE,)
        assert ddb.get_item(TableName="crash", Key={"k": {"S": "1"}})["Item"], "the side effect happened before the crash"


def test_installed_from_the_environment_it_exits_the_process(tmp_path: Path) -> None:
    with EmbeddedMoto() as moto:
        moto.client("sns").create_topic(Name="crash-topic")
        script = (
            "import boto3; from localcloud.faults import crash; crash.install_from_environment();"
            f"boto3.client('sns', endpoint_url='{moto.default}').publish(TopicArn='arn:aws:sns:{moto.region}:123456789012:crash-topic', Message='m');"
            "print('survived')"
        )
        plan = {"faults": [{"kind": "crash_after_side_effect", "rate": 1.0, "service": "sns"}]}
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "infra"), crash.PLAN_VAR: json.dumps(plan),
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": moto.region}
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == crash.CRASH_EXIT_CODE, done.stderr
        assert "survived" not in done.stdout
