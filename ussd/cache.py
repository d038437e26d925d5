"""Caches that keep a USSD hop off the database: caller, classes and rolls in Redis, names here.

Every cache is short-lived and invalidated by the writes that change it, so the worst
staleness is one TTL (a revoked teacher's access ends within CALLER_TTL more seconds).
Redis holds no phone number and no person's name: a SIM is keyed by its keyed hash, the
cached caller is ids and flags, a roll is ids; names stay in this process (rosters, the
staff book). A roll may be stale by ROLL_TTL: the save checks the fingerprint the numbers
were typed on against the database's roll (attendance.confirm, mark_late), so staleness
costs a "list changed", never a mark on the wrong child.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields
import time
from datetime import date
from typing import Callable, Generic, TypeVar

import orjson
import redis
from redis.exceptions import NoScriptError

from core.redis_wire import Command
from ussd import keys
from ussd.ports import Caller, ClassInfo, Roll, Roster

V = TypeVar("V")

CALLER_TTL = 60
CLASSES_TTL = 60
TAKEN_TTL = 3 * 86400
ROSTER_TTL = 60.0
ROLL_TTL = 1200  # Redis: a whole morning's spike (the warm job writes them before it)
BOOK_TTL = 300.0  # the staff book: names and schools of every staff member with a SIM
_MEMO_MAX = 20_000
_UNFETCHED = object()
_PRIVATE = ("msisdn", "staff_name")  # never written to Redis
# What this release reads of a cached caller: a field another release wrote is left alone.
_CALLER_FIELDS = frozenset(f.name for f in fields(Caller)) - set(_PRIVATE)


class _Memo(Generic[V]):
    """A per-process memo by integer id: each value kept `ttl` seconds, at most _MEMO_MAX ids."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._items: dict[int, tuple[float, V]] = {}

    def get(self, key: int, load: Callable[[], V]) -> V:
        hit = self._items.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        value = load()
        self.put(key, value)
        return value

    def put(self, key: int, value: V) -> None:
        if len(self._items) > _MEMO_MAX:
            self._items.clear()
        self._items[key] = (time.monotonic() + self._ttl, value)

    def peek(self, key: int) -> V | None:
        hit = self._items.get(key)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def has(self, key: int) -> bool:
        return self.peek(key) is not None

    def forget(self, key: int) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


_TAKEN_BUILT: set[str] = set()  # taken-today keys this process has seen built (member 0)


def _seen_built(taken_key: str) -> None:
    if len(_TAKEN_BUILT) > 8:  # a key a day: yesterday's go
        _TAKEN_BUILT.clear()
    _TAKEN_BUILT.add(taken_key)


_ROSTERS: _Memo[Roster] = _Memo(ROSTER_TTL)  # class id -> roster, this process only
_ROLLS: _Memo[Roll] = _Memo(ROSTER_TTL)  # class id -> roll, read from Redis or SQL

Staff = tuple[str, int | None]  # a staff member's display name and school


class _StaffBook:
    """Every dialling staff member's name and school, loaded in bulk, this process only.

    In the morning spike nearly every teacher's first hop in a process is the first this
    process sees of them: one statement for the whole book (20,000 rows nationally) every
    BOOK_TTL seconds costs less than one for each of them. One missing (bound since the
    last load) is read alone and added. A name only titles the menu and a school decides
    the day (its week and hours), so a change shows within BOOK_TTL; access is the
    cached caller's to decide, never the book's.
    """

    def __init__(self) -> None:
        self.rows: dict[int, Staff] = {}
        self.until = 0.0

    def get(self, staff_id: int, load_all: Callable[[], dict[int, Staff]],
            load_one: Callable[[int], Staff]) -> Staff:
        if self.until <= time.monotonic():
            self.rows, self.until = load_all(), time.monotonic() + BOOK_TTL
        hit = self.rows.get(staff_id)
        if hit is None:
            hit = self.rows[staff_id] = load_one(staff_id)
        return hit

    def put(self, staff_id: int, name: str, school_id: int | None) -> None:
        self.rows[staff_id] = (name, school_id)

    def clear(self) -> None:
        self.rows, self.until = {}, 0.0


_BOOK = _StaffBook()


def forget_process_caches() -> None:
    """Drop what this process holds (tests, benches: a process that never saw anyone)."""
    _ROSTERS.clear()
    _ROLLS.clear()
    _BOOK.clear()
    _TAKEN_BUILT.clear()


def caller_value(caller: Caller) -> str:
    """Return what Redis keeps about a caller: ids and flags, no number, no name."""
    return orjson.dumps({k: v for k, v in caller.__dict__.items() if k not in _PRIVATE}).decode()


def staff(staff_id: int, load_all: Callable[[], dict[int, Staff]],
          load_one: Callable[[int], Staff]) -> Staff:
    """Return a staff member's name and school from this process's staff book."""
    return _BOOK.get(staff_id, load_all, load_one)


def remember_staff(staff_id: int, name: str, school_id: int | None) -> None:
    """Keep a staff member's name and school read beside another row (their contact)."""
    _BOOK.put(staff_id, name, school_id)


def roll_value(roll: Roll) -> bytes:
    """Return what Redis keeps of a roll: ids, fingerprint and the class's name, no person's."""
    return orjson.dumps([roll.fingerprint, roll.name, roll.ids])


def roll_from(class_id: int, raw: bytes) -> Roll:
    fingerprint, name, ids = orjson.loads(raw)
    return Roll(class_id, tuple(ids), fingerprint, name)


# The cached class list and each class's taken-today flag in one round trip and two
# commands: the taken set always holds the member 0 once built (see `classes`), so one
# SMISMEMBER answers "is the set there" (0) and every class's flag together.
_CLASSES_LUA = """
local raw = redis.call('GET', KEYS[1])
if not raw then
  return {false, redis.call('SISMEMBER', KEYS[2], 0), {}}
end
local ids = {0}
for i, c in ipairs(cjson.decode(raw)) do
  ids[i + 1] = c[1]
end
local flags = redis.call('SMISMEMBER', KEYS[2], unpack(ids))
local ready = table.remove(flags, 1)
return {raw, ready, flags}
"""


_CLASSES_SHA = hashlib.sha1(_CLASSES_LUA.encode()).hexdigest()


class HopCache:
    """Read-through caches for one hop (Redis calls are single round trips)."""

    def __init__(self, conn: redis.Redis) -> None:
        self.conn = conn
        # Cache writes held for the session's save, which sends them in the same round trip
        # (SessionStore.save). By key, so a forget in the same hop drops a held write.
        self.pending: dict[str, tuple[Command, ...]] = {}
        self._fetched: dict[tuple[str, ...], list] = {}  # type: ignore[type-arg]  # script replies the load brought

    def prefetch_classes(self, staff_id: int, day: date) -> Command:
        """The class-list script, to send with the session's load: `fetched` takes its reply."""
        return ("EVALSHA", _CLASSES_SHA, 2, keys.classes(staff_id), keys.taken(day.isoformat()))

    def fetched(self, staff_id: int, day: date, reply: object) -> None:
        """Keep the prefetched class list for this hop's first ask (not a failed one)."""
        if isinstance(reply, list):
            self._fetched[(keys.classes(staff_id), keys.taken(day.isoformat()))] = reply

    def _classes_and_flags(self, names: list[str]) -> list:  # type: ignore[type-arg]
        """Run _CLASSES_LUA by its digest, loading it once when the server lacks it.

        Called directly, not through redis-py's Script: its isinstance check against
        Pipeline (a typing Protocol's metaclass) took 8 % of the GIL in one spike profile.
        """
        hit = self._fetched.pop(tuple(names), None)  # read with the load: used once, then fresh
        if hit is not None:
            return hit
        try:
            return self.conn.evalsha(_CLASSES_SHA, len(names), *names)  # type: ignore[no-any-return]
        except NoScriptError:  # a new or flushed server: load once, as Script would
            self.conn.script_load(_CLASSES_LUA)
            return self.conn.evalsha(_CLASSES_SHA, len(names), *names)  # type: ignore[no-any-return]

    def roll(self, class_id: int, load: Callable[[], Roll]) -> Roll:
        """Return a class's roll: this process's, else Redis's, else `load`'s (then kept both)."""
        hit = _ROLLS.peek(class_id)
        if hit is not None:
            return hit
        raw = self.conn.get(keys.roll(class_id))
        if raw:
            found = roll_from(class_id, raw)
            _ROLLS.put(class_id, found)
        else:
            found = load()
            self.remember_roll(found)
        return found

    def remember_roll(self, roll: Roll) -> None:
        """Cache a roll read from SQL, here and in Redis (with the session's save)."""
        _ROLLS.put(roll.class_id, roll)
        key = keys.roll(roll.class_id)
        self.pending[key] = (("SET", key, roll_value(roll), "EX", ROLL_TTL),)

    def forget_roll(self, class_id: int) -> None:
        key = keys.roll(class_id)
        self.pending.pop(key, None)
        _ROLLS.forget(class_id)
        self.conn.delete(key)

    def caller(self, sim_ref: str, msisdn: str, load: Callable[[], Caller],
               name_of: Callable[[int], str], raw: bytes | None | object = _UNFETCHED) -> Caller:
        """Return the cached caller (`raw`: the key's value when already fetched), or load it.

        `name_of` gives a staff member's name when the cached caller is staff.
        """
        if raw is _UNFETCHED:
            raw = self.conn.get(keys.caller(sim_ref))
        if raw:
            data = {k: v for k, v in orjson.loads(raw).items() if k in _CALLER_FIELDS}
            staff_id = data.get("staff_id")
            return Caller(msisdn=msisdn, staff_name=name_of(staff_id) if staff_id else "", **data)
        found = load()
        key, value = keys.caller(sim_ref), caller_value(found)
        self.pending[key] = (("SET", key, value, "EX", CALLER_TTL),)
        return found

    def forget_caller(self, sim_ref: str) -> None:
        self.pending.pop(keys.caller(sim_ref), None)
        self.conn.delete(keys.caller(sim_ref))

    def classes(self, staff_id: int, day: date, load: Callable[[], list[ClassInfo]],
                load_taken: Callable[[], list[int]]) -> list[ClassInfo]:
        """Return the staff member's classes with today's taken flags (warm: one round trip)."""
        taken_key = keys.taken(day.isoformat())
        raw, taken_ready, flags = self._classes_and_flags([keys.classes(staff_id), taken_key])
        if taken_ready:
            _seen_built(taken_key)
        if raw and taken_ready:
            return [ClassInfo(c[0], c[1], c[2], bool(f), c[4])
                    for c, f in zip(orjson.loads(raw), flags)]
        if raw:
            rows = [ClassInfo(*r) for r in orjson.loads(raw)]
        else:
            rows = load()
            self.remember_classes(staff_id, rows)
        if not rows:
            return rows
        if not taken_ready:
            self._build_taken(taken_key, load_taken)
        flags = self.conn.smismember(taken_key, [c.id for c in rows])
        return [ClassInfo(c.id, c.name, c.size, bool(f), c.delegated) for c, f in zip(rows, flags)]

    def remember_classes(self, staff_id: int, rows: list[ClassInfo], day: date | None = None,
                         load_taken: Callable[[], list[int]] | None = None) -> None:
        """Cache a staff member's class list (no flags: those are today's taken set's).

        The write is held for the session's save. With `day`, today's taken set is made
        sure of too, so the next hop's flags come from Redis alone: asked in a round trip
        of its own (and built if missing) only until this process has seen it built.
        """
        key = keys.classes(staff_id)
        value = orjson.dumps([[c.id, c.name, c.size, False, c.delegated] for c in rows])
        taken_key = keys.taken(day.isoformat()) if day is not None else ""
        if not taken_key or load_taken is None or taken_key in _TAKEN_BUILT:
            self.pending[key] = (("SET", key, value, "EX", CLASSES_TTL),)
            return
        self.pending.pop(key, None)
        pipe = self.conn.pipeline(transaction=False)
        pipe.set(key, value, ex=CLASSES_TTL)
        pipe.sismember(taken_key, 0)
        _, ready = pipe.execute()
        if ready:
            _seen_built(taken_key)
        else:
            self._build_taken(taken_key, load_taken)

    def _build_taken(self, taken_key: str, load_taken: Callable[[], list[int]]) -> None:
        """First use today, or Redis was wiped: rebuild from SQL (the member 0 marks it built)."""
        pipe = self.conn.pipeline()
        pipe.sadd(taken_key, 0, *load_taken())
        pipe.expire(taken_key, TAKEN_TTL)
        pipe.execute()
        _seen_built(taken_key)

    def mark_taken(self, day: date, class_id: int) -> None:
        """Add a confirmed class to today's taken set, with the session's save.

        A set this creates (today's was never built, or expired) lacks the member 0, so
        readers do not trust it and build it from SQL (`classes`).
        """
        taken_key = keys.taken(day.isoformat())
        self.pending[f"{taken_key}#{class_id}"] = (("SADD", taken_key, class_id),
                                                    ("EXPIRE", taken_key, TAKEN_TTL))

    def forget_classes(self, *staff_ids: int) -> None:
        for s in staff_ids:
            self.pending.pop(keys.classes(s), None)
        self.conn.delete(*(keys.classes(s) for s in staff_ids))


def roster(class_id: int, load: Callable[[], Roster]) -> Roster:
    """Return a class roster from this process's cache (one worker loads it once a minute)."""
    return _ROSTERS.get(class_id, load)


def has_roster(class_id: int) -> bool:
    return _ROSTERS.has(class_id)


def remember_roster(value: Roster) -> None:
    """Keep a roster loaded with others (a session's first read), under the same TTL."""
    _ROSTERS.put(value.class_id, value)


def forget_roster(class_id: int) -> None:
    _ROSTERS.forget(class_id)  # its roll: HopCache.forget_roll
