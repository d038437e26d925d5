"""Malformed upstream records: quarantined by shape, never by value; a sync never crashes on one."""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.models import QuarantinedRecord, SyncRun
from core.sync.delta import read_cursor, run_delta
from core.sync.full import run_full
from core.upstream.client import HttpTransport, UpstreamClient
from gateway.cli import cli
from tests.core.test_minimisation import _dump
from tests.support.upstream import one_school

MARK = "MRK"


def _leaves(value: Any) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _leaves(v)]
    if isinstance(value, list):
        return [s for v in value for s in _leaves(v)]
    return []


def _served(sandbox) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Every person the sandbox serves now, as served (faults applied)."""
    out: list[dict[str, Any]] = []
    for school in sandbox.district.schools():
        token = None
        while True:
            params = {"page_size": 500, **({"page_token": token} if token else {})}
            body = requests.get(f"{sandbox.url}/v1/schools/{school['id']}/roster", params=params,
                                timeout=10).json()
            out += body["people"]
            token = body["next_page_token"]
            if token is None:
                break
    return out


def test_objects_in_permitted_fields_are_quarantined_without_their_contents(runtime, sandbox, runner) -> None:  # type: ignore[no-untyped-def]
    sandbox.faults.update(object_fields=0.3, seed=4)
    served = _served(sandbox)
    hit = [p for p in served if any(isinstance(v, (dict, list)) and k != "class_ids"
                                    or k == "class_ids" and any(isinstance(c, dict) for c in v)
                                    for k, v in p.items())]
    assert any(isinstance(p.get("status"), dict) for p in hit), "a status arrives as an object"
    secrets = {s for p in hit for v in p.values() for obj in (v if isinstance(v, list) else [v])
               if isinstance(obj, dict)
               for k in ("national_id", "guardian_phone", "mobile", "address") if k in obj
               for s in _leaves(obj[k])}
    assert any(s.isdigit() and len(s) == 14 for s in secrets), "national ids are in the objects"
    runtime.transport = HttpTransport(sandbox.url)
    result = runner.invoke(cli, ["sync", "full", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["status"] == "done"
    assert report["counts"]["quarantined"] == len(hit)
    stored = _dump(runtime)
    assert not [s for s in secrets if s in stored]
    with runtime.sessions() as s:
        records = [json.loads(r) for r in s.scalars(select(QuarantinedRecord.record))]
    shapes = [v for r in records for v in r.values() if isinstance(v, dict)]
    assert shapes and all(set(v) <= {"type", "len"} for v in shapes)


# Markers never look like an id, a role or a status: they start with "+" and hold a space.
def _marked(tag: str) -> st.SearchStrategy[Any]:
    leaf = st.text(max_size=8).map(lambda t: f"+{MARK}{tag} {t}")
    return st.recursive(leaf, lambda inner: st.lists(inner, min_size=1, max_size=3)
                        | st.dictionaries(st.text(max_size=5), inner, min_size=1, max_size=3),
                        max_leaves=6)


def _bad_value(field: str, tag: str) -> st.SearchStrategy[Any]:
    nested = _marked(tag).filter(lambda v: not isinstance(v, str))
    if field == "display_name":  # any string is a name; only non-strings are malformed
        return nested
    if field == "class_ids":
        return nested | _marked(tag).map(lambda v: [v] if isinstance(v, str) else v)
    return _marked(tag)


FIELDS = ("id", "display_name", "role", "class_ids", "status")


# No shrinking: each example is two syncs, and a failure already names its marker.
@settings(max_examples=15, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_marker_in_a_malformed_record_reaches_the_database(runtime, data) -> None:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:8]
    up = one_school()
    people, bad = [], 0
    for i in range(data.draw(st.integers(1, 6))):
        person: dict[str, Any] = {"id": f"STU-{tag}-{i}", "display_name": f"طالب {i}",
                                  "role": "student", "class_ids": [f"SCH-T-C{i % 2}"]}
        broken = data.draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=3))
        for field in broken:
            person[field] = data.draw(_bad_value(field, tag))
        bad += bool(broken)
        people.append(person)
    up.people["SCH-T"] = people
    with runtime.sessions() as s:  # the database outlives each example: continue from it
        base = int(read_cursor(s))
        before = s.scalar(select(func.count()).select_from(QuarantinedRecord))
    changes = [{"seq": base + 1, "type": "status", "person_id": f"STU-{tag}-0", "changed_at":
                "2026-11-29T07:00:00Z", "status": data.draw(_marked(tag))},
               {"seq": base + 2, "type": data.draw(_marked(tag)), "person_id": data.draw(_marked(tag)),
                "changed_at": "2026-11-29T07:00:00Z"},
               {"seq": base + 3, "type": "upsert", "school_id": "SCH-T",
                "person": {**people[0], "status": data.draw(_bad_value("status", tag))}}]
    up.changes = changes
    client = UpstreamClient(up, page_size=4)
    full = run_full(runtime.sessions, client)
    delta = run_delta(runtime.sessions, client)
    assert (full.status, delta.status) == ("done", "done")
    assert full.counts.quarantined == bad
    assert delta.counts.quarantined == len(changes)
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(QuarantinedRecord)) == before + bad + len(changes)
    assert f"{MARK}{tag}" not in _dump(runtime)


def test_an_upstream_outage_fails_the_run_with_its_error(runtime, sandbox, runner, client) -> None:  # type: ignore[no-untyped-def]
    runtime.transport = HttpTransport(sandbox.url, retries=1, backoff=0.01)
    sandbox.faults.update(error_rate=1.0)
    for kind in ("full", "delta"):
        result = runner.invoke(cli, ["sync", kind])
        assert result.exit_code != 0 and "UpstreamUnavailable" in result.output
    shown = client.get("/status.json").get_json()
    for key in ("last_full_sync", "last_delta_sync"):
        assert shown[key]["status"] == "failed", shown[key]
        assert shown[key]["error"].startswith("UpstreamUnavailable: GET /v1/")
        assert shown[key]["finished_at"] is not None
    sandbox.faults.clear()
    again = runner.invoke(cli, ["sync", "full", "--json"])
    assert again.exit_code == 0, again.output
    with runtime.sessions() as s:
        statuses = s.scalars(select(SyncRun.status).where(SyncRun.kind == "full")
                             .order_by(SyncRun.id)).all()
    assert statuses == ["failed", "done"]


class _FailOnce:
    """A transport that fails one roster request the first time it is asked, then recovers."""

    def __init__(self, inner: Any, path: str) -> None:
        self.inner, self.path, self.failed = inner, path, False

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        if path == self.path and (params or {}).get("page_token") and not self.failed:
            from core.upstream.client import UpstreamUnavailable

            self.failed = True
            raise UpstreamUnavailable(f"GET {path}: HTTP 503 after retries")
        return self.inner.get_json(path, params)


def test_a_full_sync_after_a_failed_one_restarts_at_the_failed_school(runtime, sandbox) -> None:  # type: ignore[no-untyped-def]
    second = sandbox.district.schools()[1]["id"]
    flaky = _FailOnce(HttpTransport(sandbox.url), f"/v1/schools/{second}/roster")
    client = UpstreamClient(flaky, page_size=40)
    try:
        run_full(runtime.sessions, client)
    except Exception as exc:  # noqa: BLE001 - the outage itself is what this test sets up
        assert type(exc).__name__ == "UpstreamUnavailable"
    else:
        raise AssertionError("the sync should have failed")
    report = run_full(runtime.sessions, client)
    assert report.status == "done" and report.resumed
    assert report.counts.deactivated == 0  # the failed school's first page is not taken for leavers
    from tests.core.test_sync import _count
    from core.models import Person

    assert _count(runtime, Person) == sandbox.district.base_population
    assert _count(runtime, Person, Person.active.is_(True)) == sandbox.district.base_population
