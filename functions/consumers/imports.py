"""Bulk import: which objects a notification names, each line's idempotency key, the error report.

A line's idempotency key is derived from where it came from and what it says (bucket, key,
line number, sha256 of the line), so uploading the same file again maps every line to the
order it already created, while an edited line becomes a new order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from pydantic import ValidationError

from orders.cart import InvalidCart
from orders.models import OrderRequest

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

UTF8_BOM = b"\xef\xbb\xbf"


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Lines of a streamed object, split on LF only (a CR before it is left for `numbered_lines`
    to strip), so line numbers match what an editor shows whatever the chunk boundaries.
    """
    pending = b""
    for chunk in chunks:
        *lines, pending = (pending + chunk).split(b"\n")
        yield from lines
    if pending:
        yield pending


def numbered_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line without its line ending), skipping blank lines but counting them.

    The byte order mark Windows tools put before line 1 is dropped too, so such a file's first
    line is an order like any other (and keeps the same idempotency key as the file without it).
    """
    for line_no, raw in enumerate(lines, start=1):
        line = raw.rstrip(b"\r\n")
        if line_no == 1:
            line = line.removeprefix(UTF8_BOM)
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


# Places one order: (the validated request, its idempotency key) -> the order id. Raises
# `InvalidCart` for a cart the catalog refuses; any other exception is a failure of the import
# itself (throttling, outage), which must retry the whole file rather than be reported as a bad line.
PlaceOrder = Callable[[OrderRequest, str], str]


def run_import(source: ImportObject, lines: Iterable[bytes], place: PlaceOrder) -> ImportReport:
    """Every line becomes an order or a line of the error report; one bad line never stops the rest."""
    report = ImportReport(source)
    for line_no, line in numbered_lines(lines):
        reason = _import_line(source, line_no, line, place)
        if reason is None:
            report.accept()
        else:
            report.reject(line_no, reason)
    return report


def _import_line(source: ImportObject, line_no: int, line: bytes, place: PlaceOrder) -> str | None:
    """None once the line's order is placed, else why the line was refused."""
    try:
        request = OrderRequest.model_validate(parse_line(line))
    except ValidationError as exc:
        return validation_reason(exc.errors())
    except ValueError as exc:
        return str(exc)
    try:
        place(request, line_idempotency_key(source, line_no, line))
    except InvalidCart as exc:
        return str(exc)
    return None
