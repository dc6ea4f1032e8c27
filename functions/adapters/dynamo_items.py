"""Plain Python <-> DynamoDB attribute values, and the conditional order update everyone shares."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from orders.models import Order

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in data.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; ours are all integers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def order_to_item(order: Order) -> dict[str, Any]:
    return to_item(order.model_dump(mode="json"))


def order_from_item(item: dict[str, Any]) -> Order:
    return Order.model_validate(from_item(item))


def order_update(table: str, previous: Order, new: Order) -> dict[str, Any]:
    """The UpdateItem of `previous` into `new`, on condition that the stored order is still `previous`.

    Only changed attributes are set; history is appended (never rewritten). Usable as the
    parameters of `update_item` and as the `Update` of a transaction.
    """
    before, after = previous.model_dump(mode="json"), new.model_dump(mode="json")
    names = {"#status": "status", "#version": "version", "#history": "history"}
    values: dict[str, Any] = {":prev_status": previous.status.value, ":prev_version": previous.version}
    sets = []
    for index, (field, value) in enumerate(sorted(after.items())):
        if field in ("order_id", "history") or before.get(field) == value:
            continue
        names[f"#f{index}"] = field
        values[f":v{index}"] = value
        sets.append(f"#f{index} = :v{index}")
    appended = after["history"][len(before["history"]) :]
    if appended:
        values[":appended"] = appended
        sets.append("#history = list_append(#history, :appended)")
    return {
        "TableName": table,
        "Key": {"order_id": {"S": new.order_id}},
        "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": "#status = :prev_status AND #version = :prev_version",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": to_item(values),
    }
