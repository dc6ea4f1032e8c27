"""The shell entry points of the tooling: what they refuse, and how LocalStack is started and stopped.

The sam-local guards matter more than its happy path here: the target must never pass without
running, and must never start dockerd on the machine's own network.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_NETNS = ROOT / "infra" / "sam_local" / "in_netns.sh"
LOCALSTACK_SH = ROOT / "infra" / "localstack" / "localstack.sh"
LOCALSTACK_VENV = ROOT / ".venv-localstack"


def run(*cmd: str | Path, env: dict[str, str] | None = None, timeout: int = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env={**os.environ, **(env or {})})


def test_sam_local_refuses_to_start_dockerd_on_the_machines_network() -> None:
    if not Path("/sys/class/net/eth0").exists():
        pytest.skip("this machine has no eth0: the guard has nothing to see")
    proc = run(IN_NETNS, "unused.tar", "unused-data-root", "--", "echo", "RAN")
    assert proc.returncode == 1
    assert "eth0 is visible" in proc.stderr
    assert "RAN" not in proc.stdout


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare for a network namespace")
def test_sam_local_fails_loudly_when_no_engine_starts(tmp_path: Path) -> None:
    fake = tmp_path / "dockerd"
    fake.write_text("#!/bin/sh\necho 'failed to start daemon: simulated' >&2\nexit 1\n")
    fake.chmod(0o755)
    proc = run("unshare", "--net", "--fork", IN_NETNS, "unused.tar", tmp_path / "data", "--", "echo", "RAN",
               env={"PATH": f"{tmp_path}:{os.environ['PATH']}"})
    assert proc.returncode == 1
    assert "no container engine could start here" in proc.stderr
    assert "simulated" in proc.stderr
    assert "RAN" not in proc.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """Local addresses in LISTEN state on `port`, from /proc/net/tcp (hex, little-endian IPv4)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


@pytest.mark.skipif(not (LOCALSTACK_VENV / "bin" / "python").exists(), reason="no .venv-localstack: run `make localstack-up` once")
def test_localstack_starts_on_loopback_only_and_stops_by_pid(tmp_path: Path) -> None:
    port = free_port()
    up = run(LOCALSTACK_SH, "up", LOCALSTACK_VENV, str(port), tmp_path, timeout=120)
    try:
        assert up.returncode == 0, up.stderr
        assert f"LOCALSTACK_ENDPOINT=http://127.0.0.1:{port}" in up.stdout
        assert (tmp_path / "endpoint").read_text().strip() == f"http://127.0.0.1:{port}"
        assert listening_addresses(port) == {"127.0.0.1"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_localstack/health", timeout=5) as response:
            assert response.status == 200
        pid = int((tmp_path / "localstack.pid").read_text())
    finally:
        down = run(LOCALSTACK_SH, "down", tmp_path, timeout=60)
    assert down.returncode == 0
    assert not Path(f"/proc/{pid}").exists()
    assert not (tmp_path / "localstack.pid").exists()
    assert listening_addresses(port) == set()
