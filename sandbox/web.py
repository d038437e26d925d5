"""Shared web pieces of the sandbox app: JSON responses, query parsing, state, counters."""

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request

from sandbox.attendance_store import AttendanceStore
from sandbox.district import District
from sandbox.faults import FaultSwitch
from sandbox.write_faults import WriteFaultSwitch

JSON_TYPE = "application/json; charset=utf-8"
EXTENSION = "hudoor_sandbox"


class BadParam(ValueError):
    """A query parameter that cannot be honoured (HTTP 400)."""


@dataclass
class Stats:
    """Counters of what the sandbox has served."""

    requests: int = 0
    pages: int = 0
    people: int = 0
    changes: int = 0
    errors_injected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **amounts: int) -> None:
        """Add to some counters atomically."""
        with self.lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def to_dict(self) -> dict[str, int]:
        """Return the counters as a JSON-ready object."""
        with self.lock:
            return {"requests": self.requests, "pages": self.pages, "people": self.people,
                    "changes": self.changes, "errors_injected": self.errors_injected}


@dataclass
class SandboxState:
    """Everything a sandbox app serves from: district, fault switch, token, stats."""

    district: District
    faults: FaultSwitch
    token: str | None
    stats: Stats = field(default_factory=Stats)
    attendance: AttendanceStore = field(default_factory=AttendanceStore)
    write_faults: WriteFaultSwitch = field(default_factory=WriteFaultSwitch)


def sandbox_state(app: Flask) -> SandboxState:
    """Return the state behind a sandbox app."""
    state: SandboxState = app.extensions[EXTENSION]
    return state


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise body compactly, keeping Arabic unescaped."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text, status=status, headers=headers, content_type=JSON_TYPE)


def error_response(status: int, error: str, message: str, **extra: Any) -> Response:
    """Return a JSON error body."""
    headers = {"WWW-Authenticate": 'Bearer realm="sandbox-sis"'} if status == 401 else None
    return json_response({"error": error, "message": message, **extra}, status, headers)


def int_param(name: str, default: int, low: int, high: int) -> int:
    """Return an integer query parameter within [low, high], raising BadParam otherwise."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise BadParam(f"{name} must be a non-negative integer")
    value = int(raw)
    if not low <= value <= high:
        raise BadParam(f"{name} must be between {low} and {high}")
    return value
