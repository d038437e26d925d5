"""Each fault mode does what it says, deterministically; with no faults pages stay valid."""

import re
import time
from collections import Counter

import pytest
from flask.testing import FlaskClient

from sandbox.app import create_sandbox_app
from sandbox.district import District
from sandbox.faults import Faults
from sandbox.churn import apply_random_changes

EXTRA = {"national_id", "birth_date", "address", "gender"}


def people(client: FlaskClient, school_id: str = "SCH-0001", page_size: int = 5000) -> list:
    """Return the people of one roster page."""
    response = client.get(f"/v1/schools/{school_id}/roster?page_size={page_size}")
    assert response.status_code == 200
    return response.get_json()["people"]


def set_faults(client: FlaskClient, **faults) -> dict:
    """Set faults through the control endpoint and return what the sandbox reports."""
    response = client.post("/sandbox/faults", json=faults)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_faults_endpoint_sets_shows_and_clears(client: FlaskClient) -> None:
    assert client.get("/sandbox/faults").get_json() == Faults().to_dict()
    shown = set_faults(client, duplicates=0.5, schema_version="2")
    assert shown["duplicates"] == 0.5 and shown["schema_version"] == "2"
    assert client.get("/sandbox/faults").get_json() == shown
    assert set_faults(client) == Faults().to_dict()


@pytest.mark.parametrize("bad", [
    {"error_rate": 2}, {"missing_fields": -0.1}, {"duplicates": True}, {"slow_pages": "x"},
    {"schema_version": ""}, {"extra_fields": 1}, {"teleport": True}, [],
])
def test_faults_endpoint_rejects_bad_settings(client: FlaskClient, bad) -> None:
    assert client.post("/sandbox/faults", json=bad).status_code == 400


def test_extra_fields_are_realistic_and_break_the_schema(client, errors) -> None:
    set_faults(client, extra_fields=True)
    served = people(client)
    for person in served:
        assert EXTRA <= set(person)
        assert ("guardian_phone" if person["role"] == "student" else "mobile") in person
        assert re.fullmatch(r"[23]\d{13}", person["national_id"])
        assert person["national_id"][1:7] == person["birth_date"][2:].replace("-", "")
        assert errors("person", person)
    phones = [p["guardian_phone"] for p in served if "guardian_phone" in p]
    assert all(re.fullmatch(r"(\+20|0)1[0125][\d ]{8,10}", p) for p in phones)
    assert served == people(client), "extras must be stable per person"


def test_missing_fields_drop_name_or_role_for_a_share(client, errors) -> None:
    set_faults(client, missing_fields=0.2, seed=3)
    served = [p for s in ("SCH-0001", "SCH-0002", "SCH-0003") for p in people(client, s)]
    broken = [p for p in served if "display_name" not in p or "role" not in p]
    assert 0.15 < len(broken) / len(served) < 0.25
    assert any("display_name" not in p for p in broken) and any("role" not in p for p in broken)
    assert all(errors("person", p) for p in broken)
    assert not any(errors("person", p) for p in served if p not in broken)


def test_wrong_types_for_a_share(client, errors) -> None:
    set_faults(client, wrong_types=0.2, seed=3)
    served = [p for s in ("SCH-0001", "SCH-0002", "SCH-0003") for p in people(client, s)]
    broken = [p for p in served if errors("person", p)]
    assert 0.15 < len(broken) / len(served) < 0.25
    kinds = Counter()
    for p in broken:
        kinds["class_ids"] += isinstance(p["class_ids"], str)
        kinds["role"] += isinstance(p["role"], int)
        kinds["id"] += isinstance(p["id"], int)
    assert all(kinds.values()) and sum(kinds.values()) == len(broken)


def test_object_fields_put_personal_data_where_a_permitted_field_belongs(client, errors) -> None:
    set_faults(client, object_fields=0.2, seed=3)
    served = [p for s in ("SCH-0001", "SCH-0002", "SCH-0003") for p in people(client, s)]
    broken = [p for p in served if errors("person", p)]
    assert 0.15 < len(broken) / len(served) < 0.25
    targets = Counter()
    for p in broken:
        for field in ("display_name", "role", "status", "class_ids"):
            value = p.get(field)
            nested = value[0] if field == "class_ids" and isinstance(value, list) and value else value
            if isinstance(nested, dict):
                targets[field] += 1
                assert re.fullmatch(r"[23]\d{13}", nested["national_id"])
    assert set(targets) == {"display_name", "role", "status", "class_ids"}
    assert sum(targets.values()) == len(broken)


def test_duplicates_inside_and_across_pages(client) -> None:
    set_faults(client, duplicates=0.1, seed=1)
    first = client.get("/v1/schools/SCH-0001/roster?page_size=100").get_json()
    ids = [p["id"] for p in first["people"]]
    repeated = [i for i, n in Counter(ids).items() if n > 1]
    assert 3 <= len(repeated) <= 25
    second = client.get("/v1/schools/SCH-0001/roster?page_size=100&page_token="
                        + first["next_page_token"]).get_json()
    assert second["people"][0] == first["people"][99]


def test_duplicate_change_deliveries(client, district) -> None:
    apply_random_changes(district, 300, rng_seed=2)
    set_faults(client, duplicates=0.2)
    body = client.get("/v1/changes?limit=300").get_json()
    seqs = Counter(c["seq"] for c in body["changes"])
    assert len(seqs) == 300 and 30 < sum(1 for n in seqs.values() if n > 1) < 90
    assert body["next_cursor"] == "300"


def test_error_rate_serves_5xx_at_the_configured_rate(client) -> None:
    set_faults(client, error_rate=0.25, seed=9)
    codes = [client.get("/v1/schools").status_code for _ in range(400)]
    failures = [c for c in codes if c != 200]
    assert set(failures) == {500, 503} and 0.18 < len(failures) / 400 < 0.32
    set_faults(client, error_rate=0.25, seed=9)
    assert [client.get("/v1/schools").status_code for _ in range(400)] == codes
    assert client.get("/sandbox/stats").get_json()["errors_injected"] == 2 * len(failures)
    assert client.get("/sandbox/faults").status_code == 200, "control endpoints never fail"


def test_retry_after_on_503(client) -> None:
    set_faults(client, error_rate=1.0)
    responses = [client.get("/v1/changes") for _ in range(20)]
    assert all(r.status_code in (500, 503) for r in responses)
    assert all(r.headers.get("Retry-After") == "1" for r in responses if r.status_code == 503)


def test_slow_pages_sleep(client) -> None:
    set_faults(client, slow_pages=60)
    start = time.perf_counter()
    people(client)
    assert time.perf_counter() - start >= 0.06


def test_schema_version_is_served_everywhere(client, district, validate) -> None:
    district.leave("STU-0001-000001")
    set_faults(client, schema_version="2")
    for url in ("/v1/schools", "/v1/schools/SCH-0001/classes",
                "/v1/schools/SCH-0001/roster", "/v1/changes"):
        assert client.get(url).get_json()["schema_version"] == "2"


def test_same_seed_same_faulty_records() -> None:
    def served(seed: int) -> list:
        faults = Faults(missing_fields=0.3, wrong_types=0.3, duplicates=0.2, seed=seed)
        return people(create_sandbox_app(District.demo(), faults).test_client())
    assert served(4) == served(4) and served(4) != served(5)


def test_no_faults_after_clearing_everything_is_valid(client, validate) -> None:
    set_faults(client, extra_fields=True, missing_fields=1, wrong_types=1, duplicates=1,
               schema_version="3")
    set_faults(client)
    validate("roster_page", client.get("/v1/schools/SCH-0004/roster").get_json())
