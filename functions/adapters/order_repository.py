"""Orders in DynamoDB: every write is conditional, so the table itself enforces the state machine's order."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from adapters.dynamo_items import order_from_item, order_to_item, order_update
from orders.models import Order, OrderStatus
from orders.ports import StaleOrder

# Stored times are pydantic's JSON form: compare like with like (they sort as strings).
_STORED_TIME = TypeAdapter(datetime)


class DynamoOrderRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, order_id: str) -> Order | None:
        item = self._client.get_item(TableName=self._table, Key={"order_id": {"S": order_id}}, ConsistentRead=True).get("Item")
        return order_from_item(item) if item else None

    def create(self, order: Order) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=order_to_item(order),
                ConditionExpression="attribute_not_exists(order_id)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def save(self, previous: Order, new: Order) -> None:
        try:
            self._client.update_item(**order_update(self._table, previous, new))
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise StaleOrder(f"order {new.order_id} is no longer {previous.status} v{previous.version}") from exc

    def waiting(self, statuses: Collection[OrderStatus], *, updated_before: datetime) -> Iterator[Order]:
        """Orders in one of `statuses` not written since `updated_before` (a full scan: for the recovery sweep)."""
        names = {"#status": "status", "#updated": "updated_at"}
        values = {f":s{i}": {"S": status.value} for i, status in enumerate(sorted(statuses))}
        values[":before"] = {"S": _STORED_TIME.dump_python(updated_before, mode="json")}
        pages = self._client.get_paginator("scan").paginate(
            TableName=self._table,
            FilterExpression=f"#status IN ({', '.join(sorted(k for k in values if k.startswith(':s')))}) AND #updated < :before",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
        )
        for page in pages:
            for item in page.get("Items", []):
                yield order_from_item(item)
