"""Asynchronous invocation: retries and destinations as AWS runs them.

Source: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html and
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html: a failing event
is retried MaximumRetryAttempts times (the request id kept), then its invocation record goes to
OnFailure with condition RetriesExhausted; a success's record goes to OnSuccess.
(Retry delays are scaled down from AWS's 1 and 2 minutes: the "What differs" table says so.)
"""

from __future__ import annotations

import json

from .conftest import Traces, module_cloud, receive_all

cloud = module_cloud("async.yaml", async_retry_delays_s=(0.2, 0.4))


def test_a_failing_event_is_retried_then_recorded_on_failure(cloud, traces: Traces) -> None:
    cloud.runtime.invoke("Refuser", {"order": 1}, "Event")
    (message,) = receive_all(cloud, "FailureQueue", expected=1)
    record = json.loads(message["Body"])
    assert len(traces.events(cloud.stack.function("Refuser").function_name)) == 2  # 1 + MaximumRetryAttempts
    assert record["requestContext"]["condition"] == "RetriesExhausted"  # async's word (streams say RetryAttemptsExhausted)
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == {"order": 1}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "refused"


def test_a_success_is_recorded_on_success(cloud, traces: Traces) -> None:
    cloud.runtime.invoke("Acceptor", {"order": 2}, "Event")
    (message,) = receive_all(cloud, "SuccessQueue", expected=1)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestPayload"] == {"order": 2} and record["responsePayload"] == {"ok": {"order": 2}}
