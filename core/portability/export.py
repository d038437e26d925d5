"""Write the open export: one CSV per resource, sorted by primary key, and datapackage.json.

The same record always gives the same bytes: rows in key order, one spelling per value
(UTC times with microseconds, `true`/`false`, empty for null), CRLF line ends, and a
descriptor without a date in it, so an export can be compared, hashed and re-imported.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.portability.tables import RESOURCES, Resource, descriptor, write

DESCRIPTOR = "datapackage.json"
BATCH = 5000
Progress = Callable[[str], None]


class ExportError(Exception):
    """The export cannot be written (the message says why)."""


def _write_resource(session: Session, resource: Resource, path: Path, progress: Progress) -> int:
    columns = [resource.table.c[f.column] for f in resource.fields]
    query = select(*columns).order_by(resource.table.c[resource.key])
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\r\n")
        out.writerow([f.name for f in resource.fields])
        for row in session.execute(query.execution_options(yield_per=BATCH)):
            out.writerow([write(f, value) for f, value in zip(resource.fields, row)])
            n += 1
            if n % (BATCH * 10) == 0:
                progress(f"  {resource.name}: {n:,} rows")
    return n


def file_digest(path: Path) -> tuple[str, int]:
    """Return a file's SHA-256 (hex) and size, read in blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest(), path.stat().st_size


def export_package(session: Session, out: Path,
                   progress: Progress = lambda _m: None) -> dict[str, int]:
    """Write the package into `out` (created, or an empty directory); return rows per resource.

    Raises:
        ExportError: `out` is a file or a directory that already holds something.
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} is not an empty directory: choose a new one")
    out.mkdir(parents=True, exist_ok=True)
    if session.get_bind().dialect.name == "postgresql":  # every file from one snapshot
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    counts: dict[str, int] = {}
    files: dict[str, tuple[str, int]] = {}
    for resource in RESOURCES:
        progress(f"exporting {resource.name} …")
        counts[resource.name] = _write_resource(session, resource, out / resource.path, progress)
        files[resource.name] = file_digest(out / resource.path)
        progress(f"  {resource.name}: {counts[resource.name]:,} rows")
    text = json.dumps(descriptor(files), indent=2, ensure_ascii=False) + "\n"
    (out / DESCRIPTOR).write_text(text, encoding="utf-8", newline="\n")
    return counts
