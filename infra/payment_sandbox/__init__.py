"""A local payment provider that behaves like a real one: idempotency keys, token-driven outcomes, a ledger."""

from payment_sandbox.ledger import Ledger
from payment_sandbox.server import PaymentSandbox

__all__ = ["Ledger", "PaymentSandbox"]
