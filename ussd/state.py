"""A USSD session's state: small (≤ 512 bytes encoded), immutable, JSON with short keys."""

from __future__ import annotations

import orjson
from dataclasses import dataclass, fields, replace
from typing import Any

MAX_BYTES = 512

# Short wire names keep a live session well under 512 bytes in Redis.
_WIRE = {"step": "s", "lang": "g", "class_id": "c", "absent": "a", "late": "l", "fp": "f",
         "page": "p", "back": "b", "number": "n", "found": "o", "tries": "t", "extra": "x",
         "hops": "h", "digest": "d", "notice": "e", "code": "k", "owner": "w"}
_FROM_WIRE = {v: k for k, v in _WIRE.items()}


@dataclass(frozen=True)
class State:
    """Where a caller is in the menus, and what they have entered so far."""

    step: str = "start"
    lang: str = "ar"
    class_id: int = 0
    absent: tuple[int, ...] = ()  # roll numbers
    late: tuple[int, ...] = ()
    fp: str = ""  # roster fingerprint the roll numbers refer to
    page: int = 0
    back: str = ""  # step to return to from the class list
    number: str = ""  # a staff/student number typed, awaiting its code
    found: int = 0  # a person id found by number (+ code)
    tries: int = 0
    extra: int = 0  # step-specific small value (days, chosen delegation id)
    hops: int = 0  # inputs of this AT session already applied
    digest: str = ""  # hash of those inputs, to spot a request that is not a continuation
    notice: str = ""  # one-shot message key shown above the next screen
    code: str = ""  # a slip code between checking it and writing the link
    owner: str = ""  # keyed tag of the MSISDN that opened the session (core.pseudonyms.msisdn_ref)

    def with_(self, **changes: Any) -> "State":
        """Return a copy with `changes` (a hop makes several: copied, not rebuilt field by field)."""
        if not changes.keys() <= _DEFAULTS.keys():
            return replace(self, **changes)  # raises the usual TypeError for an unknown field
        new = object.__new__(State)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def encode(self) -> bytes:
        """Return the compact JSON form, omitting defaults."""
        data = {_WIRE[k]: (list(v) if isinstance(v, tuple) else v)
                for k, v in self.__dict__.items() if v != _DEFAULTS[k]}
        raw = orjson.dumps(data)  # compact, UTF-8 as it is: json.dumps(…, separators=(",", ":"), ensure_ascii=False)
        if len(raw) > MAX_BYTES:
            raise ValueError(f"session state is {len(raw)} bytes, over {MAX_BYTES}")
        return raw

    @classmethod
    def decode(cls, raw: bytes | str | None) -> "State":
        """Rebuild a state; anything unreadable starts over rather than failing the call."""
        if not raw:
            return cls()
        try:
            data = orjson.loads(raw)  # its JSONDecodeError is a ValueError
            kwargs = {_FROM_WIRE[k]: (tuple(v) if isinstance(v, list) else v)
                      for k, v in data.items() if k in _FROM_WIRE}
            return cls(**kwargs)
        except (ValueError, TypeError, KeyError):
            return cls()


_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(State)}
