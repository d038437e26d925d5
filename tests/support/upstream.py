"""An in-process upstream that serves exactly the payloads a test hands it (contract-shaped)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StaticUpstream:
    """Serve given schools, classes, roster people and changes through the Transport protocol."""

    schools: list[dict[str, Any]] = field(default_factory=list)
    classes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    people: dict[str, list[Any]] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    version: str = "1"

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        params = params or {}
        parts = path.strip("/").split("/")
        if parts == ["v1", "schools"]:
            return {"schema_version": self.version, "schools": self.schools}
        if parts[:2] == ["v1", "schools"] and parts[3] == "classes":
            return {"schema_version": self.version, "school_id": parts[2],
                    "classes": self.classes.get(parts[2], [])}
        if parts[:2] == ["v1", "schools"] and parts[3] == "roster":
            size = int(params.get("page_size", 100))
            start = int(params.get("page_token") or 0)
            people = self.people.get(parts[2], [])
            nxt = str(start + size) if start + size < len(people) else None
            return {"schema_version": self.version, "school_id": parts[2],
                    "people": people[start:start + size], "next_page_token": nxt}
        if parts == ["v1", "changes"]:
            cursor = int(params.get("cursor", "0"))
            limit = int(params.get("limit", 100))
            batch = [c for c in self.changes if c["seq"] > cursor][:limit]
            nxt = str(batch[-1]["seq"]) if batch else str(cursor)
            return {"schema_version": self.version, "changes": batch, "next_cursor": nxt}
        raise KeyError(path)


def one_school(n_classes: int = 2) -> StaticUpstream:
    """Return an upstream with one school and `n_classes` empty classes."""
    up = StaticUpstream(schools=[{"id": "SCH-T", "name": "مدرسة الاختبار", "governorate": "القاهرة"}])
    up.classes["SCH-T"] = [{"id": f"SCH-T-C{i}", "name": f"فصل {i}", "grade": 3}
                           for i in range(n_classes)]
    return up
