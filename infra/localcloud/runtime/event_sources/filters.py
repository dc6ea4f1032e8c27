"""Event source mapping `FilterCriteria`: AWS's event-filter pattern rules.

A record is delivered when any of the mapping's patterns matches it. A pattern is a tree of
objects whose leaves are lists of matchers; a leaf matches when any matcher matches the
record's value (or, for an array value, any of its elements). Matchers: literals (strings,
numbers, null), `prefix`, `suffix`, `equals-ignore-case`, `wildcard`, `anything-but`
(a value, a list, or a prefix/suffix/equals-ignore-case), `numeric` (ranges), `exists`
and `cidr`. An SQS body that parses as JSON is matched as JSON, otherwise as a string.
Patterns reach here checked against AWS's grammar at deploy (`rules.filter_patterns`).

`exists` looks at leaves only, as AWS documents ("Exists matching only works on leaf
nodes"): a field whose value is an object counts as absent, so `{"exists": false}` on a
DynamoDB attribute name (whose value is `{"S": ...}`) matches items with it and without it, and
a REMOVE record (no NewImage at all) too.
Source: https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
"""

from __future__ import annotations

import ipaddress
import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_MISSING = object()
_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def matches_any(patterns: Sequence[Mapping[str, Any]], record: Mapping[str, Any]) -> bool:
    """True when there are no patterns (no filtering) or any pattern matches."""
    return not patterns or any(matches(pattern, record) for pattern in patterns)


def sqs_filter_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The SQS record as filters see it: the body parsed when it is JSON."""
    view = dict(record)
    try:
        view["body"] = json.loads(record["body"])
    except (TypeError, ValueError):
        pass
    return view


def matches(pattern: Mapping[str, Any], value: Any) -> bool:
    if not isinstance(value, Mapping):
        return False
    for key, sub in pattern.items():
        field_value = value.get(key, _MISSING)
        if isinstance(sub, Mapping):  # an absent object is matched as an empty one: only exists:false can pass
            if not matches(sub, {} if field_value is _MISSING else field_value):
                return False
        elif isinstance(sub, list):
            if not _leaf_matches(sub, field_value):
                return False
        else:
            raise ValueError(f"invalid filter pattern at {key!r}: {sub!r} (leaves must be lists)")
    return True


def _leaf_matches(matchers: list[Any], value: Any) -> bool:
    candidates = value if isinstance(value, list) else [value]
    for matcher in matchers:
        if isinstance(matcher, Mapping) and "exists" in matcher:
            if matcher["exists"] == (value is not _MISSING and not isinstance(value, Mapping)):
                return True
            continue
        if value is _MISSING:
            continue
        if any(_matches_one(matcher, candidate) for candidate in candidates):
            return True
    return False


def _matches_one(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, Mapping):
        return _equal(matcher, value)
    (kind, arg), *rest = matcher.items()
    if rest:
        raise ValueError(f"a matcher has exactly one key: {dict(matcher)!r}")
    if kind == "prefix":
        return _string_op(arg, value, str.startswith)
    if kind == "suffix":
        return _string_op(arg, value, str.endswith)
    if kind == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == str(arg).casefold()
    if kind == "wildcard":
        regex = ".*".join(re.escape(part) for part in str(arg).split("*"))
        return isinstance(value, str) and re.fullmatch(regex, value, re.DOTALL) is not None
    if kind == "anything-but":
        return _anything_but(arg, value)
    if kind == "numeric":
        return _numeric(arg, value)
    if kind == "cidr":
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(arg, strict=False)
        except (TypeError, ValueError):
            return False
    raise ValueError(f"unsupported filter matcher {kind!r}")


def _string_op(arg: Any, value: Any, op: Callable[[str, str], bool]) -> bool:
    if isinstance(arg, Mapping) and "equals-ignore-case" in arg:
        return isinstance(value, str) and op(value.casefold(), str(arg["equals-ignore-case"]).casefold())
    return isinstance(value, str) and op(value, str(arg))


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, Mapping):
        return not _matches_one(arg, value)
    excluded = arg if isinstance(arg, list) else [arg]
    return not any(_equal(item, value) for item in excluded)


def _numeric(spec: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    pairs = zip(spec[::2], spec[1::2], strict=True)
    return all(_NUMERIC_OPS[op](value, bound) for op, bound in pairs)


def _equal(literal: Any, value: Any) -> bool:
    if literal is None or value is None:
        return literal is value
    if isinstance(literal, bool) or isinstance(value, bool):
        return literal is value
    if isinstance(literal, int | float) and isinstance(value, int | float):
        return float(literal) == float(value)
    return type(literal) is type(value) and literal == value
