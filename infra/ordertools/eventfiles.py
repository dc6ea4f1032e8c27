"""The event-file format shared by `orderflow record`, `orderflow replay --from-dir` and `events/`.

An event file is the plain Lambda event, exactly what `sam local invoke FUNCTION -e FILE` and
`orderflow invoke FUNCTION --event FILE` take, so a recorded event joins the regression corpus
as it is. What the event alone cannot say (which function it was for, where it came from, what
the function answered) sits beside it in `NAME.meta.json`. Files shaped `{"function", "event"}`
are read too, for hand-written replays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

META_SUFFIX = ".meta.json"
# Files beside events that describe them rather than being events.
SIDECAR_SUFFIXES = (META_SUFFIX, ".expected.json")


@dataclass(frozen=True)
class EventFile:
    path: Path
    function: str | None
    event: Any
    meta: dict[str, Any] = field(default_factory=dict)


def meta_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".json") + META_SUFFIX)


def is_event_file(path: Path) -> bool:
    return path.suffix == ".json" and not path.name.endswith(SIDECAR_SUFFIXES)


def discover(root: Path) -> list[Path]:
    """Event files under `root` (a file or a folder, recursively), in name order: recordings sort by time."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*.json") if is_event_file(p))


def load(path: Path, default_function: str | None = None) -> EventFile:
    """The function comes from the sidecar, else a `{"function", "event"}` wrapper, else `default_function`."""
    document = json.loads(path.read_text())
    meta = json.loads(meta_path(path).read_text()) if meta_path(path).exists() else {}
    if isinstance(document, dict) and set(document) == {"function", "event"}:
        return EventFile(path, document["function"], document["event"], meta)
    return EventFile(path, meta.get("function") or default_function, document, meta)


def write(path: Path, function: str, event: Any, meta: dict[str, Any]) -> Path:
    """Write the plain event and its sidecar; the sidecar is written last so a reader never sees it alone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(event, indent=2, default=str) + "\n")
    meta_path(path).write_text(json.dumps({"function": function, **meta}, indent=2, default=str) + "\n")
    return path
