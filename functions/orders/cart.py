"""Cart rules: what makes a cart acceptable when placed, and still fulfillable at checkout."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orders.models import MAX_QUANTITY, CartLine, Product, RejectReason


class InvalidCart(ValueError):
    """The cart cannot be priced or fulfilled; `skus` names the lines at fault."""

    def __init__(self, message: str, *, skus: Sequence[str] = (), reason: RejectReason = RejectReason.INVALID_CART):
        super().__init__(f"{message}: {', '.join(skus)}" if skus else message)
        self.message = message
        self.skus = tuple(skus)
        self.reason = reason


def merge_lines(items: Sequence[CartLine]) -> dict[str, int]:
    """One quantity per sku: a cart listing a sku twice means the sum, within the per-line limit."""
    quantities: dict[str, int] = {}
    for line in items:
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    too_many = sorted(sku for sku, quantity in quantities.items() if quantity > MAX_QUANTITY)
    if too_many:
        raise InvalidCart(f"more than {MAX_QUANTITY} units of a sku", skus=too_many)
    return quantities


def check_fulfillable(quantities: Mapping[str, int], products: Mapping[str, Product]) -> None:
    """The checkout's first step: every sku still sold, enough in stock right now.

    Only a pre-check: stock can still run out before the reservation, which is the atomic truth.
    """
    gone = sorted(sku for sku in quantities if sku not in products)
    if gone:
        raise InvalidCart("no longer sold", skus=gone)
    short = sorted(sku for sku, quantity in quantities.items() if products[sku].stock < quantity)
    if short:
        raise InvalidCart("not enough stock", skus=short, reason=RejectReason.OUT_OF_STOCK)
