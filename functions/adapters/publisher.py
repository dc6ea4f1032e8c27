"""Domain events onto the SNS topic, with the attributes the subscriptions filter on."""

from __future__ import annotations

from typing import Any

from orders.events import EventEnvelope


class SnsEventPublisher:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish(self, envelope: EventEnvelope) -> None:
        self._client.publish(
            TopicArn=self._topic_arn,
            Message=envelope.model_dump_json(),
            MessageAttributes=envelope.message_attributes(),
        )
