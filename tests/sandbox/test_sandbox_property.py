"""Any sequence of overlay operations keeps every served page valid and every person unique."""

import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.app import create_sandbox_app
from sandbox.district import District
from sandbox.churn import apply_random_changes

SHAPE = {"seed": 11, "schools": 3, "students_per_school": 60, "teachers_per_school": 4}
_TEMPLATE = District(**SHAPE)
BASE = {p["id"]: (info.id, p) for info in _TEMPLATE.infos for p in _TEMPLATE.roster(info.id)}
SCHOOLS = [info.id for info in _TEMPLATE.infos]
CLASSES = {sid: [c["id"] for c in _TEMPLATE.classes(sid)] for sid in SCHOOLS}
ALL_CLASSES = [c for sid in SCHOOLS for c in CLASSES[sid]]
CANDIDATES = list(BASE) + [f"NEW-{k}" for k in range(8)] + ["STU-0001-000061"]
ROLES = ("student", "teacher", "champion", "principal")

ident = st.integers(min_value=0, max_value=10**6)
op = st.one_of(
    st.tuples(st.just("leave"), ident),
    st.tuples(st.just("status"), ident, st.sampled_from(["active", "suspended", "terminated"])),
    st.tuples(st.just("move"), ident, ident),
    st.tuples(st.just("rename"), ident, st.text(min_size=0, max_size=90)),
    st.tuples(st.just("upsert"), ident, ident, st.sampled_from(ROLES), ident),
    st.tuples(st.just("random"), st.integers(0, 30), ident),
)


def valid_name(name: str) -> bool:
    """Mirror the sandbox's display name rule."""
    return bool(name.strip()) and len(name) <= 200 and not any(
        unicodedata.category(ch) in ("Cc", "Cs") for ch in name)


class Model:
    """The expected district: who is present where, with which record."""

    def __init__(self) -> None:
        self.present = {pid: sid for pid, (sid, _) in BASE.items()}
        self.records: dict[str, dict[str, Any]] = {pid: rec for pid, (_, rec) in BASE.items()}

    def absorb(self, change: dict[str, Any]) -> None:
        """Update the model from a change the district reported."""
        if change["type"] == "upsert":
            self.records[change["person"]["id"]] = change["person"]
            self.present[change["person"]["id"]] = change["school_id"]
        elif change["type"] == "leave":
            del self.present[change["person_id"]]
        else:
            pid = change["person_id"]
            self.records[pid] = {**self.records[pid], "status": change["status"]}


def apply(district: District, model: Model, step: tuple) -> None:
    """Apply one operation, checking it is refused exactly when the model says so."""
    kind, pid = step[0], CANDIDATES[step[1] % len(CANDIDATES)]
    present = pid in model.present
    if kind == "random":
        for change in apply_random_changes(district, step[1], rng_seed=step[2]):
            model.absorb(change)
        return
    if kind == "upsert":
        school = SCHOOLS[step[2] % len(SCHOOLS)]
        classes = CLASSES[school]
        count = 1 if step[3] == "student" else step[4] % 4
        picked = [classes[(step[4] + i) % len(classes)] for i in range(count)]
        person = {"id": pid, "display_name": "سارة عبد الله", "role": step[3],
                  "class_ids": list(dict.fromkeys(picked))}
        model.absorb(district.upsert(person, school))
        return
    if kind == "rename" and not valid_name(step[2]):
        with pytest.raises(ValueError):
            district.rename(pid, step[2])
        return
    if not present:
        with pytest.raises(KeyError):
            {"leave": lambda: district.leave(pid),
             "status": lambda: district.set_status(pid, step[2]),
             "move": lambda: district.move(pid, ALL_CLASSES[step[2] % len(ALL_CLASSES)]),
             "rename": lambda: district.rename(pid, step[2])}[kind]()
        return
    if kind == "leave":
        model.absorb(district.leave(pid))
    elif kind == "status":
        model.absorb(district.set_status(pid, step[2]))
    elif kind == "move":
        model.absorb(district.move(pid, ALL_CLASSES[step[2] % len(ALL_CLASSES)]))
    else:
        model.absorb(district.rename(pid, step[2]))


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(op, max_size=30), page_size=st.integers(min_value=4, max_value=70))
def test_overlay_sequences_keep_pages_valid_and_people_unique(steps, page_size, validate) -> None:
    district, model = District(**SHAPE), Model()
    for step in steps:
        apply(district, model, step)
    client = create_sandbox_app(district).test_client()
    served: dict[str, tuple[str, dict[str, Any]]] = {}
    for school in SCHOOLS:
        token = None
        while True:
            url = f"/v1/schools/{school}/roster?page_size={page_size}"
            body = client.get(url + (f"&page_token={token}" if token else "")).get_json()
            validate("roster_page", body)
            assert len(body["people"]) <= page_size
            for person in body["people"]:
                assert person["id"] not in served, f"{person['id']} served twice"
                served[person["id"]] = (school, person)
            token = body["next_page_token"]
            if token is None:
                break
    expected = {pid: (sid, model.records[pid]) for pid, sid in model.present.items()}
    assert served == expected
    body = client.get("/v1/changes?cursor=0&limit=5000").get_json()
    validate("changes_page", body)
    assert [c["seq"] for c in body["changes"]] == list(range(1, district.last_seq + 1))
