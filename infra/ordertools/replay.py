"""`orderflow replay`: re-run what happened, from event files, the event archive or a DLQ.

Every source is reduced to a list of deliveries, and every delivery goes through the same AWS
call on the local cloud and on a deployed stack:
- archived events are re-published to the order-events topic with their original body (so the
  original `event_id`) and message attributes; every consumer dedupes (docs/consumers.md), which is what
  makes replaying harmless. `--subscriber QUEUE` instead delivers them only to that queue, as
  the topic's subscription would (filter policy, raw or SNS-wrapped): rebuilding one projection
  without re-running the checkout;
- event files are invoked on their function with `lambda.invoke` (the local cloud's gateway
  serves the Lambda Invoke API);
- DLQ messages are re-run through the function that failed them, see `ordertools.dlq_replay`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from botocore.exceptions import ClientError

from ordertools import eventfiles
from ordertools.archive import ArchivedEvent, ArchiveQuery, ArchiveReader, parse_time
from ordertools.progress import Progress, RateLimiter, Summary
from ordertools.sqs_messages import chunks, queue_arn
from ordertools.dlq_replay import DlqSource
from ordertools.replay_items import Invocation, Item, Publication, Skip
from ordertools.targets import BUCKET, TOPIC, StackTarget, TargetError, add_target_arguments, target_from_args

DEFAULT_TOPIC = "OrderEventsTopic"
DEFAULT_ARCHIVE = "ArchiveBucket"


@dataclass(frozen=True)
class ReplayOptions:
    dry_run: bool = False
    rate: float | None = None  # deliveries per second
    stop_on_error: bool = False
    progress: bool = True
    concurrency: int = 4  # publication batches in flight at once (SNS gives no order across messages anyway)
    max_backlog: int | None = 100  # pause publishing while a receiving queue holds more messages than this
    backlog_timeout_s: float = 600
    topic: str = DEFAULT_TOPIC
    subscribers: tuple[str, ...] = ()  # queues to deliver to instead of publishing to the topic


# --- sources -------------------------------------------------------------------------------------


def items_from_dir(root: Path, target: StackTarget, *, function: str | None = None, only: Sequence[str] = ()) -> list[Item]:
    """Event files under `root`; `only` keeps the files of those functions (logical ids or names).

    A file's function is, in order: its sidecar or wrapper, the folder it sits in when that folder is
    named after a function (`events/CheckoutFunction/x.json`, as `record` writes), or `function`, so
    `--from-dir events/ --function X` never sends another function's events to X.
    """
    wanted = {target.function_logical_id(f) for f in only}
    items: list[Item] = []
    for path in eventfiles.discover(root):
        event_file = eventfiles.load(path)
        folder = path.parent.name if path.parent.name in target.functions else None
        name = event_file.function or folder or function
        if name is None:
            items.append(Skip(str(path), "no function: give --function, a NAME.meta.json sidecar, or a folder named after it"))
            continue
        try:
            logical_id = target.function_logical_id(name)
        except TargetError as exc:
            items.append(Skip(str(path), str(exc)))
            continue
        if not wanted or logical_id in wanted:
            items.append(Invocation(logical_id, event_file.event, str(path)))
    return items


def items_from_archive(target: StackTarget, query: ArchiveQuery, *, bucket: str = DEFAULT_ARCHIVE) -> list[Item]:
    """`bucket` is the stack's archive by logical id, or `s3://NAME` for another stack's archive (a fresh-stack rebuild)."""
    name = bucket.removeprefix("s3://") if bucket.startswith("s3://") else target.physical_id(bucket, BUCKET)
    reader = ArchiveReader(target.client("s3"), name)
    return [Publication(event) for event in reader.read(query)]


# --- delivery ------------------------------------------------------------------------------------


class Replayer:
    def __init__(self, target: StackTarget, options: ReplayOptions):
        self._target = target
        self._options = options
        self._limiter = RateLimiter(options.rate)
        self._lambda: Any = None
        self._publish: Callable[[list[Publication]], list[str | None]] | None = None

    def run(self, items: Sequence[Item]) -> Summary:
        summary = Summary(verb="would replay" if self._options.dry_run else "replayed")
        started = time.monotonic()
        bar = Progress("replay", len(items), enabled=self._options.progress)
        backpressure = None
        if not self._options.dry_run and any(isinstance(item, Publication) for item in items):
            self._publish = self._publisher()
            backpressure = Backpressure(self._target, self._receiving_queues(), self._options.max_backlog, self._options.backlog_timeout_s)
        done = 0
        with ThreadPoolExecutor(max_workers=self._options.concurrency) as pool:
            try:
                for wave in _waves(_groups(items), self._options.concurrency):
                    if backpressure and isinstance(wave[0][0], Publication):
                        backpressure.wait()
                    for group in wave:
                        if not isinstance(group[0], Skip):
                            self._limiter.acquire(len(group))
                    for group, outcomes in zip(wave, pool.map(self._deliver, wave), strict=True):
                        for item, failure in zip(group, outcomes, strict=True):
                            if isinstance(item, Skip):
                                summary.skipped += 1
                            elif failure is None:
                                summary.replayed += 1
                            else:
                                summary.failed += 1
                                summary.failures.append(f"{item.label}: {failure}")
                        bar.advance(len(group))
                        done += len(group)
                    if self._options.stop_on_error and summary.failed:
                        summary.skipped += len(items) - done
                        break
            finally:
                bar.close()
        summary.elapsed_s = time.monotonic() - started
        return summary

    def _deliver(self, group: list[Item]) -> list[str | None]:
        """One failure reason (or None) per item of the group."""
        first = group[0]
        if isinstance(first, Skip):
            return [first.reason]
        if self._options.dry_run:
            for item in group:
                print(f"would {'invoke ' + item.function if isinstance(item, Invocation) else 'publish'}: {item.label}")
            return [None] * len(group)
        if isinstance(first, Invocation):
            return [self._invoke(first)]
        assert self._publish is not None
        return self._publish(group)  # type: ignore[arg-type]

    def _invoke(self, item: Invocation) -> str | None:
        if self._lambda is None:
            self._lambda = self._target.client("lambda", read_timeout=900, retries={"max_attempts": 1})
        try:
            response = self._lambda.invoke(
                FunctionName=self._target.function_name(item.function), Payload=json.dumps(item.event).encode()
            )
        except ClientError as exc:
            return f"invoke failed: {exc}"
        payload_text = response["Payload"].read().decode() or "null"
        try:
            payload = json.loads(payload_text)
        except ValueError:
            payload = payload_text
        if response.get("FunctionError"):
            if isinstance(payload, dict):
                first_line = (str(payload.get("errorMessage") or "").splitlines() or [""])[0]
                return f"{payload.get('errorType', response['FunctionError'])}: {first_line[:200]}"
            return f"{response['FunctionError']}: {payload_text[:200]}"
        if isinstance(payload, dict) and payload.get("batchItemFailures"):
            ids = [f.get("itemIdentifier") for f in payload["batchItemFailures"]]
            records = len(item.event.get("Records", [])) if isinstance(item.event, dict) else "?"
            return f"{len(ids)} of {records} records failed: {', '.join(map(str, ids[:5]))}"
        return item.settle(payload) if item.settle else None

    def _receiving_queues(self) -> list[str]:
        """The queues published events land in: the named subscribers, or every SQS subscription of the topic in the stack."""
        if self._options.subscribers:
            return [self._target.queue_url(queue) for queue in self._options.subscribers]
        sns = self._target.client("sns")
        topic_arn = self._target.physical_id(self._options.topic, TOPIC)
        urls = []
        try:
            subscriptions = [s for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
                             for s in page["Subscriptions"]]
        except ClientError:
            return []  # no topic: every publish will fail and say why
        for subscription in subscriptions:
            if subscription["Protocol"] == "sqs":
                try:
                    urls.append(self._target.queue_url(subscription["Endpoint"]))
                except TargetError:
                    continue  # a queue outside the stack (someone's tap): not ours to wait for
        return urls

    def _publisher(self) -> Callable[[list[Publication]], list[str | None]]:
        if self._options.subscribers:
            deliveries = [SubscriptionDelivery.find(self._target, self._options.topic, queue) for queue in self._options.subscribers]
            return lambda batch: _merge([d.deliver(batch) for d in deliveries])
        sns = self._target.client("sns")
        topic_arn = self._target.physical_id(self._options.topic, TOPIC)

        def publish(batch: list[Publication]) -> list[str | None]:
            entries = [
                {"Id": str(i), "Message": p.event.body, "MessageAttributes": p.event.message_attributes()} for i, p in enumerate(batch)
            ]
            try:
                response = sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries)
            except ClientError as exc:
                return [f"publish failed: {exc}"] * len(batch)
            failures: list[str | None] = [None] * len(batch)
            for failed in response.get("Failed", []):
                failures[int(failed["Id"])] = f"{failed.get('Code')}: {failed.get('Message', '')}"
            return failures

        return publish


class Backpressure:
    """Holds publishing back while a receiving queue's backlog is above `limit`.

    Publishing is far faster than consuming; without this, replaying a day of events floods
    every consumer queue at once, and on a small machine the consumers then time out and
    dead-letter messages that would have been processed fine at the original pace.
    """

    def __init__(self, target: StackTarget, urls: list[str], limit: int | None, timeout_s: float):
        self._sqs = target.client("sqs")
        self._urls = urls
        self._limit = limit
        self._timeout_s = timeout_s

    def wait(self) -> None:
        if not self._limit or not self._urls:
            return
        deadline = time.monotonic() + self._timeout_s
        while True:
            depths = {url: self._visible(url) for url in self._urls}
            if max(depths.values()) <= self._limit:
                return
            if time.monotonic() > deadline:
                worst = max(depths, key=lambda url: depths[url])
                raise TargetError(
                    f"{worst.rsplit('/', 1)[-1]} still holds {depths[worst]} messages after {self._timeout_s:.0f}s: "
                    "its consumer is not keeping up (see `orderflow status`), or raise --max-backlog"
                )
            time.sleep(0.25)

    def _visible(self, url: str) -> int:
        attrs = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"])


def _waves(groups: Iterable[list[Item]], width: int) -> Iterable[list[list[Item]]]:
    """Up to `width` consecutive publication batches go out together; an invocation always goes alone,
    so event files run strictly in order (a stream batch after the one before it)."""
    wave: list[list[Item]] = []
    for group in groups:
        if isinstance(group[0], Publication):
            wave.append(group)
            if len(wave) == width:
                yield wave
                wave = []
            continue
        if wave:
            yield wave
            wave = []
        yield [group]
    if wave:
        yield wave


def _groups(items: Sequence[Item]) -> Iterable[list[Item]]:
    """Consecutive publications travel in batches of 10 (PublishBatch); everything else alone."""
    pending: list[Item] = []
    for item in items:
        if isinstance(item, Publication):
            pending.append(item)
            if len(pending) == 10:
                yield pending
                pending = []
            continue
        if pending:
            yield pending
            pending = []
        yield [item]
    if pending:
        yield pending


def _merge(outcomes: list[list[str | None]]) -> list[str | None]:
    """An item failed if any of its deliveries failed."""
    return [next((o for o in per_item if o), None) for per_item in zip(*outcomes, strict=True)]


@dataclass(frozen=True)
class SubscriptionDelivery:
    """Delivers archived events to one SQS subscription of the topic, as SNS would."""

    target: StackTarget
    topic_arn: str
    queue_url: str
    raw: bool
    matcher: Any  # moto's SNS FilterPolicyMatcher, or None when the subscription has no filter policy

    @classmethod
    def find(cls, target: StackTarget, topic: str, queue: str) -> SubscriptionDelivery:
        sns = target.client("sns")
        topic_arn = target.physical_id(topic, TOPIC)
        url = target.queue_url(queue)
        arn = queue_arn(target.client("sqs"), url)
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
            for subscription in page["Subscriptions"]:
                if subscription["Protocol"] == "sqs" and subscription["Endpoint"] == arn:
                    attrs = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])["Attributes"]
                    return cls(target, topic_arn, url, attrs.get("RawMessageDelivery") == "true", _matcher(attrs))
        raise TargetError(f"queue {queue!r} is not subscribed to {topic}")

    def deliver(self, batch: list[Publication]) -> list[str | None]:
        sqs = self.target.client("sqs")
        chosen = [(i, p) for i, p in enumerate(batch) if self.matcher is None or self._matches(p.event)]
        failures: list[str | None] = [None] * len(batch)
        for chunk in chunks(chosen, 10):
            entries = [self._entry(i, p.event) for i, p in chunk]
            try:
                response = sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except ClientError as exc:
                for i, _ in chunk:
                    failures[i] = f"send failed: {exc}"
                continue
            for failed in response.get("Failed", []):
                failures[int(failed["Id"])] = f"{failed.get('Code')}: {failed.get('Message', '')}"
        return failures

    def _matches(self, event: ArchivedEvent) -> bool:
        attributes = {name: {"Type": a["DataType"], "Value": a["StringValue"]} for name, a in event.message_attributes().items()}
        return bool(self.matcher.matches(attributes, event.body))

    def _entry(self, index: int, event: ArchivedEvent) -> dict[str, Any]:
        if self.raw:
            return {"Id": str(index), "MessageBody": event.body, "MessageAttributes": event.message_attributes()}
        notification = {
            "Type": "Notification",
            "MessageId": str(uuid4()),
            "TopicArn": self.topic_arn,
            "Message": event.body,
            "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "SignatureVersion": "1",
            "MessageAttributes": {n: {"Type": a["DataType"], "Value": a["StringValue"]} for n, a in event.message_attributes().items()},
        }
        return {"Id": str(index), "MessageBody": json.dumps(notification)}


def _matcher(attributes: dict[str, str]) -> Any:
    if not attributes.get("FilterPolicy"):
        return None
    from moto.sns.utils import FilterPolicyMatcher  # AWS's filter-policy rules, as the emulator applies them

    return FilterPolicyMatcher(json.loads(attributes["FilterPolicy"]), attributes.get("FilterPolicyScope"))


# --- CLI -----------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="re-run events: event files, the S3 event archive, or a DLQ",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-dir", type=Path, metavar="PATH", help="event files (a file or a folder, recursively)")
    source.add_argument("--from-archive", action="store_true", help="the S3 event archive (ArchiveBucket)")
    source.add_argument("--from-dlq", metavar="QUEUE", help="a dead-letter queue: re-run its messages through the function that failed them")

    files = parser.add_argument_group("--from-dir")
    files.add_argument("--function", action="append", default=[], help="function of plain event files without a sidecar; "
                       "repeat to keep only these functions' files")

    archive = parser.add_argument_group("--from-archive")
    archive.add_argument("--since", type=parse_time, help="ISO time or relative (90m, 6h, 2d); inclusive")
    archive.add_argument("--until", type=parse_time, help="ISO time or relative; exclusive")
    archive.add_argument("--event-type", action="append", default=[], help="repeatable")
    archive.add_argument("--order-id", action="append", default=[], help="repeatable")
    archive.add_argument("--bucket", default=DEFAULT_ARCHIVE,
                         help=f"archive bucket: logical id (default {DEFAULT_ARCHIVE}) or s3://NAME (another stack's archive)")
    archive.add_argument("--topic", default=DEFAULT_TOPIC, help=f"topic to re-publish to (default {DEFAULT_TOPIC})")
    archive.add_argument("--subscriber", action="append", default=[], metavar="QUEUE",
                         help="deliver only to this subscribed queue, as the topic would (repeatable)")

    dlq = parser.add_argument_group("--from-dlq")
    dlq.add_argument("--max", type=int, help="re-run at most N messages")

    run = parser.add_argument_group("run")
    run.add_argument("--dry-run", action="store_true", help="list what would be replayed; deliver nothing")
    run.add_argument("--rate", type=float, help="deliveries per second")
    run.add_argument("--concurrency", type=int, default=4, help="publication batches (of 10) in flight at once (default 4)")
    run.add_argument("--max-backlog", type=int, default=100,
                     help="pause publishing while a receiving queue holds more than N messages (default 100; 0 = never)")
    run.add_argument("--stop-on-error", action="store_true", help="stop at the first failed delivery")
    run.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_target_arguments(parser)
    parser.set_defaults(handler=_cmd_replay)


def _cmd_replay(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    options = ReplayOptions(
        dry_run=args.dry_run,
        rate=args.rate,
        concurrency=args.concurrency,
        max_backlog=args.max_backlog,
        stop_on_error=args.stop_on_error,
        progress=not args.no_progress,
        topic=args.topic,
        subscribers=tuple(args.subscriber),
    )
    with ExitStack() as cleanup:
        if args.from_dir is not None:
            default = args.function[0] if len(args.function) == 1 else None
            items = items_from_dir(args.from_dir, target, function=default, only=args.function)
        elif args.from_archive:
            query = ArchiveQuery(args.since, args.until, tuple(args.event_type), frozenset(args.order_id))
            items = items_from_archive(target, query, bucket=args.bucket)
        else:
            source = DlqSource(target, args.from_dlq, max_messages=args.max)
            cleanup.callback(source.close)  # whatever was not deleted is visible again
            items = source.items()
        summary = Replayer(target, options).run(items)
    print(summary.render(), file=sys.stderr)
    return 0 if summary.ok else 1
