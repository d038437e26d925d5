"""Benchmark `hudoor` start-up: --help and light commands against a bare interpreter.

The floor is what any click command must pay: starting Python and importing click. Each
command runs as a whole process (as a user types it) several times; the median counts.
Target: `hudoor --help` and light commands (`sms segments`, a group's --help) ≤ 1 s wall.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
HUDOOR = str(BIN / "hudoor")
TARGET_S = 1.0


def _median_wall(cmd: list[str], runs: int, stdin: bytes = b"", env: dict | None = None) -> float:
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, env=env)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    var = tempfile.mkdtemp(prefix="hudoor-cli-bench-")
    env = dict(os.environ, HUDOOR_VAR_DIR=var,
               HUDOOR_DATABASE_URL=f"sqlite:///{var}/bench.db")
    floor = _median_wall([sys.executable, "-c", "import click"], args.runs)
    rows = [
        ("hudoor --help", [HUDOOR, "--help"], b"", True),
        ("hudoor db --help", [HUDOOR, "db", "--help"], b"", True),
        ("hudoor sms segments (1 line)", [HUDOOR, "sms", "segments"], b'"hello"\n', True),
        ("hudoor db upgrade (app + DB)", [HUDOOR, "db", "upgrade"], b"", False),
    ]
    print(f"cli bench: median of {args.runs} runs, nproc={os.cpu_count()}")
    print(f"{'floor: python -c import click':34} {floor * 1000:7.0f} ms")
    for label, cmd, stdin, light in rows:
        wall = _median_wall(cmd, args.runs, stdin, env)
        target = f"target ≤ {TARGET_S * 1000:.0f} ms" if light else "(not a light command)"
        verdict = ("ok" if wall <= TARGET_S else "OVER") if light else ""
        print(f"{label:34} {wall * 1000:7.0f} ms  {wall / floor:5.1f}× floor  {target} {verdict}")


if __name__ == "__main__":
    main()
