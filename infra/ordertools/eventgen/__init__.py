"""Generates events/: sample Lambda events in AWS's shapes and the outcome expected of each.

    .venv/bin/python -m ordertools.eventgen           # (re)write events/ from corpus.py
    .venv/bin/python -m ordertools.eventgen --check   # exit 1 if a generated file differs on disk

`shapes` builds the AWS envelopes, `samples` the orders and domain events inside them (with the
domain's own models), `corpus` lists the cases. Generated files are plain JSON that anyone can
edit or copy; the generator only exists to keep ids, checksums and nested JSON consistent.
Files in events/ that the corpus does not list (hand-written, recorded) are left alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXPECTED_SUFFIX = ".expected.json"


def render(document: Any) -> str:
    """One formatting for every file, so regenerating never reflows anything; non-ASCII is escaped so
    an invisible character (a byte order mark) shows in the file."""
    return json.dumps(document, indent=2) + "\n"


def files(root: Path) -> dict[Path, str]:
    """Every file the corpus defines under `root`, with its content."""
    from ordertools.eventgen.corpus import all_cases

    found: dict[Path, str] = {}
    for case in all_cases():
        event_path = root / case.path
        found[event_path] = render(case.event)
        found[event_path.with_name(case.name + EXPECTED_SUFFIX)] = render(case.expected)
    return found


def write(root: Path) -> list[Path]:
    """Write the files whose content changed; returns them."""
    changed = []
    for path, content in files(root).items():
        if not path.exists() or path.read_text() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            changed.append(path)
    return changed


def stale(root: Path) -> list[Path]:
    """Generated files that are missing or differ from what the corpus defines."""
    return [path for path, content in files(root).items() if not path.exists() or path.read_text() != content]
