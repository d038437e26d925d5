"""Mutable overlay on top of a generated district, with its change log."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Person = dict[str, Any]
Change = dict[str, Any]


def utc_now() -> datetime:
    """Return the current UTC time."""
    return datetime.now(UTC)


def iso_z(moment: datetime) -> str:
    """Return an ISO 8601 UTC timestamp ending in Z, with milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Overlay:
    """Hold changed records, leavers, transfers and the ordered change log."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        """Start an empty overlay whose change timestamps come from clock."""
        self.records: dict[str, Person] = {}
        self.left: set[str] = set()
        self.home: dict[str, str] = {}
        self.extra: dict[str, list[str]] = {}
        self._extra_members: dict[str, set[str]] = {}
        self.touched: set[str] = set()
        self.log: list[Change] = []
        self._clock = clock
        self._last: datetime | None = None

    def resolve(self, person_id: str, school_id: str, base: Person | None) -> Person | None:
        """Return the record served for person_id in school_id's roster, or None."""
        if person_id in self.left:
            return None
        home = self.home.get(person_id)
        if home is None:
            return None if base is None else self.records.get(person_id, base)
        if home != school_id:
            return None
        return self.records.get(person_id, base)

    def extra_ids(self, school_id: str) -> list[str]:
        """Return the ids appended to school_id's roster, in order of arrival."""
        return self.extra.get(school_id, [])

    def place(self, person_id: str, school_id: str, base_school: str | None) -> None:
        """Make school_id the person's school, appending them to its roster if new there."""
        self.touched.add(school_id)
        if base_school is not None:
            self.touched.add(base_school)
        if base_school == school_id:
            self.home.pop(person_id, None)
            return
        self.home[person_id] = school_id
        members = self._extra_members.setdefault(school_id, set())
        if person_id not in members:
            members.add(person_id)
            self.extra.setdefault(school_id, []).append(person_id)

    def append(self, change_type: str, school_id: str, **fields: Any) -> Change:
        """Append a change to the log and return it."""
        now = self._clock()
        if self._last is not None and now < self._last:
            now = self._last
        self._last = now
        change: Change = {
            "seq": len(self.log) + 1,
            "type": change_type,
            "changed_at": iso_z(now),
            "school_id": school_id,
        }
        change.update(fields)
        self.log.append(change)
        return change

    def after(self, seq: int, limit: int) -> list[Change]:
        """Return at most limit changes whose seq is greater than seq."""
        if seq < 0 or seq > len(self.log):
            raise ValueError(f"cursor {seq} is outside the change feed (head is {len(self.log)})")
        return self.log[seq: seq + limit]
