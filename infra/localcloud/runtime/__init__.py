"""The Lambda runtime of the local cloud: execution environments, event sources, HTTP gateway.

Public API: `Runtime`, `InvokeResult`, `InvocationRecord`, `Observer`. See `runtime.py`.
"""

from localcloud.runtime.results import InvocationRecord, InvokeResult, Observer
from localcloud.runtime.runtime import Runtime

__all__ = ["InvocationRecord", "InvokeResult", "Observer", "Runtime"]
