"""The payment sandbox: a provider that behaves like a real one (idempotency keys, token-driven outcomes, a ledger)."""
