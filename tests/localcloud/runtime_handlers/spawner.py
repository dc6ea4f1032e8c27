"""Spawns a long-lived child process and writes its pid to `pid_file`, then sleeps past its timeout."""

import subprocess
import time
from pathlib import Path


def handler(event, context):
    child = subprocess.Popen(["sleep", "60"])
    Path(event["pid_file"]).write_text(str(child.pid))
    time.sleep(event["sleep_s"])
    return "done"
