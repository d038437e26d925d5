"""Contract v2: the client's writes and the sandbox's answers validate against the schema."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import requests

from core.writeback.client import AttendanceClient, write_body
from core.writeback.fingerprint import ClassDay

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "core/contract/v2/upstream.schema.json")
                    .read_text(encoding="utf-8"))
jsonschema.Draft202012Validator.check_schema(SCHEMA)
DAY = date(2026, 11, 30)


def _valid(definition: str, body: object) -> None:
    jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"],
                                     "$ref": f"#/$defs/{definition}"}).validate(body)


def test_write_body_and_answers_follow_the_schema(sandbox) -> None:  # type: ignore[no-untyped-def]
    school = sandbox.district.infos[0].id
    cls = sandbox.district.classes(school)[0]["id"]
    cd = ClassDay(cls, 2, 31, (("STU-1", "absent"), ("STU-2", "late")))
    _valid("class_day_write", write_body(cd, DAY))
    url = f"{sandbox.url}/v2/schools/{school}/attendance/{DAY.isoformat()}/classes/{cls}"
    _valid("write_result", requests.put(url, json=write_body(cd, DAY), timeout=5).json())
    read = requests.get(f"{sandbox.url}/v2/schools/{school}/attendance/{DAY.isoformat()}",
                        timeout=5).json()
    _valid("school_day", read)
    assert AttendanceClient(sandbox.url).read(school, DAY) == [cd]


def test_v1_keeps_working_beside_v2(sandbox) -> None:  # type: ignore[no-untyped-def]
    body = requests.get(f"{sandbox.url}/v1/schools", timeout=5).json()
    assert body["schema_version"] == "1" and body["schools"]
