"""What reached the simulated operators: the development stack's SMS inbox (memory, bounded).

Dev only: the simulator stands in for the operators, so it sees numbers and texts as they
would; nothing here is written to disk, and the oldest entries fall off past `size`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

from core.gsm import EncodingError, segment_count


_PENDING = frozenset({"Accepted", "Sent", "Buffered", "Submitted"})  # AT's non-final states


class Inbox:
    """The last `size` messages the network answered, newest last, with their delivery state."""

    def __init__(self, size: int = 500) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._seq = 0

    def record(self, number: str, operator: str, text: str, status: str,
               message_id: str | None) -> None:
        """Keep one submission: refused ones too (their state is the refusal).

        Its encoding and segments are counted when read (``entries``), not here: only
        the last ``size`` are ever read, and this runs for every message the network takes.
        """
        with self._lock:
            self._seq += 1
            key = message_id or f"refused-{self._seq}"
            self._entries[key] = {
                "id": message_id, "to": number, "operator": operator, "text": text,
                "submit_status": status, "state": "Accepted" if message_id else status,
                "received_at": time.time(),
            }
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def delivered(self, message_id: str, status: str) -> None:
        """Note a delivery report for a message; a final state is never undone by a late one."""
        with self._lock:
            entry = self._entries.get(message_id)
            if entry is not None and entry["state"] in _PENDING:
                entry["state"] = status

    def entries(self, to: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Return the newest messages first, only those to `to` when given."""
        with self._lock:
            rows = [dict(e) for e in reversed(self._entries.values())
                    if to is None or e["to"] == to][:limit]
        for row in rows:
            try:
                info = segment_count(row["text"])
                row["encoding"], row["segments"] = info.encoding.value, info.segments
            except EncodingError:
                row["encoding"], row["segments"] = "invalid", 0
            row["received_at"] = datetime.fromtimestamp(row["received_at"], timezone.utc) \
                .isoformat(timespec="seconds")
        return rows
