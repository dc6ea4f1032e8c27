"""`orderflow dlq list | show | redrive`: look into a stack's dead-letter queues and drain them safely.

A dead-letter queue is found from the stack itself, never from naming conventions: a queue that
another queue's RedrivePolicy targets (its source queues and maxReceiveCount come from there), or
a queue that a Lambda OnFailure destination points at (stream mappings, async invokes).

Redrive prefers SQS's own `StartMessageMoveTask`. Where the endpoint lacks it (moto answers 500),
or where only a subset is wanted (`--filter`, `--max`, `--to`), messages are moved here: the copy
is sent first, and the original is deleted only for entries SQS acknowledged, so a crash can
duplicate a message (every consumer dedupes: docs/consumers.md) but never lose one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from ordertools.progress import Progress, RateLimiter, Summary
from ordertools.sqs_messages import BodyFilter, Message, chunks, peek, receive, release
from ordertools.targets import QUEUE, StackTarget, TargetError, add_target_arguments, target_from_args

# How a missing StartMessageMoveTask shows itself: moto answers 500, others an "unknown action" code.
_MOVE_TASK_MISSING = {"InvalidAction", "UnknownOperation", "UnsupportedOperation", "NotImplemented", "InternalFailure", "InternalError"}


@dataclass(frozen=True)
class SourceQueue:
    url: str
    arn: str
    max_receive_count: int


@dataclass(frozen=True)
class DeadLetterQueue:
    logical_id: str
    url: str
    arn: str
    sources: tuple[SourceQueue, ...]
    failure_sources: tuple[str, ...]  # Lambda OnFailure destinations that write here

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")


@dataclass(frozen=True)
class Depth:
    visible: int
    in_flight: int
    delayed: int


def find_dead_letter_queues(target: StackTarget) -> list[DeadLetterQueue]:
    sqs = target.client("sqs")
    arns: dict[str, str] = {}
    policies: dict[str, dict[str, Any]] = {}
    for resource in target.of_type(QUEUE):
        attrs = sqs.get_queue_attributes(QueueUrl=resource.physical_id, AttributeNames=["QueueArn", "RedrivePolicy"])["Attributes"]
        arns[resource.physical_id] = attrs["QueueArn"]
        if attrs.get("RedrivePolicy"):
            policies[resource.physical_id] = json.loads(attrs["RedrivePolicy"])
    found = []
    for resource in target.of_type(QUEUE):
        arn = arns[resource.physical_id]
        sources = tuple(
            SourceQueue(url, arns[url], int(policy.get("maxReceiveCount", 0)))
            for url, policy in sorted(policies.items())
            if policy.get("deadLetterTargetArn") == arn
        )
        failure_sources = target.failure_destinations.get(arn, ())
        if sources or failure_sources:
            found.append(DeadLetterQueue(resource.logical_id, resource.physical_id, arn, sources, tuple(failure_sources)))
    return found


def find_dead_letter_queue(target: StackTarget, name: str) -> DeadLetterQueue:
    url = target.queue_url(name)
    for dlq in find_dead_letter_queues(target):
        if dlq.url == url:
            return dlq
    raise TargetError(f"{name!r} is a queue of stack {target.stack_name!r} but no redrive policy or OnFailure destination targets it")


def depth(sqs: Any, url: str) -> Depth:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return Depth(*(int(attrs.get(name, 0)) for name in names))


def oldest_age_s(messages: list[Message], now: datetime | None = None) -> float | None:
    """Age of the oldest message by its original SentTimestamp (SQS keeps it when dead-lettering)."""
    stamps = [m.sent_at for m in messages if m.sent_at]
    if not stamps:
        return None
    return ((now or datetime.now(UTC)) - min(stamps)).total_seconds()


def failure_reason(message: Message, dlq: DeadLetterQueue) -> str:
    """Why the message is here, as far as the message itself says."""
    document = message.json_body()
    if isinstance(document, dict) and "requestContext" in document and "responseContext" in document:
        request, response = document["requestContext"], document["responseContext"]
        function = str(request.get("functionArn", "")).rsplit(":function:", 1)[-1]
        parts = [f"Lambda {request.get('condition', '?')} in {function}"]
        if response.get("functionError"):
            parts.append(f"functionError={response['functionError']}")
        if request.get("approximateInvokeCount") is not None:
            parts.append(f"invocations={request['approximateInvokeCount']}")
        if "DDBStreamBatchInfo" in document:
            info = document["DDBStreamBatchInfo"]
            parts.append(f"stream batch of {info.get('batchSize')} ({info.get('startSequenceNumber')}..{info.get('endSequenceNumber')})")
        return "; ".join(parts)
    for name, value in message.message_attributes.items():
        if name.lower().replace("-", "_") in {"error", "error_message", "errormessage", "failure_reason", "reason"}:
            return f"{name}: {value.get('StringValue', '')}"
    if dlq.sources:
        limits = ", ".join(f"{s.url.rsplit('/', 1)[-1]} maxReceiveCount={s.max_receive_count}" for s in dlq.sources)
        return f"not deleted after {message.receive_count} receives ({limits})"
    return "unknown"


# --- redrive -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedrivePlan:
    dlq: DeadLetterQueue
    filter: BodyFilter | None = None
    max_messages: int | None = None
    to_url: str | None = None
    rate: float | None = None
    dry_run: bool = False


def redrive(target: StackTarget, plan: RedrivePlan, *, progress: bool = True, wait_s: int = 1, move_task_timeout_s: float = 300) -> Summary:
    """Move the DLQ's messages back where they came from; returns what was moved, skipped, failed."""
    started = time.monotonic()
    if not plan.dlq.sources and not plan.to_url:
        raise TargetError(
            f"{plan.dlq.logical_id} is a Lambda OnFailure destination ({', '.join(plan.dlq.failure_sources)}), not an SQS "
            f"dead-letter queue: re-run the failed invocations with `orderflow replay --from-dlq {plan.dlq.logical_id}`"
        )
    sqs = target.client("sqs")
    summary: Summary | None = None
    if _whole_queue(plan):
        summary = _move_task(target, plan, timeout_s=move_task_timeout_s)
    if summary is None:
        summary = _move_manually(sqs, plan, progress=progress, wait_s=wait_s)
    summary.elapsed_s = time.monotonic() - started
    return summary


def _whole_queue(plan: RedrivePlan) -> bool:
    return plan.filter is None and plan.max_messages is None and plan.to_url is None and not plan.dry_run and plan.rate is None


def _move_task(target: StackTarget, plan: RedrivePlan, *, timeout_s: float) -> Summary | None:
    """SQS's own redrive; None when the endpoint does not have it."""
    sqs = target.client("sqs", retries={"max_attempts": 1})
    try:
        task = sqs.start_message_move_task(SourceArn=plan.dlq.arn)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status in (500, 501) or error.get("Code") in _MOVE_TASK_MISSING:
            return None
        raise
    deadline = time.monotonic() + timeout_s
    while True:
        results = sqs.list_message_move_tasks(SourceArn=plan.dlq.arn, MaxResults=10)["Results"]
        mine = next((r for r in results if r.get("TaskHandle") == task["TaskHandle"]), results[0] if results else {})
        status = mine.get("Status", "RUNNING")
        if status in ("COMPLETED", "FAILED", "CANCELLED") or time.monotonic() > deadline:
            break
        time.sleep(1)
    moved = int(mine.get("ApproximateNumberOfMessagesMoved", 0))
    summary = Summary(replayed=moved, verb="redriven (StartMessageMoveTask)")
    if status != "COMPLETED":
        summary.failed = 1
        summary.failures.append(f"move task {status}: {mine.get('FailureReason', 'still running at timeout')}")
    return summary


def _destination(plan: RedrivePlan, message: Message) -> str:
    if plan.to_url:
        return plan.to_url
    source_arn = message.attributes.get("DeadLetterQueueSourceArn")
    for source in plan.dlq.sources:
        if source.arn == source_arn:
            return source.url
    if len(plan.dlq.sources) == 1:
        return plan.dlq.sources[0].url
    raise TargetError(f"{plan.dlq.logical_id} has several source queues and the message does not name its own: pass --to QUEUE")


def _move_manually(sqs: Any, plan: RedrivePlan, *, progress: bool, wait_s: int) -> Summary:
    """Receive, send the copy, delete the original only once the copy is acknowledged.

    Messages left in place (not matching, not sent, beyond --max, dry run) stay hidden until the
    pass ends, so one pass sees each message once; they are all made visible again at the end.
    """
    summary = Summary(verb="would redrive" if plan.dry_run else "redriven")
    bar = Progress("redrive", depth(sqs, plan.dlq.url).visible, enabled=progress)  # counts messages looked at
    limiter = RateLimiter(plan.rate)
    held: list[Message] = []
    seen: set[str] = set()
    fifo_cache: dict[str, bool] = {}
    try:
        while plan.max_messages is None or summary.replayed < plan.max_messages:
            wanted = 10 if plan.max_messages is None else plan.max_messages - summary.replayed
            batch = [m for m in receive(sqs, plan.dlq.url, max_messages=wanted, visibility_s=300, wait_s=wait_s) if m.message_id not in seen]
            if not batch:
                break
            seen.update(m.message_id for m in batch)
            chosen = []
            for message in batch:
                if plan.filter is None or plan.filter.matches(message.body):
                    chosen.append(message)
                else:
                    held.append(message)
                    summary.skipped += 1
            bar.advance(len(batch) - len(chosen))
            if plan.dry_run:
                for message in chosen:
                    print(f"would redrive {message.message_id} to {_destination(plan, message).rsplit('/', 1)[-1]}: {message.body[:120]}")
                held.extend(chosen)
                summary.replayed += len(chosen)
                bar.advance(len(chosen))
                continue
            by_destination: dict[str, list[Message]] = {}
            for message in chosen:
                by_destination.setdefault(_destination(plan, message), []).append(message)
            for url, messages in by_destination.items():
                fifo = fifo_cache.setdefault(url, url.endswith(".fifo"))
                for chunk in chunks(messages, 10):
                    limiter.acquire(len(chunk))
                    sent = sqs.send_message_batch(QueueUrl=url, Entries=[m.copy_entry(str(i), fifo=fifo) for i, m in enumerate(chunk)])
                    ok = [chunk[int(entry["Id"])] for entry in sent.get("Successful", [])]
                    for entry in sent.get("Failed", []):
                        failed = chunk[int(entry["Id"])]
                        held.append(failed)
                        summary.failed += 1
                        summary.failures.append(f"{failed.message_id}: {entry.get('Code')} {entry.get('Message', '')}".strip())
                    _delete(sqs, plan.dlq.url, ok, summary)
                    bar.advance(len(chunk))
    finally:
        release(sqs, plan.dlq.url, held)
        bar.close()
    return summary


def _delete(sqs: Any, url: str, messages: list[Message], summary: Summary) -> None:
    if not messages:
        return
    result = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(messages)])
    summary.replayed += len(result.get("Successful", []))
    for entry in result.get("Failed", []):
        # The copy is already on the source queue; the original stays and may be redriven twice.
        summary.failures.append(f"{messages[int(entry['Id'])].message_id}: sent but not deleted from the DLQ: {entry.get('Message', '')}")
        summary.failed += 1


# --- CLI -----------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dlq", help="inspect and redrive the stack's dead-letter queues")
    commands = parser.add_subparsers(dest="dlq_command", required=True)

    list_parser = commands.add_parser("list", help="every DLQ: depth, age of oldest message, source queues")
    list_parser.add_argument("--sample", type=int, default=100, help="messages peeked per DLQ to find the oldest (default 100)")
    list_parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    list_parser.set_defaults(handler=_cmd_list)

    show = commands.add_parser("show", help="sample messages of one DLQ with receive counts and failure reasons")
    show.add_argument("queue", help="logical id, name, URL or ARN of the DLQ")
    show.add_argument("--limit", type=int, default=5, help="messages to show (default 5)")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.set_defaults(handler=_cmd_show)

    drive = commands.add_parser("redrive", help="move messages back to their source queue")
    drive.add_argument("queue", help="logical id, name, URL or ARN of the DLQ")
    drive.add_argument("--filter", help="JMESPath over the JSON body (e.g. \"event_type == 'OrderPlaced'\") or a substring of the body")
    drive.add_argument("--max", type=int, help="move at most N messages")
    drive.add_argument("--to", help="destination queue (default: the source queue from the redrive policy)")
    drive.add_argument("--rate", type=float, help="messages per second")
    drive.add_argument("--dry-run", action="store_true", help="count what would move; move nothing")
    drive.set_defaults(handler=_cmd_redrive)

    for sub in (list_parser, show, drive):
        add_target_arguments(sub)


def _cmd_list(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    sqs = target.client("sqs")
    rows = []
    for dlq in find_dead_letter_queues(target):
        d = depth(sqs, dlq.url)
        age = oldest_age_s(peek(sqs, dlq.url, args.sample)) if d.visible and args.sample else None
        rows.append(
            {
                "queue": dlq.logical_id,
                "visible": d.visible,
                "in_flight": d.in_flight,
                "oldest_age_s": None if age is None else round(age, 1),
                "sources": [t.url.rsplit("/", 1)[-1] for t in dlq.sources] + list(dlq.failure_sources),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'DLQ':<32} {'depth':>6} {'in flight':>9} {'oldest':>10}  sources")
    for row in rows:
        age = "-" if row["oldest_age_s"] is None else _duration(row["oldest_age_s"])
        print(f"{row['queue']:<32} {row['visible']:>6} {row['in_flight']:>9} {age:>10}  {', '.join(row['sources'])}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    dlq = find_dead_letter_queue(target, args.queue)
    sqs = target.client("sqs")
    d = depth(sqs, dlq.url)
    messages = sorted(peek(sqs, dlq.url, args.limit), key=lambda m: m.sent_at or datetime.min.replace(tzinfo=UTC))
    items = [
        {
            "message_id": m.message_id,
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            "receive_count": m.receive_count,
            "reason": failure_reason(m, dlq),
            "message_attributes": {k: v.get("StringValue") for k, v in m.message_attributes.items()},
            "body": m.json_body() if m.json_body() is not None else m.body,
        }
        for m in messages
    ]
    if args.json:
        print(json.dumps({"queue": dlq.logical_id, "url": dlq.url, "visible": d.visible, "in_flight": d.in_flight, "messages": items}, indent=2))
        return 0
    sources = ", ".join([s.url.rsplit("/", 1)[-1] for s in dlq.sources] + list(dlq.failure_sources))
    print(f"{dlq.logical_id} ({dlq.name}): {d.visible} visible, {d.in_flight} in flight; sources: {sources}")
    for item in items:
        print(f"\n- {item['message_id']} sent {item['sent_at']} received {item['receive_count']}x")
        print(f"  reason: {item['reason']}")
        if item["message_attributes"]:
            print(f"  attributes: {json.dumps(item['message_attributes'])}")
        body = json.dumps(item["body"]) if not isinstance(item["body"], str) else item["body"]
        print(f"  body: {body[:500]}{'...' if len(body) > 500 else ''}")
    return 0


def _cmd_redrive(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    plan = RedrivePlan(
        dlq=find_dead_letter_queue(target, args.queue),
        filter=BodyFilter(args.filter) if args.filter else None,
        max_messages=args.max,
        to_url=target.queue_url(args.to) if args.to else None,
        rate=args.rate,
        dry_run=args.dry_run,
    )
    summary = redrive(target, plan)
    print(summary.render(), file=sys.stderr)
    return 0 if summary.ok else 1


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
