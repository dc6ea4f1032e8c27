"""docs/openapi.yaml is exactly what the API's routes and models generate, and a valid OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import yaml
from openapi_spec_validator import validate

from ordertools.openapi import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def test_committed_openapi_matches_the_code() -> None:
    rendered = render()
    assert DOC.read_text() == rendered, "regenerate: .venv/bin/python -m ordertools.openapi > docs/openapi.yaml (PYTHONPATH=infra)"
    document = yaml.safe_load(rendered)
    validate(document)
    assert set(document["paths"]) == {"/orders", "/orders/{order_id}", "/orders/{order_id}/cancel", "/products", "/shipments/{order_id}/dispatch"}
    post = document["paths"]["/orders"]["post"]
    assert {p["name"] for p in post["parameters"]} == {"Idempotency-Key"}
    assert {"202", "400", "409", "422"} <= set(post["responses"])
    # Either scheme, as the template's ApiAuth deploys it; the warehouse's route needs its own JWT scope.
    assert set(document["components"]["securitySchemes"]) == {"jwt", "sigv4"}
    assert document["security"] == [{"jwt": []}, {"sigv4": []}]
    dispatch = document["paths"]["/shipments/{order_id}/dispatch"]["post"]
    assert dispatch["security"] == [{"jwt": ["orders/dispatch"]}, {"sigv4": []}]
