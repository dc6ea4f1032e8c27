"""The checks `make sam-local` runs: which function gets which event file, and what must come back.

Kept as data (a TOML file per template) so adding an event file to the CI check is one entry,
not code. `sam local invoke` exits 0 even when the handler raises, so every result is checked
here for `errorType` before its expectation.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The placeholder in [parameters] values for the emulator's URL as the Lambda containers see it.
ENDPOINT_PLACEHOLDER = "{endpoint}"


@dataclass(frozen=True)
class ItemCheck:
    """An item that must exist in a table (by logical id) after the invoke: proves the write reached the emulator."""

    table: str
    key: dict[str, str]


@dataclass(frozen=True)
class Case:
    function: str
    event: Path
    expect: dict[str, Any] = field(default_factory=dict)
    items: tuple[ItemCheck, ...] = ()


@dataclass(frozen=True)
class CaseFile:
    template: Path
    parameters: dict[str, str]
    cases: tuple[Case, ...]

    def parameters_for(self, endpoint: str) -> dict[str, str]:
        return {k: v.replace(ENDPOINT_PLACEHOLDER, endpoint) for k, v in self.parameters.items()}


def load(path: Path, root: Path) -> CaseFile:
    """Read a case file; `template` and `event` paths are relative to `root` (the repository)."""
    data = tomllib.loads(path.read_text())
    cases = tuple(
        Case(
            function=c["function"],
            event=root / c["event"],
            expect=c.get("expect", {}),
            items=tuple(ItemCheck(table=i["table"], key=i["key"]) for i in c.get("items", ())),
        )
        for c in data.get("case", ())
    )
    if not cases:
        raise ValueError(f"{path}: no [[case]] entries")
    missing = [str(c.event) for c in cases if not c.event.is_file()]
    if missing:
        raise ValueError(f"{path}: event files not found: {', '.join(missing)}")
    return CaseFile(template=root / data["template"], parameters=data.get("parameters", {}), cases=cases)


def problems(result: Any, expect: Mapping[str, Any]) -> list[str]:
    """Why a printed result fails its case: a handler error, or a value that differs from `expect` (a subset)."""
    if not isinstance(result, dict):
        return [f"result is not a JSON object: {result!r:.300}"]
    if "errorType" in result:
        return [f"handler raised {result['errorType']}: {result.get('errorMessage', '')!s:.300}"]
    return _differences(result, expect, "")


def _differences(actual: Any, expected: Any, where: str) -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where or 'result'}: expected an object, got {actual!r:.200}"]
        found: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{where}.{key}: missing")
            else:
                found.extend(_differences(actual[key], value, f"{where}.{key}"))
        return found
    return [] if actual == expected else [f"{where or 'result'}: expected {expected!r}, got {actual!r:.200}"]
