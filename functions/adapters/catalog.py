"""The product catalog in DynamoDB (prices and the stock that reservations draw from)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.dynamo_items import from_item, to_item
from orders.models import Product

_BATCH = 100  # BatchGetItem's limit
_MAX_UNPROCESSED_ROUNDS = 10


class DynamoCatalog:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def products(self, skus: Iterable[str]) -> dict[str, Product]:
        wanted = sorted(set(skus))
        found: dict[str, Product] = {}
        for start in range(0, len(wanted), _BATCH):
            request = {self._table: {"Keys": [{"sku": {"S": sku}} for sku in wanted[start : start + _BATCH]], "ConsistentRead": True}}
            for _ in range(_MAX_UNPROCESSED_ROUNDS):
                response = self._client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self._table, []):
                    product = Product.model_validate(from_item(item))
                    found[product.sku] = product
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise RuntimeError(f"catalog kept throttling BatchGetItem on {self._table}")
        return found

    def all_products(self) -> list[Product]:
        products = []
        for page in self._client.get_paginator("scan").paginate(TableName=self._table):
            products.extend(Product.model_validate(from_item(item)) for item in page["Items"])
        return sorted(products, key=lambda p: p.sku)

    def put(self, product: Product) -> None:
        """Add or replace a product (seeding, back office)."""
        self._client.put_item(TableName=self._table, Item=to_item(product.model_dump()))
