"""Stock reservations as DynamoDB transactions: never oversold, never negative, each done once.

A reservation row per order records what was taken. Reserving is ONE transaction: every line's
`stock >= :q` decrement, the reservation `Put` (only if absent) and the order's step update
(only if the order is unchanged). Releasing is one transaction too: the reservation `Delete`
(only if present) and the increments. So two releasers, or a replay, can never give twice.
"""

from __future__ import annotations

from typing import Any

from adapters.dynamo_items import from_item, order_update, to_item
from orders.models import Order
from orders.ports import OutOfStock, StaleOrder

_MAX_RELEASE_ROUNDS = 5
_MAX_CONFLICT_ROUNDS = 5
_FAILED = "ConditionalCheckFailed"


class DynamoInventory:
    def __init__(self, client: Any, *, catalog_table: str, reservations_table: str, orders_table: str) -> None:
        self._client = client
        self._catalog = catalog_table
        self._reservations = reservations_table
        self._orders = orders_table

    def reserve(self, previous: Order, new: Order) -> None:
        lines = sorted(new.quantities.items())
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
                    "Item": to_item({"order_id": new.order_id, "lines": dict(lines), "reserved_at": new.updated_at.isoformat()}),
                    "ConditionExpression": "attribute_not_exists(order_id)",
                }
            }
        )
        items.append({"Update": order_update(self._orders, previous, new)})
        for _ in range(_MAX_CONFLICT_ROUNDS):
            try:
                self._client.transact_write_items(TransactItems=items)
                return
            except self._client.exceptions.TransactionCanceledException as exc:
                codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
                line_codes, own_codes = codes[: len(lines)], codes[len(lines) :]
                if _FAILED in own_codes:
                    # The order moved, or this order already holds a reservation: not a stock problem.
                    raise StaleOrder(f"order {new.order_id} changed or is already reserved") from exc
                short = [sku for (sku, _), code in zip(lines, line_codes, strict=False) if code == _FAILED]
                if short:
                    raise OutOfStock(short) from exc
                # Only conflicts with concurrent transactions on the same items: try again.
        raise RuntimeError(f"reserving stock for {new.order_id} kept conflicting with other transactions")

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
