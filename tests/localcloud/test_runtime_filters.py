"""AWS event-filter pattern rules, as event source mappings apply them."""

from __future__ import annotations

import json

import pytest

from localcloud.runtime.event_sources.filters import matches, matches_any, sqs_filter_view
from localcloud.runtime.event_sources.processing import failed_identifiers
from localcloud.runtime.event_sources.rules import filter_patterns

RECORD = {
    "eventName": "INSERT",
    "body": {"kind": "order", "total": 25, "tags": ["a", "vip"], "email": "Ann@Example.com", "note": None, "ip": "10.0.0.7", "meta": {"S": "x"}},
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"eventName": ["INSERT"]}, True),
        ({"eventName": ["MODIFY", "INSERT"]}, True),
        ({"eventName": ["REMOVE"]}, False),
        ({"body": {"kind": [{"prefix": "ord"}]}}, True),
        ({"body": {"kind": [{"suffix": "der"}]}}, True),
        ({"body": {"kind": [{"anything-but": ["refund", "void"]}]}}, True),
        ({"body": {"kind": [{"anything-but": "order"}]}}, False),
        ({"body": {"kind": [{"anything-but": {"prefix": "or"}}]}}, False),
        ({"body": {"total": [{"numeric": [">", 10, "<=", 25]}]}}, True),
        ({"body": {"total": [{"numeric": ["<", 10]}]}}, False),
        ({"body": {"total": [{"numeric": ["=", 25]}]}}, True),
        ({"body": {"total": [25]}}, True),
        ({"body": {"total": ["25"]}}, False),  # types must agree
        ({"body": {"tags": ["vip"]}}, True),  # any element of an array
        ({"body": {"email": [{"equals-ignore-case": "ann@example.com"}]}}, True),
        ({"body": {"email": [{"wildcard": "*@Example.com"}]}}, True),
        ({"body": {"note": [None]}}, True),
        ({"body": {"missing": [{"exists": False}]}}, True),
        ({"body": {"missing": [{"exists": True}]}}, False),
        ({"body": {"kind": [{"exists": True}]}}, True),
        ({"body": {"missing": [{"anything-but": "x"}]}}, False),  # anything-but needs the field
        ({"body": {"ip": [{"cidr": "10.0.0.0/24"}]}}, True),
        ({"body": {"kind": {"nested": ["x"]}}}, False),
        # exists looks at leaves only (AWS): an object counts as absent; an absent object holds only absent leaves
        ({"body": {"meta": [{"exists": False}]}}, True),
        ({"body": {"meta": [{"exists": True}]}}, False),
        ({"body": {"missing": {"deeper": [{"exists": False}]}}}, True),
        ({"body": {"missing": {"deeper": [{"exists": True}]}}}, False),
        ({"eventName": ["INSERT"], "body": {"kind": ["refund"]}}, False),  # all fields must match
    ],
)
def test_pattern_rules(pattern: dict, expected: bool) -> None:
    assert matches(pattern, RECORD) is expected


def test_any_pattern_matches_and_no_patterns_means_no_filtering() -> None:
    refusals: list = []
    patterns = filter_patterns({"Filters": [{"Pattern": json.dumps({"eventName": ["REMOVE"]})}, {"Pattern": '{"eventName": ["INSERT"]}'}]}, refusals)
    assert patterns is not None and not refusals
    assert matches_any(patterns, RECORD)
    assert not matches_any(patterns[:1], RECORD)
    assert matches_any([], RECORD)


def test_sqs_body_is_matched_as_json_only_when_it_parses() -> None:
    json_body = sqs_filter_view({"body": '{"kind": "order"}'})
    text_body = sqs_filter_view({"body": "plain text"})
    assert matches({"body": {"kind": ["order"]}}, json_body)
    assert not matches({"body": {"kind": ["order"]}}, text_body)
    assert matches({"body": [{"prefix": "plain"}]}, text_body)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),
        ({"batchItemFailures": [{"id": "m2"}]}, None),
        ({"batchItemFailures": "m2"}, None),
    ],
)
def test_batch_item_failures_follow_aws_rules(payload: object, expected: set[str] | None) -> None:
    assert failed_identifiers(payload, {"m1", "m2"}) == expected


@pytest.mark.parametrize(
    "pattern",
    ['{"eventSource": []}', "null", '"aws:sqs"', '{"eventSource": "aws:sqs"}', '{"eventSource": [', "{}", '{"a": [{"prefix": 1}]}',
     '{"a": [{"numeric": [">", "x"]}]}', '{"a": [{"unknown": "x"}]}', '{"a": {}}'],
)
def test_invalid_patterns_are_refused_with_awss_message(pattern: str) -> None:
    refusals: list = []
    assert filter_patterns({"Filters": [{"Pattern": pattern}]}, refusals) is None
    assert [(r.property, r.message) for r in refusals] == [("FilterCriteria.Filters[0].Pattern", "Invalid filter pattern definition.")]
