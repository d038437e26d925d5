"""`hudoor export` → `hudoor import` into a fresh instance → `hudoor export`: the same bytes."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import contacts, migrate
from core.models import AttendanceMark, DataImport, Person, School
from core.runtime import Runtime
from gateway.app import create_app
from gateway.cli import cli
from tests.writeback.support import confirm_days

DAY = date(2026, 11, 26)  # Thursday, inside the window on the runtime's Sunday


@pytest.fixture
def fresh(request, runtime, tmp_path, sqlite_template):  # type: ignore[no-untyped-def]
    """A second, empty instance on the same backend, with the same keys (a new server)."""
    if runtime.config.effective_database_url.startswith("sqlite"):
        path = tmp_path / "fresh.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"fresh_{uuid.uuid4().hex[:8]}")
        migrate.upgrade(url)
    rt = Runtime(runtime.config.with_overrides(database_url=url, var_dir=tmp_path / "fresh-var"),
                 clock=runtime.clock)
    yield rt, create_app({"TESTING": True, "HUDOOR_RUNTIME": rt}).test_cli_runner()
    rt.close()


def _cli(runner, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(cli, list(args))


def _record(rt, runner) -> None:  # type: ignore[no-untyped-def]
    """Marks, an approved and a pending adjustment, a merge and a guardian's phone number."""
    confirm_days(rt, [DAY], late_share=0.5)
    with rt.sessions() as s, s.begin():
        marks = s.scalars(select(AttendanceMark).where(AttendanceMark.status == "absent")
                          .order_by(AttendanceMark.id)).all()[:2]
        students = [s.get(Person, m.person_id) for m in marks]
        teacher = s.get(Person, marks[0].marked_by).upstream_id
        champ = s.scalars(select(Person.upstream_id).where(
            Person.school_id == students[0].school_id, Person.role == "champion")).first()
        contacts.link_guardian(s, students[0], "+201001112223", "ar", actor="test")
        people = s.scalars(select(Person).where(Person.role == "student").order_by(Person.id)).all()
        people[-1].canonical_id = people[0].id  # a merged duplicate (merge, never delete)
    first, second = (str(p.upstream_id) for p in students)
    req = _cli(runner, "adjustments", "request", "--student", first, "--day", DAY.isoformat(),
               "--to", "present", "--reason", "medical", "--by", teacher)
    assert req.exit_code == 0, req.output
    assert _cli(runner, "adjustments", "decide", str(json.loads(req.output)["id"]), "--approve",
                "--by", champ).exit_code == 0
    assert _cli(runner, "adjustments", "request", "--student", second, "--day", DAY.isoformat(),
                "--to", "late", "--reason", "late_arrival", "--by", teacher).exit_code == 0


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_export_import_export_gives_the_same_bytes_and_the_chain_verifies(synced, runner, fresh, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _record(synced, runner)
    first = _cli(runner, "export", "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    rows = json.loads(first.stdout)["rows"]
    assert all(rows[k] > 0 for k in ("schools", "classes", "people", "enrolments", "records",
                                     "marks", "adjustments", "audit"))
    assert "exporting marks" in first.stderr  # progress, on stderr

    rt2, runner2 = fresh
    loaded = _cli(runner2, "import", "--from", str(tmp_path / "a"), "--by", "ops:amal",
                  "--reason", "move to the ministry's server")
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.stdout)["rows"] == rows
    verified = _cli(runner2, "audit", "verify")
    assert verified.exit_code == 0 and verified.stdout.startswith("ok:"), verified.output
    again = _cli(runner2, "export", "--out", str(tmp_path / "b"))
    assert again.exit_code == 0, again.output
    assert _files(tmp_path / "a") == _files(tmp_path / "b")

    with rt2.sessions() as s:
        record = s.scalars(select(DataImport)).one()
    assert (record.imported_by, record.reason) == ("ops:amal", "move to the ministry's server")
    assert record.package_sha256 == hashlib.sha256(
        (tmp_path / "a" / "datapackage.json").read_bytes()).hexdigest()

    # The imported instance works on: new rows get new ids (sequences moved past the loaded).
    with rt2.sessions() as s:
        student = s.scalars(select(Person.upstream_id).join(
            AttendanceMark, AttendanceMark.person_id == Person.id)
            .where(AttendanceMark.status == "absent").order_by(AttendanceMark.id.desc())).first()
        teacher = s.scalars(select(Person.upstream_id).where(Person.role == "teacher")).first()
    more = _cli(runner2, "adjustments", "request", "--student", student, "--day", DAY.isoformat(),
                "--to", "present", "--reason", "official_excuse", "--by", teacher)
    assert more.exit_code == 0, more.output
    assert _cli(runner2, "audit", "verify").exit_code == 0

    # Never into an instance that holds a record.
    twice = _cli(runner2, "import", "--from", str(tmp_path / "a"), "--by", "ops:amal",
                 "--reason", "again")
    assert twice.exit_code != 0 and "already holds" in twice.output
    with rt2.sessions() as s:
        assert s.scalar(select(func.count()).select_from(School)) == rows["schools"]


def test_only_permitted_fields_and_no_phone_number_are_exported(synced, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _record(synced, runner)
    assert _cli(runner, "export", "--out", str(tmp_path / "a")).exit_code == 0
    desc = json.loads((tmp_path / "a" / "datapackage.json").read_text(encoding="utf-8"))
    assert desc["profile"] == "tabular-data-package"
    people = next(r for r in desc["resources"] if r["name"] == "people")
    assert [f["name"] for f in people["schema"]["fields"]] == [
        "id", "upstream_id", "school_id", "role", "display_name", "status", "active",
        "canonical_id"]
    assert people["schema"]["primaryKey"] == ["id"]
    assert {"fields": ["school_id"], "reference": {"resource": "schools", "fields": ["id"]}} \
        in people["schema"]["foreignKeys"]
    for resource in desc["resources"]:
        data = (tmp_path / "a" / resource["path"]).read_bytes()
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert b"1001112223" not in data and b"+20" not in data  # no phone number, whole or E.164
    with (tmp_path / "a" / "marks.csv").open(encoding="utf-8", newline="") as fh:
        ids = [int(r["id"]) for r in csv.DictReader(fh)]
    assert ids == sorted(ids)
    again = _cli(runner, "export", "--out", str(tmp_path / "a"))
    assert again.exit_code != 0 and "not an empty directory" in again.output


def _rewrite(folder: Path, name: str, edit) -> None:  # type: ignore[no-untyped-def]
    """Change one CSV and re-hash it in the descriptor, as a careless tool might."""
    path = folder / f"{name}.csv"
    path.write_bytes(edit(path.read_bytes()))
    desc_path = folder / "datapackage.json"
    desc = json.loads(desc_path.read_text(encoding="utf-8"))
    meta = next(r for r in desc["resources"] if r["name"] == name)
    meta["hash"] = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    meta["bytes"] = path.stat().st_size
    desc_path.write_text(json.dumps(desc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _nothing_loaded(rt) -> bool:  # type: ignore[no-untyped-def]
    with rt.sessions() as s:
        return not s.scalar(select(func.count()).select_from(School)) \
            and not s.scalar(select(func.count()).select_from(DataImport))


def test_a_bad_package_is_refused_whole_naming_file_line_and_column(synced, runner, fresh, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _record(synced, runner)
    assert _cli(runner, "export", "--out", str(tmp_path / "a")).exit_code == 0
    rt2, runner2 = fresh

    def load(folder: Path):  # type: ignore[no-untyped-def]
        return _cli(runner2, "import", "--from", str(folder), "--by", "ops", "--reason", "test")

    bad = tmp_path / "bad"
    shutil.copytree(tmp_path / "a", bad)
    _rewrite(bad, "people", lambda b: b.replace(b",student,", b",pupil,", 1))
    _rewrite(bad, "marks",
             lambda b: b + b"999999,1,999999,absent,2026-11-26T07:00:00.000000Z,s,1\r\n")
    out = load(bad)
    assert out.exit_code != 0 and "nothing imported" in out.output
    assert "people.csv line" in out.stderr and "column role: 'pupil' is not one of" in out.stderr
    assert "marks.csv line" in out.stderr
    assert "column person_id: 999999 is not an id in people.csv" in out.stderr
    assert _nothing_loaded(rt2)

    tampered = tmp_path / "tampered"
    shutil.copytree(tmp_path / "a", tampered)
    path = tampered / "audit.csv"
    path.write_bytes(path.read_bytes().replace(b"medical", b"medicaL", 1))
    out = load(tampered)
    assert out.exit_code != 0 and "audit.csv: does not match the hash" in out.stderr
    _rewrite(tampered, "audit", lambda b: b)  # re-hashed: now only the chain can tell
    out = load(tampered)
    assert out.exit_code != 0 and "chain does not verify" in out.stderr
    assert _nothing_loaded(rt2)

    (bad / "datapackage.json").unlink()
    out = load(bad)
    assert out.exit_code != 0 and "no datapackage.json" in out.output
    assert _nothing_loaded(rt2)


def test_small_batches_and_a_merge_into_a_later_row_load_the_same(synced, runner, fresh, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Rows are inserted batch by batch; a merge naming a row further down still loads."""
    from core.portability import load

    _record(synced, runner)
    with synced.sessions() as s, s.begin():
        people = s.scalars(select(Person).where(Person.role == "student").order_by(Person.id)).all()
        people[1].canonical_id = people[-2].id  # forward, many batches of 7 further on
    assert _cli(runner, "export", "--out", str(tmp_path / "a")).exit_code == 0
    monkeypatch.setattr(load, "BATCH", 7)
    rt2, runner2 = fresh
    out = _cli(runner2, "import", "--from", str(tmp_path / "a"), "--by", "ops", "--reason", "t")
    assert out.exit_code == 0, out.output
    assert _cli(runner2, "export", "--out", str(tmp_path / "b")).exit_code == 0
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
