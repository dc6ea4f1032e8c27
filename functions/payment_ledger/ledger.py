"""The payment sandbox's rules, without a wire and without a database (the way moto splits models from responses).

One implementation serves both places the sandbox runs: the in-stack `PaymentSandboxFunction`
(its ledger in a DynamoDB table, `payment_ledger.dynamo_store`) and the local HTTP sidecar
(`infra/payment_sandbox/`, in memory). The rules live here; a store only keeps what they decide.

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

Concurrency is optimistic, so the rules hold on a table shared by many Lambda instances: a
store's `commit` writes the answer only if its key is still unused and the authorization only
if its version is the one read; otherwise `Conflict`, and the operation starts again from the
store's new state (a racing call with the same key then becomes a replay).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import uuid4

APPROVING = frozenset({"tok_visa", "tok_mastercard", "tok_timeout", "tok_slow"})
DECLINE_CODES = {"tok_declined": "card_declined", "tok_insufficient_funds": "insufficient_funds"}
# Rounds an operation runs when racing calls keep winning its commit.
MAX_ROUNDS = 5


@dataclass(frozen=True)
class Answer:
    """What an operation answers, and whether the caller should be made to wait for it."""

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
    version: int = 1

    def view(self) -> dict[str, Any]:
        body = asdict(self)
        body.pop("token")
        body.pop("version")
        return body


@dataclass(frozen=True)
class Remembered:
    """The first answer given for an idempotency key; `fingerprint` is the call's parameters as JSON."""

    fingerprint: str
    answer: Answer
    hang_on_replay: bool = False


class Conflict(Exception):
    """A racing call committed first (the key is taken or the authorization moved): run again."""


class LedgerStore(Protocol):
    def remembered(self, key: str) -> Remembered | None: ...

    def authorization(self, authorization_id: str) -> AuthorizationRecord | None: ...

    def by_reference(self, reference: str) -> list[AuthorizationRecord]: ...

    def commit(
        self, key: str, remembered: Remembered, auth: AuthorizationRecord | None, entry: dict[str, Any] | None
    ) -> None:
        """Atomically: remember `key` (unused so far), write `auth` (new at version 1, else over
        version - 1) and append `entry`; `Conflict` and nothing written otherwise."""
        ...

    def count_replay(self, key: str) -> None: ...

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, oldest first, numbered from 1 (`seq`)."""
        ...

    def authorizations(self) -> list[AuthorizationRecord]: ...

    def replays(self) -> int: ...


def _error(status: int, kind: str, message: str) -> Answer:
    return Answer(status, {"error": {"type": kind, "message": message}})


def _fingerprint(*parts: Any) -> str:
    return json.dumps(parts, default=str)


class Ledger:
    """The provider's rules over a store (in memory unless one is given)."""

    def __init__(self, store: LedgerStore | None = None) -> None:
        self.store = store if store is not None else MemoryStore()

    # --- operations ---------------------------------------------------------------------------

    def authorize(self, key: str, *, amount_cents: Any, currency: Any, token: Any, reference: Any) -> Answer:
        fingerprint = _fingerprint("authorize", amount_cents, currency, token, reference)
        for _ in range(MAX_ROUNDS):
            replay = self._replay(key, fingerprint)
            if replay is not None:
                return replay
            refused = _invalid_authorize(amount_cents, currency, token, reference)
            if refused is not None:
                if self._commit(key, Remembered(fingerprint, refused), None, None):
                    return refused
                continue
            decline = DECLINE_CODES.get(token) or (None if token in APPROVING else "invalid_token")
            auth = AuthorizationRecord(
                id=f"auth_{uuid4().hex[:16]}",
                reference=reference,
                token=token,
                amount_cents=amount_cents,
                currency=currency.upper(),
                status="declined" if decline else "authorized",
                decline_code=decline,
            )
            answer = Answer(402 if decline else 201, auth.view(), hang=token in ("tok_timeout", "tok_slow"))
            remembered = Remembered(fingerprint, answer, hang_on_replay=token == "tok_timeout")
            entry = _entry("authorize", key, auth, amount_cents, "declined" if decline else "approved")
            if self._commit(key, remembered, auth, entry):
                return answer
        return _error(409, "conflict", f"authorize {key}: racing calls kept winning")

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
        return [a.view() for a in self.store.by_reference(reference)]

    def entries(self) -> list[dict[str, Any]]:
        """Every operation that changed something, in order (replays are not entries: they change nothing)."""
        return self.store.entries()

    def authorizations(self) -> list[dict[str, Any]]:
        return [a.view() for a in self.store.authorizations()]

    def replays(self) -> int:
        return self.store.replays()

    # --- internals ----------------------------------------------------------------------------

    def _change(self, operation: str, key: str, authorization_id: str, amount: Any, apply: Any) -> Answer:
        fingerprint = _fingerprint(operation, authorization_id, amount)
        for _ in range(MAX_ROUNDS):
            replay = self._replay(key, fingerprint)
            if replay is not None:
                return replay
            stored = self.store.authorization(authorization_id)
            if stored is None:
                return _error(404, "not_found", f"no authorization {authorization_id}")
            auth = replace(stored, version=stored.version + 1)
            refused = apply(auth)
            if refused is not None:
                return refused  # not remembered: a refused call may succeed later (e.g. after a retry)
            answer = Answer(200, auth.view())
            if self._commit(key, Remembered(fingerprint, answer), auth, _entry(operation, key, auth, amount, "approved")):
                return answer
        return _error(409, "conflict", f"{operation} {key}: racing calls kept winning")

    def _replay(self, key: str, fingerprint: str) -> Answer | None:
        remembered = self.store.remembered(key)
        if remembered is None:
            return None
        if remembered.fingerprint != fingerprint:
            return _error(422, "idempotency_error", "Idempotency-Key reused with different parameters")
        self.store.count_replay(key)
        return replace(remembered.answer, hang=remembered.hang_on_replay)

    def _commit(
        self, key: str, remembered: Remembered, auth: AuthorizationRecord | None, entry: dict[str, Any] | None
    ) -> bool:
        try:
            self.store.commit(key, remembered, auth, entry)
        except Conflict:
            return False
        return True


def _invalid_authorize(amount_cents: Any, currency: Any, token: Any, reference: Any) -> Answer | None:
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        return _error(400, "invalid_request", "amount_cents must be a positive integer")
    if not (isinstance(currency, str) and len(currency) == 3):
        return _error(400, "invalid_request", "currency must be a 3-letter code")
    if not (isinstance(reference, str) and reference and isinstance(token, str)):
        return _error(400, "invalid_request", "reference and token are required")
    return None


def _entry(operation: str, key: str, auth: AuthorizationRecord, amount: Any, outcome: str) -> dict[str, Any]:
    return {
        "at": datetime.now(UTC).isoformat(),
        "operation": operation,
        "idempotency_key": key,
        "authorization_id": auth.id,
        "reference": auth.reference,
        "amount_cents": amount,
        "outcome": outcome,
        "status_after": auth.status,
    }


class MemoryStore:
    """The store of the local sidecar and of unit tests: thread-safe (one HTTP thread per request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._authorizations: dict[str, AuthorizationRecord] = {}
        self._answers: dict[str, Remembered] = {}
        self._replays: dict[str, int] = {}
        self._entries: list[dict[str, Any]] = []

    def remembered(self, key: str) -> Remembered | None:
        with self._lock:
            return self._answers.get(key)

    def authorization(self, authorization_id: str) -> AuthorizationRecord | None:
        with self._lock:
            auth = self._authorizations.get(authorization_id)
            return replace(auth) if auth is not None else None

    def by_reference(self, reference: str) -> list[AuthorizationRecord]:
        with self._lock:
            return [replace(a) for a in self._authorizations.values() if a.reference == reference]

    def commit(
        self, key: str, remembered: Remembered, auth: AuthorizationRecord | None, entry: dict[str, Any] | None
    ) -> None:
        with self._lock:
            if key in self._answers:
                raise Conflict(key)
            if auth is not None:
                current = self._authorizations.get(auth.id)
                if (current.version if current is not None else 0) != auth.version - 1:
                    raise Conflict(auth.id)
                self._authorizations[auth.id] = replace(auth)
            self._answers[key] = remembered
            if entry is not None:
                self._entries.append({"seq": len(self._entries) + 1, **entry})

    def count_replay(self, key: str) -> None:
        with self._lock:
            self._replays[key] = self._replays.get(key, 0) + 1

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries]

    def authorizations(self) -> list[AuthorizationRecord]:
        with self._lock:
            return [replace(a) for a in self._authorizations.values()]

    def replays(self) -> int:
        with self._lock:
            return sum(self._replays.values())
