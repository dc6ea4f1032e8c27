"""The sandbox's operations by name: what both of its wires (Lambda Invoke, the sidecar's HTTP) call.

    authorize  {idempotency_key, amount_cents, currency, token, reference}
    capture    {idempotency_key, authorization_id, amount_cents}
    void       {idempotency_key, authorization_id}
    refund     {idempotency_key, authorization_id, amount_cents}
    lookup     {reference}                what was authorized for it (recovering from a timeout)

Each answers an `Answer` whose status and body follow HTTP's conventions (201 created, 402
declined, 404, 409 invalid state, 422 key reused), so the client maps both wires the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from payment_ledger.ledger import Answer, Ledger

CHANGES = frozenset({"authorize", "capture", "void", "refund"})
OPERATIONS = CHANGES | {"lookup"}


def perform(ledger: Ledger, operation: str, request: Mapping[str, Any]) -> Answer:
    """Run one operation; a malformed request is a 400 that changes nothing."""
    if operation not in OPERATIONS:
        return Answer(404, {"error": {"type": "not_found", "message": f"no operation {operation!r}"}})
    if operation == "lookup":
        return Answer(200, {"data": ledger.find(str(request.get("reference") or ""))})
    key = request.get("idempotency_key")
    if not isinstance(key, str) or not key:
        return Answer(400, {"error": {"type": "invalid_request", "message": "an idempotency key is required"}})
    if operation == "authorize":
        return ledger.authorize(
            key,
            amount_cents=request.get("amount_cents"),
            currency=request.get("currency"),
            token=request.get("token"),
            reference=request.get("reference"),
        )
    authorization_id = str(request.get("authorization_id") or "")
    if operation == "capture":
        return ledger.capture(key, authorization_id, amount_cents=request.get("amount_cents"))
    if operation == "void":
        return ledger.void(key, authorization_id)
    return ledger.refund(key, authorization_id, amount_cents=request.get("amount_cents"))


DEFAULT_CLIENT_TIMEOUT_S = 1.0


def hang_seconds(client_timeout_ms: Any, cap_s: float) -> float:
    """How long a hanging answer waits: twice the caller's timeout (so the caller gives up first), at most `cap_s`."""
    try:
        client_timeout_s = float(client_timeout_ms) / 1000 if client_timeout_ms else DEFAULT_CLIENT_TIMEOUT_S
    except (TypeError, ValueError):
        client_timeout_s = DEFAULT_CLIENT_TIMEOUT_S
    return max(0.0, min(2 * client_timeout_s, cap_s))
