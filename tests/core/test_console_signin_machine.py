"""Desk sign-in codes as a state machine against a model: asks, wrong tries, the right code, time.

Whatever the order, a code works only while it is the holder's newest, unused, unburned and
younger than five minutes, from an address not over its wrong-try limit; nobody gets more
codes than the per-number and per-address limits allow; no code takes a fourth wrong try.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select
from sqlalchemy.pool import StaticPool

from core import console_signin as cs
from core import staff_register
from core.db import make_engine, make_sessionmaker
from core.models import Base, ConsoleCode
from core.rbac import Role

SECRET = "machine-secret"
START = datetime(2026, 11, 29, 7, 30, tzinfo=timezone.utc)
NUMBERS = ("DESK-1", "NOPE-2")
ADDRESSES = ("10.0.0.1", "10.0.0.2")


class SignIn(RuleBasedStateMachine):
    @initialize()
    def database(self) -> None:
        engine = make_engine("sqlite://", poolclass=StaticPool,
                             connect_args={"check_same_thread": False})
        Base.metadata.create_all(engine)
        self.sessions = make_sessionmaker(engine, b"k" * 32)
        with self.sessions() as s, s.begin():
            staff_register.add(s, "DESK-1", "Desk one", Role.DESK, actor="t", reason="r")
            staff_register.bind_phone(s, "DESK-1", "01001234567", secret=SECRET, actor="t",
                                      reason="consent")
        self.now = START
        self.asks: list[tuple[datetime, str, str]] = []  # every ask: when, number, address
        self.wrong: list[tuple[datetime, str]] = []  # counted wrong tries: when, address
        self.code: dict[str, object] | None = None  # the newest code of DESK-1, as the model sees it

    def _recent(self, rows: list[datetime], window: timedelta) -> int:
        return sum(1 for at in rows if at > self.now - window)

    def _live(self) -> bool:
        c = self.code
        return bool(c and not c["used"] and not c["burned"] and self.now < c["at"] + cs.CODE_TTL)

    @rule(minutes=st.sampled_from((0, 0, 1, 4, 16, 60 * 23)), seconds=st.integers(0, 59))
    def wait(self, minutes: int, seconds: int) -> None:
        self.now += timedelta(minutes=minutes, seconds=seconds)

    @rule(number=st.sampled_from(NUMBERS), address=st.sampled_from(ADDRESSES))
    def ask(self, number: str, address: str) -> None:
        mine = [at for at, n, _a in self.asks if n == number]
        limited = (self._recent(mine, cs.WINDOW) >= cs.REQUESTS_PER_NUMBER
                   or self._recent(mine, timedelta(days=1)) >= cs.REQUESTS_PER_NUMBER_DAY
                   or self._recent([at for at, _n, a in self.asks if a == address], cs.WINDOW)
                   >= cs.REQUESTS_PER_ADDRESS)
        with self.sessions() as s, s.begin():
            got = cs.request_code(s, SECRET, number, address, self.now)
        self.asks.append((self.now, number, address))
        want = cs.Outcome.LIMITED if limited else (
            cs.Outcome.SENT if number == "DESK-1" else cs.Outcome.UNKNOWN)
        assert got.outcome is want
        if got.outcome is cs.Outcome.SENT:
            assert got.code and len(got.code) == cs.CODE_DIGITS
            self.code = {"value": got.code, "at": self.now, "used": False, "burned": False,
                         "failures": 0}

    def _address_limited(self, address: str) -> bool:
        return self._recent([at for at, a in self.wrong if a == address], cs.WINDOW) >= cs.WRONG_PER_ADDRESS

    @rule(number=st.sampled_from(NUMBERS[:1] * 3 + NUMBERS[1:]), address=st.sampled_from(ADDRESSES))
    def type_wrong(self, number: str, address: str) -> None:
        value = f"{(int(self.code['value']) + 1) % 10**8:08d}" if self.code else "12345678"  # type: ignore[call-overload]
        limited, live = self._address_limited(address), self._live()
        with self.sessions() as s, s.begin():
            got = cs.verify(s, SECRET, number, value, address, self.now)
        if limited:
            assert got.outcome is cs.Outcome.LIMITED
            return
        self.wrong.append((self.now, address))
        if number == "DESK-1" and live:
            assert self.code is not None
            self.code["failures"] = int(self.code["failures"]) + 1  # type: ignore[call-overload]
            self.code["burned"] = self.code["failures"] >= cs.MAX_WRONG_TRIES
            assert got.outcome is (cs.Outcome.BURNED if self.code["burned"] else cs.Outcome.WRONG)
        else:
            assert got.outcome is cs.Outcome.WRONG

    @rule(address=st.sampled_from(ADDRESSES))
    def type_right(self, address: str) -> None:
        if self.code is None:
            return
        limited, live = self._address_limited(address), self._live()
        with self.sessions() as s, s.begin():
            got = cs.verify(s, SECRET, "DESK-1", str(self.code["value"]), address, self.now)
        if limited:
            assert got.outcome is cs.Outcome.LIMITED
        elif live:
            assert got.outcome is cs.Outcome.RIGHT and got.holder is not None
            self.code["used"] = True
        else:
            assert got.outcome is cs.Outcome.WRONG
            self.wrong.append((self.now, address))

    @invariant()
    def no_code_takes_a_fourth_wrong_try(self) -> None:
        if not hasattr(self, "sessions"):
            return
        with self.sessions() as s:
            for row in s.scalars(select(ConsoleCode)):
                assert row.failures <= cs.MAX_WRONG_TRIES
                assert (row.burned_at is not None) == (row.failures >= cs.MAX_WRONG_TRIES)
                assert row.used_at is None or row.burned_at is None


SignIn.TestCase.settings = settings(max_examples=30, stateful_step_count=40, deadline=None)
test_sign_in_codes_follow_the_model = SignIn.TestCase
