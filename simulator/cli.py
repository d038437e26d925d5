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
def serve(port: int, callback: str, caps: str, fail_share: float, seed: int,
          no_dlr: bool) -> None:
    """Serve the simulator until interrupted (GET /stats for its counters)."""
    from simulator.network import Faults, Network
    from simulator.server import Simulator
    from shaping.policy import OperatorCaps

    share = fail_share / 4
    faults = Faults(invalid=share, blacklisted=share, absent=share, buffered=share,
                    duplicate_dlr=0.1, late_sent=0.1)
    network = Network(None if caps == "none" else OperatorCaps.parse(caps), faults, seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Simulator(network, callback, port=port, poster_threads=0 if no_dlr else 4) as sim:
        click.echo(f"simulator on {sim.url}", err=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
