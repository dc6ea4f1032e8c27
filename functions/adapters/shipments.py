"""Shipments in DynamoDB: the shipping consumer's conditional writes, and the warehouse dispatch's read."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from adapters.dynamo_items import from_item, to_item
from consumers.ports import Outcome
from orders.models import Shipment


class DynamoShipments:
    """`ShipmentRows` (writes) and the domain's `Shipments` (reads), keyed by `order_id`."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, order_id: str) -> Shipment | None:
        item = self._client.get_item(TableName=self._table, Key={"order_id": {"S": order_id}}, ConsistentRead=True).get("Item")
        return Shipment.model_validate(from_item(item)) if item else None

    def put_once(self, row: dict[str, Any]) -> Outcome:
        return self._conditional(
            self._client.put_item, TableName=self._table, Item=to_item(row), ConditionExpression="attribute_not_exists(order_id)"
        )

    def settle(self, order_id: str, changes: dict[str, Any], *, only_from: str) -> Outcome:
        """One UpdateItem, on condition that the row is absent (it becomes a settled tombstone) or still `only_from`."""
        names = {f"#{k}": k for k in changes}
        values = {f":{k}": v for k, v in changes.items()}
        return self._conditional(
            self._client.update_item,
            TableName=self._table,
            Key={"order_id": {"S": order_id}},
            UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in changes),
            ConditionExpression="attribute_not_exists(order_id) OR #status = :only_from",
            ExpressionAttributeNames={**names, "#status": "status"},
            ExpressionAttributeValues=to_item({**values, ":only_from": only_from}),
        )

    @staticmethod
    def _conditional(write: Any, **params: Any) -> Outcome:
        """A failed condition is the duplicate / out-of-order case designed for; any other error is retried."""
        try:
            write(**params)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return Outcome.DUPLICATE
        return Outcome.WRITTEN
