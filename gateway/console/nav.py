"""The console's menu: pages add an entry; each principal sees the entries their role may open."""

from __future__ import annotations

from dataclasses import dataclass

from core.i18n import _
from core.rbac import Permission, Principal

ROLE_LABELS = {"champion": _("School champion"), "desk": _("Support desk"),
               "ops": _("Operations"), "security": _("Security"), "auditor": _("Auditor")}


@dataclass(frozen=True)
class Entry:
    endpoint: str  # e.g. "console.analytics"
    label: str  # English msgid; the template translates it
    permission: Permission


_ENTRIES: list[Entry] = []


def add(endpoint: str, label: str, permission: Permission) -> None:
    """Add a menu entry (once per endpoint; a second call for it is ignored)."""
    if all(e.endpoint != endpoint for e in _ENTRIES):
        _ENTRIES.append(Entry(endpoint, label, permission))


def visible(principal: Principal | None) -> list[Entry]:
    """Return the entries `principal` may open, in the order they were added."""
    return [e for e in _ENTRIES if principal is not None and principal.can(e.permission)]
