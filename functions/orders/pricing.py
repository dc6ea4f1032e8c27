"""Pricing: a cart's lines priced from the catalog, never from the client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orders.cart import InvalidCart, merge_lines
from orders.models import CartLine, OrderLine, Product


def price_cart(items: Sequence[CartLine], products: Mapping[str, Product]) -> tuple[tuple[OrderLine, ...], int, str]:
    """Lines priced at the catalog's current price, the total and the currency.

    Raises `InvalidCart` naming every unknown sku at once, so a client fixes its cart in one go.
    """
    quantities = merge_lines(items)
    unknown = sorted(sku for sku in quantities if sku not in products)
    if unknown:
        raise InvalidCart("unknown sku", skus=unknown)
    currencies = {products[sku].currency for sku in quantities}
    if len(currencies) > 1:
        raise InvalidCart("items are priced in different currencies", skus=sorted(quantities))
    lines = tuple(
        OrderLine(
            sku=sku,
            name=products[sku].name,
            quantity=quantity,
            unit_price_cents=products[sku].price_cents,
            line_total_cents=products[sku].price_cents * quantity,
        )
        for sku, quantity in quantities.items()
    )
    return lines, sum(line.line_total_cents for line in lines), currencies.pop()
