"""Quiz results leave only as aggregates per class, small cells suppressed (CLI and admin API)."""

from __future__ import annotations

import json

import pytest

from gateway.cli import cli
from tests.gateway.test_api import _get, _token
from tests.support.quiz import FEATURE, OPENS, school_uid, seed
from tests.ussd.phone import Phone


def _take(client, msisdn: str, answers: str) -> str:  # type: ignore[no-untyped-def]
    phone = Phone(client, msisdn=msisdn)
    phone.dial()
    phone.send("5")
    for a in answers:
        screen = phone.send(a)
    return screen


@pytest.fixture
def classes(client, runner, runtime):  # type: ignore[no-untyped-def]
    big = seed(runtime, school_uid(0, 5), students=6)
    small = seed(runtime, school_uid(0, 5, prefix="SCH-R"), students=2)
    runtime.clock = lambda: OPENS
    assert runner.invoke(cli, ["cohorts", "advance", FEATURE, "--by", "ops:a", "--reason", "go"]).exit_code == 0
    for k, msisdn in enumerate(big.phones):
        # q1 right for everyone; q2 right for the first four only
        assert "of 5 right" in _take(client, msisdn, "2" + ("1" if k < 4 else "2") + "222")
    for msisdn in small.phones:
        _take(client, msisdn, "22222")
    return big, small


def test_cli_results_are_per_class_aggregates_with_small_cells_suppressed(classes, runner) -> None:  # type: ignore[no-untyped-def]
    big, small = classes
    out = runner.invoke(cli, ["assessments", "results", "--class", big.class_uid])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["children"] == 6 and not data["suppressed"]
    q = {row["question"]: row for row in data["questions"]}
    assert q["q1"] == {"question": "q1", "answered": 6, "right": 6, "share_right": 1.0, "suppressed": False}
    assert q["q2"]["right"] == 4 and q["q2"]["share_right"] == 0.67
    assert "Student" not in out.stdout and "S0" not in out.stdout  # no names, no student ids

    tiny = json.loads(runner.invoke(cli, ["assessments", "results", "--class", small.class_uid]).stdout)
    assert tiny["children"] is None and tiny["suppressed"]
    assert all(r["answered"] is None and r["right"] is None and r["suppressed"] for r in tiny["questions"])

    missing = runner.invoke(cli, ["assessments", "results", "--class", "NOPE"])
    assert missing.exit_code != 0 and "no such class NOPE" in missing.output


def test_api_results_need_the_permission_and_champions_see_their_own_school(classes, client, runner) -> None:  # type: ignore[no-untyped-def]
    big, small = classes
    path = f"/api/v1/schools/{big.uid}/classes/{big.class_uid}/assessments"
    ops = _get(client, path, _token(runner, "ops"))
    assert ops.status_code == 200 and ops.get_json()["children"] == 6
    assert _get(client, path, None).status_code == 401
    assert _get(client, path, _token(runner, "desk")).status_code == 403  # deny by default
    champion = _token(runner, "champion", school=big.uid, subject=big.champion)
    assert _get(client, path, champion).status_code == 200
    other = f"/api/v1/schools/{small.uid}/classes/{small.class_uid}/assessments"
    assert _get(client, other, champion).status_code == 403
    crossed = f"/api/v1/schools/{big.uid}/classes/{small.class_uid}/assessments"
    assert _get(client, crossed, champion).status_code == 404  # a class of another school
    assert _get(client, path + "?quiz=nope", champion).status_code == 404
