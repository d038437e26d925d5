"""What the open export holds, field by field, and how every value is written and read.

Only the permitted fields cross: ids, display names, roles, class membership, the marks
and adjustments, and the audit chain exactly as stored. Where a phone number was only an
identifier the record already holds its keyed hash (`records.sim_ref`) or last digits (in
audit actors such as `ussd:4567`); nothing else that came from a phone is exported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import Table

from core.adjustments import STATUSES, Reason
from core.models import (
    AdjustmentState,
    AttendanceAdjustment,
    AttendanceMark,
    AttendanceRecord,
    AuditEntry,
    Enrolment,
    MarkStatus,
    Person,
    Role,
    School,
    SchoolClass,
)

FORMAT = "hudoor-open-export/1"
DATETIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # UTC, always with microseconds: one spelling per moment
_INTEGER = re.compile(r"^(0|-?[1-9][0-9]{0,17})$")  # the one spelling: no "+", "007" or "-0"
_DATETIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class Field:
    """One CSV column: its Table Schema name and type, and the table column it comes from."""

    name: str
    column: str
    type: str  # integer | string | boolean | date | datetime
    enum: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Reference:
    field: str
    resource: str  # "" for the resource itself
    to: str = "id"


@dataclass(frozen=True)
class Resource:
    """One CSV file of the package: a table's permitted columns, sorted by primary key."""

    name: str
    table: Table
    fields: tuple[Field, ...]
    key: str = "id"
    references: tuple[Reference, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    description: str = ""

    @property
    def path(self) -> str:
        return f"{self.name}.csv"

    def nullable(self, f: Field) -> bool:
        return bool(self.table.c[f.column].nullable)

    def max_length(self, f: Field) -> int | None:
        return getattr(self.table.c[f.column].type, "length", None)


def _i(name: str, column: str | None = None, description: str = "") -> Field:
    return Field(name, column or name, "integer", description=description)


def _s(name: str, column: str | None = None, enum: tuple[str, ...] = (),
       description: str = "") -> Field:
    return Field(name, column or name, "string", enum, description)


def _dt(name: str) -> Field:
    return Field(name, name, "datetime")


_ACTIVE = Field("active", "active", "boolean")
_STATUS3 = tuple(STATUSES)

RESOURCES: tuple[Resource, ...] = (
    Resource("schools", School.__table__, (
        _i("id"), _s("upstream_id"), _s("name"), _s("governorate"), _ACTIVE),
        unique=(("upstream_id",),), description="Schools, by Hudoor id and upstream id."),
    Resource("classes", SchoolClass.__table__, (
        _i("id"), _s("upstream_id"), _i("school_id"), _s("name"), _i("grade"), _ACTIVE),
        references=(Reference("school_id", "schools"),), unique=(("upstream_id",),)),
    Resource("people", Person.__table__, (
        _i("id"), _s("upstream_id"), _i("school_id"), _s("role", enum=tuple(r.value for r in Role)),
        _s("display_name"), _s("status"), _ACTIVE,
        _i("canonical_id", description="The person merged into (merge, never delete).")),
        references=(Reference("school_id", "schools"), Reference("canonical_id", "")),
        unique=(("upstream_id",),),
        description="Students and staff: ids, display name, role only (no phone, no birth date)."),
    Resource("enrolments", Enrolment.__table__, (
        _i("id"), _i("person_id"), _i("class_id"), _dt("started_at"), _dt("ended_at")),
        references=(Reference("person_id", "people"), Reference("class_id", "classes")),
        description="Who is in which class, since when, until when."),
    Resource("records", AttendanceRecord.__table__, (
        _i("id"), _i("class_id"), Field("day", "day", "date"), _i("taken_by"), _i("class_size"),
        _dt("confirmed_at"), _s("session_id"),
        _s("sim_ref", "msisdn", description="Keyed hash of the capturing SIM, never its number."),
        _i("revision")),
        references=(Reference("class_id", "classes"), Reference("taken_by", "people")),
        unique=(("class_id", "day"),), description="One class's register for one school day."),
    Resource("marks", AttendanceMark.__table__, (
        _i("id"), _i("record_id"), _i("person_id"),
        _s("status", enum=tuple(m.value for m in MarkStatus)), _dt("captured_at"),
        _s("session_id"), _i("marked_by")),
        references=(Reference("record_id", "records"), Reference("person_id", "people"),
                    Reference("marked_by", "people")),
        description="Students marked absent or late (everyone else was present), as taken."),
    Resource("adjustments", AttendanceAdjustment.__table__, (
        _i("id"), _i("school_id"), _i("class_id"), Field("day", "day", "date"), _i("person_id"),
        _s("from_status", enum=_STATUS3), _s("to_status", enum=_STATUS3),
        _s("reason_code", enum=tuple(r.value for r in Reason)), _s("requested_by"),
        _dt("requested_at"), _s("state", enum=tuple(s.value for s in AdjustmentState)),
        _s("decided_by"), _dt("decided_at"), _s("exception_ref")),
        references=(Reference("school_id", "schools"), Reference("class_id", "classes"),
                    Reference("person_id", "people")),
        description="Retroactive corrections beside the marks, with who asked and who decided."),
    Resource("audit", AuditEntry.__table__, (
        _i("seq"), _s("at", description="As stored: the chain hashes this very text."),
        _s("actor"), _s("action"), _s("entity"), _s("entity_id"), _s("reason"),
        _s("data", description="Canonical JSON as stored (hashed by the chain)."),
        _s("prev_hash"), _s("hash"), _i("hash_scheme")),
        key="seq", description="The keyed, hash-chained audit log, row for row as stored."),
)
BY_NAME = {r.name: r for r in RESOURCES}


def write(f: Field, value: Any) -> str:
    """Return the one CSV spelling of a value (empty for null)."""
    if value is None:
        return ""
    if f.type == "integer":
        return str(int(value))
    if f.type == "boolean":
        return "true" if value else "false"
    if f.type == "date":
        return str(value.isoformat())
    if f.type == "datetime":  # isoformat pads the year to 4 digits (strftime's %Y may not)
        return str(value.astimezone(timezone.utc).isoformat(timespec="microseconds"))[:-6] + "Z"
    return str(value)


def read(resource: Resource, f: Field, raw: str) -> Any:
    """Return the value a CSV cell holds, or raise ValueError saying what is wrong with it."""
    if raw == "":
        if f.type == "string" and not resource.nullable(f):
            return ""
        if not resource.nullable(f):
            raise ValueError("a value is required")
        return None
    if "\x00" in raw:
        raise ValueError("contains a NUL character")
    if f.type == "integer":
        if not _INTEGER.match(raw):
            raise ValueError(f"{raw[:40]!r} is not an integer")
        return int(raw)
    if f.type == "boolean":
        if raw not in ("true", "false"):
            raise ValueError(f"{raw[:40]!r} is not true or false")
        return raw == "true"
    if f.type == "date":
        try:
            if not _DATE.match(raw):
                raise ValueError
            return date.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"{raw[:40]!r} is not a date YYYY-MM-DD") from None
    if f.type == "datetime":
        try:
            if not _DATETIME.match(raw):
                raise ValueError
            return datetime.fromisoformat(raw[:-1]).replace(tzinfo=timezone.utc)
        except ValueError:
            raise ValueError(f"{raw[:40]!r} is not a UTC time "
                             "YYYY-MM-DDThh:mm:ss.ffffffZ") from None
    if f.enum and raw not in f.enum:
        raise ValueError(f"{raw[:40]!r} is not one of {', '.join(f.enum)}")
    limit = resource.max_length(f)
    if limit is not None and len(raw) > limit:
        raise ValueError(f"longer than {limit} characters")
    return raw


def _field_schema(resource: Resource, f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f.name, "type": f.type}
    if f.type == "datetime":
        out["format"] = DATETIME
    constraints: dict[str, Any] = {}
    if not resource.nullable(f) and f.type != "string":
        constraints["required"] = True
    if f.enum:
        constraints["enum"] = list(f.enum)
    if (f.name,) in resource.unique or f.name == resource.key:
        constraints["unique"] = True
    if f.type == "string" and resource.max_length(f):
        constraints["maxLength"] = resource.max_length(f)
    if constraints:
        out["constraints"] = constraints
    if f.description:
        out["description"] = f.description
    return out


def schema(resource: Resource) -> dict[str, Any]:
    """Return the resource's Table Schema: fields, primary key, foreign keys."""
    out: dict[str, Any] = {
        "fields": [_field_schema(resource, f) for f in resource.fields],
        "primaryKey": [resource.key],
        "missingValues": [""],
    }
    if resource.references:
        out["foreignKeys"] = [{"fields": [r.field], "reference": {"resource": r.resource,
                                                                  "fields": [r.to]}}
                              for r in resource.references]
    return out


def descriptor(files: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """Return the datapackage.json of a package whose files have these (sha256, bytes)."""
    return {
        "profile": "tabular-data-package",
        "name": "hudoor-record",
        "title": "Hudoor attendance record (open export)",
        "hudoor_format": FORMAT,
        "resources": [{
            "name": r.name, "path": r.path, "profile": "tabular-data-resource",
            "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "hash": f"sha256:{files[r.name][0]}", "bytes": files[r.name][1],
            "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "quoteChar": '"',
                        "doubleQuote": True, "header": True},
            **({"description": r.description} if r.description else {}),
            "schema": schema(r),
        } for r in RESOURCES],
    }
