"""What the fan-out consumers need of their storage: one small port each, one typed outcome.

Every condition on storage (write-once, newer-version-only, settle-from-one-status) is carried
out by the adapter behind the port (functions/adapters/), in one request, so that concurrent
deliveries cannot both win; the rules in this package decide *what* to write and under which
condition, and are tested with in-memory fakes that keep the same guarantees.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol


class Outcome(StrEnum):
    """What one delivery did to the consumer's state."""

    WRITTEN = "written"
    DUPLICATE = "duplicate"  # the same write was done before: nothing changed
    STALE = "stale"  # newer (or the same) state is already stored: nothing changed
    SKIPPED = "skipped"  # an event type this consumer does not act on


class WriteOnceObjects(Protocol):
    """Objects that, once written, never change (receipts, the archive)."""

    def put_once(self, key: str, body: bytes, metadata: dict[str, str] | None = None) -> Outcome:
        """WRITTEN, or DUPLICATE when the key already holds an object (left as it is)."""
        ...


class DerivedObjects(Protocol):
    """Objects whose key and bytes depend only on the event (the lake): a rewrite is harmless."""

    def put(self, key: str, body: bytes) -> Outcome: ...


class VersionedDocuments(Protocol):
    """One document per key that only moves forward in version (the search projection)."""

    def put_if_newer(self, document: dict[str, Any], version: int) -> Outcome:
        """WRITTEN if nothing is stored under the key or it holds an older version, else STALE."""
        ...


class ShipmentRows(Protocol):
    """The shipments table as the shipping consumer writes it."""

    def put_once(self, row: dict[str, Any]) -> Outcome:
        """WRITTEN, or DUPLICATE when the order already has a row (whatever its status)."""
        ...

    def settle(self, order_id: str, changes: dict[str, Any], *, only_from: str) -> Outcome:
        """Set `changes` on the order's row if it has none yet or its status is `only_from`, else DUPLICATE."""
        ...
