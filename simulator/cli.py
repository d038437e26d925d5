"""The `simulator` click group: run the Africa's Talking + operators stand-in locally."""

from __future__ import annotations

import signal
import threading

import click


@click.group("simulator")
def simulator() -> None:
    """The local Africa's Talking + operators simulator."""


@simulator.command("serve")
@click.option("--port", type=int, default=5060)
@click.option("--callback", default="http://127.0.0.1:8000/at/delivery-reports?token=dev-dlr-callback-token",
              help="Where delivery reports are posted.")
@click.option("--caps", default="vodafone=200,orange=150,etisalat=100,we=50",
              help="Operator caps; 'none' lifts them.")
@click.option("--fail-share", type=float, default=0.05,
              help="Share of messages failing (split over invalid/blacklisted/absent/buffered).")
@click.option("--seed", type=int, default=0)
@click.option("--no-dlr", is_flag=True, help="Post no delivery reports (benchmarks).")
@click.option("--latency-ms", default="", help="LOW,HIGH: path delay to the operators, e.g. 5,80.")
@click.option("--latency-mode", type=click.Choice(["path", "iid"]), default="path",
              help="path: a drifting, ordered path delay; iid: a fresh draw per message.")
@click.option("--stall-ms", type=int, default=0, help="Length of the path's occasional stalls.")
@click.option("--stall-every", type=float, default=0.0, help="Mean seconds between stalls.")
def serve(port: int, callback: str, caps: str, fail_share: float, seed: int,
          no_dlr: bool, latency_ms: str, latency_mode: str, stall_ms: int,
          stall_every: float) -> None:
    """Serve the simulator until interrupted (GET /stats for its counters)."""
    from simulator.latency import PathLatency
    from simulator.network import Faults, Network
    from simulator.server import Simulator
    from shaping.policy import OperatorCaps

    share = fail_share / 4
    faults = Faults(invalid=share, blacklisted=share, absent=share, buffered=share,
                    duplicate_dlr=0.1, late_sent=0.1)
    latency = None
    if latency_ms or stall_ms:
        try:
            low, high = (int(v) / 1000 for v in (latency_ms or "0,0").split(","))
            latency = PathLatency(low, high, stall=stall_ms / 1000, stall_every=stall_every,
                                  mode=latency_mode, seed=seed)
        except ValueError as exc:
            raise click.BadParameter(f"--latency-ms LOW,HIGH in whole ms: {exc}") from exc
    network = Network(None if caps == "none" else OperatorCaps.parse(caps), faults, seed,
                      latency=latency, dlrs=not no_dlr)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Simulator(network, callback, port=port, poster_threads=0 if no_dlr else 4) as sim:
        click.echo(f"simulator on {sim.url}", err=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
