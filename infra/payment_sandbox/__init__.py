"""The payment sandbox as a local HTTP sidecar (its rules: `payment_ledger`, shared with the in-stack function)."""

from payment_sandbox.server import PaymentSandbox

__all__ = ["PaymentSandbox"]
