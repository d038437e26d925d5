"""Validate an open export and load it into an empty instance, all or nothing.

Every problem is named by file, line and column, and nothing is written unless the whole
package is valid: the descriptor is the one this version writes, each file matches its
hash, every cell reads as its field's type, keys are unique and every reference resolves.
The rows keep their ids, and the audit rows are inserted exactly as they were (never
re-chained), so the chain still verifies under the exporting instance's audit key.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterator

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


def _check_file(folder: Path, resource: Resource, meta: dict[str, Any],
                problems: list[str]) -> bool:
    path = folder / resource.path
    if not path.is_file():
        problems.append(f"{resource.path}: missing")
        return False
    h, size = file_digest(path)
    if meta.get("hash") != f"sha256:{h}" or meta.get("bytes") != size:
        problems.append(f"{resource.path}: does not match the hash and size in {DESCRIPTOR} "
                        "(changed or truncated since export)")
    return True


def _rows(folder: Path, resource: Resource, problems: list[str],
          ids: set[Any]) -> Iterator[dict[str, Any]]:
    """Yield each valid row of a file, naming each problem; add every key read to `ids`.

    The key of a row with a bad cell elsewhere counts too: what refers to it is not
    blamed a second time.
    """
    header = [f.name for f in resource.fields]
    key_at = header.index(resource.key)
    seen: dict[tuple[str, ...], dict[tuple[Any, ...], int]] = defaultdict(dict)
    try:
        with (folder / resource.path).open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            if next(reader, None) != header:
                problems.append(f"{resource.path} line 1: header must be {','.join(header)}")
                return
            for cells in reader:
                line = reader.line_num
                if len(problems) >= MAX_PROBLEMS:
                    return
                if len(cells) != len(header):
                    problems.append(f"{resource.path} line {line}: {len(cells)} cells, "
                                    f"expected {len(header)}")
                    continue
                row, ok = {}, True
                if _INTEGER_KEY.match(cells[key_at]):
                    if int(cells[key_at]) in ids:
                        problems.append(f"{resource.path} line {line}: {resource.key} "
                                        f"{cells[key_at]} repeats an earlier line")
                        ok = False
                    ids.add(int(cells[key_at]))
                for f, raw in zip(resource.fields, cells):
                    try:
                        row[f.column] = read(resource, f, raw)
                    except ValueError as exc:
                        problems.append(f"{resource.path} line {line}, column {f.name}: {exc}")
                        ok = False
                for cols in resource.unique if ok else ():
                    value = tuple(row[_column(resource, c)] for c in cols)
                    if value in seen[cols]:
                        problems.append(f"{resource.path} line {line}: {'+'.join(cols)} "
                                        f"{value if len(value) > 1 else value[0]} repeats line "
                                        f"{seen[cols][value]}")
                        ok = False
                    seen[cols][value] = line
                if ok:
                    row["_line"] = line
                    yield row
    except (csv.Error, UnicodeDecodeError) as exc:
        problems.append(f"{resource.path}: unreadable as UTF-8 CSV ({exc})")


def _column(resource: Resource, name: str) -> str:
    return next(f.column for f in resource.fields if f.name == name)


def _dangling(resource: Resource, row: dict[str, Any], ids: dict[str, set[Any]],
              later: list[tuple[str, int, Any]]) -> list[str]:
    """Return a problem per reference to an id its file lacks (self-references: `later`)."""
    out = []
    for ref in resource.references:
        value = row[_column(resource, ref.field)]
        if value is None:
            continue
        if not ref.resource:  # the row it names may come further down the same file
            later.append((ref.field, row["_line"], value))
        elif value not in ids[ref.resource]:
            out.append(f"{resource.path} line {row['_line']}, column {ref.field}: "
                       f"{value} is not an id in {BY_NAME[ref.resource].path}")
    return out


def held(session: Session) -> dict[str, int]:
    """Return how many rows each exported table already holds (only the non-empty ones)."""
    counts = {r.name: session.scalar(select(func.count()).select_from(r.table)) or 0
              for r in RESOURCES}
    return {name: n for name, n in counts.items() if n}


def _insert(session: Session, resource: Resource, rows: list[dict[str, Any]],
            merges: list[dict[str, Any]]) -> None:
    """Insert a batch; a merge (people.canonical_id) waits in `merges` for the whole file."""
    for row in rows:
        row.pop("_line", None)
        if resource.name == "people":  # what the database derives, and merges set afterwards
            row["name_key"] = name_key(row["display_name"])
            if row["canonical_id"] is not None:
                merges.append({"id": row["id"], "canonical_id": row["canonical_id"]})
                row["canonical_id"] = None
    session.execute(insert(resource.table), rows)


def _load_resource(session: Session, folder: Path, resource: Resource,
                   ids: dict[str, set[Any]], problems: list[str], progress: Progress) -> int:
    """Check one file row by row, inserting batches while the package is still clean."""
    batch: list[dict[str, Any]] = []
    merges: list[dict[str, Any]] = []
    later: list[tuple[str, int, Any]] = []
    n = 0
    for row in _rows(folder, resource, problems, ids[resource.name]):
        problems.extend(_dangling(resource, row, ids, later))
        n += 1
        if n % (BATCH * 25) == 0:
            progress(f"  {resource.name}: {n:,} rows")
        if problems:  # keep checking, to name every problem, but write nothing more
            batch.clear()
            continue
        batch.append(row)
        if len(batch) >= BATCH:
            _insert(session, resource, batch, merges)
            batch = []
    for field, line, value in later:
        if value not in ids[resource.name]:
            problems.append(f"{resource.path} line {line}, column {field}: {value} is not an id "
                            f"in {resource.path}")
    if problems:
        return n
    if batch:
        _insert(session, resource, batch, merges)
    for merge in merges:
        session.execute(update(resource.table).where(resource.table.c.id == merge["id"])
                        .values(canonical_id=merge["canonical_id"]))
    return n


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


def import_package(session: Session, folder: Path, *, by: str, reason: str,
                   progress: Progress = lambda _m: None) -> dict[str, int]:
    """Check a package and load it into an empty instance, in the caller's transaction.

    Rows are checked and inserted file by file, in batches, so memory holds keys, not the
    record; on any problem the caller's transaction is rolled back and nothing stays.
    Who loaded it, when, why and what are recorded in `data_imports`, beside the chain.

    Raises:
        NotEmpty: the instance already holds schools, people, marks or audit rows.
        PackageError: the package is not valid, or its audit chain does not verify under
            this instance's audit key; `problems` names each (file, line, column).
    """
    already = held(session)
    if already:
        raise NotEmpty("this instance already holds " + ", ".join(
            f"{n:,} {name}" for name, n in sorted(already.items()))
            + ": import only into an empty instance (a new database after `hudoor db upgrade`)")
    desc = _check_descriptor(folder)
    problems: list[str] = []
    for resource, meta in zip(RESOURCES, desc["resources"]):
        _check_file(folder, resource, meta, problems)
    if problems:
        raise PackageError(problems)
    ids: dict[str, set[Any]] = {r.name: set() for r in RESOURCES}
    counts = {}
    for resource in RESOURCES:
        progress(f"loading {resource.path} …")
        counts[resource.name] = _load_resource(session, folder, resource, ids, problems, progress)
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise PackageError(problems)
    _reset_sequences(session)
    progress("verifying the audit chain …")
    result = audit.verify(session, trust_unkeyed=True)
    if not result.ok:
        raise PackageError([f"audit.csv: the chain does not verify under this instance's audit "
                            f"key ({result.problems[0]}); set HUDOOR_AUDIT_KEY to the exporting "
                            "instance's key"] + result.problems[1:MAX_PROBLEMS])
    session.add(DataImport(
        imported_by=by[:100], reason=reason[:300], counts=json.dumps(counts, sort_keys=True),
        package_sha256=file_digest(folder / DESCRIPTOR)[0], audit_head=result.head_hash))
    return counts
