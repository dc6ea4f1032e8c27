"""PaymentSandboxFunction: the payment sandbox inside the stack (PaymentProvider=sandbox), invoked by the checkout alone.

The event names an operation of `payment_ledger.operations` and its parameters; the answer is
`{"status": <HTTP-style code>, "body": {...}}`. The ledger lives in the stack's
PaymentLedgerTable. A hanging answer (tok_timeout, tok_slow) sleeps past the caller's timeout
(`client_timeout_ms`), within this function's own remaining time, so timeouts are real ones.
"""

from __future__ import annotations

import os
import time
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.sandbox_ledger import DynamoLedgerStore
from payment_ledger.ledger import Answer, Ledger
from payment_ledger.operations import hang_seconds, perform

logger = Logger()
ledger = Ledger(DynamoLedgerStore(boto3.client("dynamodb"), os.environ["PAYMENT_LEDGER_TABLE"]))
# Never sleep into this function's own timeout: an answer is always returned.
_MARGIN_MS = 500


@logger.inject_lambda_context
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    request = event if isinstance(event, dict) else {}
    operation = str(request.get("operation") or "")
    if request is event:
        answer = perform(ledger, operation, request)
    else:
        answer = Answer(400, {"error": {"type": "invalid_request", "message": "the event must be a JSON object"}})
    if answer.hang:
        cap_s = max(0, context.get_remaining_time_in_millis() - _MARGIN_MS) / 1000
        time.sleep(hang_seconds(request.get("client_timeout_ms"), cap_s))
    logger.info("payment operation", extra={"operation": operation, "status": answer.status})
    return {"status": answer.status, "body": answer.body}
