"""Fixtures the local cloud's tests share.

- `endpoints`: one embedded moto per test module (its own port and state), stopped after the module.
  A module that needs a fresh emulator per test overrides it (test_deploy_redeploy.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localcloud.emulator import EmbeddedMoto, Endpoints


@pytest.fixture(scope="module")
def endpoints() -> Iterator[Endpoints]:
    with EmbeddedMoto() as endpoints:
        yield endpoints
