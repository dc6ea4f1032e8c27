"""Which function an event file is for: sidecar, wrapper, --function, or the folder it sits in."""

from __future__ import annotations

import json

from localcloud.emulator import Endpoints
from ordertools import eventfiles
from ordertools.replay import Invocation, Skip, items_from_dir
from ordertools.targets import StackTarget

TARGET = StackTarget("s", Endpoints(default="http://127.0.0.1:1"), {}, functions={"CheckoutFunction": "s-Checkout", "EmailFunction": "s-Email"})


def test_function_resolution_and_sidecars_are_not_events(tmp_path):
    (tmp_path / "EmailFunction").mkdir()
    (tmp_path / "misc").mkdir()
    (tmp_path / "EmailFunction" / "a.json").write_text(json.dumps({"Records": []}))
    (tmp_path / "EmailFunction" / "a.expected.json").write_text(json.dumps({"batchItemFailures": []}))
    eventfiles.write(tmp_path / "misc" / "b.json", "CheckoutFunction", {"Records": [1]}, {"source": "sqs:M"})
    (tmp_path / "misc" / "c.json").write_text(json.dumps({"function": "s-Email", "event": {"x": 1}}))
    (tmp_path / "misc" / "d.json").write_text(json.dumps({"plain": True}))
    (tmp_path / "misc" / "e.json").write_text(json.dumps({"function": "NoSuchFunction", "event": {}}))

    items = items_from_dir(tmp_path, TARGET)

    invoked = {item.label.removeprefix(str(tmp_path) + "/"): (item.function, item.event) for item in items if isinstance(item, Invocation)}
    assert invoked == {
        "EmailFunction/a.json": ("EmailFunction", {"Records": []}),
        "misc/b.json": ("CheckoutFunction", {"Records": [1]}),
        "misc/c.json": ("EmailFunction", {"x": 1}),
    }
    skipped = {item.label.rsplit("/", 1)[-1]: item.reason for item in items if isinstance(item, Skip)}
    assert set(skipped) == {"d.json", "e.json"} and "no function" in skipped["d.json"] and "NoSuchFunction" in skipped["e.json"]

    with_default = items_from_dir(tmp_path / "misc" / "d.json", TARGET, function="CheckoutFunction")
    assert [(i.function, i.event) for i in with_default] == [("CheckoutFunction", {"plain": True})]
    only_email = items_from_dir(tmp_path, TARGET, only=["EmailFunction"])
    assert {i.function for i in only_email if isinstance(i, Invocation)} == {"EmailFunction"}


def test_a_folder_named_after_a_function_wins_over_the_default(tmp_path):
    (tmp_path / "EmailFunction").mkdir()
    (tmp_path / "EmailFunction" / "a.json").write_text(json.dumps({"Records": []}))
    (tmp_path / "loose.json").write_text(json.dumps({"plain": True}))

    items = items_from_dir(tmp_path, TARGET, function="CheckoutFunction")

    assert sorted((i.label.rsplit("/", 1)[-1], i.function) for i in items) == [("a.json", "EmailFunction"), ("loose.json", "CheckoutFunction")]
