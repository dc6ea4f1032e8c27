"""The benchmark's arithmetic on hand-made inputs: the plan, percentiles, and what counts as a failed run."""

from __future__ import annotations

from typing import Any

from ordertools.bench import BenchConfig, Placement, order_figures, plan
from ordertools.bench_observer import percentiles, source_waits_ms


def test_plan_spreads_the_shares_evenly_and_the_same_every_run() -> None:
    config = BenchConfig(orders=20, declined_share=0.25, sold_out_share=0.1)
    first = plan(config)
    assert first == plan(config)
    expected = [order.expected for order in first]
    assert expected.count("REJECTED/OUT_OF_STOCK") == 2
    assert expected.count("REJECTED/PAYMENT_DECLINED") == 5 - 1  # one declined slot already went to sold out
    assert [order.token for order in first].count("tok_declined") == 4


def test_percentiles_are_nearest_rank_values() -> None:
    figures = percentiles(float(v) for v in range(1, 101))
    assert figures == {"count": 100, "p50": 50.0, "p90": 90.0, "p99": 99.0, "max": 100.0}
    assert percentiles([]) == {"count": 0, "p50": None, "p90": None, "p99": None, "max": None}


def test_source_wait_per_record_from_sqs_and_stream_times() -> None:
    sqs = {"Records": [{"attributes": {"SentTimestamp": "1000000"}}, {"attributes": {"SentTimestamp": "1000500"}}]}
    assert source_waits_ms("sqs", sqs, 1001.0) == (1000.0, 500.0)
    stream = {"Records": [{"dynamodb": {"ApproximateCreationDateTime": 1000.25}}]}
    assert source_waits_ms("stream", stream, 1001.0) == (750.0,)
    assert source_waits_ms("http", {"body": "{}"}, 1001.0) == ()


def _order(status: str, placed: str, settled: str, reason: str | None = None) -> dict[str, Any]:
    history = [{"at": placed, "step": "PLACED", "status": "PENDING"}, {"at": settled, "step": status, "status": status}]
    return {"order_id": "x", "status": status, "reason": reason, "history": history}


def test_an_unsettled_or_unexpected_order_is_counted_as_such() -> None:
    planned = plan(BenchConfig(orders=3))
    placements = [Placement(p, sent_at=100.0, answered_at=100.1, order_id=f"o{p.index}", attempts=1) for p in planned]
    orders = {
        "o0": _order("CONFIRMED", "2024-01-01T00:00:00+00:00", "2024-01-01T00:00:01.500000+00:00"),
        "o1": _order("REJECTED", "2024-01-01T00:00:00+00:00", "2024-01-01T00:00:02+00:00", "PAYMENT_DECLINED"),
        "o2": {"order_id": "o2", "status": "PENDING", "history": [{"at": "2024-01-01T00:00:00+00:00", "step": "PLACED", "status": "PENDING"}]},
    }
    figures = order_figures(placements, orders)
    counts = figures["counts"]
    assert (counts["accepted"], counts["settled"], counts["unsettled"], counts["unexpected"]) == (3, 2, 1, 1)
    assert figures["unsettled_ids"] == ["o2"]
    assert figures["unexpected_outcomes"] == [{"order_id": "o1", "expected": "CONFIRMED", "ended": "REJECTED/PAYMENT_DECLINED"}]
    assert figures["latency_ms"]["accept_to_confirmed"]["p50"] == 1500.0
