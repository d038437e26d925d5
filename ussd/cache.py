"""Caches that keep a USSD hop off the database: caller and classes in Redis, rosters in-process.

Every cache is short-lived and invalidated by the writes that change it, so the worst
staleness is one TTL (a revoked teacher's access ends within CALLER_TTL more seconds).
Redis holds no phone number and no person's name: a SIM is keyed by its keyed hash and
the cached caller is ids and flags; names stay in this process (rosters, staff names).
"""

from __future__ import annotations

import json
from dataclasses import fields
import time
from datetime import date
from typing import Callable

import redis

from ussd import keys
from ussd.ports import Caller, ClassInfo, Roster

CALLER_TTL = 60
CLASSES_TTL = 60
TAKEN_TTL = 3 * 86400
ROSTER_TTL = 60.0
_ROSTERS: dict[int, tuple[float, Roster]] = {}
_ROSTERS_MAX = 20_000
_NAMES: dict[int, tuple[float, str]] = {}  # staff id -> (expiry, display name), this process only
_SCHOOLS: dict[int, tuple[float, int | None]] = {}  # staff id -> (expiry, school id), this process only
_UNFETCHED = object()
_PRIVATE = ("msisdn", "staff_name")  # never written to Redis
# What this release reads of a cached caller: a field another release wrote is left alone.
_CALLER_FIELDS = frozenset(f.name for f in fields(Caller)) - set(_PRIVATE)


def caller_value(caller: Caller) -> str:
    """Return what Redis keeps about a caller: ids and flags, no number, no name."""
    return json.dumps({k: v for k, v in caller.__dict__.items() if k not in _PRIVATE})


def staff_name(staff_id: int, load: Callable[[int], str]) -> str:
    """Return a staff member's display name from this process's cache (loaded once a minute)."""
    now = time.monotonic()
    hit = _NAMES.get(staff_id)
    if hit and hit[0] > now:
        return hit[1]
    if len(_NAMES) > _ROSTERS_MAX:
        _NAMES.clear()
    name = load(staff_id)
    _NAMES[staff_id] = (now + CALLER_TTL, name)
    return name


def remember_school(staff_id: int, school_id: int | None) -> None:
    """Keep a staff member's school read beside another row (their name, their contact)."""
    if len(_SCHOOLS) > _ROSTERS_MAX:
        _SCHOOLS.clear()
    _SCHOOLS[staff_id] = (time.monotonic() + CALLER_TTL, school_id)


def school_of(staff_id: int, load: Callable[[int], int | None]) -> int | None:
    """Return a staff member's school from this process's cache (loaded once a minute).

    Its week and hours decide the day on every staff hop; kept here, not in the cached
    caller, so a process of the previous release still reads the caller Redis holds.
    """
    now = time.monotonic()
    hit = _SCHOOLS.get(staff_id)
    if hit and hit[0] > now:
        return hit[1]
    if len(_SCHOOLS) > _ROSTERS_MAX:
        _SCHOOLS.clear()
    school = load(staff_id)
    _SCHOOLS[staff_id] = (now + CALLER_TTL, school)
    return school


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


class HopCache:
    """Read-through caches for one hop (Redis calls are single round trips)."""

    def __init__(self, conn: redis.Redis) -> None:
        self.conn = conn
        self._classes_and_flags = conn.register_script(_CLASSES_LUA)  # no round trip

    def caller(self, sim_ref: str, msisdn: str, load: Callable[[], Caller],
               name_of: Callable[[int], str], raw: bytes | None | object = _UNFETCHED) -> Caller:
        """Return the cached caller (`raw`: the key's value when already fetched), or load it.

        `name_of` gives a staff member's name when the cached caller is staff.
        """
        if raw is _UNFETCHED:
            raw = self.conn.get(keys.caller(sim_ref))
        if raw:
            data = {k: v for k, v in json.loads(raw).items() if k in _CALLER_FIELDS}
            staff_id = data.get("staff_id")
            return Caller(msisdn=msisdn, staff_name=staff_name(staff_id, name_of) if staff_id else "",
                          **data)
        found = load()
        if found.staff_id:
            _NAMES[found.staff_id] = (time.monotonic() + CALLER_TTL, found.staff_name)
        self.conn.set(keys.caller(sim_ref), caller_value(found), ex=CALLER_TTL)
        return found

    def forget_caller(self, sim_ref: str) -> None:
        self.conn.delete(keys.caller(sim_ref))

    def classes(self, staff_id: int, day: date, load: Callable[[], list[ClassInfo]],
                load_taken: Callable[[], list[int]]) -> list[ClassInfo]:
        """Return the staff member's classes with today's taken flags (warm: one round trip)."""
        taken_key = keys.taken(day.isoformat())
        raw, taken_ready, flags = self._classes_and_flags(keys=[keys.classes(staff_id), taken_key])
        if raw and taken_ready:
            return [ClassInfo(c[0], c[1], c[2], bool(f), c[4])
                    for c, f in zip(json.loads(raw), flags)]
        if raw:
            rows = [ClassInfo(*r) for r in json.loads(raw)]
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

        With `day`, today's taken set is checked in the same round trip and built if missing,
        so the next hop's flags come from Redis alone.
        """
        value = json.dumps([[c.id, c.name, c.size, False, c.delegated] for c in rows])
        if day is None or load_taken is None:
            self.conn.set(keys.classes(staff_id), value, ex=CLASSES_TTL)
            return
        taken_key = keys.taken(day.isoformat())
        pipe = self.conn.pipeline(transaction=False)
        pipe.set(keys.classes(staff_id), value, ex=CLASSES_TTL)
        pipe.sismember(taken_key, 0)
        _, ready = pipe.execute()
        if not ready:
            self._build_taken(taken_key, load_taken)

    def _build_taken(self, taken_key: str, load_taken: Callable[[], list[int]]) -> None:
        """First use today, or Redis was wiped: rebuild from SQL (the member 0 marks it built)."""
        pipe = self.conn.pipeline()
        pipe.sadd(taken_key, 0, *load_taken())
        pipe.expire(taken_key, TAKEN_TTL)
        pipe.execute()

    def mark_taken(self, day: date, class_id: int) -> None:
        taken_key = keys.taken(day.isoformat())
        if self.conn.exists(taken_key):
            self.conn.sadd(taken_key, class_id)

    def forget_classes(self, *staff_ids: int) -> None:
        self.conn.delete(*(keys.classes(s) for s in staff_ids))


def roster(class_id: int, load: Callable[[], Roster]) -> Roster:
    """Return a class roster from this process's cache (one worker loads it once a minute)."""
    now = time.monotonic()
    hit = _ROSTERS.get(class_id)
    if hit and hit[0] > now:
        return hit[1]
    if len(_ROSTERS) > _ROSTERS_MAX:
        _ROSTERS.clear()
    value = load()
    _ROSTERS[class_id] = (now + ROSTER_TTL, value)
    return value


def has_roster(class_id: int) -> bool:
    hit = _ROSTERS.get(class_id)
    return bool(hit and hit[0] > time.monotonic())


def remember_roster(value: Roster) -> None:
    """Keep a roster loaded with others (a session's first read), under the same TTL."""
    if len(_ROSTERS) > _ROSTERS_MAX:
        _ROSTERS.clear()
    _ROSTERS[value.class_id] = (time.monotonic() + ROSTER_TTL, value)


def forget_roster(class_id: int) -> None:
    _ROSTERS.pop(class_id, None)
