"""The search projection's documents in DynamoDB, one per order, replaced only by a newer version."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from adapters.dynamo_items import to_item
from consumers.ports import Outcome


class DynamoSearchDocuments:
    """`VersionedDocuments` keyed by `order_id`: one conditional PutItem, no read first."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def put_if_newer(self, document: dict[str, Any], version: int) -> Outcome:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item(document),
                ConditionExpression="attribute_not_exists(order_id) OR #version < :version",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues=to_item({":version": version}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return Outcome.STALE
        return Outcome.WRITTEN
