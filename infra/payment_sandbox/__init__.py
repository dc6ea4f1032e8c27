"""The payment sandbox as a local HTTP sidecar (its rules: `payment_ledger`, shared with the in-stack function).

`payment_ledger` lives with the functions (`functions/`), which are deployed code, not part of the
installed tooling package: the sidecar puts that folder on the path, as pytest's `pythonpath` does,
so one implementation of the ledger serves both.
"""

import sys
from pathlib import Path

_FUNCTIONS = str(Path(__file__).resolve().parents[2] / "functions")
if _FUNCTIONS not in sys.path:
    sys.path.append(_FUNCTIONS)

from payment_sandbox.server import PaymentSandbox  # noqa: E402

__all__ = ["PaymentSandbox"]
