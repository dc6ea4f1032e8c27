"""Search: the query-friendly document of an order, versioned by the order's own version.

The document carries the order version it was built from; the write is conditional on that
version being newer than the stored one, so duplicates and late events converge on the
newest state whatever order they arrive in.
"""

from __future__ import annotations

from typing import Any

from consumers.envelope import OrderEvent, utc_iso
from consumers.ports import Outcome, VersionedDocuments

def search_document(event: OrderEvent) -> dict[str, Any]:
    order = event.payload
    doc: dict[str, Any] = {
        "order_id": order.order_id,
        "customer_id": order.customer_id,
        "status": order.status,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "item_count": sum(line.quantity for line in order.items),
        "skus": sorted({line.sku for line in order.items}),
        "updated_at": utc_iso(order.updated_at or event.occurred_at),
        "version": order.version,
        "last_event_id": event.event_id,
        "last_event_type": event.event_type,
    }
    if order.reason:
        doc["reason"] = order.reason
    if order.created_at is not None:
        doc["created_at"] = utc_iso(order.created_at)
    if order.shipping_address is not None:
        doc["country"] = order.shipping_address.country
    return doc


def project(event: OrderEvent, documents: VersionedDocuments) -> Outcome:
    """Replace the order's document only with one built from a newer order version (else STALE)."""
    return documents.put_if_newer(search_document(event), event.payload.version)
