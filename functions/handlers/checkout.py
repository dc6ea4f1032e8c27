"""Checkout saga consumer: OrderPlaced runs the checkout, OrderCancelRequested the cancellation.

Per record, powertools idempotency keyed on the envelope's `event_id` turns a redelivered
message into the stored result, and keeps two copies of one message from running at once. The
saga is idempotent by itself too (see orders/saga.py): the record is a shortcut, not the safety.
A failed record goes back to the queue alone (ReportBatchItemFailures), and to the DLQ after
the queue's maxReceiveCount.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from adapters.catalog import DynamoCatalog
from adapters.inventory import DynamoInventory
from adapters.order_repository import DynamoOrderRepository
from adapters.payments import provider_from_environment
from consumers.envelope import OrderCommand, read_event
from handlers.sqs_consumer import event_context, logger, metrics, sqs_consumer
from orders.events import EventType as OrderEventType
from orders.saga import CheckoutPorts, run_cancel, run_checkout

_dynamodb = boto3.client("dynamodb")
idempotency_config = IdempotencyConfig(event_key_jmespath="event_id")
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])


def _observe_payment_latency(operation: str, milliseconds: float) -> None:
    with single_metric(
        name="PaymentLatency", unit=MetricUnit.Milliseconds, value=milliseconds, namespace=metrics.namespace
    ) as metric:
        metric.add_dimension(name="operation", value=operation)


ports = CheckoutPorts(
    orders=DynamoOrderRepository(_dynamodb, os.environ["ORDERS_TABLE"]),
    catalog=DynamoCatalog(_dynamodb, os.environ["CATALOG_TABLE"]),
    inventory=DynamoInventory(
        _dynamodb,
        catalog_table=os.environ["CATALOG_TABLE"],
        reservations_table=os.environ["RESERVATIONS_TABLE"],
    ),
    payments=provider_from_environment(os.environ, on_latency=_observe_payment_latency),
    clock=lambda: datetime.now(UTC),
)

SAGAS = {OrderEventType.ORDER_PLACED: run_checkout, OrderEventType.ORDER_CANCEL_REQUESTED: run_cancel}


class UnsupportedEvent(ValueError):
    """A type this saga does not run: fail the record, never drop it."""


@idempotent_function(data_keyword_argument="event", config=idempotency_config, persistence_store=persistence)
def handle_event(event: dict[str, Any]) -> dict[str, Any]:
    saga = SAGAS.get(event["event_type"])
    if saga is None:
        raise UnsupportedEvent(f"no saga for {event['event_type']}")
    order = saga(event["payload"]["order_id"], ports)
    logger.info("saga ran", extra={"status": order.status, "reason": order.reason, "version": order.version})
    return {"order_id": order.order_id, "status": order.status.value, "reason": order.reason}


def record_handler(record: SQSRecord) -> dict[str, Any] | None:
    command = read_event(record.body, OrderCommand)  # tolerant of new fields, strict on the schema version
    with event_context(command, command.payload.order_id):
        try:
            return handle_event(event=command.model_dump(mode="json"))
        except IdempotencyAlreadyInProgressError:
            # A duplicate of a message being processed right now. Acknowledge it: if that run
            # fails, its own message comes back; holding this one would only delay it 6x timeout.
            logger.info("duplicate delivery while the first is in progress; acknowledged")
            return None


lambda_handler = sqs_consumer(record_handler, on_invoke=idempotency_config.register_lambda_context)
