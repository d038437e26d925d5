"""Overlay operations show up in the roster and in the change feed."""

from collections import Counter
from datetime import datetime

import pytest
from flask.testing import FlaskClient

from sandbox.district import District
from sandbox.churn import apply_random_changes


def roster_ids(district: District, school_id: str) -> list[str]:
    """Return the ids of a school's current roster."""
    return [p["id"] for p in district.roster(school_id)]


def feed(client: FlaskClient, validate, limit: int = 500) -> list[dict]:
    """Return the whole change feed, validating every page."""
    changes, cursor = [], "0"
    while True:
        body = client.get(f"/v1/changes?cursor={cursor}&limit={limit}").get_json()
        validate("changes_page", body)
        if not body["changes"]:
            assert body["next_cursor"] == cursor
            return changes
        changes += body["changes"]
        cursor = body["next_cursor"]


def test_leave_removes_from_roster_and_is_logged(client, district, validate) -> None:
    change = district.leave("STU-0001-000010")
    assert change["type"] == "leave" and change["person_id"] == "STU-0001-000010"
    assert "STU-0001-000010" not in roster_ids(district, "SCH-0001")
    assert len(roster_ids(district, "SCH-0001")) == 311
    assert district.person("STU-0001-000010") is None
    with pytest.raises(KeyError):
        district.leave("STU-0001-000010")
    assert feed(client, validate) == [change]


def test_move_and_rename_show_new_values_in_place(district) -> None:
    before = roster_ids(district, "SCH-0001")
    target = district.classes("SCH-0001")[-1]["id"]
    district.move("STU-0001-000020", target)
    district.rename("STU-0001-000020", "يوسف عبد الرحمن الشناوي")
    assert roster_ids(district, "SCH-0001") == before
    person = district.person("STU-0001-000020")
    assert person["class_ids"] == [target] and person["display_name"] == "يوسف عبد الرحمن الشناوي"
    assert district.roster("SCH-0001")[before.index("STU-0001-000020")] == person


def test_move_to_another_school_transfers(district) -> None:
    target = district.classes("SCH-0002")[0]["id"]
    change = district.move("STU-0001-000030", target)
    assert change["school_id"] == "SCH-0002" and change["person"]["class_ids"] == [target]
    assert "STU-0001-000030" not in roster_ids(district, "SCH-0001")
    assert roster_ids(district, "SCH-0002")[-1] == "STU-0001-000030"
    back = district.classes("SCH-0001")[0]["id"]
    district.move("STU-0001-000030", back)
    assert "STU-0001-000030" not in roster_ids(district, "SCH-0002")
    assert roster_ids(district, "SCH-0001")[29 + 12] == "STU-0001-000030"


def test_upsert_new_person_appears_at_the_end(district) -> None:
    cls = district.classes("SCH-0003")[0]["id"]
    new = {"id": "STU-0003-900001", "display_name": "سلمى أحمد النجار", "role": "student",
           "class_ids": [cls]}
    change = district.upsert(new, "SCH-0003")
    assert change["type"] == "upsert" and change["school_id"] == "SCH-0003"
    assert change["person"] == new
    assert district.roster("SCH-0003")[-1] == new
    teacher = {"id": "STF-0003-0099", "display_name": "منى علي", "role": "teacher",
               "class_ids": [cls], "status": "active"}
    district.upsert(teacher, "SCH-0003")
    assert roster_ids(district, "SCH-0003")[-2:] == ["STU-0003-900001", "STF-0003-0099"]


@pytest.mark.parametrize("bad", [
    {"id": "X", "display_name": "a", "role": "student", "class_ids": []},
    {"id": "X", "display_name": "a", "role": "janitor", "class_ids": []},
    {"id": "bad id", "display_name": "a", "role": "teacher", "class_ids": []},
    {"id": "X", "display_name": " ", "role": "teacher", "class_ids": []},
    {"id": "X", "display_name": "a", "role": "teacher", "class_ids": ["SCH-0002-G7-A"]},
    {"id": "X", "display_name": "a", "role": "teacher", "class_ids": [], "national_id": "1"},
    {"id": "X", "display_name": "a", "role": "teacher", "class_ids": [], "status": "gone"},
])
def test_upsert_rejects_records_outside_the_contract(district, bad) -> None:
    with pytest.raises(ValueError):
        district.upsert(bad, "SCH-0001")
    assert district.last_seq == 0


def test_suspended_and_terminated_stay_with_status(district) -> None:
    district.set_status("STF-0001-0005", "suspended")
    district.set_status("STF-0001-0006", "terminated")
    roster = {p["id"]: p for p in district.roster("SCH-0001")}
    assert roster["STF-0001-0005"]["status"] == "suspended"
    assert roster["STF-0001-0006"]["status"] == "terminated"
    assert "status" not in roster["STF-0001-0007"]
    with pytest.raises(ValueError):
        district.set_status("STF-0001-0005", "fired")


def test_unknown_people_and_classes_raise_key_error(district) -> None:
    for call in (lambda: district.leave("STU-0001-999999"),
                 lambda: district.rename("nobody", "اسم"),
                 lambda: district.move("STU-0001-000001", "SCH-0001-G9-Z"),
                 lambda: district.upsert({}, "SCH-0042")):
        with pytest.raises(KeyError):
            call()


def test_feed_has_increasing_seq_and_utc_timestamps(client, district, validate) -> None:
    apply_random_changes(district, 1200, rng_seed=3)
    changes = feed(client, validate, limit=250)
    assert [c["seq"] for c in changes] == list(range(1, 1201))
    stamps = [datetime.fromisoformat(c["changed_at"].replace("Z", "+00:00")) for c in changes]
    assert all(s.utcoffset().total_seconds() == 0 for s in stamps)
    assert stamps == sorted(stamps)


def test_roster_reflects_random_changes(client, district, validate, roster_pages) -> None:
    changes = apply_random_changes(district, 600, rng_seed=1)
    present: dict[str, str] = {p["id"]: i.id for i in district.infos for p in
                               District.demo(seed=7).roster(i.id)}
    names: dict[str, str] = {}
    for change in changes:
        if change["type"] == "upsert":
            present[change["person"]["id"]] = change["school_id"]
            names[change["person"]["id"]] = change["person"]["display_name"]
        elif change["type"] == "leave":
            del present[change["person_id"]]
    served: dict[str, str] = {}
    for info in district.infos:
        for page in roster_pages(client, info.id, 64):
            validate("roster_page", page)
            for person in page["people"]:
                assert person["id"] not in served
                served[person["id"]] = info.id
                if person["id"] in names:
                    assert person["display_name"] == names[person["id"]]
    assert served == present


def test_random_changes_are_a_realistic_mix(validate) -> None:
    # How fast 10,000 are made depends on the machine: bench/sync_bench.py times it.
    national = District.national()
    changes = apply_random_changes(national, 10_000, rng_seed=42)
    kinds = Counter(c["type"] for c in changes)
    assert kinds["upsert"] > 7000 and 500 < kinds["leave"] < 2000 and 100 < kinds["status"] < 1000
    statuses = Counter(c["status"] for c in changes if c["type"] == "status")
    assert statuses["suspended"] and statuses["terminated"]
    new = [c for c in changes if c["type"] == "upsert"
           and c["person"]["id"].startswith("STU") and int(c["person"]["id"][-6:]) > 800]
    assert 300 < len(new) < 3000
    for change in changes[::50]:
        validate("change", change)
    again = apply_random_changes(District.national(), 10_000, rng_seed=42)
    strip = [{k: v for k, v in c.items() if k != "changed_at"} for c in changes]
    assert strip == [{k: v for k, v in c.items() if k != "changed_at"} for c in again]


def test_control_endpoint_drives_the_overlay(client, district, validate) -> None:
    cls = district.classes("SCH-0002")[1]["id"]
    calls = [
        {"op": "leave", "person_id": "STU-0002-000001"},
        {"op": "status", "person_id": "STF-0002-0004", "status": "suspended"},
        {"op": "move", "person_id": "STU-0002-000002", "class_id": cls},
        {"op": "rename", "person_id": "STU-0002-000003", "display_name": "نور محمد"},
        {"op": "upsert", "school_id": "SCH-0002", "person": {
            "id": "STU-0002-777777", "display_name": "ملك حسن", "role": "student",
            "class_ids": [cls]}},
        {"op": "random", "n": 20, "seed": 5},
    ]
    for call in calls:
        response = client.post("/sandbox/changes", json=call)
        assert response.status_code == 201, response.get_json()
    assert district.last_seq == 25 and len(feed(client, validate)) == 25
    assert client.post("/sandbox/changes", json={"op": "leave",
                                                 "person_id": "STU-0002-000001"}).status_code == 404
    for bad in ({"op": "explode"}, {"op": "status", "person_id": "STF-0002-0004"}, [1],
                {"op": "random", "n": "many"}):
        assert client.post("/sandbox/changes", json=bad).status_code == 400
    assert client.post("/sandbox/changes", data="not json").status_code == 400
