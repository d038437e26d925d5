"""Session state in Redis: one small value per live session, with a TTL; resume by MSISDN."""

from __future__ import annotations

from typing import Iterable, Sequence

import redis

from core.redis_wire import Command, raise_refused, round_trip
from ussd import keys
from ussd.state import State


def _load_keys(session_id: str, sim_ref: str) -> tuple[str, str, str]:
    """What a hop's load reads: its session, the caller's resume point, the cached caller."""
    return keys.session(session_id), keys.resume(sim_ref), keys.caller(sim_ref)


def _decoded(raw: bytes | None) -> State | None:
    return State.decode(raw) if raw else None


class SessionStore:
    """Load and save USSD states (≤ 512 bytes each) with expiry.

    A hop's load and save are one round trip each, sent by core.redis_wire (not a redis-py
    command or pipeline: decision 0039, seventh pass); `conn` is best a client holding its
    own connection.
    """

    def __init__(self, conn: redis.Redis, session_ttl: int, resume_ttl: int) -> None:
        self.conn, self.session_ttl, self.resume_ttl = conn, session_ttl, resume_ttl

    def load(self, session_id: str, sim_ref: str) -> tuple[State | None, State | None, bytes | None]:
        """Return this session's state, the caller's resumable state, and the cached caller.

        One round trip: the caller cache (see ussd.cache) rides along with the states.
        """
        load = ("MGET", *_load_keys(session_id, sim_ref))
        (values,) = raise_refused(round_trip(self.conn, (load,)))
        raw, resume, caller = values  # type: ignore[misc]
        return _decoded(raw), _decoded(resume), caller

    def load_with(self, session_id: str, sim_ref: str, also: Command
                  ) -> tuple[State | None, State | None, bytes | None, object]:
        """`load`, and one more command `also`, in the same round trip.

        Its reply (the ResponseError if the server refused it) is the fourth value.
        """
        values, reply = round_trip(self.conn, (("MGET", *_load_keys(session_id, sim_ref)), also))
        raw, resume, caller = raise_refused([values])[0]  # type: ignore[misc]
        return _decoded(raw), _decoded(resume), caller, reply

    def save(self, session_id: str, sim_ref: str, state: State, *, resumable: bool,
             finished: bool, also: Iterable[Sequence[Command]] = ()) -> None:
        """Store the state; keep or clear the caller's resume point in the same round trip.

        `also`: writes the hop held for this round trip (ussd.cache.HopCache.pending).
        Raises the first refused command's error, as a pipeline does.
        """
        commands: list[Command] = [("SET", keys.session(session_id), state.encode(),
                                    "EX", self.session_ttl)]
        if resumable:
            commands.append(("SET", keys.resume(sim_ref), state.with_(hops=0, digest="").encode(),
                             "EX", self.resume_ttl))
        elif finished:
            commands.append(("DEL", keys.resume(sim_ref)))
        for held in also:
            commands.extend(held)
        raise_refused(round_trip(self.conn, commands))

    def failures(self, sim_ref: str) -> tuple[int, int]:
        """Return the wrong codes counted from this SIM and the seconds until they are forgotten."""
        pipe = self.conn.pipeline()
        pipe.get(keys.failures(sim_ref))
        pipe.ttl(keys.failures(sim_ref))
        count, ttl = pipe.execute()
        return int(count or 0), max(int(ttl), 0)

    def count_failure(self, sim_ref: str, window: int = 3600) -> int:
        """Count a wrong code from this SIM; the count expires after `window` seconds."""
        pipe = self.conn.pipeline()
        pipe.incr(keys.failures(sim_ref))
        pipe.expire(keys.failures(sim_ref), window)
        return int(pipe.execute()[0])
