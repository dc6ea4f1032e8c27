"""Every file in events/ runs through its function and gives the outcome its `.expected.json` declares."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ordertools import eventfiles
from ordertools.eventgen import stale

from .harness import EVENTS, ROOT, CorpusStack, load_case

EVENT_FILES = eventfiles.discover(EVENTS)

pytestmark = pytest.mark.integration


def test_corpus_covers_every_function_and_trigger() -> None:
    """At least one file per function of the template, so a new function cannot go without events."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    resources = yaml.load((ROOT / "template.yaml").read_text(), Loader=_Loader)["Resources"]
    # PaymentSandboxFunction exists only with PaymentProvider=sandbox; the corpus's local stack runs the
    # sandbox as its sidecar (infra/localcloud.toml), whose fault controls the payment cases use.
    functions = {
        name for name, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function" and r.get("Condition") != "UseSandboxProvider"
    }
    covered = {path.parent.name for path in EVENT_FILES}
    assert functions <= covered, f"functions without event files: {sorted(functions - covered)}"


def test_generated_files_match_the_corpus() -> None:
    """events/ is what `python -m ordertools.eventgen` writes: edit corpus.py, then regenerate."""
    assert not stale(EVENTS), "run `.venv/bin/python -m ordertools.eventgen`: " + ", ".join(
        str(p.relative_to(ROOT)) for p in stale(EVENTS)
    )


@pytest.mark.parametrize("path", EVENT_FILES, ids=[p.relative_to(EVENTS).as_posix() for p in EVENT_FILES])
def test_event_file(path: Path, corpus_stack: CorpusStack) -> None:
    case = load_case(path)
    problems = corpus_stack.run(case)
    if "known_bug" in case.expected:
        # The expected file states the right outcome; until the handler is fixed this case is an
        # expected failure, and once it passes the marker must go (a strict xfail).
        if problems:
            pytest.xfail(f"known bug: {case.expected['known_bug']} ({'; '.join(problems)})")
        pytest.fail(f"{case.name} passes now: remove `known_bug` from its expected file")
    if problems:
        sys.stderr.write(corpus_stack.function_log(case.function))
    assert not problems, f"{case.name} ({case.expected.get('description', '')}):\n  " + "\n  ".join(problems)
