"""Inbound SMS keywords (STOP / START / HELP, Arabic and English) where the short code is free."""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import audit, calendar, consent, privacy
from core.config import Config
from core.i18n import Texts, _
from core.pseudonyms import msisdn_tail
from digests import outbox
from digests.models import InboundMessage, MessageKind
from digests.outbox import Draft
from shaping.policy import Priority


class Keyword(enum.Enum):
    STOP = "stop"
    START = "start"
    HELP = "help"
    DATA = "data"  # the sender's copy of what Hudoor holds (PDPL access)
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Handled:
    """One inbound message's keyword; duplicate when its id was seen before (nothing done)."""

    keyword: Keyword
    duplicate: bool = False


_WORDS = {
    Keyword.STOP: {"stop", "stopall", "unsubscribe", "cancel", "end", "quit",
                   "ايقاف", "إيقاف", "الغاء", "إلغاء", "توقف", "وقف"},
    Keyword.START: {"start", "subscribe", "unstop", "ابدأ", "ابدا", "تشغيل", "اشتراك"},
    Keyword.HELP: {"help", "info", "مساعدة", "مساعده", "help?"},
    Keyword.DATA: {"data", "mydata", "بياناتي", "بيانات"},
}

HELP_TEXT = _("Hudoor: a daily attendance SMS about your children. Send STOP to stop, START to "
               "resume.")


def parse(text: str) -> Keyword:
    """Return the keyword a message starts with (case, diacritics and digits aside)."""
    words = unicodedata.normalize("NFKC", text).strip().lower().split()
    if not words:
        return Keyword.UNKNOWN
    first = "".join(ch for ch in words[0] if unicodedata.category(ch) != "Mn")
    for keyword, spellings in _WORDS.items():
        if first in spellings:
            return keyword
    return Keyword.UNKNOWN


def _language(text: str) -> str:
    return "ar" if any("\u0600" <= ch <= "\u06ff" for ch in text) else "en"


def _first_time(session: Session, provider_id: str, msisdn: str, keyword: Keyword,
                now: datetime) -> bool:
    """Record the provider's id; return False when a committed or in-flight row has it.

    On PostgreSQL a concurrent retry waits here for the first transaction and then sees
    the conflict; SQLite has one writer.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (insert(InboundMessage).values(provider_message_id=provider_id, msisdn=msisdn_tail(msisdn),
                                          keyword=keyword.value, received_at=now)
            .on_conflict_do_nothing(index_elements=["provider_message_id"])
            .returning(InboundMessage.id))
    return session.execute(stmt).scalar() is not None


def handle(session: Session, msisdn: str, text: str, now: datetime,
           provider_id: str | None = None, config: Config | None = None) -> Handled:
    """Apply one inbound message from msisdn (E.164) inside the caller's transaction.

    Args:
        provider_id: the provider's id of the message; a repeated id changes nothing (an
            operator retrying the callback must not re-apply a STOP a START has undone,
            nor send a second HELP reply). Without one, the message is applied as it comes.
        config: the secret and privacy settings a DATA request needs (defaults otherwise).
    """
    from core.models import Contact, ContactKind

    keyword = parse(text)
    actor = f"sms:{msisdn_tail(msisdn)}"
    provider_id = (provider_id or "").replace("\x00", "") or None  # PostgreSQL text holds no NUL
    if provider_id and not _first_time(session, provider_id, msisdn, keyword, now):
        return Handled(keyword, duplicate=True)
    guardian = (Contact.msisdn == msisdn) & (Contact.kind == ContactKind.GUARDIAN.value)
    if keyword is Keyword.STOP:
        changed = session.execute(update(Contact).where(guardian, Contact.opted_out_at.is_(None))
                                  .values(opted_out_at=now)).rowcount
        consents = consent.withdraw_all(session, msisdn, channel=consent.Channel.SMS,
                                        actor=actor, reason="inbound STOP", now=now)
        withdrawn = outbox.withdraw(session, msisdn, now, "opted out: inbound STOP")
        audit.record(session, actor=actor, action="contact.opt_out",
                     entity="msisdn", entity_id=msisdn_tail(msisdn), reason="inbound STOP",
                     data={"contacts": changed, "withdrawn": withdrawn, "consents": consents})
    elif keyword is Keyword.START:
        changed = session.execute(update(Contact).where(
            guardian, Contact.opted_out_at.is_not(None), Contact.revoked_at.is_(None))
            .values(opted_out_at=None)).rowcount
        # START shows no wording: each link re-consents to the words it last agreed to.
        consents = consent.regrant_all(session, msisdn, channel=consent.Channel.SMS, actor=actor,
                                       now=now)
        audit.record(session, actor=actor, action="contact.opt_in",
                     entity="msisdn", entity_id=msisdn_tail(msisdn), reason="inbound START",
                     data={"contacts": changed, "consents": consents})
    elif keyword is Keyword.HELP:
        language = _language(text)
        reply = Texts(language)(HELP_TEXT)
        outbox.enqueue(session, [Draft(MessageKind.HELP_REPLY.value, calendar.to_cairo(now).date(),
                                       msisdn, language, reply, Priority.URGENT)], now)
    elif keyword is Keyword.DATA:
        _data_request(session, msisdn, _language(text), now, config or Config())
    return Handled(keyword)


def _data_request(session: Session, msisdn: str, language: str, now: datetime,
                  config: Config) -> None:
    """Record an access request and answer it at once with the SMS copy."""
    from digests import privacy_copy

    try:
        privacy.open_request(session, privacy.Kind.ACCESS, msisdn, channel=consent.Channel.SMS,
                             secret=config.secret_key, now=now,
                             answer_days=config.privacy_answer_days)
    except privacy.NothingHeld:
        reply = Texts(language)(privacy_copy.NOTHING)
        outbox.enqueue(session, [Draft(MessageKind.DATA_COPY.value, calendar.to_cairo(now).date(),
                                       msisdn, language, reply, Priority.URGENT)], now)
        return
    privacy_copy.process(session, config, now)


KEEP_INBOUND_IDS = timedelta(days=7)  # operators retry a callback for minutes, not days


def forget_old_ids(session: Session, now: datetime, keep: timedelta = KEEP_INBOUND_IDS) -> int:
    """Delete inbound ids older than `keep`; return how many.

    They exist only to apply a retried callback once, and each holds a parent's
    number: kept longer than any retry window they would be data kept for nothing.
    What a message changed is in the audit log, which is never pruned.
    """
    return session.execute(delete(InboundMessage).where(
        InboundMessage.received_at < now - keep)).rowcount
