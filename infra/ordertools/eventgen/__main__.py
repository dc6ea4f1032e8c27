"""`python -m ordertools.eventgen [--check] [--root events]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# The samples are built with the domain's own models (functions/orders), which are not part of
# the installed tooling package: put them on the path the way pytest's `pythonpath` does.
sys.path.insert(0, str(REPO / "functions"))

from ordertools.eventgen import stale, write  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m ordertools.eventgen", description=__doc__)
    parser.add_argument("--root", type=Path, default=REPO / "events", help="where the corpus lives (default events/)")
    parser.add_argument("--check", action="store_true", help="only report files that differ; exit 1 if any")
    args = parser.parse_args()
    if args.check:
        differing = stale(args.root)
        for path in differing:
            print(f"differs from the corpus: {path}")
        return 1 if differing else 0
    for path in write(args.root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
