"""Where a USSD hop's CPU goes: the real app in-process, whole teacher sessions, cProfile.

Builds the spike's world (bench/spike_world.py), then plays the sessions bench/ussd_sessions.lua
plays (dial, attendance, class, two absentees, confirm; late arrivals once a class is taken)
through the real app's WSGI callable — no server, no network, so the picture
is deterministic. Prints CPU ms per hop (process time), Redis commands per hop (INFO
commandstats) and PostgreSQL commits per hop, then the profile's top functions by their
own and cumulative time, and the shares of a hop's CPU by area.

    .venv/bin/python bench/hop_profile.py --schools 4 --hops 4000
    .venv/bin/python bench/hop_profile.py --fresh   # every session a teacher this process has not seen

`--mornings` is the morning spike's mix: each pass (the warm-up, the measured one, the
profiled one) is a school morning of its own with the caches warmed as before the first bell,
so with more teachers than a pass has sessions (`--schools`) each marks a class not yet taken.
`--fresh`: each teacher dials once and the caches are cold, so before every session the
bench forgets the teacher (this process's names, schools and rosters; the cached caller and
class list in Redis), and the figures show what a first-time session costs. The bench's own
GET/DEL for that are taken out of the Redis counts.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.capacity_bench import _pg_counters, redis_commands  # noqa: E402
from bench.spike_world import school_morning, world  # noqa: E402

AREAS = (  # (label, substring of a profiled file's path); first match wins
    ("werkzeug/flask request", ("werkzeug", "flask")),
    ("redis client", ("redis/",)),
    ("sqlalchemy + psycopg", ("sqlalchemy", "psycopg")),
    ("phonenumbers", ("phonenumbers",)),
    ("babel / gettext", ("babel", "gettext")),
    ("json", ("json/",)),
    ("ussd/", ("/ussd/",)),
    ("core/", ("/core/",)),
    ("gateway/", ("/gateway/",)),
)


def _untaken_class(body: str) -> str:
    """The key of the first class on a class menu not taken today (no ✓), else "1"."""
    for line in body.split("\n")[1:]:
        key, _, name = line.partition(" ")
        if key in ("1", "2", "3") and not name.startswith("✓"):
            return key
    return "1"


def _next_input(body: str) -> str:
    if "اختر الفصل" in body:
        return _untaken_class(body)
    for needle, answer in (("اختر الفصل", "1"), ("الغياب: ", "0103"), ("الغائبون؟", "0103"), ("سُجّل حضور اليوم", "1"),
                           ("المتأخرون؟", f"{random.randint(4, 29):02d}"), ("تأخير: ", "1")):
        if needle in body:
            return answer
    return "1"


FORGOTTEN = [0]  # sessions whose teacher the bench made unknown (--fresh)


def _forget(rds, sim_ref: str) -> None:  # type: ignore[no-untyped-def]
    """Make the next session a first-time one: as if this teacher had not dialled this minute."""
    import json

    from ussd import cache, keys

    cache._ROSTERS.clear()  # the staff book stays: it is loaded whole, every BOOK_TTL
    cache._ROLLS.clear()
    raw = rds.get(keys.caller(sim_ref))
    staff = json.loads(raw).get("staff_id") if raw else None
    rds.delete(keys.caller(sim_ref), *([keys.classes(staff)] if staff else []))
    FORGOTTEN[0] += 1


PROFILE: list[cProfile.Profile | None] = [None]  # on only inside the app's call
SCREENS: Counter[str] = Counter()  # first lines of the screens answered, to show the mix
APP_CPU = [0.0]  # process seconds spent inside the app (not building the requests)
HOP_CPU = [0.0]  # of which inside ussd.service.handle: the rest is the HTTP layer


def _time_the_service() -> None:
    """Count the CPU spent in ussd.service.handle, to split the HTTP layer from the hop."""
    from ussd import service

    handle = service.handle

    def timed(hop, rt):  # type: ignore[no-untyped-def]
        started = time.process_time()
        try:
            return handle(hop, rt)
        finally:
            HOP_CPU[0] += time.process_time() - started

    service.handle = timed  # type: ignore[assignment]


def _call(app, body: bytes) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Call the WSGI app as a server would (a plain environ, no test client on the profile)."""
    status: list[str] = []
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/at/ussd", "QUERY_STRING": "token=bench",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/x-www-form-urlencoded",
               "CONTENT_LENGTH": str(len(body)), "HTTP_HOST": "127.0.0.1:8000",
               "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
               "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": True,
               "wsgi.run_once": False}
    chunks = app(environ, lambda s, h, exc=None: status.append(s))
    text = b"".join(chunks).decode()
    getattr(chunks, "close", lambda: None)()
    return status[0], text


def play(app, phones: list[str], hops: int, fresh=None) -> int:  # type: ignore[no-untyped-def]
    """Play whole sessions round the phones until `hops` hops are answered; return errors.

    `fresh`: (redis client, phone -> SIM ref) to forget each teacher before their session.
    """
    errors, done, n = 0, 0, 0
    while done < hops:
        phone = phones[n % len(phones)]
        if fresh is not None:
            _forget(fresh[0], fresh[1](phone))
        sid, inputs = f"prof-{n}-{time.monotonic_ns()}", []
        n += 1
        while done < hops and len(inputs) < 12:
            body = urlencode({"sessionId": sid, "serviceCode": "*384*22#", "phoneNumber": phone,
                              "networkCode": "60202", "text": "*".join(inputs)})
            encoded = body.encode()
            started = time.process_time()
            if PROFILE[0] is not None:  # the app's call only: the bench's own urlencode is not the hop's
                PROFILE[0].enable()
            status, text = _call(app, encoded)
            if PROFILE[0] is not None:
                PROFILE[0].disable()
            APP_CPU[0] += time.process_time() - started
            done += 1
            SCREENS[text.split("\n")[0][:30]] += 1
            if not status.startswith("200"):
                errors += 1
                break
            if text.startswith("END"):
                break
            inputs.append(_next_input(text))
    return errors


def _count_round_trips(engine):  # type: ignore[no-untyped-def]
    """Count connection checkouts, SQL statements and Redis round trips from here on."""
    from redis.connection import AbstractConnection
    from sqlalchemy import event

    checkouts, statements, trips = [0], [0], [0]
    event.listen(engine, "checkout", lambda *_: checkouts.__setitem__(0, checkouts[0] + 1))
    event.listen(engine, "before_cursor_execute",
                 lambda *_: statements.__setitem__(0, statements[0] + 1))
    send = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):  # type: ignore[no-untyped-def]
        trips[0] += 1
        return send(self, command, check_health)

    AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
    return checkouts, statements, trips


def _mornings(app):  # type: ignore[no-untyped-def]
    """A callable that moves the app's clock to the next school morning and warms the hop
    caches for it, as the scheduler does before the first bell (--mornings)."""
    from core import calendar
    from ussd.warmup import warm_now

    rt, n = app.extensions["hudoor"], [0]

    def advance() -> None:
        n[0] += 1
        rt.clock = calendar.moving_clock(school_morning(n[0]))
        warm_now(rt)

    return advance


def _areas(stats: pstats.Stats) -> dict[str, float]:
    own: dict[str, float] = {}
    total = 0.0
    for (path, _line, _name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        total += tt
        label = next((lab for lab, subs in AREAS if any(s in path for s in subs)), "other (stdlib, builtins)")
        own[label] = own.get(label, 0.0) + tt
    return {k: v / total for k, v in sorted(own.items(), key=lambda kv: -kv[1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--schools", type=int, default=4)
    ap.add_argument("--hops", type=int, default=4000)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--no-cprofile", action="store_true",
                    help="the figures only (A/B runs): no cProfile pass after them")
    ap.add_argument("--dump", metavar="FILE", help="also write the profile's stats to FILE (pstats)")
    ap.add_argument("--fresh", action="store_true",
                    help="every session a teacher this process has not seen, caches cold")
    ap.add_argument("--mornings", action="store_true",
                    help="each pass (warm-up, measured, profiled) a school morning of its own, "
                         "the caches warmed as before the first bell: the spike's marking")
    args = ap.parse_args()
    with world("hopprofile", args.schools, extra_env={"HUDOOR_SHED_HOPS_PER_SECOND": "0"}) as w:
        os.environ.update(w.env)
        from gateway.app import create_app

        app = create_app()
        _time_the_service()
        phones = w.phones.read_text().split()
        fresh = None
        if args.fresh:
            import redis

            from core.pseudonyms import msisdn_ref

            secret = app.extensions["hudoor"].config.secret_key
            fresh = (redis.Redis.from_url(w.redis_url), lambda p: msisdn_ref(secret, p))
        next_morning = _mornings(app) if args.mornings else lambda: None
        next_morning()
        play(app, phones, 500, fresh)  # warm: imports, caches, connections
        next_morning()
        checkouts, statements, trips = _count_round_trips(app.extensions["hudoor"].engine)
        cpu0, hop0, pg0, cmds0 = APP_CPU[0], HOP_CPU[0], _pg_counters(w.dsn), redis_commands(w.redis_url)
        forgot0, out0, sql0, trips0 = FORGOTTEN[0], checkouts[0], statements[0], trips[0]
        errors = play(app, phones, args.hops, fresh)
        cpu1, hop1, pg1, cmds1 = APP_CPU[0], HOP_CPU[0], _pg_counters(w.dsn), redis_commands(w.redis_url)
        diff = {k: cmds1[k] - cmds0.get(k, 0) for k in cmds1 if cmds1[k] != cmds0.get(k, 0)}
        diff["info"] = diff.get("info", 1) - 1
        for own in ("get", "del"):  # the bench's own forgetting (--fresh), not the app's
            diff[own] = diff.get(own, 0) - (FORGOTTEN[0] - forgot0)
        per_cmd = {k: round(v / args.hops, 2) for k, v in sorted(diff.items(), key=lambda kv: -kv[1]) if v}
        print(f"hop profile: {args.hops} hops, {errors} errors; load average {os.getloadavg()[0]:.1f}")
        print(f"  CPU per hop {(cpu1 - cpu0) * 1000 / args.hops:.3f} ms (in-process, no server); "
              f"Redis commands per hop {sum(per_cmd.values()):.2f} {per_cmd}; "
              f"PostgreSQL commits per hop {(pg1[0] - pg0[0]) / args.hops:.3f}, "
              f"connection checkouts per hop {(checkouts[0] - out0) / args.hops:.3f}, "
              f"SQL statements per hop {(statements[0] - sql0) / args.hops:.3f}, "
              f"Redis round trips per hop "
              f"{(trips[0] - trips0 - 2 * (FORGOTTEN[0] - forgot0)) / args.hops:.3f}"
              f"{' (every session a fresh teacher)' if args.fresh else ''}")
        http = (cpu1 - cpu0) - (hop1 - hop0)
        print(f"  of which the HTTP layer (outside ussd.service.handle) {http * 1000 / args.hops:.3f} ms "
              f"({http / (cpu1 - cpu0):.0%})", flush=True)
        print(f"  screens (first line): {SCREENS.most_common(12)}")
        if args.no_cprofile:
            return
        next_morning()
        prof = cProfile.Profile(time.process_time)  # CPU, not waiting on Redis
        PROFILE[0] = prof
        play(app, phones, args.hops, fresh)
        PROFILE[0] = None
    if args.dump:
        prof.dump_stats(args.dump)
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    print(f"Python function calls a hop (profiled, load-independent): "
          f"{stats.total_calls / args.hops:.0f}")  # type: ignore[attr-defined]
    print("shares of a hop's CPU (own time, profiled):")
    for label, share in _areas(stats).items():
        print(f"  {label:<28} {share:6.1%}")


if __name__ == "__main__":
    main()
