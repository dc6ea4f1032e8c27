"""Shipments in DynamoDB, read by the warehouse's dispatch; the shipping consumer owns the writes."""

from __future__ import annotations

from typing import Any

from adapters.dynamo_items import from_item
from orders.models import Shipment


class DynamoShipments:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, order_id: str) -> Shipment | None:
        item = self._client.get_item(TableName=self._table, Key={"order_id": {"S": order_id}}, ConsistentRead=True).get("Item")
        return Shipment.model_validate(from_item(item)) if item else None
