"""The customer's receipt for a confirmed, cancelled or shipped order, as a self-contained HTML page.

The receipt is written once (`WriteOnceObjects.put_once`) under a key per order and event type:
a redelivered event finds its receipt already stored and writes nothing. Rendering uses only the
event (no clock, no lookups), so even a lost race would store the same bytes.
"""

from __future__ import annotations

from html import escape

from consumers.envelope import OrderEvent, utc_iso
from consumers.ports import Outcome, WriteOnceObjects

RECEIPT_EVENT_TYPES: frozenset[str] = frozenset({"OrderConfirmed", "OrderCancelled", "OrderShipped"})

_HEADLINES = {
    "OrderConfirmed": "Thank you, your order is confirmed",
    "OrderCancelled": "Your order has been cancelled",
    "OrderShipped": "Your order is on its way",
}


def receipt_key(order_id: str, event_type: str) -> str:
    return f"receipts/{order_id}/{event_type}.html"


def store_receipt(event: OrderEvent, receipts: WriteOnceObjects) -> Outcome:
    """The receipt of a confirmed, cancelled or shipped order, written once; other event types have none."""
    if event.event_type not in RECEIPT_EVENT_TYPES:
        return Outcome.SKIPPED
    key = receipt_key(event.payload.order_id, event.event_type)
    return receipts.put_once(key, render_receipt(event).encode(), {"event-id": event.event_id})


def money(cents: int, currency: str) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{part:02d} {currency}"


def render_receipt(event: OrderEvent) -> str:
    order = event.payload
    headline = _HEADLINES.get(event.event_type, event.event_type)
    rows = "\n".join(
        "<tr>"
        f"<td>{escape(line.sku)}</td><td>{escape(line.name)}</td><td class='n'>{line.quantity}</td>"
        f"<td class='n'>{money(line.unit_price_cents, order.currency)}</td>"
        f"<td class='n'>{money(line.line_total_cents, order.currency)}</td>"
        "</tr>"
        for line in order.items
    )
    address = ""
    if order.shipping_address is not None:
        a = order.shipping_address
        parts = (a.name, a.line1, f"{a.postal_code} {a.city}", a.country)
        address = "<h2>Ship to</h2><address>" + "<br>".join(escape(p) for p in parts) + "</address>"
    reason = f"<p>Reason: {escape(order.reason)}</p>" if order.reason else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Order {escape(order.order_id)}</title>
<style>td.n{{text-align:right}} table{{border-collapse:collapse}} td,th{{padding:2px 8px}}</style></head>
<body>
<h1>{escape(headline)}</h1>
<p>Order <strong>{escape(order.order_id)}</strong> &middot; customer {escape(order.customer_id)} &middot; {utc_iso(event.occurred_at)}</p>
{reason}<table>
<thead><tr><th>SKU</th><th>Item</th><th>Qty</th><th>Unit price</th><th>Line total</th></tr></thead>
<tbody>
{rows}
</tbody>
<tfoot><tr><th colspan="4">Total</th><th class="n">{money(order.total_cents, order.currency)}</th></tr></tfoot>
</table>
{address}
</body></html>
"""
