"""The numbers a sync report is made of."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields


@dataclass
class Counts:
    """What one page, or a whole run, did."""

    seen: int = 0
    added: int = 0
    changed: int = 0
    moved: int = 0
    unchanged: int = 0
    deactivated: int = 0
    reactivated: int = 0
    status_changed: int = 0
    revoked: int = 0
    quarantined: int = 0
    duplicates_flagged: int = 0
    duplicates_in_feed: int = 0
    dropped_fields: int = 0
    classes_added: int = 0
    schools_added: int = 0

    def add(self, other: "Counts") -> "Counts":
        """Add `other` into this one and return self."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    @property
    def changes(self) -> int:
        """Count every change of record (zero means the run changed nothing)."""
        return (self.added + self.changed + self.moved + self.deactivated + self.reactivated
                + self.status_changed + self.revoked + self.classes_added + self.schools_added)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | None) -> "Counts":
        data = json.loads(raw or "{}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in data.items() if k in known})
