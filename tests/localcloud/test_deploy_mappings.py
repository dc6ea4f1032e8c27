"""AWS's event source mapping rules (runtime/event_sources/rules.py), without an emulator.

Source: https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html (defaults
and ranges); the refusals through `orderflow deploy`/`up` are in tests/conformance/test_refusals.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.runtime.event_sources import rules

QUEUE = "arn:aws:sqs:us-east-1:123456789012:work"
FIFO = "arn:aws:sqs:us-east-1:123456789012:work.fifo"
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"


def _refused(build: Any) -> list[tuple[str, str]]:
    with pytest.raises(rules.InvalidMapping) as caught:
        build()
    return [(r.property, r.message) for r in caught.value.refusals]


def test_awss_defaults_fill_what_the_template_leaves_out() -> None:
    sqs = rules.sqs_mapping("M", {"FunctionName": "f", "EventSourceArn": QUEUE}, "url")
    assert (sqs.batch_size, sqs.maximum_batching_window_s, sqs.report_batch_item_failures, sqs.enabled) == (10, 0, False, True)
    stream = rules.stream_mapping("S", "uuid-1", {"FunctionName": "f", "EventSourceArn": STREAM, "StartingPosition": "LATEST"})
    assert (stream.batch_size, stream.maximum_retry_attempts, stream.maximum_record_age_s, stream.parallelization_factor) == (100, -1, -1, 1)
    assert stream.mapping_id == "uuid-1" and stream.starting_position == "LATEST"


def test_a_batch_over_10_needs_a_window_on_a_standard_queue_and_is_capped_at_10_on_fifo() -> None:
    props = {"FunctionName": "f", "EventSourceArn": QUEUE, "BatchSize": 100}
    assert _refused(lambda: rules.sqs_mapping("M", props, "url")) == [("BatchSize", rules.BATCH_WINDOW_NEEDED)]
    assert rules.sqs_mapping("M", {**props, "MaximumBatchingWindowInSeconds": 1}, "url").batch_size == 100
    fifo = {"FunctionName": "f", "EventSourceArn": FIFO, "BatchSize": 11}
    assert [p for p, _ in _refused(lambda: rules.sqs_mapping("M", fifo, "url"))][0] == "BatchSize"
    window = {"FunctionName": "f", "EventSourceArn": FIFO, "MaximumBatchingWindowInSeconds": 1}
    assert _refused(lambda: rules.sqs_mapping("M", window, "url")) == [
        ("MaximumBatchingWindowInSeconds", "Batching window is not supported for FIFO queues.")
    ]


@pytest.mark.parametrize(
    ("extra", "prop"),
    [
        ({"StartingPosition": "AT_TIMESTAMP"}, "StartingPosition"),
        ({"ParallelizationFactor": 0}, "ParallelizationFactor"),
        ({"MaximumRecordAgeInSeconds": 30}, "MaximumRecordAgeInSeconds"),
        ({"MaximumRetryAttempts": 10001}, "MaximumRetryAttempts"),
        ({"ScalingConfig": {"MaximumConcurrency": 5}}, "ScalingConfig"),
        ({"TumblingWindowInSeconds": 60}, "TumblingWindowInSeconds"),
        ({"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:dlq.fifo"}}}, "DestinationConfig.OnFailure.Destination"),
    ],
)
def test_stream_mappings_aws_refuses_are_refused(extra: dict[str, Any], prop: str) -> None:
    props = {"FunctionName": "f", "EventSourceArn": STREAM, "StartingPosition": "TRIM_HORIZON", **extra}
    assert prop in [p for p, _ in _refused(lambda: rules.stream_mapping("S", "u", props))]
