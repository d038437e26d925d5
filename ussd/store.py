"""Session state in Redis: one small value per live session, with a TTL; resume by MSISDN."""

from __future__ import annotations

import redis

from ussd import keys
from ussd.state import State


class SessionStore:
    """Load and save USSD states (≤ 512 bytes each) with expiry."""

    def __init__(self, conn: redis.Redis, session_ttl: int, resume_ttl: int) -> None:
        self.conn, self.session_ttl, self.resume_ttl = conn, session_ttl, resume_ttl

    def load(self, session_id: str, msisdn: str) -> tuple[State | None, State | None, bytes | None]:
        """Return this session's state, the caller's resumable state, and the cached caller.

        One round trip: the caller cache (see ussd.cache) rides along with the states.
        """
        raw, resume, caller = self.conn.mget(keys.session(session_id), keys.resume(msisdn),
                                             keys.caller(msisdn))
        return (State.decode(raw) if raw else None, State.decode(resume) if resume else None, caller)

    def save(self, session_id: str, msisdn: str, state: State, *, resumable: bool,
             finished: bool) -> None:
        """Store the state; keep or clear the caller's resume point in the same round trip."""
        encoded = state.encode()
        pipe = self.conn.pipeline(transaction=False)
        pipe.set(keys.session(session_id), encoded, ex=self.session_ttl)
        if resumable:
            pipe.set(keys.resume(msisdn), state.with_(hops=0, digest="").encode(), ex=self.resume_ttl)
        elif finished:
            pipe.delete(keys.resume(msisdn))
        pipe.execute()

    def failures(self, msisdn: str) -> int:
        return int(self.conn.get(keys.failures(msisdn)) or 0)

    def count_failure(self, msisdn: str, window: int = 3600) -> int:
        """Count a wrong code from this SIM; the count expires after `window` seconds."""
        pipe = self.conn.pipeline()
        pipe.incr(keys.failures(msisdn))
        pipe.expire(keys.failures(msisdn), window)
        return int(pipe.execute()[0])
