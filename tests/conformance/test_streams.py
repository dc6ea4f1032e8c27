"""DynamoDB stream event source mappings: retries, partial failures, bisection, on-failure
destinations (SQS, SNS, S3), REMOVE events, filters, record size — as AWS runs them.

Sources: https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html (the event, SizeBytes of
its examples), https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html (the
on-failure record, S3 destinations and their key layout),
https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html,
https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html (exists on leaves
only), and the recording against AWS of issue 11 (5 deliveries and approximateInvokeCount 4 for
MaximumRetryAttempts 3 with a partial failure; functionError null; arrival times in seconds).
"""

from __future__ import annotations

import json
import re

from .conftest import Traces, module_cloud, receive_all, wait_for

cloud = module_cloud("streams.yaml")
ARRIVAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _events(traces: Traces, cloud, function: str) -> list[dict]:
    return traces.events(cloud.stack.function(function).function_name)


def _put(cloud, table: str, *items: dict) -> None:
    ddb = cloud.client("dynamodb")
    for item in items:
        ddb.put_item(TableName=cloud.stack.physical_id(table), Item=item)


def test_a_partial_failure_is_retried_as_a_new_batch_maximum_retry_attempts_more_times(cloud, traces: Traces) -> None:
    _put(cloud, "RetryTable", {"pk": {"S": "poison-1"}})
    (message,) = receive_all(cloud, "FailuresQueue", expected=1, timeout_s=40)
    deliveries = [e for e in _events(traces, cloud, "RetryConsumer") if e["Records"][0]["dynamodb"]["Keys"]["pk"]["S"] == "poison-1"]
    assert len(deliveries) == 5  # recorded on AWS: MaximumRetryAttempts 3 -> 5 deliveries of the failing record
    record = json.loads(message["Body"])
    assert record["requestContext"]["approximateInvokeCount"] == 4
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert "functionError" in record["responseContext"] and record["responseContext"]["functionError"] is None
    info = record["DDBStreamBatchInfo"]
    assert ARRIVAL.match(info["approximateArrivalOfFirstRecord"]) and ARRIVAL.match(info["approximateArrivalOfLastRecord"])
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == info["endSequenceNumber"]


def test_bisection_isolates_the_failing_record_and_sns_gets_its_failure_record(cloud, traces: Traces) -> None:
    _put(cloud, "BisectTable", *({"pk": {"S": key}} for key in ("b1", "b2", "poison-b", "b3")))
    (message,) = receive_all(cloud, "TopicFailuresQueue", expected=1, timeout_s=40)
    record = json.loads(message["Body"])
    assert record["responseContext"]["functionError"] == "Unhandled" and record["DDBStreamBatchInfo"]["batchSize"] == 1
    failed = [len(e["Records"]) for e in _events(traces, cloud, "BisectConsumer") if any("poison" in r["dynamodb"]["Keys"]["pk"]["S"] for r in e["Records"])]
    assert failed == [4, 2, 1]  # halves until the failing record stands alone; splitting uses no retry
    delivered = {r["dynamodb"]["Keys"]["pk"]["S"] for e in _events(traces, cloud, "BisectConsumer") for r in e["Records"]}
    assert {"b1", "b2", "b3"} <= delivered


def test_an_s3_destination_gets_the_invocation_under_awss_key_layout(cloud, traces: Traces) -> None:
    _put(cloud, "MalformedTable", {"pk": {"S": "poison-s3"}})
    s3 = cloud.client("s3")
    bucket = cloud.stack.physical_id("FailuresBucket")
    objects = wait_for(lambda: s3.list_objects_v2(Bucket=bucket).get("Contents"), timeout_s=30, what="an object in the bucket")
    mapping_id = cloud.stack.physical_id("MalformedMapping")
    key = objects[0]["Key"]
    assert re.fullmatch(
        rf"aws/lambda/{mapping_id}/[^/]+/\d{{4}}/\d\d/\d\d/\d{{4}}-\d\d-\d\dT\d\d\.\d\d\.\d\d-[0-9a-f-]{{36}}", key
    ), key
    body = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert body["responseContext"]["functionError"] is None  # malformed batchItemFailures: the function returned
    assert body["requestContext"]["approximateInvokeCount"] == 2  # MaximumRetryAttempts 1
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in json.loads(body["payload"])["Records"]] == ["poison-s3"]


def test_size_bytes_remove_events_and_exists_false_on_an_attribute(cloud, traces: Traces) -> None:
    ddb = cloud.client("dynamodb")
    table = cloud.stack.physical_id("ItemsTable")
    # Lambda's documented example: INSERT {Id: 101, Message: "New item!"} is 26 bytes, its REMOVE 26 (keys 5 + old image 21)
    ddb.put_item(TableName=table, Item={"Id": {"N": "101"}, "Message": {"S": "New item!"}})
    ddb.put_item(TableName=table, Item={"Id": {"N": "102"}, "note": {"S": "has a note"}})
    ddb.delete_item(TableName=table, Key={"Id": {"N": "101"}})
    records = wait_for(
        lambda: len(rs := [r for e in _events(traces, cloud, "ItemsConsumer") for r in e["Records"]]) >= 3 and rs,
        what="three stream records",
    )
    by_event = {(r["eventName"], r["dynamodb"]["Keys"]["Id"]["N"]): r for r in records}
    # {"exists": false} looks at leaves only: "note" holds an object ({"S": ...}), so both items pass, as on AWS
    assert set(by_event) == {("INSERT", "101"), ("INSERT", "102"), ("REMOVE", "101")}
    assert by_event[("INSERT", "101")]["dynamodb"]["SizeBytes"] == 26
    removed = by_event[("REMOVE", "101")]
    assert removed["dynamodb"]["SizeBytes"] == 26 and "NewImage" not in removed["dynamodb"]
    assert removed["dynamodb"]["OldImage"] == {"Id": {"N": "101"}, "Message": {"S": "New item!"}}
    assert list(removed) == ["eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb", "eventSourceARN"]
