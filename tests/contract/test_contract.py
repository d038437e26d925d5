"""Contract tests: one suite of cases, run against the JSON Schema, the sandbox and the client."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.district import District
from sandbox.server import SandboxServer
from core.upstream.adapter import ALLOWED_FIELDS, DropCounter, PersonRecord, minimise, validate
from core.upstream.client import UpstreamClient, UpstreamError
from core.upstream.versions import SchemaVersionRefused
from tests.support.upstream import StaticUpstream

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "core/contract/v1/upstream.schema.json")
                    .read_text())
jsonschema.Draft202012Validator.check_schema(SCHEMA)


def _validator(definition: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"],
                                            "$ref": f"#/$defs/{definition}"})


ROSTER = _validator("roster_page")
PERSON = _validator("person")
CHANGES = _validator("changes_page")

PERSON_OK = {"id": "STU-1", "display_name": "منى", "role": "student", "class_ids": ["C-1"]}
ROSTER_CASES: list[tuple[str, Any, bool]] = [
    ("minimal page", {"schema_version": "1", "school_id": "S-1", "people": [PERSON_OK],
                      "next_page_token": None}, True),
    ("more pages", {"schema_version": "1", "school_id": "S-1", "people": [],
                    "next_page_token": "2000"}, True),
    ("people not a list", {"schema_version": "1", "school_id": "S-1", "people": {},
                           "next_page_token": None}, False),
    ("token not a string", {"schema_version": "1", "school_id": "S-1", "people": [],
                            "next_page_token": 7}, False),
    ("no people", {"schema_version": "1", "school_id": "S-1", "next_page_token": None}, False),
    ("not an object", ["people"], False),
    ("unknown version", {"schema_version": "9", "school_id": "S-1", "people": [],
                         "next_page_token": None}, False),
]


@pytest.mark.parametrize("name,payload,valid", ROSTER_CASES, ids=[c[0] for c in ROSTER_CASES])
@pytest.mark.parametrize("subject", ["schema", "client"])
def test_roster_page_cases(subject: str, name: str, payload: Any, valid: bool) -> None:
    if subject == "schema":
        ok = ROSTER.is_valid(payload) and payload.get("schema_version") == "1"
        assert ok is valid
        return

    class Fixed:
        def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
            return payload

    client = UpstreamClient(Fixed())
    if valid:
        page = client.roster_page("S-1", None)
        assert page.people == payload["people"]
    else:
        with pytest.raises((UpstreamError, SchemaVersionRefused)):
            client.roster_page("S-1", None)


ids = st.from_regex(re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,20}"), fullmatch=True)
junk = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2))
people = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(ids, junk),
        "display_name": st.one_of(st.text(min_size=1, max_size=30), junk),
        "role": st.one_of(st.sampled_from(["student", "teacher", "champion", "principal"]), junk),
        "class_ids": st.one_of(st.lists(ids, max_size=3), junk),
        "status": st.one_of(st.sampled_from(["active", "suspended", "terminated"]), junk),
        "national_id": st.text(max_size=14),
    })


@settings(max_examples=400, deadline=None)
@given(people)
def test_client_accepts_exactly_what_the_schema_accepts(raw: dict[str, Any]) -> None:
    """The client's fast checks agree with the JSON Schema (plus two stated stricter rules)."""
    kept = minimise(raw, DropCounter())
    result = validate(kept)
    schema_ok = PERSON.is_valid(kept)
    if isinstance(result, PersonRecord):
        assert schema_ok
        return
    # Rules the client adds on top of the schema, documented in the contract README:
    blank_name = isinstance(kept.get("display_name"), str) and not " ".join(
        kept["display_name"].split()).strip()
    student_classes = kept.get("role") == "student" and isinstance(kept.get("class_ids"), list) \
        and len(set(kept["class_ids"])) != 1
    control = isinstance(kept.get("display_name"), str) and any(
        ord(c) < 0x20 for c in kept["display_name"])
    assert not schema_ok or blank_name or student_classes or control


def test_sandbox_serves_only_schema_valid_pages_and_the_client_reads_them_all() -> None:
    district = District(seed=3, schools=2, students_per_school=70, teachers_per_school=5)
    with SandboxServer(district) as sandbox:
        school = district.schools()[0]["id"]
        body = requests.get(f"{sandbox.url}/v1/schools/{school}/roster",
                            params={"page_size": 25}, timeout=10).json()
        assert ROSTER.is_valid(body)
        district.leave(district.roster(school)[0]["id"])
        changes = requests.get(f"{sandbox.url}/v1/changes", params={"cursor": "0"}, timeout=10).json()
        assert CHANGES.is_valid(changes)
        from core.upstream.client import HttpTransport

        client = UpstreamClient(HttpTransport(sandbox.url), page_size=25)
        seen, token = [], None
        while True:
            page = client.roster_page(school, token)
            assert all(isinstance(validate(minimise(p, DropCounter())), PersonRecord)
                       for p in page.people)
            seen += [p["id"] for p in page.people]
            if page.next_page_token is None:
                break
            token = page.next_page_token
        assert len(seen) == len(set(seen)) == len(district.roster(school))
        assert client.changes("0").changes[0]["type"] == "leave"


def test_the_static_test_upstream_honours_the_contract_too() -> None:
    up = StaticUpstream(schools=[{"id": "S-1", "name": "مدرسة", "governorate": "الجيزة"}])
    up.people["S-1"] = [PERSON_OK]
    up.classes["S-1"] = [{"id": "C-1", "name": "1/أ", "grade": 1}]
    assert ROSTER.is_valid(up.get_json("/v1/schools/S-1/roster", {"page_size": 10}))
    assert _validator("classes_page").is_valid(up.get_json("/v1/schools/S-1/classes"))
    assert set(PERSON_OK) <= ALLOWED_FIELDS
