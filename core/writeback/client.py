"""Talk to an upstream honouring contract v2: write a class-day, read a school-day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import requests

from core.upstream.client import HttpTransport, UpstreamError, UpstreamUnavailable
from core.writeback.fingerprint import ClassDay

SCHEMA_VERSION = "2"


class WriteRefused(UpstreamError):
    """Upstream refused a write for good (4xx): retrying the same body cannot help."""


@dataclass(frozen=True)
class WriteResult:
    key: str
    result: str  # applied | duplicate | stale | repaired


def write_key(cd: ClassDay, day: date) -> str:
    """Return the idempotency key of a class-day write: class, day and revision."""
    return f"{cd.class_id}:{day.isoformat()}:{cd.revision}"


def write_body(cd: ClassDay, day: date) -> dict[str, Any]:
    """Return the contract v2 body of a class-day write."""
    return {"schema_version": SCHEMA_VERSION, "key": write_key(cd, day), "revision": cd.revision,
            "size": cd.size, "digest": cd.digest(),
            "marks": [{"student_id": s, "status": st} for s, st in cd.marks]}


def parse_class_days(body: Any) -> list[ClassDay]:
    """Return the class-days of a school-day read, refusing what the contract forbids."""
    if not isinstance(body, dict) or body.get("schema_version") != SCHEMA_VERSION:
        raise UpstreamError("attendance read: not a schema version 2 object")
    classes = body.get("classes")
    if not isinstance(classes, list):
        raise UpstreamError("attendance read: 'classes' is missing or not a list")
    out = []
    try:
        for c in classes:
            marks = tuple(sorted((str(m["student_id"]), str(m["status"])) for m in c["marks"]))
            out.append(ClassDay(str(c["class_id"]), int(c["revision"]), int(c["size"]), marks))
    except (KeyError, TypeError, ValueError) as exc:
        raise UpstreamError(f"attendance read: malformed class-day ({type(exc).__name__})") from exc
    return out


class AttendanceClient:
    """Contract v2 over HTTP; every error classified as transient or permanent."""

    def __init__(self, base_url: str, *, token: str = "", timeout: float = 10.0,
                 read_retries: int = 3) -> None:
        # Reads are safe to retry in place (the v1 transport does that); writes are retried
        # by the outbox, with backoff. A pool wide enough for reconciliation's threads.
        self.reads = HttpTransport(base_url, token=token, timeout=timeout, retries=read_retries,
                                   backoff=0.05, pool_size=16)
        self.base_url, self.timeout, self.session = base_url.rstrip("/"), timeout, self.reads.session

    def put(self, school: str, day: date, cd: ClassDay) -> WriteResult:
        """Write one class-day.

        Raises:
            UpstreamUnavailable: 5xx, timeout or no connection (retry later).
            WriteRefused: 4xx (dead-letter it).
        """
        path = f"/v2/schools/{school}/attendance/{day.isoformat()}/classes/{cd.class_id}"
        try:
            resp = self.session.put(self.base_url + path, json=write_body(cd, day),
                                    timeout=self.timeout)
        except requests.RequestException as exc:
            raise UpstreamUnavailable(f"PUT {path}: {type(exc).__name__}") from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            raise UpstreamUnavailable(f"PUT {path}: HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise WriteRefused(f"PUT {path}: HTTP {resp.status_code} {resp.text[:150]}")
        try:
            body = resp.json()
        except ValueError as exc:
            raise UpstreamUnavailable(f"PUT {path}: body is not JSON") from exc
        return WriteResult(str(body.get("key", "")), str(body.get("result", "")))

    def read(self, school: str, day: date) -> list[ClassDay]:
        """Return every class-day upstream holds for a school-day."""
        path = f"/v2/schools/{school}/attendance/{day.isoformat()}"
        return parse_class_days(self.reads.get_json(path))

    def close(self) -> None:
        self.session.close()
