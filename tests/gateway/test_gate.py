"""The parity gate through its real interfaces: paper upload API, `hudoor gate`, /status (G1, R9)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select

from core import calendar
from core.models import (
    AttendanceMark,
    AttendanceRecord,
    AuditEntry,
    Enrolment,
    GateFiring,
    PaperMark,
    Person,
    School,
    SchoolClass,
)
from gateway.cli import cli

WEEKS = [date(2026, 11, 1) + timedelta(days=7 * i) for i in range(4)]  # Sundays


def token(runner, role: str, school: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """Issue a token bound to a holder: a champion of `school` on its roster, else a central staff entry."""
    subject = f"t-{role}-{school}"
    if role == "champion":
        from core.runtime import runtime_of

        rt = runtime_of(runner.app)
        with rt.sessions() as s, s.begin():
            sch = s.scalars(select(School).where(School.upstream_id == school)).one()
            if s.scalars(select(Person).where(Person.upstream_id == subject)).first() is None:
                s.add(Person(upstream_id=subject, school_id=sch.id, role="champion",
                             display_name="C", name_key="c"))
        args = ["tokens", "issue", "--subject", subject, "--role", role, "--school", school]
    else:
        runner.invoke(cli, ["staff", "add", "--staff-id", subject, "--name", f"Test {role}",
                            "--role", role, "--by", "test", "--reason", "fixture"])
        args = ["tokens", "issue", "--subject", subject, "--role", role]
    out = runner.invoke(cli, args)
    assert out.exit_code == 0, out.output
    return out.stdout.strip()


def auth(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def cairo(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return calendar.at_cairo(day, time(hh, mm, ss)).astimezone(timezone.utc)


def school(runtime, code: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """Two classes of twelve students, one teacher each."""
    with runtime.sessions() as s, s.begin():
        sch = School(upstream_id=code, name=code, governorate="Cairo")
        s.add(sch)
        s.flush()
        classes = []
        for c in range(2):
            cls = SchoolClass(upstream_id=f"{code}-C{c}", school_id=sch.id, name=str(c), grade=1)
            teacher = Person(upstream_id=f"{code}-T{c}", school_id=sch.id, role="teacher",
                             display_name="T", name_key="t")
            kids = [Person(upstream_id=f"{code}-C{c}-S{i}", school_id=sch.id, role="student",
                           display_name="S", name_key="s") for i in range(12)]
            s.add_all([cls, teacher, *kids])
            s.flush()
            s.add_all(Enrolment(person_id=k.id, class_id=cls.id) for k in kids)
            classes.append((cls.id, cls.upstream_id, teacher.id, [(k.id, k.upstream_id) for k in kids]))
        return {"id": sch.id, "code": code, "classes": classes}


def play_week(runtime, client, tok: str, sch: dict, sunday: date, *,  # type: ignore[no-untyped-def,type-arg]
              copied: bool = False, wrong: int = 0) -> None:
    """Digital registers for Sun–Thu (honest mornings, or typed in at night), paper on Thursday."""
    rows = ["class,day,student,status"]
    with runtime.sessions() as s, s.begin():
        for d in range(5):
            day = sunday + timedelta(days=d)
            for n, (cid, cup, tid, kids) in enumerate(sch["classes"]):
                at = cairo(day, 19, 0, 5 * n) if copied else cairo(day, 8, 7 * d + 13 * n, 11 * n)
                rec = AttendanceRecord(class_id=cid, day=day, taken_by=tid, class_size=12,
                                       confirmed_at=at, session_id="t", msisdn=f"+2010000000{n}"
                                       if not copied else "+201099999999")
                s.add(rec)
                s.flush()
                for i, (kid, kup) in enumerate(kids):
                    paper = "absent" if i == d else "present"
                    rows.append(f"{cup},{day.isoformat()},{kup},{paper}")
                    digital = "absent" if (i == d) != (n == 0 and d == 0 and i < wrong) else "present"
                    if digital == "absent":
                        s.add(AttendanceMark(record_id=rec.id, person_id=kid, status="absent",
                                             captured_at=at, session_id="t", marked_by=tid))
    runtime.clock = lambda: cairo(sunday + timedelta(days=4), 16)
    resp = client.post(f"/api/v1/schools/{sch['code']}/paper", data="\n".join(rows),
                       headers=auth(tok), content_type="text/csv")
    assert resp.status_code == 200, resp.get_json()


def register_directive(runtime, runner, tmp_path, when: date) -> None:  # type: ignore[no-untyped-def]
    text = tmp_path / "directive.txt"
    text.write_text("Paper registers retire where the parity gate fires.", encoding="utf-8")
    runtime.clock = lambda: cairo(when, 10)
    out = runner.invoke(cli, ["gate", "directive", "register", "--name", "MOE-PILOT-1",
                              "--file", str(text), "--by", "ministry:deputy"])
    assert out.exit_code == 0, out.output


def evaluate(runtime, runner, on: date) -> str:  # type: ignore[no-untyped-def]
    runtime.clock = lambda: cairo(on, 6)
    out = runner.invoke(cli, ["gate", "evaluate"])
    assert out.exit_code == 0, out.output
    return out.output


def test_a_bad_upload_applies_nothing_and_names_every_bad_row(runtime, client, runner) -> None:  # type: ignore[no-untyped-def]
    sch = school(runtime, "SCH-A")
    tok = token(runner, "champion", "SCH-A")
    runtime.clock = lambda: cairo(date(2026, 11, 26), 16)
    cls, kid = sch["classes"][0][1], sch["classes"][0][3][0][1]
    body = "\n".join(["class,day,student,status",
                      f"{cls},2026-11-26,{kid},absent",  # fine
                      f"{cls},2026-11-20,{kid},absent",  # Friday
                      f"{cls},2026-11-26,NOBODY,absent",
                      f"{cls},2026-11-25,{kid},sick",
                      f"{cls},2026-12-01,{kid},present",  # future
                      f"{cls},2026-11-26,{kid},late"])  # the same student-day twice
    resp = client.post("/api/v1/schools/SCH-A/paper", data=body, headers=auth(tok),
                       content_type="text/csv")
    assert resp.status_code == 422
    errors = {e["row"]: e["error"] for e in resp.get_json()["rows"]}
    assert sorted(errors) == [2, 3, 4, 5, 6]
    assert "not a school day" in errors[2] and "future" in errors[5] and "twice" in errors[6]
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(PaperMark)) == 0
    fine = "\n".join(body.splitlines()[:2])
    assert client.post("/api/v1/schools/SCH-A/paper", data=fine, headers=auth(tok),
                       content_type="text/csv").get_json()["new"] == 1
    changed = fine.replace(",absent", ",late")
    assert client.post("/api/v1/schools/SCH-A/paper", data=changed, headers=auth(tok),
                       content_type="text/csv").get_json()["changed"] == 1
    with runtime.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "paper.upload")
                          .order_by(AuditEntry.seq.desc())).first()
        assert '"was":"absent"' in entry.data and entry.actor.startswith("champion:")
    bad_header = client.post("/api/v1/schools/SCH-A/paper", data="a,b\n1,2", headers=auth(tok),
                             content_type="text/csv")
    assert bad_header.status_code == 422 and "header" in bad_header.get_json()["rows"][0]["error"]


def test_who_may_upload_and_who_may_see_figures(runtime, client, runner) -> None:  # type: ignore[no-untyped-def]
    school(runtime, "SCH-A")
    school(runtime, "SCH-B")
    other = token(runner, "champion", "SCH-B")
    desk, ops, mine = token(runner, "desk"), token(runner, "ops"), token(runner, "champion", "SCH-A")
    body = "class,day,student,status\nSCH-A-C0,2026-11-26,SCH-A-C0-S0,present"
    runtime.clock = lambda: cairo(date(2026, 11, 26), 16)
    assert client.post("/api/v1/schools/SCH-A/paper", data=body, headers=auth(other)).status_code == 403
    assert client.post("/api/v1/schools/SCH-A/paper", data=body, headers=auth(desk)).status_code == 200
    assert client.get("/api/v1/schools/SCH-A/parity", headers=auth(desk)).status_code == 403
    assert client.get("/api/v1/schools/SCH-A/parity", headers=auth(other)).status_code == 403
    assert client.get("/api/v1/schools/SCH-A/parity", headers=auth(ops)).status_code == 200
    assert client.get("/api/v1/schools/SCH-A/parity", headers=auth(mine)).get_json()["state"] == "parallel"
    # No ranking: there is no endpoint listing schools' parity side by side.
    assert not [r for r in client.application.url_map.iter_rules()
                if "parity" in r.rule and "<school>" not in r.rule]


def test_four_good_weeks_fire_the_gate_not_a_day_earlier(runtime, client, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sch = school(runtime, "SCH-A")
    register_directive(runtime, runner, tmp_path, date(2026, 8, 20))
    tok = token(runner, "champion", "SCH-A")
    for i, sunday in enumerate(WEEKS):
        play_week(runtime, client, tok, sch, sunday, wrong=1 if i == 2 else 0)  # 1 of 120: 99.2 %
    assert "SCH-A parallel" in evaluate(runtime, runner, date(2026, 11, 26))  # last week not over
    assert runner.invoke(cli, ["gate", "fire", "--school", "SCH-A"]).exit_code != 0  # no such thing
    assert "SCH-A digital" in evaluate(runtime, runner, date(2026, 11, 29))
    with runtime.sessions() as s:
        firing = s.scalars(select(GateFiring)).one()
        assert json.loads(firing.weeks) == [w.isoformat() for w in WEEKS]
        figures = json.loads(firing.figures)
        assert [f["parity"] for f in figures] == [1.0, 1.0, 0.9917, 1.0]
        assert s.scalar(select(AuditEntry.data).where(AuditEntry.action == "gate.fire"))
    status = client.get("/status?format=json").get_json()["gate"]
    assert status == {"parallel": 0, "digital": 1, "reversed": 0}
    # Only the ministry's central reversal undoes it, with its reference; no re-firing after.
    out = runner.invoke(cli, ["gate", "reverse", "--school", "SCH-A", "--reference", "MOE-77/2026",
                              "--by", "ministry:deputy", "--reason", "register audit pending"])
    assert out.exit_code == 0, out.output
    assert "SCH-A reversed" in evaluate(runtime, runner, date(2026, 12, 6))


def test_a_week_below_threshold_restarts_the_count(runtime, client, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sch = school(runtime, "SCH-A")
    register_directive(runtime, runner, tmp_path, date(2026, 8, 20))
    tok = token(runner, "champion", "SCH-A")
    for i, sunday in enumerate(WEEKS):
        play_week(runtime, client, tok, sch, sunday, wrong=4 if i == 1 else 0)  # 96.7 % in week 2
    assert "SCH-A parallel" in evaluate(runtime, runner, date(2026, 11, 29))


def test_a_school_copying_paper_at_night_never_fires(runtime, client, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sch = school(runtime, "SCH-C")
    register_directive(runtime, runner, tmp_path, date(2026, 8, 20))
    tok = token(runner, "champion", "SCH-C")
    for sunday in WEEKS:
        play_week(runtime, client, tok, sch, sunday, copied=True)
    assert "SCH-C parallel" in evaluate(runtime, runner, date(2026, 11, 29))
    runtime.clock = lambda: cairo(date(2026, 11, 29), 6)
    weeks = client.get("/api/v1/schools/SCH-C/parity",
                       headers=auth(tok)).get_json()["weeks"][-4:]
    assert {w["verdict"] for w in weeks} == {"void"}
    assert all(w["excluded"] == w["eligible"] and w["flagged"]["late_capture"] == 10 for w in weeks)


def test_a_new_school_runs_its_own_window(runtime, client, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sch = school(runtime, "SCH-N")
    register_directive(runtime, runner, tmp_path, date(2026, 10, 25))
    out = runner.invoke(cli, ["calendar", "school", "SCH-N", "--joined-on", "2026-11-01",
                              "--by", "ops:amal", "--reason", "joins Phase 2 early"])
    assert out.exit_code == 0, out.output
    tok = token(runner, "champion", "SCH-N")
    for sunday in WEEKS:
        play_week(runtime, client, tok, sch, sunday)
    runtime.clock = lambda: cairo(date(2026, 11, 26), 17)
    rep = client.get("/api/v1/schools/SCH-N/parity", headers=auth(tok)).get_json()
    assert (rep["window_starts"], rep["window_ends"]) == ("2026-11-01", "2026-11-26")
    assert "SCH-N digital" in evaluate(runtime, runner, date(2026, 11, 29))


def test_a_directive_registered_after_the_window_opened_cannot_be_executed(runtime, client, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sch = school(runtime, "SCH-A")
    register_directive(runtime, runner, tmp_path, date(2026, 10, 1))  # after the pilot began
    tok = token(runner, "champion", "SCH-A")
    for sunday in WEEKS:
        play_week(runtime, client, tok, sch, sunday)
    assert "SCH-A parallel" in evaluate(runtime, runner, date(2026, 11, 29))


def test_simulation_shows_whose_gate_fires_when(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    out = CliRunner().invoke(cli, ["gate", "simulate", "--to", "2026-10-04"],
                             env={"HUDOOR_VAR_DIR": str(tmp_path), "HUDOOR_DATABASE_URL": ""})
    assert out.exit_code == 0, out.output
    fired = {line.split()[0]: line.split("  ")[-1].strip() for line in out.output.splitlines()}
    assert fired["SIM-HONEST-1"] == fired["SIM-HONEST-2"] == "fired 2026-09-27"
    assert fired["SIM-HOLIDAYS"] == "fired 2026-10-04"  # its closed week neither counts nor breaks
    assert fired["SIM-COPY"].startswith("not fired")
    assert fired["SIM-CATCHUP"].startswith("not fired")  # its copied week restarted the count
    assert fired["SIM-SLOPPY"].startswith("not fired")
    assert fired["SIM-NEW"].startswith("not fired")  # joins on 18 Oct
