"""A Lambda context with what powertools reads of it (logger keys, idempotency's remaining time)."""

from __future__ import annotations

from dataclasses import dataclass

REGION = "us-east-1"


@dataclass
class LambdaContext:
    function_name: str = "test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:test"
    aws_request_id: str = "req-1"
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def lambda_environment(service: str, **variables: str) -> dict[str, str]:
    """What Lambda and the template set for a handler under moto's in-process mock: region, dummy
    credentials, powertools' service and namespace, and the function's own variables."""
    return {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": "Orderflow",
        **variables,
    }
