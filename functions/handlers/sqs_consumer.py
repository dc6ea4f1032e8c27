"""What every SQS-fed fan-out consumer shares, so each handler is only its adaptation.

powertools' `BatchProcessor` runs a record handler per record and reports partial batch
failures (a bad record goes back to the queue alone, then to its DLQ); each record logs with its
event's keys, and each outcome of a store is counted once, under one metric name per outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from consumers.envelope import EventHeader
from consumers.ports import Outcome

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# What a delivery that changed nothing is counted as; a write is counted under the consumer's own name.
_UNCHANGED_METRICS = {Outcome.DUPLICATE: "DuplicateEvents", Outcome.STALE: "StaleEvents", Outcome.SKIPPED: "EventsSkipped"}

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def sqs_consumer(
    record_handler: Callable[[SQSRecord], object], on_invoke: Callable[[LambdaContext], None] | None = None
) -> LambdaHandler:
    """The Lambda entry point that runs `record_handler` on each record of an SQS batch; `on_invoke`
    first sees the invocation's context (e.g. powertools idempotency, to bound its records by the timeout)."""
    processor = BatchProcessor(event_type=EventType.SQS)

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if on_invoke is not None:
            on_invoke(context)
        return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

    return lambda_handler


@contextmanager
def event_context(event: EventHeader, order_id: str | None = None) -> Iterator[None]:
    """Every log line of the record carries its event's correlation id, id, type and order."""
    keys = {"correlation_id": event.correlation_id, "event_id": event.event_id, "event_type": event.event_type}
    with logger.append_context_keys(**keys, **({"order_id": order_id} if order_id else {})):
        yield


def count(outcome: Outcome, written_metric: str, **details: Any) -> None:
    """Log what the delivery did and count it: `written_metric` for a write, the shared names otherwise."""
    logger.info(f"event {outcome.value}", extra={"outcome": outcome.value, **details})
    metric = written_metric if outcome is Outcome.WRITTEN else _UNCHANGED_METRICS[outcome]
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
