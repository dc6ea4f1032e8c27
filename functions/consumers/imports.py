"""Bulk import: which objects a notification names, each line's idempotency key, the error report.

A line's idempotency key is derived from where it came from and what it says (bucket, key,
line number, sha256 of the line), so uploading the same file again maps every line to the
order it already created, while an edited line becomes a new order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

IMPORT_PREFIX = "imports/"
IMPORT_SUFFIX = ".jsonl"
REPORT_PREFIX = "reports/"


@dataclass(frozen=True)
class ImportObject:
    bucket: str
    key: str


def objects_to_import(body: str) -> list[ImportObject]:
    """The JSON Lines objects an S3 notification (as delivered in an SQS body) announces.

    S3 sends an `s3:TestEvent` when the notification is configured: it names no object.
    Keys arrive URL-encoded (spaces as '+'). Objects outside imports/*.jsonl are not ours.
    """
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise ValueError("S3 notification must be a JSON object")
    if doc.get("Event") == "s3:TestEvent":
        return []
    found = []
    for record in doc["Records"]:
        if record.get("eventSource") != "aws:s3" or not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        key = unquote_plus(record["s3"]["object"]["key"])
        if key.startswith(IMPORT_PREFIX) and key.endswith(IMPORT_SUFFIX):
            found.append(ImportObject(bucket=record["s3"]["bucket"]["name"], key=key))
    return found


def line_idempotency_key(source: ImportObject, line_no: int, line: bytes) -> str:
    digest = hashlib.sha256(line).hexdigest()
    source_id = f"{source.bucket}\n{source.key}\n{line_no}\n{digest}"
    return "import-" + hashlib.sha256(source_id.encode()).hexdigest()


def numbered_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line without its line ending), skipping blank lines but counting them."""
    for line_no, raw in enumerate(lines, start=1):
        line = raw.rstrip(b"\r\n")
        if line.strip():
            yield line_no, line


def parse_line(line: bytes) -> dict[str, Any]:
    """The line's JSON object; the reason is in the exception when it is not one."""
    try:
        doc = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"expected a JSON object, got {type(doc).__name__}")
    return doc


def report_key(source: ImportObject) -> str:
    return f"{REPORT_PREFIX}{source.key}.errors.json"


@dataclass
class ImportReport:
    """What an import did: counts, and every rejected line with its reason."""

    source: ImportObject
    lines: int = 0
    accepted: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def accept(self) -> None:
        self.lines += 1
        self.accepted += 1

    def reject(self, line_no: int, reason: str) -> None:
        self.lines += 1
        self.errors.append({"line": line_no, "reason": reason})

    def to_json(self) -> bytes:
        doc = {
            "bucket": self.source.bucket,
            "key": self.source.key,
            "lines": self.lines,
            "accepted": self.accepted,
            "rejected": len(self.errors),
            "errors": self.errors,
        }
        return json.dumps(doc, indent=2).encode()


def validation_reason(errors: Iterable[dict[str, Any]]) -> str:
    """pydantic's errors as one line naming each bad field: 'items.0.quantity: ...; customer_id: ...'."""
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ())) or "line"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)
