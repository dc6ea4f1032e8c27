"""Read a stack's whole state into an `invariants.Snapshot`, through boto3 and the payment provider's ledger.

Meant for a quiet stack (nothing in flight): it scans every table, lists every bucket it needs and
peeks every dead-letter queue (messages are made visible again at once). A Lambda OnFailure record
of the relay's stream mapping names only stream coordinates: the records are read back from the
stream to learn which orders they were about (as `orderflow replay --from-dlq` does).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from ordertools.dlq import failure_reason, find_dead_letter_queues
from ordertools.dlq_replay import stream_records
from ordertools.invariants import DeadLetter, LakeRecord, Snapshot
from ordertools.sqs_messages import Message, peek
from ordertools.targets import BUCKET, TABLE, StackTarget, TargetError

_deserializer = TypeDeserializer()
DLQ_PEEK_LIMIT = 10_000
LAKE_READERS = 8


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain Python (integers stay integers)."""
    return json.loads(json.dumps({k: _deserializer.deserialize(v) for k, v in item.items()}, default=_number))


def _number(value: Any) -> Any:
    return int(value) if value == value.to_integral_value() else float(value)


def scan(target: StackTarget, logical_id: str) -> list[dict[str, Any]]:
    ddb = target.client("dynamodb")
    pages = ddb.get_paginator("scan").paginate(TableName=target.physical_id(logical_id, TABLE), ConsistentRead=True)
    return [plain(item) for page in pages for item in page.get("Items", [])]


def list_keys(target: StackTarget, logical_id: str, prefix: str = "") -> list[str]:
    s3 = target.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=target.physical_id(logical_id, BUCKET), Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def catalog_stock(target: StackTarget) -> dict[str, int]:
    return {row["sku"]: int(row.get("stock", 0)) for row in scan(target, "CatalogTable")}


def ledger(payment_url: str) -> list[dict[str, Any]]:
    """Every authorization the payment provider holds (`GET /v1/ledger`)."""
    with urllib.request.urlopen(f"{payment_url.rstrip('/')}/v1/ledger", timeout=30) as response:  # noqa: S310 - the provider's URL from the stack
        return list(json.loads(response.read())["authorizations"])


def _lake(target: StackTarget) -> list[LakeRecord]:
    s3 = target.client("s3")
    bucket = target.physical_id("DataLakeBucket", BUCKET)

    def read(key: str) -> LakeRecord:
        record = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        return LakeRecord(str(record["order_id"]), str(record["event_type"]), str(record["event_id"]))

    with ThreadPoolExecutor(LAKE_READERS) as pool:
        return list(pool.map(read, list_keys(target, "DataLakeBucket", "analytics/")))


def dead_letter(target: StackTarget, queue: str, message: Message, reason: str) -> DeadLetter:
    """What one DLQ message is about: the order(s) of an event, of a stream batch, or the import file."""
    document = message.json_body()
    if isinstance(document, dict) and document.get("Type") == "Notification":
        document = json.loads(document.get("Message") or "null")
    if isinstance(document, dict) and "DDBStreamBatchInfo" in document:
        try:
            records = stream_records(target, document["DDBStreamBatchInfo"])
        except TargetError as error:
            return DeadLetter(queue, message.message_id, f"{reason}; {error}")
        ids = tuple(dict.fromkeys(str(r["dynamodb"]["Keys"]["order_id"]["S"]) for r in records))
        return DeadLetter(queue, message.message_id, reason, ids)
    if isinstance(document, dict) and isinstance(document.get("payload"), dict) and document["payload"].get("order_id"):
        return DeadLetter(queue, message.message_id, reason, (str(document["payload"]["order_id"]),))
    if isinstance(document, dict) and isinstance(document.get("Records"), list):
        keys = [r.get("s3", {}).get("object", {}).get("key") for r in document["Records"] if isinstance(r, dict)]
        if keys and all(keys):
            return DeadLetter(queue, message.message_id, reason, subject="import " + ", ".join(keys))
    return DeadLetter(queue, message.message_id, reason)


def dead_letters(target: StackTarget) -> list[DeadLetter]:
    sqs = target.client("sqs")
    found = []
    for dlq in find_dead_letter_queues(target):
        for message in peek(sqs, dlq.url, DLQ_PEEK_LIMIT):
            found.append(dead_letter(target, dlq.logical_id, message, failure_reason(message, dlq)))
    return found


def read_snapshot(target: StackTarget, *, payment_url: str, initial_stock: Mapping[str, int] | None = None) -> Snapshot:
    return Snapshot(
        orders={row["order_id"]: row for row in scan(target, "OrdersTable")},
        catalog=catalog_stock(target),
        reservations={row["order_id"]: dict(row.get("lines") or {}) for row in scan(target, "ReservationsTable")},
        authorizations=ledger(payment_url),
        receipts=list_keys(target, "ReceiptsBucket", "receipts/"),
        lake=_lake(target),
        shipments={row["order_id"]: row for row in scan(target, "ShipmentsTable")},
        search={row["order_id"]: row for row in scan(target, "SearchTable")},
        dead_letters=dead_letters(target),
        initial_stock=dict(initial_stock) if initial_stock is not None else None,
    )
