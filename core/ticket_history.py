"""Every change of a ticket leaves a history row and an audit row: who, what, when, why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, ticket_text
from core.i18n import Refusal, _
from core.models import SupportTicket, TicketEvent

TIER_NAMES = {0: "Tier 0 champion", 1: "Tier 1 desk", 2: "Tier 2 platform ops", 3: "Tier 3 vendor"}
SECURITY = "security"


class TicketRefused(Refusal):
    """A ticket change was refused (the message says why; `because`: another refusal's)."""

    def __init__(self, message: str = "", *, because: Refusal | None = None, **values: object) -> None:
        super().__init__(str(because) if because is not None else message, **({} if because else values))
        self.because = because

    def text(self, lang: str) -> str:
        return self.because.text(lang) if self.because is not None else super().text(lang)


def queue(ticket: SupportTicket) -> str:
    """Name where the ticket is now: its tier, or the security role."""
    return SECURITY if ticket.security else TIER_NAMES[ticket.tier]


def need(**values: str | None) -> None:
    """Refuse a change when any named value (who, why) is missing, or a reason holds a phone
    number, an id or a credential (it is kept in the history and the audit chain)."""
    missing = [f"--{k}" for k, v in values.items() if not (v or "").strip()]
    if missing:
        one = _("{fields} is required: every change says who made it and why")
        many = _("{fields} are required: every change says who made it and why")
        raise TicketRefused(one if len(missing) == 1 else many, fields=" and ".join(missing))
    if values.get("reason"):
        try:
            ticket_text.check(str(values["reason"]), field="reason")
        except ticket_text.TextRefused as exc:
            raise TicketRefused(because=ticket_text.TextRefused(exc.field, exc.found,
                                                                strip_hint=False)) from exc


def event(session: Session, ticket: SupportTicket, *, actor: str, action: str,
          before: str | None, after: str | None, reason: str, now: datetime,
          data: dict[str, Any] | None = None) -> TicketEvent:
    """Record one change of `ticket` in its history and in the audit chain."""
    ticket.updated_at = now
    seq = audit.record(session, actor=actor, action=f"ticket.{action}", entity="support_ticket",
                       entity_id=ticket.id, reason=reason,
                       data={"from": before, "to": after, **(data or {})})
    row = TicketEvent(ticket_id=ticket.id, at=now, actor=actor[:100], action=action,
                      from_value=before, to_value=after, reason=reason[:300], audit_seq=seq)
    session.add(row)
    return row


def history(session: Session, ticket_id: int) -> list[TicketEvent]:
    """Return a ticket's history, oldest first."""
    return list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                .order_by(TicketEvent.id)))
