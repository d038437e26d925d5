"""Whether a person is in good standing: the one predicate every credential check asks.

Kept apart from core.access (which revokes) so that the modules that grant or check
access (contacts, support views, tokens, sign-in) need not import the revoking side,
and the revoking side may call them without a circle."""

from __future__ import annotations

from typing import Protocol

from core.models import IdentityStatus


class InStanding(Protocol):
    """A Person, or a row carrying a person's three standing columns by their names."""

    active: bool
    status: str
    canonical_id: int | None


def has_access(person: InStanding) -> bool:
    """Tell whether a person may use staff flows at all (active and in good standing)."""
    return person.active and person.status == IdentityStatus.ACTIVE.value and person.canonical_id is None
