"""Validate an open export and load it into an empty instance, all or nothing.

Every problem is named by file, line and column, and nothing is written unless the whole
package is valid: the descriptor is the one this version writes, each file matches its
hash, every cell reads as its field's type, keys are unique and every reference resolves.
The rows keep their ids, and the audit rows are inserted exactly as they were (never
re-chained), so the chain still verifies under the exporting instance's audit key.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from core import audit
from core.models import DataImport
from core.portability.export import DESCRIPTOR, file_digest
from core.portability.tables import BY_NAME, FORMAT, RESOURCES, Resource, read, schema
from core.upstream.adapter import name_key

MAX_PROBLEMS = 50
_INTEGER_KEY = re.compile(r"^[0-9]{1,18}$")
BATCH = 2000
Progress = Callable[[str], None]
Rows = dict[str, list[dict[str, Any]]]


class PackageError(Exception):
    """The package is not valid: `problems` names each one (file, line, column)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:3]) + (" …" if len(problems) > 3 else ""))
        self.problems = problems


class NotEmpty(Exception):
    """The instance already holds a record: import only into an empty one."""


def _check_descriptor(folder: Path) -> dict[str, Any]:
    path = folder / DESCRIPTOR
    if not path.is_file():
        raise PackageError([f"{path}: no {DESCRIPTOR} (not an open export?)"])
    try:
        desc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PackageError([f"{DESCRIPTOR}: not valid JSON ({exc})"]) from None
    problems: list[str] = []
    if not isinstance(desc, dict) or desc.get("profile") != "tabular-data-package":
        raise PackageError([f"{DESCRIPTOR}: profile must be tabular-data-package"])
    if desc.get("hudoor_format") != FORMAT:
        problems.append(f"{DESCRIPTOR}: hudoor_format is {desc.get('hudoor_format')!r}, "
                        f"this version reads {FORMAT!r}")
    resources = desc.get("resources")
    names = [r.get("name") for r in resources] if isinstance(resources, list) and all(
        isinstance(r, dict) for r in resources) else None
    if names != [r.name for r in RESOURCES]:
        raise PackageError(problems + [f"{DESCRIPTOR}: resources must be "
                                       f"{', '.join(r.name for r in RESOURCES)} in that order"])
    for want, got in zip(RESOURCES, resources):
        if got.get("path") != want.path:
            problems.append(f"{DESCRIPTOR}: resource {want.name}: path must be {want.path}")
        if got.get("schema") != schema(want):
            problems.append(f"{DESCRIPTOR}: resource {want.name}: schema differs from the one "
                            "this version writes (fields, types, keys)")
    if problems:
        raise PackageError(problems)
    return desc


def _check_file(folder: Path, resource: Resource, meta: dict[str, Any], problems: list[str]) -> bool:
    path = folder / resource.path
    if not path.is_file():
        problems.append(f"{resource.path}: missing")
        return False
    h, size = file_digest(path)
    if meta.get("hash") != f"sha256:{h}" or meta.get("bytes") != size:
        problems.append(f"{resource.path}: does not match the hash and size in {DESCRIPTOR} "
                        "(changed or truncated since export)")
    return True


def _read_rows(folder: Path, resource: Resource, problems: list[str],
               ids: set[Any]) -> list[dict[str, Any]]:
    """Return the valid rows; add every key read, even of a row with a bad cell, to `ids`."""
    rows: list[dict[str, Any]] = []
    header = [f.name for f in resource.fields]
    seen: dict[tuple[str, ...], dict[tuple[Any, ...], int]] = defaultdict(dict)
    keys = [(resource.key,)] + list(resource.unique)
    try:
        with (folder / resource.path).open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            first = next(reader, None)
            if first != header:
                problems.append(f"{resource.path} line 1: header must be {','.join(header)}")
                return rows
            for cells in reader:
                line = reader.line_num
                if len(problems) >= MAX_PROBLEMS:
                    return rows
                if len(cells) != len(header):
                    problems.append(f"{resource.path} line {line}: {len(cells)} cells, "
                                    f"expected {len(header)}")
                    continue
                row, ok = {}, True
                key_at = [f.name for f in resource.fields].index(resource.key)
                if _INTEGER_KEY.match(cells[key_at]):
                    ids.add(int(cells[key_at]))  # a bad cell elsewhere: no second complaint
                for f, raw in zip(resource.fields, cells):
                    try:
                        row[f.column] = read(resource, f, raw)
                    except ValueError as exc:
                        problems.append(f"{resource.path} line {line}, column {f.name}: {exc}")
                        ok = False
                if not ok:
                    continue
                for cols in keys:
                    value = tuple(row[_column(resource, c)] for c in cols)
                    if value in seen[cols]:
                        problems.append(f"{resource.path} line {line}: {'+'.join(cols)} "
                                        f"{value if len(value) > 1 else value[0]} repeats line "
                                        f"{seen[cols][value]}")
                        ok = False
                    else:
                        seen[cols][value] = line
                if ok:
                    row["_line"] = line
                    rows.append(row)
    except (csv.Error, UnicodeDecodeError) as exc:
        problems.append(f"{resource.path}: unreadable as UTF-8 CSV ({exc})")
    return rows


def _column(resource: Resource, name: str) -> str:
    return next(f.column for f in resource.fields if f.name == name)


def _check_references(data: Rows, ids: dict[str, set[Any]], problems: list[str]) -> None:
    for resource in RESOURCES:
        for ref in resource.references:
            target = ref.resource or resource.name
            column = _column(resource, ref.field)
            for row in data[resource.name]:
                value = row[column]
                if value is not None and value not in ids[target]:
                    problems.append(f"{resource.path} line {row['_line']}, column {ref.field}: "
                                    f"{value} is not an id in {BY_NAME[target].path}")
                    if len(problems) >= MAX_PROBLEMS:
                        return


def read_package(folder: Path, progress: Progress = lambda _m: None) -> Rows:
    """Return the package's rows by resource, every one valid, or raise PackageError."""
    desc = _check_descriptor(folder)
    problems: list[str] = []
    data: Rows = {r.name: [] for r in RESOURCES}
    ids: dict[str, set[Any]] = {r.name: set() for r in RESOURCES}
    for resource, meta in zip(RESOURCES, desc["resources"]):
        progress(f"checking {resource.path} …")
        if _check_file(folder, resource, meta, problems):
            data[resource.name] = _read_rows(folder, resource, problems, ids[resource.name])
        if len(problems) >= MAX_PROBLEMS:
            break
    if len(problems) < MAX_PROBLEMS:
        _check_references(data, ids, problems)
    if problems:
        raise PackageError(problems)
    return data


def held(session: Session) -> dict[str, int]:
    """Return how many rows each exported table already holds (only the non-empty ones)."""
    counts = {r.name: session.scalar(select(func.count()).select_from(r.table)) or 0
              for r in RESOURCES}
    return {name: n for name, n in counts.items() if n}


def _insert(session: Session, resource: Resource, rows: list[dict[str, Any]],
            progress: Progress) -> None:
    deferred: list[dict[str, Any]] = []
    for row in rows:
        row.pop("_line", None)
        if resource.name == "people":  # what the database derives, and merges set afterwards
            row["name_key"] = name_key(row["display_name"])
            if row["canonical_id"] is not None:
                deferred.append({"id": row["id"], "canonical_id": row["canonical_id"]})
                row["canonical_id"] = None
    for start in range(0, len(rows), BATCH):
        session.execute(insert(resource.table), rows[start:start + BATCH])
        if start and start % (BATCH * 25) == 0:
            progress(f"  {resource.name}: {start:,} of {len(rows):,}")
    for merge in deferred:
        session.execute(update(resource.table).where(resource.table.c.id == merge["id"])
                        .values(canonical_id=merge["canonical_id"]))


def _reset_sequences(session: Session) -> None:
    """On PostgreSQL, move each id sequence past the ids just loaded."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for resource in RESOURCES:
        if resource.key != "id":
            continue
        name = resource.table.name
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
            f"COALESCE((SELECT max(id) FROM {name}), 0) + 1, false)"))


def load_package(session: Session, folder: Path, data: Rows, *, by: str, reason: str,
                 progress: Progress = lambda _m: None) -> dict[str, int]:
    """Insert a validated package into an empty instance in the caller's transaction.

    Who loaded it, when, why and what are recorded in `data_imports`, beside the chain.

    Raises:
        NotEmpty: the instance already holds schools, people, marks or audit rows.
        PackageError: the audit chain does not verify under this instance's audit key.
    """
    already = held(session)
    if already:
        raise NotEmpty("this instance already holds " + ", ".join(
            f"{n:,} {name}" for name, n in sorted(already.items()))
            + ": import only into an empty instance (a new database after `hudoor db upgrade`)")
    counts = {}
    for resource in RESOURCES:
        progress(f"loading {resource.name} ({len(data[resource.name]):,} rows) …")
        counts[resource.name] = len(data[resource.name])
        _insert(session, resource, data[resource.name], progress)
    _reset_sequences(session)
    progress("verifying the audit chain …")
    result = audit.verify(session, trust_unkeyed=True)
    if not result.ok:
        raise PackageError([f"audit.csv: the chain does not verify under this instance's audit "
                            f"key ({result.problems[0]}); set HUDOOR_AUDIT_KEY to the exporting "
                            "instance's key"] + result.problems[1:MAX_PROBLEMS])
    session.add(DataImport(
        imported_by=by[:100], reason=reason[:300], counts=json.dumps(counts, sort_keys=True),
        package_sha256=hashlib.sha256((folder / DESCRIPTOR).read_bytes()).hexdigest(),
        audit_head=result.head_hash))
    return counts
