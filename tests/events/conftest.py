"""One deployed stack for the whole corpus run (see harness.py for why its event sources stay off)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import CorpusStack


@pytest.fixture(scope="package")
def corpus_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusStack]:
    stack = CorpusStack(tmp_path_factory.mktemp("corpus-logs")).start()
    try:
        yield stack
    finally:
        stack.stop()
