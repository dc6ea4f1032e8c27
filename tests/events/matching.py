"""How an expected value is compared with what came back: exactly, or as a subset."""

from __future__ import annotations

from typing import Any


def subset_differences(actual: Any, expected: Any, where: str = "") -> list[str]:
    """Why `actual` does not contain `expected`: an object's listed keys must match (others are
    ignored), every element of an expected list must match some element of the actual list, and
    anything else must be equal. Empty when it matches."""
    label = where or "value"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{label}: expected an object, got {actual!r:.200}"]
        found: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{where}.{key}: missing")
            else:
                found.extend(subset_differences(actual[key], value, f"{where}.{key}"))
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{label}: expected a list, got {actual!r:.200}"]
        return [
            f"{label}: no element matches {item!r:.300}"
            for item in expected
            if not any(not subset_differences(candidate, item) for candidate in actual)
        ]
    return [] if actual == expected else [f"{label}: expected {expected!r:.300}, got {actual!r:.300}"]


def exact_differences(actual: Any, expected: Any, where: str = "") -> list[str]:
    """Why two JSON values differ, naming the first differing paths."""
    label = where or "value"
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = [f"{where}.{key}: unexpected" for key in actual.keys() - expected.keys()]
        found += [f"{where}.{key}: missing" for key in expected.keys() - actual.keys()]
        for key in expected.keys() & actual.keys():
            found.extend(exact_differences(actual[key], expected[key], f"{where}.{key}"))
        return found
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        found = []
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            found.extend(exact_differences(a, e, f"{where}[{index}]"))
        return found
    return [] if actual == expected else [f"{label}: expected {expected!r:.300}, got {actual!r:.300}"]
