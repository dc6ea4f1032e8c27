"""Messages forced into a DLQ by a consumer that fails until a switch is flipped are redriven after
the fix and processed exactly once (deployer + runtime on embedded moto, the tool as the CLI uses it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localcloud.deploy import deploy
from localcloud.runtime import Runtime
from ordertools.dlq import RedrivePlan, depth, find_dead_letter_queue, redrive
from ordertools.sqs_messages import BodyFilter
from ordertools.targets import from_deployed_stack

from .conftest import wait_until

TEMPLATE = Path(__file__).parent / "templates" / "switch_consumer.yaml"


@pytest.fixture
def running(endpoints, tmp_path):
    stack = deploy(TEMPLATE, endpoints, stack_name=f"redrive-{tmp_path.name[-12:]}".replace("_", "-"))
    runtime = Runtime(stack, endpoints, log_dir=tmp_path / "logs")
    runtime.start()
    try:
        yield stack, runtime, from_deployed_stack(stack, endpoints, lambda_url=runtime.serve_http())
    finally:
        runtime.stop()


def deliveries(endpoints, table: str) -> dict[str, int]:
    items = endpoints.client("dynamodb").scan(TableName=table)["Items"]
    return {item["id"]["S"]: int(item["deliveries"]["N"]) for item in items}


def settled(sqs, *urls) -> bool:
    return all(depth(sqs, url).visible == 0 and depth(sqs, url).in_flight == 0 for url in urls)


def test_failing_consumer_then_fix_then_filtered_and_full_redrive_process_each_message_once(running, endpoints):
    stack, runtime, target = running
    sqs, ssm = endpoints.client("sqs"), endpoints.client("ssm")
    queue, table = stack.physical_id("WorkQueue"), stack.physical_id("ProcessedTable")
    dlq = find_dead_letter_queue(target, "WorkDLQ")
    ids = [f"order-{i}" for i in range(8)]
    for i, order_id in enumerate(ids):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"id": order_id, "priority": "high" if i < 3 else "low"}))

    wait_until(lambda: depth(sqs, dlq.url).visible == 8, timeout_s=30, message="all 8 messages dead-lettered")
    assert deliveries(endpoints, table) == {}

    ssm.put_parameter(Name=stack.physical_id("SwitchParameter"), Value="on", Overwrite=True)  # the fix

    first = redrive(target, RedrivePlan(dlq=dlq, filter=BodyFilter("priority == 'high'")), progress=False, wait_s=0)
    assert (first.replayed, first.skipped, first.failed) == (3, 5, 0)
    wait_until(lambda: len(deliveries(endpoints, table)) == 3, message="high-priority messages processed")
    assert depth(sqs, dlq.url).visible == 5

    rest = redrive(target, RedrivePlan(dlq=dlq), progress=False, wait_s=0)
    assert (rest.replayed, rest.failed) == (5, 0)
    wait_until(lambda: len(deliveries(endpoints, table)) == 8 and settled(sqs, queue, dlq.url), message="all processed")
    assert runtime.stats()["WorkFunction"]["in_flight"] == 0

    assert deliveries(endpoints, table) == {order_id: 1 for order_id in ids}
