"""The SMS outbox (source of truth for every parent message) and its delivery reports."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.model_base import Base, Id, UTCDateTime, utcnow


class OutboxState(str, enum.Enum):
    """Where one message is; see digests.states for the allowed moves."""

    QUEUED = "queued"  # waiting for a sender (and its next_attempt_at)
    SUBMITTED = "submitted"  # claimed and possibly handed to the provider: in doubt
    SENT = "sent"  # the provider accepted it; waiting for a delivery report
    DELIVERED = "delivered"  # the handset has it (final)
    FAILED = "failed"  # a transient failure; retried at next_attempt_at
    DEAD_LETTERED = "dead_lettered"  # given up, with a reason; `hudoor dlq replay` resends
    WITHDRAWN = "withdrawn"  # never sent: the number sent STOP while it waited (final)


class MessageKind(str, enum.Enum):
    DAILY_DIGEST = "daily_digest"
    REPORT_DAY = "report_day"
    HELP_REPLY = "help_reply"  # at most one a day per number (the idempotency key)
    DATA_COPY = "data_copy"  # a guardian's copy of what Hudoor holds (PDPL access), one a day
    ABSENCE_ALERT = "absence_alert"  # a class confirmed after the cut-off (urgent)
    PROBE = "probe"  # a synthetic round trip to an operator's probe SIM (ops-owned, U5)


class OutboxMessage(Base):
    """One SMS to one MSISDN; the idempotency key makes it exist at most once."""

    __tablename__ = "sms_outbox"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    day: Mapped[date] = mapped_column(Date)
    msisdn: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(Integer)
    encoding: Mapped[str] = mapped_column(String(8))
    operator: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claim: Mapped[str | None] = mapped_column(String(40), nullable=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    failure_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_sms_outbox_due", "state", "next_attempt_at"),
        Index("ix_sms_outbox_msisdn_state", "msisdn", "state"),
        # A sender's claim walks one group's sendable rows in id order (outbox._first_due).
        Index("ix_sms_outbox_group", "operator", "priority", "state", "id", "next_attempt_at"),
    )


FAILURE_REASON_CHARS = 64


class DeliveryReport(Base):
    """One delivery report as the provider posted it; duplicates never get a second row."""

    __tablename__ = "sms_delivery_reports"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    provider_message_id: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(32))
    # The handset's keyed hash (core.pseudonyms.msisdn_ref): the report names its SIM without
    # keeping its number; rows from before migration 0016 keep only the last three digits.
    phone_ref: Mapped[str] = mapped_column(String(20))
    network_code: Mapped[str | None] = mapped_column(String(10), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(String(FAILURE_REASON_CHARS), nullable=True)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("sms_outbox.id"), nullable=True)
    applied: Mapped[str] = mapped_column(String(24))  # what the report did: see digests.dlr
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundMessage(Base):
    """An inbound SMS by the provider's id: a callback the operator retries is applied once.

    Only the keyword is kept: nothing needs a parent's text. The sender is kept as its
    last three digits (for a person reading the table): the id alone does the deduplication.
    """

    __tablename__ = "sms_inbound"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    provider_message_id: Mapped[str] = mapped_column(String(100), unique=True)
    msisdn: Mapped[str] = mapped_column(String(20))
    keyword: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DigestRun(Base):
    """A school day whose daily digests are all in the outbox: written in the run's own
    transaction, so a run that crashed left no row and is simply run again."""

    __tablename__ = "digest_runs"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    guardians: Mapped[int] = mapped_column(Integer)
    drafts: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100))


class ReportBatch(Base):
    """One report-day run (S2): every guardian's term summary, split into chunks."""

    __tablename__ = "report_batches"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date] = mapped_column(Date)
    total_chunks: Mapped[int] = mapped_column(Integer)
    guardians: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportChunk(Base):
    """A slice of guardians (by MSISDN range) that one worker composes and enqueues."""

    __tablename__ = "report_chunks"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("report_batches.id"), index=True)
    first_msisdn: Mapped[str] = mapped_column(String(20))
    last_msisdn: Mapped[str] = mapped_column(String(20))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    drafts: Mapped[int] = mapped_column(Integer, default=0)
