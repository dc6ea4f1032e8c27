"""`make bench-sam-local`'s arithmetic: sam's times over the local runtime's, warm against warm, cold against cold."""

from __future__ import annotations

from sam_local.bench import format_result, ratios

LABEL = "ApiFunction <- events/ApiFunction/get_products.json"


def _figures() -> tuple[dict, dict, dict]:  # type: ignore[type-arg]
    local = {LABEL: {"first": {"ms": 2000.0, "cold_start": True, "init_ms": 1500.0}, "warm_ms": {"p50": 10.0}}}
    invoke = {LABEL: {"ms": {"p50": 5000.0}}}
    start_lambda = {"ready_ms": 30000.0, "cases": {LABEL: {"first_ms": 4000.0, "warm_ms": {"p50": 25.0}}}}
    return local, invoke, start_lambda


def test_ratios_are_sam_over_the_local_runtime() -> None:
    assert ratios(*_figures()) == {
        LABEL: {"start_lambda_warm_vs_runtime_warm": 2.5, "start_lambda_first_vs_runtime_cold": 2.0, "sam_invoke_vs_runtime_cold": 2.5}
    }


def test_the_printed_result_names_each_case_and_its_ratios() -> None:
    local, invoke, start_lambda = _figures()
    result = {
        "run": {"loadavg_before": [1.0, 1.0, 1.0], "cpus": 2, "calls": 20, "sam_invokes": 3},
        "local_runtime": local, "sam_local_invoke": invoke, "sam_start_lambda_eager": start_lambda,
        "ratios_sam_over_runtime": ratios(local, invoke, start_lambda),
    }  # fmt: skip
    text = format_result(result)
    assert LABEL in text and "start-lambda 25.0 ms (x2.5)" in text and "sam local invoke p50 5000.0 ms (x2.5)" in text
