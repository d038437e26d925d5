"""Merge, never delete; every bulk change is one operation ops can revert for 72 h (C4).

Through the real interfaces: the sync flags a duplicate, guardians link over USSD, the
`hudoor merge`/`hudoor bulk` commands and the admin API change things, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from core.attendance import roster
from core.codes import person_number
from core.models import (AuditEntry, Contact, DuplicateFlag, Enrolment, OneTimeCode, Person, PersonAlias,
                         SchoolClass)
from core.sync.delta import run_delta
from gateway.cli import cli
from tests.conftest import SCHOOL_MORNING
from tests.support.desk_tokens import bearer, staff_token
from tests.ussd.phone import Phone


def _twin(synced, sandbox) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """Add a student's look-alike upstream and sync: (original, twin, class) upstream ids."""
    d = sandbox.district
    school = d.schools()[0]["id"]
    original = next(p for p in d.roster(school) if p["role"] == "student")
    twin = {"id": d.next_student_id(school), "display_name": original["display_name"],
            "role": "student", "class_ids": original["class_ids"]}
    d.upsert(twin, school)
    assert run_delta(synced.sessions, synced.upstream()).counts.duplicates_flagged == 1
    return original["id"], twin["id"], original["class_ids"][0]


def _slip(runner, class_id: str, student: str, *extra: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    out = runner.invoke(cli, ["codes", "slips", "--class", class_id, *extra])
    assert out.exit_code == 0, out.output
    line = next(row for row in out.stdout.splitlines()
                if f"student number {person_number(student)}\t" in row)
    cells = line.split("\t")
    return cells[2].split()[-1], cells[3].split()[-1]


def _enrol(client, msisdn: str, number: str, code: str) -> str:  # type: ignore[no-untyped-def]
    parent = Phone(client, msisdn=msisdn)
    parent.dial()
    parent.send("2")
    parent.send(number)
    if not parent.send(code).startswith("CON "):
        return parent.last
    parent.send("1")  # Arabic SMS
    return parent.send("1")  # "I agree": the consent screen (decision 0026)


def _person(rt, upstream_id: str) -> Person:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return s.scalars(select(Person).where(Person.upstream_id == upstream_id)).one()


def test_a_merge_keeps_both_ids_reachable_and_reverts_whole(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    original, twin, class_id = _twin(synced, sandbox)
    number, code = _slip(runner, class_id, twin)
    assert _enrol(client, "+201551230001", number, code).startswith("END ")
    ops, desk = staff_token(runner, "ops", "C-ops"), staff_token(runner, "desk", "C-desk")
    keep, gone = _person(synced, original), _person(synced, twin)

    # The desk may see the flag and the operations, not merge: deny by default, in API and CLI.
    body = {"keep": original, "merge": twin, "reason": "same child, typo upstream"}
    assert client.post("/api/v1/merges", json=body, headers=bearer(desk)).status_code == 403
    refused = runner.invoke(cli, ["merge", "--keep", original, "--merge", twin, "--by", "C-desk",
                                  "--reason", "x"])
    assert refused.exit_code != 0 and "people:merge is not granted" in refused.output
    assert client.post("/api/v1/merges", json={"keep": original}, headers=bearer(ops)).status_code == 400

    done = runner.invoke(cli, ["merge", "--keep", original, "--merge", twin, "--by", "C-ops",
                               "--reason", "same child, typo upstream"])
    assert done.exit_code == 0, done.output
    op = json.loads(done.stdout)
    assert op["links_moved"] == 1 and op["flags_resolved"] == 1 and op["enrolments_ended"] == 1
    with synced.sessions() as s:
        merged = s.get(Person, gone.id)
        assert merged is not None and merged.canonical_id == keep.id  # marked merged, not removed
        assert s.scalars(select(PersonAlias)).one().merged_id == gone.id
        assert s.scalars(select(Contact)).one().person_id == keep.id  # the parent now reaches the kept id
        assert s.scalars(select(DuplicateFlag)).one().status == "merged"
        cls = s.scalars(select(SchoolClass).where(SchoolClass.upstream_id == class_id)).one()
        on_roll = {pid for pid, _ in roster(s, cls.id)[0]}
        assert keep.id in on_roll and gone.id not in on_roll  # one child, one roll number
    # History answers the same from either id.
    a = client.get(f"/api/v1/people/{twin}/history", headers=bearer(ops)).get_json()
    b = client.get(f"/api/v1/people/{original}/history", headers=bearer(ops)).get_json()
    assert a["canonical"] == b["canonical"] == original and a["merged"] and not b["merged"]
    assert set(a["ids"]) == {original, twin} and a["links"] == b["links"]
    assert {e["action"] for e in a["audit"]} >= {"person.merge", "contact.link_guardian"}
    assert client.get(f"/api/v1/people/{twin}/history", headers=bearer(desk)).status_code == 403
    again = client.post("/api/v1/merges", json=body, headers=bearer(ops))
    assert again.status_code == 409 and "already merged" in again.get_json()["error"]

    listed = client.get("/api/v1/bulk", headers=bearer(desk)).get_json()
    assert listed[0]["id"] == op["operation"] and listed[0]["state"] == "revertible"
    shown = client.get(f"/api/v1/bulk/{op['operation']}", headers=bearer(ops)).get_json()
    assert all("+20" not in json.dumps(r) for r in shown["rows"])  # never a phone number
    assert client.post(f"/api/v1/bulk/{op['operation']}/revert", json={"reason": "x"},
                       headers=bearer(desk)).status_code == 403
    undone = runner.invoke(cli, ["bulk", "revert", str(op["operation"]), "--by", "C-ops",
                                 "--reason", "two different children after all"])
    assert undone.exit_code == 0, undone.output
    with synced.sessions() as s:
        assert s.get(Person, gone.id).canonical_id is None  # type: ignore[union-attr]
        assert s.scalars(select(Contact)).one().person_id == gone.id
        assert s.scalars(select(DuplicateFlag)).one().status == "open"
        assert s.scalars(select(PersonAlias)).one().undone_at is not None  # kept, marked undone
        assert s.scalars(select(Enrolment).where(Enrolment.person_id == gone.id,
                                                 Enrolment.ended_at.is_(None))).first() is not None
        assert {r.action for r in s.scalars(select(AuditEntry))} >= {"bulk.merge", "bulk.revert"}
    twice = runner.invoke(cli, ["bulk", "revert", str(op["operation"]), "--by", "C-ops", "--reason", "x"])
    assert twice.exit_code != 0 and "already reverted" in twice.output
    assert client.get("/api/v1/audit/verify", headers=bearer(ops)).get_json()["ok"] is True


def test_a_revert_refuses_what_changed_since_and_is_final_after_72_hours(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    staff_token(runner, "ops", "C-ops")
    school = sandbox.district.schools()[0]["id"]
    class_id = sandbox.district.classes(school)[0]["id"]
    student = next(p["id"] for p in sandbox.district.roster(school)
                   if p["role"] == "student" and class_id in p["class_ids"])
    number, code = _slip(runner, class_id, student)
    assert _enrol(client, "+201551230002", number, code).startswith("END ")
    unlink = runner.invoke(cli, ["bulk", "unlink", "--kind", "guardian", "--class", class_id,
                                 "--by", "C-ops", "--reason", "slips sent to the wrong class"])
    assert unlink.exit_code == 0 and "1 guardian links ended" in unlink.output
    op_id = unlink.output.split("operation ")[1].split(":")[0]
    # The parent links again with a new slip: restoring the old link would clobber that.
    number, code = _slip(runner, class_id, student)
    assert _enrol(client, "+201551230002", number, code).startswith("END ")
    refused = runner.invoke(cli, ["bulk", "revert", op_id, "--by", "C-ops", "--reason", "oops"])
    assert refused.exit_code != 0
    assert "changed since" in refused.output and "a newer link" in refused.output
    with synced.sessions() as s:  # all or nothing: nothing was changed
        assert len([c for c in s.scalars(select(Contact)) if c.revoked_at is None]) == 1
    # Another unlink, left alone for 72 h, is final.
    second = runner.invoke(cli, ["bulk", "unlink", "--kind", "guardian", "--person", student,
                                 "--by", "C-ops", "--reason", "parent asked"])
    second_id = second.output.split("operation ")[1].split(":")[0]
    synced.clock = lambda: SCHOOL_MORNING + timedelta(hours=72)
    late = runner.invoke(cli, ["bulk", "revert", second_id, "--by", "C-ops", "--reason", "late"])
    assert late.exit_code != 0
    assert "became final at 2026-12-02 09:30 Cairo" in late.output
    listed = [json.loads(line) for line in runner.invoke(cli, ["bulk", "list"]).stdout.splitlines()]
    assert [o["state"] for o in listed] == ["final", "final"]


def test_a_slip_reissue_is_one_revertible_operation(synced, sandbox, client, runner) -> None:  # type: ignore[no-untyped-def]
    ops = staff_token(runner, "ops", "C-ops")
    school = sandbox.district.schools()[0]["id"]
    class_id = sandbox.district.classes(school)[0]["id"]
    student = next(p["id"] for p in sandbox.district.roster(school)
                   if p["role"] == "student" and class_id in p["class_ids"])
    old_number, old_code = _slip(runner, class_id, student)
    reissue = runner.invoke(cli, ["codes", "slips", "--class", class_id, "--reissue",
                                  "--reason", "slips lost in the rain"])
    assert reissue.exit_code == 0 and "recorded as bulk operation" in reissue.output
    op_id = int(reissue.output.split("recorded as bulk operation ")[1].split(":")[0])
    reverted = client.post(f"/api/v1/bulk/{op_id}/revert", json={"reason": "found the slips"},
                           headers=bearer(ops))
    assert reverted.status_code == 200 and reverted.get_json()["state"] == "reverted"
    # The handed-out slip works again; the reprinted ones do not.
    assert _enrol(client, "+201551230003", old_number, old_code).startswith("END ")
    with synced.sessions() as s:
        live = [c for c in s.scalars(select(OneTimeCode)) if c.used_at is None
                and c.expires_at > SCHOOL_MORNING + timedelta(days=1)]
        assert len(live) == len(set(c.person_id for c in live))  # one live slip per student
    # Reissue again and let a parent use a new slip: the revert would clobber it, so refuses.
    again = runner.invoke(cli, ["codes", "slips", "--class", class_id, "--reissue"])
    second = int(again.output.split("recorded as bulk operation ")[1].split(":")[0])
    other = next(line for line in again.stdout.splitlines() if "\t" in line).split("\t")
    assert _enrol(client, "+201551230004", other[2].split()[-1], other[3].split()[-1]).startswith("END ")
    refused = client.post(f"/api/v1/bulk/{second}/revert", json={"reason": "x"}, headers=bearer(ops))
    assert refused.status_code == 409
    assert any("used_at" in row for row in refused.get_json()["changed"])
    assert client.post(f"/api/v1/bulk/{second}/revert", json={}, headers=bearer(ops)).status_code == 400
    assert client.post("/api/v1/bulk/999/revert", json={"reason": "x"}, headers=bearer(ops)).status_code == 404
