"""Seed the catalog table: the demo, the end-to-end tests and a fresh `orderflow up` start from the same products.

Plain boto3 on purpose: this runs in the tooling's process (the `orderflow` CLI), which does not
import the functions' code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

CATALOG_FILE = Path(__file__).with_name("catalog.json")


def load_products(path: Path = CATALOG_FILE) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text()))


def product_item(product: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog table's item for a product: sku, name, price_cents, currency, stock."""
    return {
        "sku": {"S": str(product["sku"])},
        "name": {"S": str(product["name"])},
        "price_cents": {"N": str(int(product["price_cents"]))},
        "currency": {"S": str(product.get("currency", "EUR"))},
        "stock": {"N": str(int(product["stock"]))},
    }


def seed(dynamodb: Any, table_name: str, products: Iterable[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Put every product (replacing what is there, stock included); returns what was written."""
    written = [dict(p) for p in products] if products is not None else load_products()
    for product in written:
        dynamodb.put_item(TableName=table_name, Item=product_item(product))
    return written
