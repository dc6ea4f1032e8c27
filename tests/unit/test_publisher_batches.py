"""The relay's publisher: PublishBatch in order, 10 entries or 256 KiB per call, and how much went out on a failure."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.publisher import MAX_ENTRIES, PublishFailed, SnsEventPublisher
from orders.events import EventEnvelope, EventType


def _envelope(n: int, padding: int = 0) -> EventEnvelope:
    payload = {"order_id": f"o-{n}", "note": "x" * padding}
    return EventEnvelope.for_order(EventType.ORDER_PLACED, payload, version=1, correlation_id=f"c-{n}")


class FakeSns:
    """Records every PublishBatch; fails the entries whose message names an order in `failing`."""

    def __init__(self, failing: frozenset[str] = frozenset(), raise_on_call: int | None = None) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.failing = failing
        self.raise_on_call = raise_on_call

    def publish_batch(self, TopicArn: str, PublishBatchRequestEntries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.calls.append(PublishBatchRequestEntries)
        if self.raise_on_call == len(self.calls):
            raise ConnectionError("endpoint went away")
        failed = [e for e in PublishBatchRequestEntries if any(f'"o-{n}"' in e["Message"] for n in self.failing)]
        return {
            "Successful": [{"Id": e["Id"], "MessageId": "m"} for e in PublishBatchRequestEntries if e not in failed],
            "Failed": [{"Id": e["Id"], "Code": "InternalError", "Message": "boom", "SenderFault": False} for e in failed],
        }


def test_events_go_out_in_order_ten_per_call_with_their_filter_attributes() -> None:
    sns = FakeSns()
    SnsEventPublisher(sns, "arn:topic").publish_all([_envelope(n) for n in range(23)])
    assert [len(call) for call in sns.calls] == [MAX_ENTRIES, MAX_ENTRIES, 3]
    sent = [entry for call in sns.calls for entry in call]
    assert [EventEnvelope.model_validate_json(e["Message"]).payload["order_id"] for e in sent] == [f"o-{n}" for n in range(23)]
    assert sent[0]["MessageAttributes"]["event_type"] == {"DataType": "String", "StringValue": "OrderPlaced"}
    assert all(len({e["Id"] for e in call}) == len(call) for call in sns.calls)


def test_a_batch_never_exceeds_256_kib() -> None:
    sns = FakeSns()
    SnsEventPublisher(sns, "arn:topic").publish_all([_envelope(n, padding=100_000) for n in range(5)])
    assert [len(call) for call in sns.calls] == [2, 2, 1]


def test_a_failed_entry_stops_the_count_there_and_nothing_later_is_sent() -> None:
    sns = FakeSns(failing=frozenset({13}))
    with pytest.raises(PublishFailed) as failure:
        SnsEventPublisher(sns, "arn:topic").publish_all([_envelope(n) for n in range(25)])
    assert failure.value.published == 13  # o-0 .. o-12; o-13 failed, so the relay retries from its record
    assert len(sns.calls) == 2  # the third batch was never sent


def test_a_call_that_fails_counts_none_of_its_batch() -> None:
    sns = FakeSns(raise_on_call=2)
    with pytest.raises(PublishFailed) as failure:
        SnsEventPublisher(sns, "arn:topic").publish_all([_envelope(n) for n in range(15)])
    assert failure.value.published == MAX_ENTRIES
