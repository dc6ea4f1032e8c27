"""Orders in DynamoDB: every write is conditional, so the table itself enforces the state machine's order."""

from __future__ import annotations

from typing import Any

from adapters.dynamo_items import order_from_item, order_to_item, order_update
from orders.models import Order
from orders.ports import StaleOrder


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
