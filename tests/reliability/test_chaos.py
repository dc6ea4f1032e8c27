"""A small chaos run, as `make chaos` does it: every injectable fault at its preset rate, then the checker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localcloud.cli import main

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


@pytest.mark.timeout(900)  # a fresh cloud, 30 orders under faults and a full check: ~1-2 min on a quiet machine
def test_30_orders_under_every_fault_keep_every_invariant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "chaos.json"
    code = main(["chaos", "--orders", "30", "--faults", "all", "--seed", "3", "--template", str(ROOT / "template.yaml"),
                 "--stack-name", "rel-chaos", "--out", str(out), "--settle-timeout", "600"])
    result = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert "faults fired" in printed and "violations" in printed
    assert result["check"]["violations"] == [], result["check"]["violations"]
    assert code == 0
    assert sum(result["faults_fired"].values()) > 0, result["faults_fired"]
    assert sum(result["check"]["orders_by_status"].values()) == 30
