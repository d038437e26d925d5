"""The AT simulator's own CPU per message: what the stand-in costs beside the senders.

The caps bench runs the simulator on the same cores as the senders it judges, so every
millisecond it spends a message is taken from them. This drives `hudoor simulator serve`
(its own process, as in the caps bench) with the SDK's request (form body, apiKey header)
from an aiohttp client in this process, `--concurrency` requests open on keep-alive
connections, and prints the simulator process's CPU (user + system from /proc) per
message: once with caps it never reaches (the sliding-window accounting runs) and no
path delay, once with the caps bench's path (5-80 ms drifting, 300 ms stalls).

    .venv/bin/python bench/simulator_bench.py --messages 20000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sms_world import PREFIX, Simulator, load_text  # noqa: E402

HIGH_CAPS = "we=100000,etisalat=100000,orange=100000,vodafone=100000"
PATH = ["--latency-ms", "5,80", "--stall-ms", "300", "--stall-every", "15"]


async def _drive(url: str, messages: int, concurrency: int) -> int:
    import aiohttp

    ops = list(PREFIX.values())
    headers = {"apiKey": "bench", "Accept": "application/json"}
    done = 0

    async def worker(session: aiohttp.ClientSession, start: int) -> None:
        nonlocal done
        for i in range(start, messages, concurrency):
            body = {"username": "sandbox", "to": f"+20{ops[i % 4]}{i:08d}",
                    "message": f"حضور {i}", "bulkSMSMode": "1"}
            async with session.post(url + "/version1/messaging", data=body,
                                    headers=headers) as answer:
                await answer.read()
                if answer.status == 201:
                    done += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session, k) for k in range(concurrency)))
    return done


def measure(messages: int, concurrency: int, path: list[str]) -> tuple[float, float, int]:
    """Return (simulator CPU ms per message, wall seconds, answered) for one round."""
    sim = Simulator(HIGH_CAPS, path)
    try:
        before = sim.cpu_seconds()
        start = time.monotonic()
        answered = asyncio.run(_drive(sim.url, messages, concurrency))
        wall = time.monotonic() - start
        cpu = sim.cpu_seconds() - before
    finally:
        sim.stop()
    return cpu / max(1, answered) * 1e3, wall, answered


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    print(f"simulator CPU per message ({args.messages:,} messages, {args.concurrency} open, "
          f"pid {os.getpid()} drives)")
    for r in range(1, args.rounds + 1):
        for name, path in (("loopback", []), ("path 5-80 ms + stalls", PATH)):
            load = load_text()
            ms, wall, answered = measure(args.messages, args.concurrency, path)
            print(f"round {r} {load:>16}  {name:22} {ms:6.3f} ms/msg  "
                  f"({answered:,} answered in {wall:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
