"""The payment sandbox's ledger in a DynamoDB table: `payment_ledger.ledger.LedgerStore` for the in-stack function.

One table, one string key `pk`, one JSON document per item:

    key#<idempotency key>   the first answer for that key (and how many replays it served)
    auth#<authorization id> the authorization, with `version` for optimistic writes
    ref#<reference>         the authorization ids of a reference (a string set, for the saga's lookup)
    entry#<time>#<key>      one ledger entry per operation that changed something

A commit is ONE transaction: the answer only if its key is unused, the authorization only over
the version the rules read (or absent when new), the reference's id set and the entry. Reads are
strongly consistent, so a retry after a timeout always sees what the first call committed.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from payment_ledger.ledger import Answer, AuthorizationRecord, Conflict, Remembered


class DynamoLedgerStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def remembered(self, key: str) -> Remembered | None:
        item = self._get(f"key#{key}")
        if item is None:
            return None
        doc = json.loads(item["doc"]["S"])
        return Remembered(doc["fingerprint"], Answer(doc["status"], doc["body"]), doc["hang_on_replay"])

    def authorization(self, authorization_id: str) -> AuthorizationRecord | None:
        item = self._get(f"auth#{authorization_id}")
        return AuthorizationRecord(**json.loads(item["doc"]["S"])) if item is not None else None

    def by_reference(self, reference: str) -> list[AuthorizationRecord]:
        item = self._get(f"ref#{reference}")
        if item is None:
            return []
        keys = [{"pk": {"S": f"auth#{auth_id}"}} for auth_id in sorted(item["ids"]["SS"])]
        found = self._client.batch_get_item(RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}})
        records = [AuthorizationRecord(**json.loads(i["doc"]["S"])) for i in found["Responses"].get(self._table, [])]
        return sorted(records, key=lambda a: a.created_at)

    def commit(
        self, key: str, remembered: Remembered, auth: AuthorizationRecord | None, entry: dict[str, Any] | None
    ) -> None:
        answer = {
            "fingerprint": remembered.fingerprint,
            "status": remembered.answer.status,
            "body": remembered.answer.body,
            "hang_on_replay": remembered.hang_on_replay,
        }
        items: list[dict[str, Any]] = [self._put(f"key#{key}", answer, "attribute_not_exists(pk)")]
        if auth is not None:
            if auth.version == 1:
                items.append(self._put(f"auth#{auth.id}", asdict(auth), "attribute_not_exists(pk)"))
                items.append(
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": {"pk": {"S": f"ref#{auth.reference}"}},
                            "UpdateExpression": "ADD ids :id",
                            "ExpressionAttributeValues": {":id": {"SS": [auth.id]}},
                        }
                    }
                )
            else:
                put = self._put(f"auth#{auth.id}", asdict(auth), "version = :read")
                put["Put"]["ExpressionAttributeValues"] = {":read": {"N": str(auth.version - 1)}}
                items.append(put)
        if entry is not None:
            items.append(self._put(f"entry#{entry['at']}#{key}", entry, None))
        try:
            self._client.transact_write_items(TransactItems=items)
        except self._client.exceptions.TransactionCanceledException as exc:
            raise Conflict(key) from exc

    def count_replay(self, key: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"key#{key}"}},
            UpdateExpression="ADD replays :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    # --- for tests and tools (scans: the sandbox's table is small) ------------------------------------

    def entries(self) -> list[dict[str, Any]]:
        docs = sorted((json.loads(i["doc"]["S"]) for i in self._scan("entry#")), key=lambda e: e["at"])
        return [{"seq": seq, **doc} for seq, doc in enumerate(docs, start=1)]

    def authorizations(self) -> list[AuthorizationRecord]:
        records = [AuthorizationRecord(**json.loads(i["doc"]["S"])) for i in self._scan("auth#")]
        return sorted(records, key=lambda a: a.created_at)

    def replays(self) -> int:
        return sum(int(i.get("replays", {}).get("N", "0")) for i in self._scan("key#"))

    # --- the table ------------------------------------------------------------------------------

    def _get(self, pk: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": pk}}, ConsistentRead=True
        ).get("Item")
        return item

    def _put(self, pk: str, doc: dict[str, Any], condition: str | None) -> dict[str, Any]:
        item: dict[str, Any] = {"pk": {"S": pk}, "doc": {"S": json.dumps(doc)}}
        if "version" in doc:
            item["version"] = {"N": str(doc["version"])}
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if condition is not None:
            put["ConditionExpression"] = condition
        return {"Put": put}

    def _scan(self, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self._client.get_paginator("scan").paginate(
            TableName=self._table,
            ConsistentRead=True,
            FilterExpression="begins_with(pk, :prefix)",
            ExpressionAttributeValues={":prefix": {"S": prefix}},
        ):
            items.extend(page["Items"])
        return items
