"""Orders belong to their customer: template.yaml deployed with ApiAuth=JWT, tokens signed by a key this test holds.

The local gateway verifies each token as API Gateway's JWT authorizer does ("Control access to HTTP
APIs with JWT authorizers", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html):
signature against the issuer's JWKS (found through `{issuer}/.well-known/openid-configuration`),
`iss`, `aud`, `exp`, and the route's AuthorizationScopes; it answers 401 `{"message":"Unauthorized"}`
for a missing or invalid token and 403 `{"message":"Forbidden"}` for a missing scope
("Troubleshooting issues with HTTP API JWT authorizers",
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html).
The handler then takes the customer from the token's `sub`, never from the body.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from localcloud.cloud import LocalCloud
from ordertools.seed import seed
from orders.service import order_id_for

from support.targets import Target

from .conftest import PAYMENT_TIMEOUT_MS, order_body

ROOT = Path(__file__).resolve().parents[2]
AUDIENCE = "orderflow-e2e"
KID = "e2e-key-1"
DISPATCH_SCOPE = "orders/dispatch"  # JwtDispatchScope's default


class Issuer:
    """An OpenID issuer on 127.0.0.1: its discovery document and JWKS, and tokens signed with its key."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = {**jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True), "kid": KID, "use": "sig", "alg": "RS256"}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                documents = {
                    "/.well-known/openid-configuration": {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks.json"},
                    "/jwks.json": {"keys": [jwk]},
                }
                body = json.dumps(documents.get(self.path, {})).encode()
                self.send_response(200 if self.path in documents else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="jwt-issuer", daemon=True)
        self._thread.start()

    def token(self, sub: str, *, key: rsa.RSAPrivateKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": self.url, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 600, **claims}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": KID})

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(2)


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    running = Issuer()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def cloud(target: Target, issuer: Issuer) -> Iterator[LocalCloud]:
    parameters = {"ApiAuth": "JWT", "JwtIssuer": issuer.url, "JwtAudience": AUDIENCE, "PaymentTimeoutMs": str(PAYMENT_TIMEOUT_MS)}
    running = LocalCloud(template=ROOT / "template.yaml", stack_name=target.stack_name("auth"), parameters=parameters)
    with target.environment():
        running.start()
    try:
        seed(running.client("dynamodb"), running.stack.physical_id("CatalogTable"))
        yield running
    finally:
        running.stop()


def _call(cloud: LocalCloud, method: str, path: str, token: str | None, **kwargs: Any) -> requests.Response:
    headers = {**kwargs.pop("headers", {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    return requests.request(method, cloud.api_url + path, headers=headers, timeout=30, **kwargs)


def _place(cloud: LocalCloud, token: str, body_customer: str) -> str:
    products = _call(cloud, "GET", "/products", token)
    assert products.status_code == 200, products.text
    key = f"auth-{uuid.uuid4()}"
    body = order_body([(products.json()[0]["sku"], 1)], customer_id=body_customer)
    placed = _call(cloud, "POST", "/orders", token, json=body, headers={"Idempotency-Key": key})
    assert placed.status_code == 202, placed.text
    return str(placed.json()["order_id"])


def _stored(cloud: LocalCloud, order_id: str) -> dict[str, Any] | None:
    item = cloud.client("dynamodb").get_item(TableName=cloud.stack.physical_id("OrdersTable"), Key={"order_id": {"S": order_id}})
    return item.get("Item")


def test_the_order_is_the_token_subjects_and_the_body_customer_id_is_ignored(cloud: LocalCloud, issuer: Issuer) -> None:
    alice = issuer.token("alice")
    order_id = _place(cloud, alice, body_customer="mallory")
    seen = _call(cloud, "GET", f"/orders/{order_id}", alice)
    assert seen.status_code == 200, seen.text
    assert seen.json()["customer_id"] == "alice"
    stored = _stored(cloud, order_id)
    assert stored is not None and stored["customer_id"] == {"S": "alice"}


def test_someone_elses_order_is_404_on_read_and_cancel_and_stays_as_it_was(cloud: LocalCloud, issuer: Issuer) -> None:
    alice, bob = issuer.token("alice"), issuer.token("bob")
    order_id = _place(cloud, alice, body_customer="bob")  # naming bob in the body gives bob nothing
    read = _call(cloud, "GET", f"/orders/{order_id}", bob)
    assert read.status_code == 404 and read.json()["message"] == f"order {order_id} not found"
    cancel = _call(cloud, "POST", f"/orders/{order_id}/cancel", bob)
    assert cancel.status_code == 404, cancel.text
    history = _call(cloud, "GET", f"/orders/{order_id}", alice).json()["history"]
    assert "CANCEL_REQUESTED" not in [entry["step"] for entry in history]
    own = _call(cloud, "POST", f"/orders/{order_id}/cancel", alice)
    assert own.status_code == 202 and own.json()["status"] in ("CANCEL_REQUESTED", "CANCELLED"), own.text


@pytest.mark.parametrize(
    "case",
    ["no token", "expired", "other audience", "other issuer", "signed by another key", "not a JWT"],
)
def test_a_missing_or_invalid_token_is_401_and_reaches_no_function(cloud: LocalCloud, issuer: Issuer, case: str) -> None:
    tokens: dict[str, str | None] = {
        "no token": None,
        "expired": issuer.token("alice", exp=int(time.time()) - 60),
        "other audience": issuer.token("alice", aud="someone-else"),
        "other issuer": issuer.token("alice", iss="https://issuer.example.invalid"),
        "signed by another key": issuer.token("alice", key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "not a JWT": "not-a-token",
    }
    key = f"auth-denied-{uuid.uuid4()}"
    body = order_body([("SKU-DOES-NOT-MATTER", 1)], customer_id="alice")
    response = _call(cloud, "POST", "/orders", tokens[case], json=body, headers={"Idempotency-Key": key})
    assert response.status_code == 401 and response.json() == {"message": "Unauthorized"}, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert _stored(cloud, order_id_for(key)) is None, "the API function must not have run"


def test_dispatch_needs_the_warehouse_scope(cloud: LocalCloud, issuer: Issuer) -> None:
    customer = _call(cloud, "POST", "/shipments/no-such-order/dispatch", issuer.token("alice", scope="profile"))
    assert customer.status_code == 403 and customer.json() == {"message": "Forbidden"}, customer.text
    assert 'error="insufficient_scope"' in customer.headers["www-authenticate"]
    warehouse = _call(cloud, "POST", "/shipments/no-such-order/dispatch", issuer.token("warehouse-1", scope=f"openid {DISPATCH_SCOPE}"))
    assert warehouse.status_code == 404, warehouse.text  # past the authorizer: the handler finds no such order
    assert warehouse.json()["message"] != "Not Found"
