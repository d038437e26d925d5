"""Misbehaviour switches for the sandbox's attendance write-back endpoints (contract v2)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.faults import unit

RATES = ("error_rate", "timeout_rate", "slow_rate", "drop_rate", "duplicate_rate",
         "reorder_rate", "corrupt_rate")


@dataclass(frozen=True)
class WriteFaults:
    """Fractions of write requests that misbehave, each drawn independently and reproducibly.

    error_rate: answer 500/503 without storing. timeout_rate: store, then answer only after
    `timeout_ms` (past the client's timeout). slow_rate: answer after `slow_ms`.
    drop_rate: answer 200 but store nothing. duplicate_rate: apply the write twice.
    reorder_rate: answer 200 but apply the write only after the next one.
    corrupt_rate: store the write with one student's status silently changed.
    """

    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_ms: int = 1000
    slow_rate: float = 0.0
    slow_ms: int = 100
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    corrupt_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        """Reject values outside their ranges."""
        for name in RATES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number between 0 and 1")
        for name in ("timeout_ms", "slow_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 60_000:
                raise ValueError(f"{name} must be milliseconds between 0 and 60000")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError("seed must be an integer")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "WriteFaults":
        """Build write faults from a JSON object; missing keys take their defaults."""
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown write faults: {', '.join(sorted(map(str, unknown)))}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """Return the write faults as a JSON-ready object."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Draw:
    """What happens to one write request."""

    error: int | None = None
    timeout: bool = False
    slow: bool = False
    drop: bool = False
    duplicate: bool = False
    reorder: bool = False
    corrupt: bool = False


class WriteFaultSwitch:
    """Hold the write faults in force and draw each request's fate from a counter."""

    def __init__(self) -> None:
        """Start with every write fault off."""
        self._faults = WriteFaults()
        self._lock = threading.Lock()
        self._n = 0

    @property
    def current(self) -> WriteFaults:
        """Return the write faults in force."""
        return self._faults

    def set(self, faults: WriteFaults) -> WriteFaults:
        """Replace the write faults and restart the draw sequence."""
        with self._lock:
            self._faults, self._n = faults, 0
        return faults

    def draw(self) -> Draw:
        """Return the fate of the next write request."""
        with self._lock:
            f, n = self._faults, self._n
            self._n += 1

        def hit(kind: str, rate: float) -> bool:
            return rate > 0 and unit(f.seed, kind, n) < rate

        if hit("w-error", f.error_rate):
            return Draw(error=503 if unit(f.seed, "w-code", n) < 0.5 else 500)
        return Draw(timeout=hit("w-timeout", f.timeout_rate), slow=hit("w-slow", f.slow_rate),
                    drop=hit("w-drop", f.drop_rate), duplicate=hit("w-dup", f.duplicate_rate),
                    reorder=hit("w-reorder", f.reorder_rate),
                    corrupt=hit("w-corrupt", f.corrupt_rate))
