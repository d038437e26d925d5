"""The SMS sender's own entry point: ``python -m digests.send_main [options]``.

``hudoor digests send`` starts this too (gateway/cli.py hands those arguments over
before loading anything else), as does an RQ worker's ``digests.jobs.send_due`` through
``build``. A sender imports what sending needs — the config, the outbox's tables, the
shaper, the event-loop transport — and no Flask, no CLI, no other floor's models:
start-up was 47 % of a short run's sender CPU when it loaded the whole app
(docs/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
from collections.abc import Callable
from datetime import datetime, timedelta

import redis
from sqlalchemy.orm import Session, sessionmaker

from core import calendar, capture_load
from core.config import Config, ConfigError
from core.model_base import utcnow
from digests.loop_sender import LoopSender
from digests.outbox import RetryPolicy
from digests.providers.base import Provider
from shaping.bucket import RateShaper
from shaping.policy import OperatorCaps


def build(config: Config, sessions: sessionmaker[Session], conn: redis.Redis,
          clock: Callable[[], datetime] = utcnow, *, provider: Provider | None = None,
          pooled: bool | None = None, threads: int = 32, batch: int = 500) -> LoopSender:
    """Return the event-loop sender on the configured provider (or the one given).

    Africa's Talking with keep-alive (HUDOOR_AT_KEEPALIVE, the default) sends from the
    loop on one aiohttp session; a given provider, the console or the SDK as shipped
    (``pooled=False``) is called on a pool of ``threads`` threads.
    """
    caps = OperatorCaps.parse(config.operator_caps)
    shaper = RateShaper(conn, caps, urgent_share=config.sms_urgent_share,
                        guard_us=config.shaper_guard_ms * 1000)
    keepalive = config.at_keepalive if pooled is None else pooled
    transport = None
    if provider is None and config.sms_provider == "africastalking" and keepalive:
        from digests.providers.at_async import AsyncAfricasTalking

        transport = AsyncAfricasTalking(config.at_username, config.at_api_key,
                                        base_url=config.at_base_url,
                                        sender_id=config.at_sender_id)
        provider = transport  # type: ignore[assignment]  # unused: the loop calls transport
    elif provider is None:
        from digests.providers import make_provider

        provider = make_provider(config, pooled=keepalive)
    return LoopSender(sessions, shaper, caps, provider, RetryPolicy.from_config(config),
                      transport=transport, threads=threads, batch=batch,
                      max_in_flight=config.sms_max_in_flight, clock=clock,
                      hold=capture_load.Signal(conn).reason,  # capture first (R2)
                      schedule=config.shaper_schedule)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="hudoor digests send",
                                 description="Run the SMS sending loop in this process.")
    ap.add_argument("--until-idle", action="store_true", help="Stop when nothing is due.")
    ap.add_argument("--seconds", type=float, default=None, help="Stop after this long.")
    ap.add_argument("--threads", type=int, default=32,
                    help="Threads for a provider without an event-loop transport.")
    ap.add_argument("--batch", type=int, default=500, help="Most messages per operator per round.")
    keep = ap.add_mutually_exclusive_group()
    keep.add_argument("--pooled", dest="pooled", action="store_true", default=None,
                      help="Keep-alive connections on the event loop (default: "
                           "HUDOOR_AT_KEEPALIVE; see docs/BENCHMARKS.md).")
    keep.add_argument("--sdk-transport", dest="pooled", action="store_false",
                      help="The SDK's own request per message, on the thread pool.")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = Config.from_env()
    except ConfigError as exc:  # a clear error, not a traceback
        print(f"hudoor digests send: {exc}", file=sys.stderr)
        return 2
    from core.db import make_engine, make_sessionmaker
    from core.redis_conn import connect

    engine = make_engine(config.effective_database_url)
    sessions = make_sessionmaker(engine, config.audit_key_bytes)
    clock = calendar.moving_clock(config.fake_now) if config.fake_now else utcnow
    sender = build(config, sessions, connect(config), clock, pooled=args.pooled,
                   threads=args.threads, batch=args.batch)
    grace = timedelta(seconds=config.sms_unknown_grace_seconds)
    try:
        stats = sender.run(until_idle=args.until_idle, stop_after=args.seconds, grace=grace)
    finally:
        sender.close()
        engine.dispose()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"submitted": stats.submitted, "accepted": stats.accepted,
                      "refused": stats.refused, "throttled": stats.throttled,
                      "missed": stats.missed, "held": stats.held,
                      "held_back": stats.held_back,
                      "cpu": round(usage.ru_utime + usage.ru_stime, 3),
                      "guard_ms": stats.guard_means_ms(),
                      "sql_cpu": {k: round(v, 3) for k, v in stats.sql_cpu.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
