"""Stock reservations as DynamoDB transactions: never oversold, never negative, each done once.

A reservation row per order records what was taken. Reserving is ONE transaction: every line's
`stock >= :q` decrement and the reservation `Put` (only if absent). Releasing is one transaction
too: the reservation `Delete` (only if present) and the increments. So a replay can never take
twice, and two releasers can never give back twice.

The orders table is deliberately not part of these transactions: the saga records the step with
its own conditional write, and its compensation trusts the reservation row, not the order.
"""

from __future__ import annotations

from typing import Any

from adapters.dynamo_items import from_item, to_item
from orders.models import Order
from orders.ports import OutOfStock

_MAX_RELEASE_ROUNDS = 5
_MAX_CONFLICT_ROUNDS = 5
_FAILED = "ConditionalCheckFailed"


class DynamoInventory:
    def __init__(self, client: Any, *, catalog_table: str, reservations_table: str) -> None:
        self._client = client
        self._catalog = catalog_table
        self._reservations = reservations_table

    def reserve(self, order: Order) -> bool:
        lines = sorted(order.quantities.items())
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._catalog,
                    "Key": {"sku": {"S": sku}},
                    "UpdateExpression": "SET stock = stock - :q",
                    "ConditionExpression": "attribute_exists(sku) AND stock >= :q",
                    "ExpressionAttributeValues": {":q": {"N": str(quantity)}},
                }
            }
            for sku, quantity in lines
        ]
        items.append(
            {
                "Put": {
                    "TableName": self._reservations,
                    "Item": to_item({"order_id": order.order_id, "lines": dict(lines), "reserved_at": order.updated_at.isoformat()}),
                    "ConditionExpression": "attribute_not_exists(order_id)",
                }
            }
        )
        for _ in range(_MAX_CONFLICT_ROUNDS):
            try:
                self._client.transact_write_items(TransactItems=items)
                return True
            except self._client.exceptions.TransactionCanceledException as exc:
                codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
                if codes[len(lines) : len(lines) + 1] == [_FAILED]:
                    return False  # already reserved: a replay takes nothing
                short = [sku for (sku, _), code in zip(lines, codes, strict=False) if code == _FAILED]
                if short:
                    raise OutOfStock(short) from exc
                # Only conflicts with concurrent transactions on the same items: try again.
        raise RuntimeError(f"reserving stock for {order.order_id} kept conflicting with other transactions")

    def release(self, order_id: str) -> bool:
        for _ in range(_MAX_RELEASE_ROUNDS):
            item = self._client.get_item(
                TableName=self._reservations, Key={"order_id": {"S": order_id}}, ConsistentRead=True
            ).get("Item")
            if item is None:
                return False
            lines: dict[str, int] = from_item(item)["lines"]
            items: list[dict[str, Any]] = [
                {
                    "Delete": {
                        "TableName": self._reservations,
                        "Key": {"order_id": {"S": order_id}},
                        "ConditionExpression": "attribute_exists(order_id)",
                    }
                }
            ]
            items.extend(
                {
                    "Update": {
                        "TableName": self._catalog,
                        "Key": {"sku": {"S": sku}},
                        "UpdateExpression": "SET stock = stock + :q",
                        "ExpressionAttributeValues": {":q": {"N": str(quantity)}},
                    }
                }
                for sku, quantity in sorted(lines.items())
            )
            try:
                self._client.transact_write_items(TransactItems=items)
                return True
            except self._client.exceptions.TransactionCanceledException as exc:
                codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
                if codes and codes[0] == _FAILED:
                    return False  # someone else released it first
                continue  # a concurrent transaction on the same sku: read again and retry
        raise RuntimeError(f"could not release the reservation of {order_id}")
