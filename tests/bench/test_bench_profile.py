"""The py-spy summary: samples land on the process that was sampled, environments by their handler."""

from __future__ import annotations

from ordertools.bench_profile import report, summarise

ROOT = 'process 1:"/v/bin/python .venv/bin/orderflow bench --orders 80"'
RAW = [
    f'{ROOT};serve (http_gateway.py:40);select (selectors.py:10) 30',
    f'{ROOT};process 2:"/v/bin/python /x/moto_process.py 127.0.0.1 0";handle (werkzeug.py:5);deepcopy (copy.py:1) 50',
    f'{ROOT};process 3:"/v/bin/python /x/runtime/bootstrap.py";serve (bootstrap.py:9);lambda_handler (functions/handlers/checkout.py:3);'
    "authorize (adapters/payments.py:7) 15",
    f'{ROOT};process 4:"/v/bin/python /x/runtime/bootstrap.py";serve (bootstrap.py:9);read_frame (bootstrap.py:20) 5',
]


def test_each_sample_goes_to_the_innermost_process_and_environments_by_handler() -> None:
    kinds = summarise(RAW)
    assert {name: kind["samples"]["all"] for name, kind in kinds.items()} == {
        "runtime (orderflow)": 30,
        "emulator (moto)": 50,
        "environment handlers.checkout": 15,
        "environment (no handler on the stack: init, waiting)": 5,
    }
    assert kinds["emulator (moto)"]["self"] == {"deepcopy (copy.py)": 50}
    assert kinds["environment handlers.checkout"]["total"]["lambda_handler (checkout.py)"] == 15
    text = report(kinds, top=2)
    assert text.index("emulator (moto): 50 samples (50.0 % of all)") < text.index("runtime (orderflow): 30 samples")
