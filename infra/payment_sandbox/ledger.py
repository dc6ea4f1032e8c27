"""The payment rules, without HTTP (the way moto splits models from responses).

Every operation is keyed by an idempotency key: a repeated key returns the first answer
(same status, same body) and changes nothing; the same key with different parameters is an
error, as with real providers. Outcomes are driven by the card token:

    tok_visa, tok_mastercard   approve
    tok_declined               decline (card_declined)
    tok_insufficient_funds     decline (insufficient_funds)
    tok_timeout                approve, but every authorize answer hangs past the caller's timeout
    tok_slow                   approve, the first authorize answer hangs, a retry answers at once
    anything else              decline (invalid_token)

Amounts are checked: capture <= authorized, refund <= captured - refunded, nothing after void.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

APPROVING = frozenset({"tok_visa", "tok_mastercard", "tok_timeout", "tok_slow"})
DECLINE_CODES = {"tok_declined": "card_declined", "tok_insufficient_funds": "insufficient_funds"}


@dataclass
class Answer:
    """What an operation answers, and whether the server should make the caller wait for it."""

    status: int
    body: dict[str, Any]
    hang: bool = False


@dataclass
class AuthorizationRecord:
    id: str
    reference: str
    token: str
    amount_cents: int
    currency: str
    status: str  # authorized | declined | captured | voided | refunded
    captured_cents: int = 0
    refunded_cents: int = 0
    decline_code: str | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def view(self) -> dict[str, Any]:
        body = asdict(self)
        body.pop("token")
        return body


@dataclass
class _Remembered:
    fingerprint: tuple[Any, ...]
    answer: Answer
    hang_on_replay: bool = False
    replays: int = 0


def _error(status: int, kind: str, message: str) -> Answer:
    return Answer(status, {"error": {"type": kind, "message": message}})


class Ledger:
    """Thread-safe: the HTTP server calls it from one thread per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._authorizations: dict[str, AuthorizationRecord] = {}
        self._answers: dict[str, _Remembered] = {}
        self._entries: list[dict[str, Any]] = []

    # --- operations ---------------------------------------------------------------------------

    def authorize(self, key: str, *, amount_cents: Any, currency: Any, token: Any, reference: Any) -> Answer:
        fingerprint = ("authorize", amount_cents, currency, token, reference)
        with self._lock:
            replay = self._replay(key, fingerprint)
            if replay is not None:
                return replay
            if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
                return self._remember(key, fingerprint, _error(400, "invalid_request", "amount_cents must be a positive integer"))
            if not (isinstance(currency, str) and len(currency) == 3):
                return self._remember(key, fingerprint, _error(400, "invalid_request", "currency must be a 3-letter code"))
            if not (isinstance(reference, str) and reference and isinstance(token, str)):
                return self._remember(key, fingerprint, _error(400, "invalid_request", "reference and token are required"))
            decline = DECLINE_CODES.get(token) or (None if token in APPROVING else "invalid_token")
            auth = AuthorizationRecord(
                id=f"auth_{next(self._ids):06d}",
                reference=reference,
                token=token,
                amount_cents=amount_cents,
                currency=currency.upper(),
                status="declined" if decline else "authorized",
                decline_code=decline,
            )
            self._authorizations[auth.id] = auth
            self._log("authorize", key, auth, amount_cents, "declined" if decline else "approved")
            answer = Answer(402 if decline else 201, auth.view(), hang=token in ("tok_timeout", "tok_slow"))
            return self._remember(key, fingerprint, answer, hang_on_replay=token == "tok_timeout")

    def capture(self, key: str, authorization_id: str, *, amount_cents: Any) -> Answer:
        def apply(auth: AuthorizationRecord) -> Answer | None:
            if auth.status != "authorized":
                return _error(409, "invalid_state", f"cannot capture an authorization that is {auth.status}")
            if not isinstance(amount_cents, int) or not 0 < amount_cents <= auth.amount_cents:
                return _error(400, "invalid_amount", f"capture must be 1..{auth.amount_cents} cents")
            auth.status, auth.captured_cents = "captured", amount_cents
            return None

        return self._change("capture", key, authorization_id, amount_cents, apply)

    def void(self, key: str, authorization_id: str) -> Answer:
        def apply(auth: AuthorizationRecord) -> Answer | None:
            if auth.status != "authorized":
                return _error(409, "invalid_state", f"cannot void an authorization that is {auth.status}")
            auth.status = "voided"
            return None

        return self._change("void", key, authorization_id, None, apply)

    def refund(self, key: str, authorization_id: str, *, amount_cents: Any) -> Answer:
        def apply(auth: AuthorizationRecord) -> Answer | None:
            if auth.status != "captured":
                return _error(409, "invalid_state", f"cannot refund an authorization that is {auth.status}")
            refundable = auth.captured_cents - auth.refunded_cents
            if not isinstance(amount_cents, int) or not 0 < amount_cents <= refundable:
                return _error(400, "invalid_amount", f"refund must be 1..{refundable} cents")
            auth.refunded_cents += amount_cents
            if auth.refunded_cents == auth.captured_cents:
                auth.status = "refunded"
            return None

        return self._change("refund", key, authorization_id, amount_cents, apply)

    # --- reads --------------------------------------------------------------------------------

    def find(self, reference: str) -> list[dict[str, Any]]:
        with self._lock:
            return [a.view() for a in self._authorizations.values() if a.reference == reference]

    def entries(self) -> list[dict[str, Any]]:
        """Every operation that changed something, in order (replays are not entries: they change nothing)."""
        with self._lock:
            return [dict(e) for e in self._entries]

    def authorizations(self) -> list[dict[str, Any]]:
        with self._lock:
            return [a.view() for a in self._authorizations.values()]

    def replays(self) -> int:
        with self._lock:
            return sum(r.replays for r in self._answers.values())

    # --- internals ----------------------------------------------------------------------------

    def _change(self, operation: str, key: str, authorization_id: str, amount: Any, apply: Any) -> Answer:
        fingerprint = (operation, authorization_id, amount)
        with self._lock:
            replay = self._replay(key, fingerprint)
            if replay is not None:
                return replay
            auth = self._authorizations.get(authorization_id)
            if auth is None:
                return _error(404, "not_found", f"no authorization {authorization_id}")
            refused = apply(auth)
            if refused is not None:
                return refused  # not remembered: a refused call may succeed later (e.g. after a retry)
            self._log(operation, key, auth, amount, "approved")
            return self._remember(key, fingerprint, Answer(200, auth.view()))

    def _replay(self, key: str, fingerprint: tuple[Any, ...]) -> Answer | None:
        remembered = self._answers.get(key)
        if remembered is None:
            return None
        if remembered.fingerprint != fingerprint:
            return _error(422, "idempotency_error", "Idempotency-Key reused with different parameters")
        remembered.replays += 1
        first = remembered.answer
        return Answer(first.status, first.body, hang=remembered.hang_on_replay)

    def _remember(
        self, key: str, fingerprint: tuple[Any, ...], answer: Answer, *, hang_on_replay: bool = False
    ) -> Answer:
        self._answers[key] = _Remembered(fingerprint, answer, hang_on_replay)
        return answer

    def _log(self, operation: str, key: str, auth: AuthorizationRecord, amount: Any, outcome: str) -> None:
        self._entries.append(
            {
                "seq": len(self._entries) + 1,
                "at": datetime.now(UTC).isoformat(),
                "operation": operation,
                "idempotency_key": key,
                "authorization_id": auth.id,
                "reference": auth.reference,
                "amount_cents": amount,
                "outcome": outcome,
                "status_after": auth.status,
            }
        )
