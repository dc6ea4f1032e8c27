"""`orderflow bench` on a tiny run: the result file is complete and adds up.

Checks structure and internal consistency only (every placed order accounted for, counts that
agree between sections, calls per order > 0), never how fast anything was: figures are for the
benchmark, and this machine is shared.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from localcloud.cli import main
from ordertools.bench import BenchConfig, plan

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 10
SHARES = {"declined_share": 0.2, "sold_out_share": 0.1}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    code = main(
        [
            "bench", "--template", str(ROOT / "template.yaml"), "--orders", str(ORDERS), "--concurrency", "3",
            "--declined-share", str(SHARES["declined_share"]), "--sold-out-share", str(SHARES["sold_out_share"]),
            "--import-runs", "1", "--settle-timeout", "120", "--idle-seconds", "2", "--anchor-calls", "5", "--out", str(out),
        ]
    )  # fmt: skip
    document = json.loads(out.read_text())
    assert code == 0, json.dumps(document["orders"], indent=2)
    return dict(document)


def _ordered(figures: dict[str, Any]) -> bool:
    return figures["p50"] <= figures["p90"] <= figures["p99"] <= figures["max"]


def test_every_placed_order_is_accounted_for_with_its_planned_outcome(result: dict[str, Any]) -> None:
    counts = result["orders"]["counts"]
    assert counts["planned"] == counts["accepted"] == counts["settled"] == ORDERS
    assert counts["not_accepted"] == counts["unsettled"] == counts["unexpected"] == 0
    planned = Counter(order.expected for order in plan(BenchConfig(orders=ORDERS, **SHARES)))
    assert set(planned) == {"CONFIRMED", "REJECTED/PAYMENT_DECLINED", "REJECTED/OUT_OF_STOCK"}
    assert result["orders"]["counts"]["outcomes"] == dict(planned)


def test_latencies_count_what_they_measure(result: dict[str, Any]) -> None:
    latency, outcomes = result["orders"]["latency_ms"], result["orders"]["counts"]["outcomes"]
    assert latency["post_accept"]["count"] == ORDERS
    assert latency["accept_to_settled"]["count"] == ORDERS
    assert latency["accept_to_confirmed"]["count"] == outcomes["CONFIRMED"]
    assert all(_ordered(figures) for figures in latency.values())
    throughput = result["orders"]["throughput"]
    assert throughput["accepted_per_s"] > 0 and throughput["settled_per_s"] > 0


def test_stages_cover_the_pipeline_with_source_waits(result: dict[str, Any]) -> None:
    stages = result["stages"]
    assert stages["ApiFunction"]["invocations"] >= ORDERS  # one POST each (a retry adds one)
    assert stages["ApiFunction"]["sources"] == ["http"]
    for function, source in (("RelayFunction", "stream"), ("CheckoutFunction", "sqs")):
        assert stages[function]["sources"] == [source]
        # every order's record reached the stage and waited a measurable time in its source
        assert stages[function]["records"] >= ORDERS
        assert stages[function]["source_wait_ms"]["count"] == stages[function]["records"]
        assert _ordered(stages[function]["source_wait_ms"]) and _ordered(stages[function]["invoke_ms"])
    assert all(stage["errors"] == 0 for stage in stages.values())


def test_aws_calls_per_order_add_up(result: dict[str, Any]) -> None:
    calls, stages = result["aws_calls"], result["stages"]
    assert calls["per_order"] > 0
    assert calls["total"] == sum(calls["by_operation_total"].values()) == sum(s["aws_calls"] for s in stages.values())
    assert calls["per_order"] == round(calls["total"] / ORDERS, 2)
    assert calls["by_operation_total"]["dynamodb.TransactWriteItems"] >= 1  # the saga's stock reservation
    # the relay's events go out with PublishBatch (up to 10 a call), never one Publish each
    assert calls["by_operation_total"]["sns.PublishBatch"] >= 1 and "sns.Publish" not in calls["by_operation_total"]
    payments = result["payments"]["by_operation_per_order"]
    assert payments["authorize:approved"] > 0 and payments["capture:approved"] > 0


def test_cold_starts_and_import_times_for_every_function(result: dict[str, Any]) -> None:
    for function in result["stages"]:
        cold = result["cold_starts"][function]
        assert cold["count"] >= 1  # a fresh cloud: each function's first invocation is cold
        assert cold["init_ms"]["count"] == cold["count"]
    imports = result["import_ms"]
    assert set(result["stages"]) <= set(imports)
    assert all(len(figures["runs_ms"]) == 1 and figures["p50_ms"] > 0 for figures in imports.values())
    assert imports["ApiFunction"]["module"] == "handlers.api"


def test_cpu_by_process_adds_up_and_covers_the_pipeline(result: dict[str, Any]) -> None:
    cpu = result["cpu"]
    load = cpu["load"]
    assert {"emulator", "runtime", "ApiFunction", "CheckoutFunction", "RelayFunction"} <= set(load["by_process_s"])
    assert abs(sum(load["by_process_s"].values()) + load["reaped_unsampled_s"] - load["total_s"]) < 0.05
    assert abs(cpu["per_order_ms"] - load["total_s"] * 1000 / ORDERS) < 5  # total_s is rounded to 10 ms
    assert sum(t["orders"] for t in cpu["per_tenth"]) == result["orders"]["counts"]["settled"]
    bound = cpu["bound"]
    assert bound["orders_per_s"] > 0 and bound["utilisation"] > 0
    assert 0 < cpu["idle"]["share_of_one_core"] and "emulator" in cpu["idle"]["by_process_share"]
    assert result["run"]["ready_s"] > 0


def test_the_warm_invoke_anchor_compares_the_runtime_with_the_bare_handler(result: dict[str, Any]) -> None:
    warm = result["anchors"]["warm_invoke"]
    assert warm["function"] == "ApiFunction" and warm["runtime"]["first"]["cold_start"] is True
    assert warm["runtime"]["warm_ms"]["count"] == warm["bare_warm_ms"]["count"] == warm["calls"]
    assert warm["overhead_ms_p50"] == round(warm["runtime"]["warm_ms"]["p50"] - warm["bare_warm_ms"]["p50"], 1)
