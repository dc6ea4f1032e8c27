"""Shipping consumer: one shipment per confirmed order, cancelled or dispatched with its order.

The rules are `consumers.shipments.apply_to_shipment`: OrderConfirmed puts the row once;
OrderCancelled / OrderShipped settle a row still READY_TO_SHIP, or leave a settled tombstone when
the confirmation has not arrived yet, so a late OrderConfirmed never creates a live shipment.
"""

from __future__ import annotations

import os

import boto3
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from adapters.shipments import DynamoShipments
from consumers.envelope import read_order_event
from consumers.shipments import apply_to_shipment
from handlers.sqs_consumer import count, event_context, sqs_consumer

shipments = DynamoShipments(boto3.client("dynamodb"), os.environ["SHIPMENTS_TABLE"])

# What a write is counted as, by the event that made it.
_WRITTEN_METRICS = {"OrderConfirmed": "ShipmentsCreated", "OrderCancelled": "ShipmentsCancelled", "OrderShipped": "ShipmentsDispatched"}


def record_handler(record: SQSRecord) -> None:
    event = read_order_event(record.body)
    with event_context(event, event.payload.order_id):
        count(apply_to_shipment(event, shipments), _WRITTEN_METRICS.get(event.event_type, "ShipmentsWritten"))


lambda_handler = sqs_consumer(record_handler)
