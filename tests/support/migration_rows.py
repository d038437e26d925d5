"""Representative rows for each Alembic revision, written with raw SQL against the schema
as it stands at that revision (the models describe only the head).

`ROWS[rev]` lists (table, row) inserted right after upgrading to `rev`. A table that a
later revision adds and that has no rows here (another change's new table) gets one
generic row from `filler_row`, built from the reflected columns, so every table of every
revision carries data through the round trip.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa

AT = datetime(2026, 11, 29, 7, 30, tzinfo=timezone.utc)
LATER = datetime(2026, 12, 29, 7, 30, tzinfo=timezone.utc)
DAY = date(2026, 11, 29)
Row = tuple[str, dict[str, Any]]


def _stamps(**row: Any) -> dict[str, Any]:
    return {"created_at": AT, "updated_at": AT, **row}


ROWS: dict[str, list[Row]] = {
    "0001": [
        ("schools", _stamps(id=1, upstream_id="SCH-1", name="Al-Nour Primary", governorate="Cairo",
                            active=True)),
        ("classes", _stamps(id=1, upstream_id="CLS-1", school_id=1, name="3A", grade=3, active=True)),
        ("people", _stamps(id=1, upstream_id="STF-1", school_id=1, role="teacher", display_name="Mona",
                           name_key="mona", status="active", active=True)),
        ("people", _stamps(id=2, upstream_id="STU-1", school_id=1, role="student", display_name="Omar",
                           name_key="omar", status="active", active=True)),
        ("people", _stamps(id=3, upstream_id="GRD-1", school_id=1, role="guardian", display_name="Hala",
                           name_key="hala", status="active", active=True)),
        ("enrolments", {"id": 1, "person_id": 2, "class_id": 1, "started_at": AT}),
        ("contacts", {"id": 1, "person_id": 3, "msisdn": "+201001234567", "kind": "guardian",
                      "language": "ar", "consented_at": AT}),
        ("delegations", {"id": 1, "class_id": 1, "grantor_id": 1, "grantee_id": 1, "starts_at": AT,
                         "ends_at": LATER}),
        ("duplicate_flags", {"id": 1, "person_id": 2, "other_person_id": 3, "reason": "same name",
                             "status": "open", "created_at": AT}),
        ("sync_runs", {"id": 1, "kind": "full", "scope": "all", "status": "done", "started_at": AT,
                       "cursor": "{}", "counts": "{}", "dropped_fields": "[]"}),
        ("sync_cursors", {"name": "delta", "value": "c-1", "updated_at": AT}),
        ("quarantine", {"id": 1, "run_id": 1, "reason": "no school", "record": "{}",
                        "created_at": AT}),
        ("revocations", {"id": 1, "person_id": 1, "status": "left", "changed_at": AT,
                         "applied_at": AT, "lag_seconds": 1.5, "contacts_revoked": 0,
                         "delegations_revoked": 1}),
        ("contract_versions", {"version": "v1", "notice_date": DAY, "effective_date": DAY,
                               "registered_by": "ops", "registered_at": AT}),
        ("audit_log", {"seq": 1, "at": AT.isoformat(), "actor": "ops", "action": "sync.full",
                       "entity": "sync_run", "entity_id": "1", "reason": "first", "data": "{}",
                       "prev_hash": "0" * 64, "hash": "a" * 64}),
    ],
    "0002": [
        ("attendance_records", {"id": 1, "class_id": 1, "day": DAY, "taken_by": 1, "class_size": 1,
                                "confirmed_at": AT, "session_id": "s-1", "msisdn": "+201001234567"}),
        ("attendance_marks", {"id": 1, "record_id": 1, "person_id": 2, "status": "absent",
                              "captured_at": AT, "session_id": "s-1", "marked_by": 1}),
        ("one_time_codes", {"id": 1, "kind": "staff_activation", "person_id": 1, "code_hash": "c" * 64,
                            "issued_by": "champion", "issued_at": AT, "expires_at": AT,
                            "used_at": AT, "used_by": "+201007654321"}),
    ],
    "0003": [
        ("sms_outbox", _stamps(id=1, idempotency_key="digest:2026-11-29:3", kind="digest", day=DAY,
                               msisdn="+201001234567", language="ar", text="Omar: absent",
                               segments=1, encoding="UCS2", operator="vodafone", priority=5,
                               state="delivered", attempts=1, next_attempt_at=AT,
                               provider_message_id="ATX-1", sent_at=AT)),
        ("sms_delivery_reports", {"id": 1, "dedup_key": "ATX-1:Success", "provider_message_id": "ATX-1",
                                  "status": "Success", "phone_number": "+201001234567",
                                  "retry_count": 0, "outbox_id": 1, "applied": "delivered",
                                  "received_at": AT}),
    ],
    "0004": [
        ("report_batches", {"id": 1, "term_start": DAY, "term_end": DAY, "total_chunks": 1,
                            "guardians": 1, "created_by": "ops", "created_at": AT}),
        ("report_chunks", {"id": 1, "batch_id": 1, "first_msisdn": "+201001234567",
                           "last_msisdn": "+201001234567", "drafts": 1}),
    ],
    "0005": [
        ("sms_inbound", {"id": 1, "provider_message_id": "IN-1", "msisdn": "+201001234567",
                         "keyword": "STOP", "received_at": AT}),
    ],
    "0006": [
        ("central_staff", {"id": 1, "staff_ref": "OPS-1", "display_name": "Ops one", "role": "ops",
                           "active": True, "added_at": AT, "added_by": "root"}),
        ("api_tokens", {"id": 1, "jti": "j-1", "role": "ops", "staff_id": 1, "issued_at": AT,
                        "issued_by": "root", "expires_at": LATER}),
        ("revocations", {"id": 2, "person_id": 2, "status": "left", "changed_at": AT,
                         "applied_at": AT, "lag_seconds": 0.5, "contacts_revoked": 1,
                         "delegations_revoked": 0, "tokens_revoked": 2}),
    ],
    "0007": [
        ("one_time_codes", {"id": 2, "kind": "guardian_link", "person_id": 2, "code_hash": "d" * 64,
                            "issued_by": "champion", "issued_at": AT, "expires_at": LATER,
                            "number": "1", "failures": 2}),
    ],
    "0008": [
        ("audit_log", {"seq": 2, "at": AT.isoformat(), "actor": "ops", "action": "codes.issue",
                       "entity": "person", "entity_id": "1", "reason": "new", "data": "{}",
                       "prev_hash": "a" * 64, "hash": "b" * 64, "hash_scheme": 2}),
    ],
    "0009": [
        ("digest_runs", {"id": 1, "day": DAY, "finished_at": AT, "guardians": 1, "drafts": 1,
                         "actor": "scheduler"}),
    ],
    "0010": [
        ("attendance_records", {"id": 2, "class_id": 1, "day": date(2026, 11, 30), "taken_by": 1,
                                "class_size": 1, "confirmed_at": AT, "session_id": "s-2",
                                "msisdn": "…567", "revision": 2}),
        ("writeback_outbox", {"id": 1, "class_id": 1, "day": DAY, "revision": 1, "state": "done",
                              "attempts": 1, "created_at": AT, "next_attempt_at": AT, "done_at": AT}),
        ("reconciliations", {"id": 1, "school_id": 1, "day": DAY, "run_at": AT, "outcome": "match",
                             "local_fingerprint": "f" * 64, "remote_fingerprint": "f" * 64,
                             "local_count": 1, "remote_count": 1, "resent": 0, "reasons": "[]",
                             "actor": "scheduler"}),
        ("attendance_adjustments", {"id": 1, "school_id": 1, "class_id": 1, "day": DAY,
                                    "person_id": 2, "from_status": "absent", "to_status": "late",
                                    "reason_code": "late_arrival", "requested_by": "STF-1",
                                    "requested_at": AT, "state": "requested"}),
    ],
    "0011": [
        ("calendar_exceptions", {"id": 1, "scope": "governorate", "governorate": "Cairo",
                                 "day": date(2026, 12, 3), "open": False, "reference": "MOE-1",
                                 "created_by": "ops", "reason": "storm", "created_at": AT}),
        ("school_calendars", {"school_id": 1, "week": "sat-thu", "set_by": "ops", "set_at": AT}),
        ("paper_uploads", {"id": 1, "school_id": 1, "uploaded_by": "STF-1", "uploaded_at": AT,
                           "rows": 1}),
        ("paper_marks", {"id": 1, "upload_id": 1, "class_id": 1, "day": DAY, "person_id": 2,
                         "status": "absent", "first_uploaded_at": AT}),
        ("gate_directives", {"id": 1, "name": "pilot", "text": "fire", "sha256": "e" * 64,
                             "registered_by": "ops", "registered_at": AT}),
        ("gate_firings", {"id": 1, "school_id": 1, "directive_id": 1, "directive_sha256": "e" * 64,
                          "fired_at": AT, "weeks": "[]", "figures": "{}"}),
    ],
}


def _value(column: sa.Column[Any]) -> Any:
    """Return a plausible value for a column of a table no revision above gives rows for."""
    if column.foreign_keys:
        return 1  # every table above has a row with id 1
    kind = column.type
    if isinstance(kind, sa.Enum) and kind.enums:
        return kind.enums[0]
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, (sa.Integer, sa.Numeric, sa.Float)):
        return 1
    if isinstance(kind, sa.DateTime):
        return AT
    if isinstance(kind, sa.Date):
        return DAY
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.String) and kind.length:
        return "x" * min(kind.length, 1)
    return "x"


def filler_row(table: sa.Table) -> dict[str, Any]:
    """Return one row for `table`: every non-null column without a server default filled."""
    pk = list(table.primary_key.columns)
    generated = pk[0].name if len(pk) == 1 and isinstance(pk[0].type, sa.Integer) \
        and not pk[0].foreign_keys else None  # the database numbers it
    return {c.name: _value(c) for c in table.columns
            if not c.nullable and c.server_default is None and c.name != generated}
